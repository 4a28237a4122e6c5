# All app data, secrets and certificates: outlives every server. libvirt volumes cannot
# grow through the provider (size forces a new volume), so a larger volume_gb is ignored
# here: grow it on the libvirt host (virsh vol-resize), and the host grows its file system
# at the next boot. Never destroyed by a plan unless danger_zone.allow_destroying_data is
# set (nassella then writes data_override.tf).
resource "libvirt_volume" "data" {
  name   = "${var.site}-data.qcow2"
  pool   = var.pool
  size   = var.volume_size * 1073741824
  format = "qcow2"

  lifecycle {
    prevent_destroy = true
    ignore_changes  = [size]
  }
}
