# The hcloud provider and the values only it reads, apart from the module's resources:
# a site moving away from Hetzner keeps them at its root (generator/render/terraform).

provider "hcloud" {
  token    = var.hcloud_token
  endpoint = var.hcloud_endpoint
}

variable "hcloud_token" {
  type        = string
  description = "Hetzner Cloud API token with read-write access to the site's project"
  sensitive   = true
}

variable "hcloud_endpoint" {
  type        = string
  description = "Hetzner Cloud API endpoint (e.g. https://api.hetzner.cloud/v1)"
  default     = "https://api.hetzner.cloud/v1"
}
