# DNS, in the mode site.yaml's dns chooses (dns_mode):
# - whole_domain: a zone per domain, carrying the apps' records and the owner's
#   (owner_records); the owner points the domain at the zone's name servers.
# - subdomain: the same zones, each for a part of a domain (apps.example.org); the owner
#   adds NS records for it at the parent's DNS host (records_to_add below).
# - records_only: no zone; the owner adds each app's A and AAAA records at their DNS
#   host (records_to_add).
# The zones are Hetzner DNS (the hcloud provider) on every platform: a server anywhere can
# have its names there. local.public_ipv4 and local.public_ipv6 are the platform's
# addresses (server.tf); a site without IPv6 (local.has_ipv6, known at plan time) has no
# AAAA records.
# Resource schemas: terraform-provider-hcloud v1.57.0, internal/zone/resource.go and
# internal/zonerrset/resource.go.
locals {
  zones       = var.dns_mode == "records_only" ? toset([]) : toset(var.zones)
  app_records = var.dns_mode == "records_only" ? {} : var.records
}

resource "hcloud_zone" "site" {
  for_each = local.zones

  name   = each.value
  mode   = "primary"
  labels = local.labels
}

# Each app's name points at the site's addresses, which do not change with the server.
resource "hcloud_zone_rrset" "a" {
  for_each = local.app_records

  zone    = hcloud_zone.site[each.value.zone].name
  name    = each.value.name
  type    = "A"
  ttl     = 300
  records = [{ value = local.public_ipv4 }]
  labels  = local.labels
}

resource "hcloud_zone_rrset" "aaaa" {
  for_each = local.has_ipv6 ? local.app_records : {}

  zone    = hcloud_zone.site[each.value.zone].name
  name    = each.value.name
  type    = "AAAA"
  ttl     = 300
  records = [{ value = local.public_ipv6 }]
  labels  = local.labels
}

# The owner's own records (e-mail, website, verification), one RRSet per name and type;
# values are already in zone-file form (TXT quoted, host names with a final dot).
resource "hcloud_zone_rrset" "owner" {
  for_each = var.dns_mode == "records_only" ? {} : var.owner_records

  zone    = hcloud_zone.site[each.value.zone].name
  name    = each.value.name
  type    = each.value.type
  ttl     = each.value.ttl
  records = [for v in each.value.values : { value = v }]
  labels  = local.labels
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
    for host in sort(keys(var.records)) : concat(
      [{ name = host, type = "A", value = local.public_ipv4 }],
      local.has_ipv6 ? [{ name = host, type = "AAAA", value = local.public_ipv6 }] : [],
    )
    ]) : var.dns_mode == "subdomain" ? flatten([
    for name, zone in hcloud_zone.site : [
      for ns in zone.authoritative_nameservers.assigned : { name = name, type = "NS", value = ns }
    ]
  ]) : []
}
