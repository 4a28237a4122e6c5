# Hetzner Cloud (values come from site.yaml through site.auto.tfvars; the site's own
# variables are in site-variables.tf)

variable "location" {
  type        = string
  description = "Hetzner location of the server and its volume (e.g. nbg1)"

  validation {
    condition     = contains(["fsn1", "nbg1", "hel1", "ash", "hil", "sin"], var.location)
    error_message = "The location must be one of fsn1, nbg1, hel1, ash, hil, sin."
  }
}

variable "datacenter" {
  type        = string
  description = "Hetzner datacenter of the location, where the primary IPs live (e.g. nbg1-dc3)"

  validation {
    condition     = startswith(var.datacenter, "${var.location}-")
    error_message = "The datacenter must be in the location (e.g. nbg1-dc3 for nbg1)."
  }
}

variable "server_type" {
  type        = string
  description = "Hetzner server type (e.g. cx33)"
}

variable "volume_size" {
  type        = number
  description = "Size of the data volume in GB (e.g. 50); it can grow, never shrink"

  validation {
    condition     = var.volume_size >= 10 && var.volume_size <= 10240
    error_message = "The volume size must be 10 to 10240 GB."
  }
}

# advanced
