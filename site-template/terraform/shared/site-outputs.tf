output "ipv4_address" {
  description = "Public IPv4 address of the site (stays when the server is replaced)"
  value       = local.public_ipv4
}

output "ipv6_address" {
  description = "Public IPv6 address of the site (stays when the server is replaced); empty when the site has none"
  value       = local.has_ipv6 ? local.public_ipv6 : ""
}

output "app_urls" {
  description = "Address of every app"
  value       = sort([for host in keys(var.records) : "https://${host}"])
}

output "ssh_host_public_key" {
  description = "The server's SSH host key, the same on every rebuild (put it in known_hosts as: IP ssh-ed25519 AAAA...; ssh-keygen -lf shows its SHA256 fingerprint)"
  value       = var.ssh_host_public_key
}
