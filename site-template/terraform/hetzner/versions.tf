terraform {
  required_version = ">= 1.8"

  required_providers {
    hcloud = {
      source  = "hetznercloud/hcloud"
      version = "1.57.0"
    }
  }

  # State and plans hold the server's user_data, which carries outside secrets: both are
  # encrypted with a passphrase that lives only in the forge's secret store.
  encryption {
    key_provider "pbkdf2" "site" {
      passphrase = var.state_passphrase
    }
    method "aes_gcm" "site" {
      keys = key_provider.pbkdf2.site
    }
    state {
      method   = method.aes_gcm.site
      enforced = true
    }
    plan {
      method   = method.aes_gcm.site
      enforced = true
    }
  }
}

provider "hcloud" {
  token    = var.hcloud_token
  endpoint = var.hcloud_endpoint
}
