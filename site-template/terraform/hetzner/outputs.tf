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

# What the owner adds at their own DNS host: each app's A and AAAA records (records_only),
# or the NS records delegating each zone (subdomain); nothing for whole_domain, where the
# registrar points at name_servers. authoritative_nameservers.assigned is the zone's
# (terraform-provider-hcloud v1.57.0, internal/zone/resource.go).
output "records_to_add" {
  description = "Records to add at your own DNS host, each as { name, type, value }"
  value = var.dns_mode == "records_only" ? flatten([
    for host in sort(keys(var.records)) : [
      { name = host, type = "A", value = hcloud_primary_ip.ipv4.ip_address },
      { name = host, type = "AAAA", value = cidrhost(hcloud_primary_ip.ipv6.ip_network, 1) },
    ]
    ]) : var.dns_mode == "subdomain" ? flatten([
    for name, zone in hcloud_zone.site : [
      for ns in zone.authoritative_nameservers.assigned : { name = name, type = "NS", value = ns }
    ]
  ]) : []
}

output "ssh_host_public_key" {
  description = "The server's SSH host key, the same on every rebuild (put it in known_hosts as: IP ssh-ed25519 AAAA...; ssh-keygen -lf shows its SHA256 fingerprint)"
  value       = var.ssh_host_public_key
}
