# DNS stays with the owner's DNS host (site.yaml's dns: records_only): nassella keeps no
# zone and needs no DNS provider; the owner adds each app's A and AAAA records there.
output "name_servers" {
  description = "Name servers to set at each domain's registrar (none: your DNS host keeps the domain)"
  value       = {}
}

output "records_to_add" {
  description = "Records to add at your own DNS host, each as { name, type, value }"
  value = flatten([
    for host in sort(keys(var.records)) : concat(
      [{ name = host, type = "A", value = local.public_ipv4 }],
      local.has_ipv6 ? [{ name = host, type = "AAAA", value = local.public_ipv6 }] : [],
    )
  ])
}
