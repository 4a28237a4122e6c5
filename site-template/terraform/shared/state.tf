# Every platform's OpenTofu settings; the providers are in the platform's versions.tf.
terraform {
  required_version = ">= 1.8"

  # State and plans hold the server's Ignition, which carries outside secrets: both are
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

variable "state_passphrase" {
  type        = string
  description = "Passphrase encrypting the Terraform state and plans (at least 16 characters)"
  sensitive   = true
}
