# The site's own network behind a router on the cloud's external network, and a floating
# IP on the server's port: the address outlives every server (the port stays, only the
# server behind it is replaced), so DNS never changes. Floating IPs are IPv4; the site has
# no AAAA records on OpenStack.

data "openstack_networking_network_v2" "external" {
  name     = var.external_network
  external = true
}

resource "openstack_networking_network_v2" "site" {
  name           = var.site
  admin_state_up = true
  tags           = local.tags
}

resource "openstack_networking_subnet_v2" "site" {
  name       = var.site
  network_id = openstack_networking_network_v2.site.id
  cidr       = var.subnet_cidr
  ip_version = 4
  tags       = local.tags
}

resource "openstack_networking_router_v2" "site" {
  name                = var.site
  admin_state_up      = true
  external_network_id = data.openstack_networking_network_v2.external.id
  tags                = local.tags
}

resource "openstack_networking_router_interface_v2" "site" {
  router_id = openstack_networking_router_v2.site.id
  subnet_id = openstack_networking_subnet_v2.site.id
}

# Only SSH, HTTP(S) and ping reach the host; Neutron gives a new group its allow-all
# egress rules (Neutron API reference, "Security groups": default rules).
resource "openstack_networking_secgroup_v2" "host" {
  name        = var.site
  description = "nassella site ${var.site}: SSH, HTTP(S), HTTP/3, ping"
  tags        = local.tags
}

locals {
  ingress = {
    ssh   = { protocol = "tcp", port = 22 }
    http  = { protocol = "tcp", port = 80 }
    https = { protocol = "tcp", port = 443 }
    http3 = { protocol = "udp", port = 443 }
    ping  = { protocol = "icmp", port = 0 }
  }
}

resource "openstack_networking_secgroup_rule_v2" "in" {
  for_each = local.ingress

  description       = each.key
  direction         = "ingress"
  ethertype         = "IPv4"
  protocol          = each.value.protocol
  port_range_min    = each.value.port == 0 ? null : each.value.port
  port_range_max    = each.value.port == 0 ? null : each.value.port
  remote_ip_prefix  = "0.0.0.0/0"
  security_group_id = openstack_networking_secgroup_v2.host.id
}

# The server's network port: made here, not by Nova, so it survives the server and the
# next server takes it over with its address and floating IP.
resource "openstack_networking_port_v2" "host" {
  name               = var.site
  network_id         = openstack_networking_network_v2.site.id
  admin_state_up     = true
  security_group_ids = [openstack_networking_secgroup_v2.host.id]
  tags               = local.tags

  fixed_ip {
    subnet_id = openstack_networking_subnet_v2.site.id
  }
}

# The site's public address. Kept like the data volume: a plan never deletes it unless
# danger_zone.allow_destroying_data is set (nassella then writes data_override.tf).
resource "openstack_networking_floatingip_v2" "ipv4" {
  pool        = var.external_network
  port_id     = openstack_networking_port_v2.host.id
  description = "nassella site ${var.site}"
  tags        = local.tags

  # Neutron associates a floating IP only with a port whose subnet reaches the external
  # network through a router.
  depends_on = [openstack_networking_router_interface_v2.site]

  lifecycle {
    prevent_destroy = true
  }
}
