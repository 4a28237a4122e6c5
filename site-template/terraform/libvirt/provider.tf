# The libvirt provider and the values only it reads, apart from the module's resources:
# a site moving away from this host keeps them at its root (generator/render/terraform).

# qemu+ssh: the provider checks the libvirt host's key against the known_hosts file
# nassella writes from site.yaml (knownhosts; it would skip the check only with no_verify,
# which nassella never sets) and logs in with the CI secret LIBVIRT_SSH_KEY (keyfile):
# terraform-provider-libvirt v0.8.3, libvirt/uri/ssh.go. libvirt_uri replaces it, e.g.
# qemu:///system when tofu runs on the libvirt host itself.
provider "libvirt" {
  uri = var.libvirt_uri != "" ? var.libvirt_uri : "qemu+ssh://${var.libvirt_user}@${var.libvirt_host}/system?keyfile=${urlencode(var.libvirt_ssh_key_file)}&knownhosts=${urlencode(abspath("${path.module}/${var.libvirt_known_hosts_file}"))}"
}

variable "libvirt_host" {
  type        = string
  description = "The libvirt host nassella reaches over SSH (e.g. box.office.example)"
  default     = ""
}

variable "libvirt_user" {
  type        = string
  description = "User on the libvirt host, in its libvirt group (e.g. nassella)"
  default     = "nassella"
}

variable "libvirt_known_hosts_file" {
  type        = string
  description = "known_hosts file holding the libvirt host's SSH key, relative to this folder"
  default     = "libvirt_known_hosts"
}

variable "libvirt_ssh_key_file" {
  type        = string
  description = "File holding the SSH key that logs in to the libvirt host (the CI secret LIBVIRT_SSH_KEY, written to a file by the workflow)"
  default     = ""
}

variable "libvirt_uri" {
  type        = string
  description = "libvirt connection URI instead of qemu+ssh to libvirt_host (e.g. qemu:///system when tofu runs on the libvirt host)"
  default     = ""
}
