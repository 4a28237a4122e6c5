# Addresses that outlive the server, so DNS never changes when it is replaced.
resource "hcloud_primary_ip" "ipv4" {
  name              = "${var.site}-ipv4"
  type              = "ipv4"
  datacenter        = var.datacenter
  assignee_type     = "server"
  auto_delete       = false
  delete_protection = var.protect_data
  labels            = local.labels
}

resource "hcloud_primary_ip" "ipv6" {
  name              = "${var.site}-ipv6"
  type              = "ipv6"
  datacenter        = var.datacenter
  assignee_type     = "server"
  auto_delete       = false
  delete_protection = var.protect_data
  labels            = local.labels
}

# Only SSH, HTTP(S) and ping reach the host.
resource "hcloud_firewall" "host" {
  name   = var.site
  labels = local.labels

  rule {
    description = "SSH"
    direction   = "in"
    protocol    = "tcp"
    port        = "22"
    source_ips  = ["0.0.0.0/0", "::/0"]
  }

  rule {
    description = "HTTP, for certificates and redirects"
    direction   = "in"
    protocol    = "tcp"
    port        = "80"
    source_ips  = ["0.0.0.0/0", "::/0"]
  }

  rule {
    description = "HTTPS"
    direction   = "in"
    protocol    = "tcp"
    port        = "443"
    source_ips  = ["0.0.0.0/0", "::/0"]
  }

  rule {
    description = "HTTP/3"
    direction   = "in"
    protocol    = "udp"
    port        = "443"
    source_ips  = ["0.0.0.0/0", "::/0"]
  }

  rule {
    description = "ping"
    direction   = "in"
    protocol    = "icmp"
    source_ips  = ["0.0.0.0/0", "::/0"]
  }
}
