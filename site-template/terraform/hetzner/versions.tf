terraform {
  required_providers {
    hcloud = {
      source  = "hetznercloud/hcloud"
      version = "1.57.0"
    }
  }
}

provider "hcloud" {
  token    = var.hcloud_token
  endpoint = var.hcloud_endpoint
}
