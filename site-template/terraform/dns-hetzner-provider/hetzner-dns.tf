# The site's DNS zones are at Hetzner (site.yaml's dns: hetzner) while the server runs
# elsewhere: Hetzner DNS serves a server anywhere. Only the zones use this provider
# (required in the platform's versions.tf).
provider "hcloud" {
  token    = var.hcloud_token
  endpoint = var.hcloud_endpoint
}

variable "hcloud_token" {
  type        = string
  description = "Hetzner Cloud API token of the project holding the site's DNS zones"
  sensitive   = true
}

variable "hcloud_endpoint" {
  type        = string
  description = "Hetzner Cloud API endpoint (e.g. https://api.hetzner.cloud/v1)"
  default     = "https://api.hetzner.cloud/v1"
}
