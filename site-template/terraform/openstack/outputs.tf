# OpenStack's own outputs; the site's (addresses, app URLs, DNS) are in site-outputs.tf.
output "server_id" {
  description = "ID of the current server"
  value       = openstack_compute_instance_v2.host.id
}

output "volume_id" {
  description = "ID of the data volume"
  value       = openstack_blockstorage_volume_v3.data.id
}

output "data_device" {
  description = "The data volume as the server sees it"
  value       = local.data_device
}
