terraform {
  required_providers {
    # The server, its network, volume and floating IP in the site's OpenStack project
    # (terraform-provider-openstack v3.4.0, MPL-2.0).
    openstack = {
      source  = "terraform-provider-openstack/openstack"
      version = "3.4.0"
    }
    # The site's DNS zones when site.yaml's dns is hetzner (dns.tf, hetzner-dns.tf); one
    # required_providers block per module, so it is named here for every OpenStack site. A
    # site with dns: records_only has neither its provider block nor its resources, and
    # OpenTofu never starts it.
    hcloud = {
      source  = "hetznercloud/hcloud"
      version = "1.57.0"
    }
  }
}
