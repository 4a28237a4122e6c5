output "ipv4_address" {
  description = "Public IPv4 address of the site (stays when the server is replaced)"
  value       = hcloud_primary_ip.ipv4.ip_address
}

output "ipv6_address" {
  description = "Public IPv6 address of the site (stays when the server is replaced)"
  value       = cidrhost(hcloud_primary_ip.ipv6.ip_network, 1)
}

output "server_id" {
  description = "ID of the current server"
  value       = hcloud_server.host.id
}

output "volume_id" {
  description = "ID of the data volume"
  value       = hcloud_volume.data.id
}

output "app_urls" {
  description = "Address of every app"
  value       = sort([for host in keys(var.records) : "https://${host}"])
}

output "name_servers" {
  description = "Name servers to set at each domain's registrar"
  value       = { for name, zone in hcloud_zone.site : name => zone.authoritative_nameservers.assigned }
}

output "ssh_host_public_key" {
  description = "The server's SSH host key, the same on every rebuild (put it in known_hosts as: IP ssh-ed25519 AAAA...; ssh-keygen -lf shows its SHA256 fingerprint)"
  value       = var.ssh_host_public_key
}
