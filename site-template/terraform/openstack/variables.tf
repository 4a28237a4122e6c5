# OpenStack (values come from site.yaml through site.auto.tfvars; the site's own variables
# are in site-variables.tf)

variable "flavor" {
  type        = string
  description = "Flavor (size) of the server, as the cloud names it (e.g. b3-8)"
}

variable "memory_needed_mb" {
  type        = number
  description = "Memory the site's apps and the system need in MiB; the flavor must have it (the generator sums the catalog's figures)"
  default     = 0
}

variable "external_network" {
  type        = string
  description = "The cloud's external network the floating IP comes from (e.g. Ext-Net)"
}

variable "image_name" {
  type        = string
  description = "Name of the Flatcar image in the project's image service (nassella bootstrap uploads it)"
  default     = ""
}

variable "availability_zone" {
  type        = string
  description = "Availability zone of the server and its volume; empty: the cloud's default"
  default     = ""
}

variable "volume_size" {
  type        = number
  description = "Size of the data volume in GB (e.g. 50); it can grow, never shrink"

  validation {
    condition     = var.volume_size >= 10 && var.volume_size <= 10240
    error_message = "The volume size must be 10 to 10240 GB."
  }
}

variable "volume_type" {
  type        = string
  description = "Volume type of the data volume as the cloud names it (e.g. classic); empty: the cloud's default"
  default     = ""
}

variable "subnet_cidr" {
  type        = string
  description = "The site's private network, behind the router that holds the floating IP"
  default     = "10.77.0.0/24"
}

# outside secrets
