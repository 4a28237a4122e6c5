# All app data, secrets and certificates: outlives every server. A larger volume_gb
# extends it in place while it stays attached (enable_online_resize: without it the
# provider refuses to extend an attached volume; it then asks Cinder for microversion 3.42,
# terraform-provider-openstack v3.4.0, resource_openstack_blockstorage_volume_v3.go,
# Update); the host grows its file system at the next boot. Never destroyed
# by a plan unless danger_zone.allow_destroying_data is set (nassella then writes
# data_override.tf).
resource "openstack_blockstorage_volume_v3" "data" {
  name              = "${var.site}-data"
  description       = "nassella site ${var.site}: all app data"
  size              = var.volume_size
  volume_type       = var.volume_type != "" ? var.volume_type : null
  availability_zone = var.availability_zone != "" ? var.availability_zone : null
  metadata          = local.labels

  enable_online_resize = true

  lifecycle {
    prevent_destroy = true
  }
}

# Attached to whichever server is current; the host formats it only when blank.
resource "openstack_compute_volume_attach_v2" "data" {
  instance_id = openstack_compute_instance_v2.host.id
  volume_id   = openstack_blockstorage_volume_v3.data.id
}
