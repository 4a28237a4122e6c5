# DNS, in the mode site.yaml's dns chooses (dns_mode):
# - whole_domain: a zone per domain, carrying the apps' records and the owner's
#   (owner_records); the owner points the domain at the zone's name servers.
# - subdomain: the same zones, each for a part of a domain (apps.example.org); the owner
#   adds NS records for it at the parent's DNS host (records_to_add in outputs.tf).
# - records_only: no zone; the owner adds each app's A and AAAA records at their DNS
#   host (records_to_add).
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

# Each app's name points at the primary IPs, which do not change with the server.
resource "hcloud_zone_rrset" "a" {
  for_each = local.app_records

  zone    = hcloud_zone.site[each.value.zone].name
  name    = each.value.name
  type    = "A"
  ttl     = 300
  records = [{ value = hcloud_primary_ip.ipv4.ip_address }]
  labels  = local.labels
}

resource "hcloud_zone_rrset" "aaaa" {
  for_each = local.app_records

  zone    = hcloud_zone.site[each.value.zone].name
  name    = each.value.name
  type    = "AAAA"
  ttl     = 300
  records = [{ value = cidrhost(hcloud_primary_ip.ipv6.ip_network, 1) }]
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
