terraform {
  required_providers {
    # The server, its disks and its Ignition on the owner's own libvirt host
    # (dmacvicar/terraform-provider-libvirt v0.8.3, Apache-2.0).
    libvirt = {
      source  = "dmacvicar/libvirt"
      version = "0.8.3"
    }
    # The site's DNS zones when site.yaml's dns is hetzner (dns.tf, hetzner-dns.tf); one
    # required_providers block per module, so it is named here for every libvirt site. A
    # site with dns: records_only has neither its provider block nor its resources, and
    # OpenTofu never starts it.
    hcloud = {
      source  = "hetznercloud/hcloud"
      version = "1.57.0"
    }
  }
}
