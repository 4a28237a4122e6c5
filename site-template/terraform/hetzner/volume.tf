# All app data, secrets and certificates: outlives every server.
resource "hcloud_volume" "data" {
  name              = "${var.site}-data"
  location          = var.location
  size              = var.volume_size
  delete_protection = var.protect_data
  labels            = local.labels
}

# Attached to whichever server is current; the host formats it only when blank.
resource "hcloud_volume_attachment" "data" {
  volume_id = hcloud_volume.data.id
  server_id = hcloud_server.host.id
  automount = false
}
