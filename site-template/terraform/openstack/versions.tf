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

# An application credential of the site's project (the CI secrets
# OPENSTACK_APPLICATION_CREDENTIAL_ID and _SECRET): scoped to one project and revocable
# without touching the owner's password. terraform-provider-openstack v3.4.0,
# openstack/provider.go (application_credential_id, application_credential_secret).
provider "openstack" {
  auth_url                      = var.openstack_auth_url
  region                        = var.openstack_region
  application_credential_id     = var.openstack_application_credential_id
  application_credential_secret = var.openstack_application_credential_secret
}
