# libvirt's own outputs; the site's (addresses, app URLs, DNS) are in site-outputs.tf.
output "server_id" {
  description = "UUID of the current libvirt domain"
  value       = libvirt_domain.host.id
}

output "volume_id" {
  description = "Key of the data volume in the libvirt pool"
  value       = libvirt_volume.data.id
}

output "data_device" {
  description = "The data disk as the server sees it"
  value       = "/dev/disk/by-id/wwn-0x${local.data_wwn}"
}
