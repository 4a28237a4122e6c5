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

# qemu+ssh: the provider checks the libvirt host's key against the known_hosts file
# nassella writes from site.yaml (knownhosts; it would skip the check only with no_verify,
# which nassella never sets) and logs in with the CI secret LIBVIRT_SSH_KEY (keyfile):
# terraform-provider-libvirt v0.8.3, libvirt/uri/ssh.go. libvirt_uri replaces it, e.g.
# qemu:///system when tofu runs on the libvirt host itself.
provider "libvirt" {
  uri = var.libvirt_uri != "" ? var.libvirt_uri : "qemu+ssh://${var.libvirt_user}@${var.libvirt_host}/system?keyfile=${urlencode(var.libvirt_ssh_key_file)}&knownhosts=${urlencode(abspath("${path.module}/${var.libvirt_known_hosts_file}"))}"
}
