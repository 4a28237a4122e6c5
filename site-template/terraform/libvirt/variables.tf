# Own hardware through libvirt (values come from site.yaml through site.auto.tfvars; the
# site's own variables are in site-variables.tf)

variable "pool" {
  type        = string
  description = "libvirt storage pool of the server's disks (e.g. default)"
  default     = "default"
}

variable "bridge" {
  type        = string
  description = "Bridge on the libvirt host the server is plugged into, on the LAN (e.g. br0); empty: the libvirt network named in network"
  default     = ""
}

variable "network" {
  type        = string
  description = "libvirt network of the server when bridge is empty (e.g. default)"
  default     = "default"
}

variable "ipv4_address" {
  type        = string
  description = "IPv4 address the site's names point at: the server's, or the router's that forwards ports 80 and 443 to it (e.g. 203.0.113.7)"

  validation {
    condition     = can(cidrhost("${var.ipv4_address}/32", 0))
    error_message = "ipv4_address must be an IPv4 address (e.g. 203.0.113.7)."
  }
}

variable "ipv6_address" {
  type        = string
  description = "IPv6 address the site's names point at; empty: no AAAA records"
  default     = ""
}

variable "memory_mb" {
  type        = number
  description = "Memory of the server in MiB (e.g. 4096)"

  validation {
    condition     = var.memory_mb >= 1024
    error_message = "The server needs at least 1024 MiB of memory."
  }
}

variable "vcpus" {
  type        = number
  description = "Virtual CPUs of the server (e.g. 2)"
  default     = 2
}

variable "os_disk_gb" {
  type        = number
  description = "Size of the server's OS disk in GiB; Flatcar's image needs at least 8"
  default     = 20
}

variable "volume_size" {
  type        = number
  description = "Size of the data volume in GiB (e.g. 50); grow it on the libvirt host (virsh vol-resize), not here"

  validation {
    condition     = var.volume_size >= 10 && var.volume_size <= 10240
    error_message = "The volume size must be 10 to 10240 GB."
  }
}

variable "flatcar_image" {
  type        = string
  description = "URL or path on the libvirt host of Flatcar's QEMU image; empty: the channel's current image from Flatcar's release server"
  default     = ""
}

# advanced
