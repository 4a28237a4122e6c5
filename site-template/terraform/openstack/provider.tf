# The OpenStack provider and the values only it reads, apart from the module's resources:
# a site moving away from this cloud keeps them at its root (generator/render/terraform).

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

variable "openstack_auth_url" {
  type        = string
  description = "The cloud's Keystone v3 address (e.g. https://auth.cloud.ovh.net/v3)"

  validation {
    condition     = can(regex("^https://", var.openstack_auth_url))
    error_message = "openstack_auth_url must be the cloud's https:// identity address."
  }
}

variable "openstack_region" {
  type        = string
  description = "Region of the server and its volume (e.g. GRA11)"
}

variable "openstack_application_credential_id" {
  type        = string
  description = "ID of the application credential of the site's project (the CI secret OPENSTACK_APPLICATION_CREDENTIAL_ID)"
  sensitive   = true
}

variable "openstack_application_credential_secret" {
  type        = string
  description = "Secret of that application credential (the CI secret OPENSTACK_APPLICATION_CREDENTIAL_SECRET)"
  sensitive   = true
}
