# The server on the owner's own libvirt host: Flatcar's QEMU image as the base of a fresh
# OS disk for every server, the Ignition handed over by QEMU's firmware configuration
# device, a data disk that outlives every server, a NIC on the owner's LAN.

locals {
  # The addresses the site's names point at (shared/dns.tf): the ones site.yaml names,
  # e.g. the office's public IP forwarded to this server, or its LAN address.
  public_ipv4 = var.ipv4_address
  public_ipv6 = var.ipv6_address
  has_ipv6    = var.ipv6_address != ""

  # The data disk's WWN, the same for every server of the site, so the host finds its data
  # by a name known before apply: QEMU gives a SCSI disk the WWN libvirt sets, and udev
  # links it as /dev/disk/by-id/wwn-0x<WWN> (systemd rules.d/60-persistent-storage.rules,
  # ID_WWN_WITH_EXTENSION). NAA type 5 (16 hex digits, the first one 5), as libvirt checks
  # a WWN (virValidateWWN).
  data_wwn   = "5${substr(sha256("nassella-data-${var.site}"), 0, 15)}"
  volume_env = "NASSELLA_DATA_DEVICE=/dev/disk/by-id/wwn-0x${local.data_wwn}\n"

  # A locally administered MAC (0x52 has the local bit; 52:54:00 is the prefix of QEMU's
  # default NIC address 52:54:00:12:34:56, QEMU docs "Network emulation") derived from the
  # site, the same for every server, so the LAN's DHCP reservation and port forwards keep
  # pointing at it.
  mac = join(":", concat(["52", "54", "00"], regexall("..", substr(sha256("nassella-mac-${var.site}"), 0, 6))))

  # The apply-time files that are part of the server's setup (shared/ignition.tf): a change
  # rebuilds it.
  setup_files = concat([
    local.volume_file,
    local.outside_file,
    local.mail_file,
  ], local.host_key_files)
}

# Flatcar's QEMU image (the address Flatcar's docs give it: getting-started/quickstart),
# downloaded once by the libvirt host into the pool. Servers boot
# from copies of it; Flatcar updates itself in place, so a newer image is not a rebuild.
resource "libvirt_volume" "flatcar" {
  name   = "${var.site}-flatcar-${var.flatcar_channel}.img"
  pool   = var.pool
  source = var.flatcar_image != "" ? var.flatcar_image : "https://${var.flatcar_channel}.release.flatcar-linux.net/amd64-usr/current/flatcar_production_qemu_image.img"
  format = "qcow2"

  lifecycle {
    ignore_changes = [source]
  }
}

# A fresh OS disk for every server (Ignition runs on first boot only), copy-on-write over
# the image.
resource "libvirt_volume" "os" {
  name           = "${var.site}-os.qcow2"
  pool           = var.pool
  base_volume_id = libvirt_volume.flatcar.id
  size           = var.os_disk_gb * 1073741824
  format         = "qcow2"

  lifecycle {
    replace_triggered_by = [terraform_data.server_setup]
  }
}

# The Ignition as a file in the pool, which QEMU passes to the guest as
# opt/com.coreos/config (the domain's coreos_ignition). A changed setup makes a new one
# with the current backup settings; new backup settings alone do not (nassella apply sends
# them to the running server).
resource "libvirt_ignition" "host" {
  name    = "${var.site}-ignition.json"
  pool    = var.pool
  content = local.user_data

  lifecycle {
    ignore_changes       = [content]
    replace_triggered_by = [terraform_data.server_setup]
  }
}

# The server. Immutable like on every platform: a changed setup replaces it with a fresh OS
# disk and the same data disk.
resource "libvirt_domain" "host" {
  name            = var.site
  description     = "nassella site ${var.site}"
  memory          = var.memory_mb
  vcpu            = var.vcpus
  autostart       = true
  coreos_ignition = libvirt_ignition.host.id

  disk {
    volume_id = libvirt_volume.os.id
  }

  disk {
    volume_id = libvirt_volume.data.id
    scsi      = true
    wwn       = local.data_wwn
  }

  network_interface {
    bridge       = var.bridge != "" ? var.bridge : null
    network_name = var.bridge == "" ? var.network : null
    mac          = local.mac
  }

  # The serial console, for virsh console when the network is down.
  console {
    type        = "pty"
    target_type = "serial"
    target_port = "0"
  }

  lifecycle {
    replace_triggered_by = [terraform_data.server_setup]
  }
}
