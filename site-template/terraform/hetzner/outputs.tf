# Hetzner's own outputs; the site's (addresses, app URLs, DNS) are in site-outputs.tf.
output "server_id" {
  description = "ID of the current server"
  value       = hcloud_server.host.id
}

output "volume_id" {
  description = "ID of the data volume"
  value       = hcloud_volume.data.id
}
