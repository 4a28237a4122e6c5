# site (values come from site.yaml through site.auto.tfvars)

variable "site" {
  type        = string
  description = "Name of the site, used in every resource name (e.g. acme)"

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$", var.site))
    error_message = "The site must be 1 to 32 lowercase letters, digits and dashes."
  }
}

variable "ssh_keys" {
  type        = map(string)
  description = "Public SSH keys by name, for rescue access (e.g. { admin-1 = \"ssh-ed25519 AAAA...\" })"
}

variable "zones" {
  type        = list(string)
  description = "DNS zones the site's records go in (e.g. [\"acme.example\"])"
}

variable "records" {
  type = map(object({
    zone = string
    name = string
  }))
  description = "Host names pointing at the server, by fully qualified name (e.g. { \"cloud.acme.example\" = { zone = \"acme.example\", name = \"cloud\" } })"
}

variable "dns_mode" {
  type        = string
  description = "How the site's DNS is served: whole_domain, subdomain (a zone per delegated subdomain) or records_only (no zone; the owner adds records_to_add at their DNS host)"
  default     = "whole_domain"

  validation {
    condition     = contains(["whole_domain", "subdomain", "records_only"], var.dns_mode)
    error_message = "The DNS mode must be one of whole_domain, subdomain, records_only."
  }
}

variable "owner_records" {
  type = map(object({
    zone   = string
    name   = string
    type   = string
    ttl    = number
    values = list(string)
  }))
  description = "The owner's own records kept in the zone (dns.hetzner.records), one set per name and type (e.g. { \"acme.example @ MX\" = { zone = \"acme.example\", name = \"@\", type = \"MX\", ttl = 3600, values = [\"10 mx.mail.example.\"] } })"
  default     = {}
}

variable "flatcar_channel" {
  type        = string
  description = "Flatcar channel of the snapshot the server boots from (e.g. stable)"

  validation {
    condition     = contains(["stable", "beta", "alpha"], var.flatcar_channel)
    error_message = "The Flatcar channel must be one of stable, beta, alpha."
  }
}

# configuration

variable "ignition_file" {
  type        = string
  description = "Path of the host's Ignition, rendered from host/butane.yaml"
  default     = "../host/ignition.json"
}

variable "backup_settings_file" {
  type        = string
  description = "Path of the backup settings that change on the running server (schedule, retention, heartbeat)"
  default     = "../host/backup-settings.env"
}

variable "restore_snapshot" {
  type        = string
  description = "Backup a new server restores onto a blank data volume before its apps start (latest, or a snapshot ID), for a server taking the site over; empty: none. Never restores over data"
  default     = ""

  validation {
    condition     = can(regex("^(latest|[0-9a-f]{8,64})?$", var.restore_snapshot))
    error_message = "restore_snapshot must be latest or a snapshot ID (8 to 64 hex digits)."
  }
}

variable "protect_data" {
  type        = bool
  description = "Protect the data volume and IP addresses from deletion; turn off only to delete the site"
  default     = true
}

# outside secrets (set from the forge's secret store, e.g. TF_VAR_backup_password)

variable "backup_password" {
  type        = string
  description = "Password of the restic repository the host backs up to"
  sensitive   = true
  default     = ""
}

variable "backup_s3_access_key_id" {
  type        = string
  description = "Access key of the backup bucket"
  sensitive   = true
  default     = ""
}

variable "backup_s3_secret_access_key" {
  type        = string
  description = "Secret key of the backup bucket"
  sensitive   = true
  default     = ""
}

variable "smtp_password" {
  type        = string
  description = "Password of the mail relay the apps send e-mail through (site.yaml mail.user), the CI secret SMTP_PASSWORD"
  sensitive   = true
  default     = ""

  # The host gives it to the apps single-quoted in a Compose env file, which ends a value
  # at a ' not after a \ (compose-go dotenv, extractVarValue).
  validation {
    condition     = !strcontains(var.smtp_password, "'") && !strcontains(var.smtp_password, "\n") && !endswith(var.smtp_password, "\\")
    error_message = "The CI secret SMTP_PASSWORD must not contain a single quote (') or a line break, nor end with a backslash: the apps could not be given it. Make a new password for the mail account without them."
  }
}

variable "ssh_host_key" {
  type        = string
  description = "The server's SSH host key (OpenSSH ed25519 private key, the NASSELLA_HOST_KEY secret), made by nassella bootstrap so the key is known before the server exists; empty: the server makes its own"
  sensitive   = true
  default     = ""
}

variable "ssh_host_public_key" {
  type        = string
  description = "Public half of ssh_host_key (ssh-ed25519 AAAA...); nassella plan derives it from the private key"
  default     = ""

  validation {
    condition     = var.ssh_host_public_key == "" || startswith(var.ssh_host_public_key, "ssh-ed25519 ")
    error_message = "The host's public key must be an ed25519 public key line (ssh-ed25519 AAAA...)."
  }
}
