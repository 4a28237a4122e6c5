# A zone per domain the apps live under; delegate it to the name servers in the outputs.
resource "hcloud_zone" "site" {
  for_each = toset(var.zones)

  name   = each.value
  mode   = "primary"
  labels = local.labels
}

# Each app's name points at the primary IPs, which do not change with the server.
resource "hcloud_zone_rrset" "a" {
  for_each = var.records

  zone    = hcloud_zone.site[each.value.zone].name
  name    = each.value.name
  type    = "A"
  ttl     = 300
  records = [{ value = hcloud_primary_ip.ipv4.ip_address }]
  labels  = local.labels
}

resource "hcloud_zone_rrset" "aaaa" {
  for_each = var.records

  zone    = hcloud_zone.site[each.value.zone].name
  name    = each.value.name
  type    = "AAAA"
  ttl     = 300
  records = [{ value = cidrhost(hcloud_primary_ip.ipv6.ip_network, 1) }]
  labels  = local.labels
}
