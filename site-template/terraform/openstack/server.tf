# The server in the site's OpenStack project: Flatcar's OpenStack image from the project's
# image service, the Ignition as user_data (also on a config drive, for clouds without a
# metadata service), the port and data volume that outlive it.

data "openstack_images_image_v2" "flatcar" {
  name        = local.image_name
  most_recent = true
}

data "openstack_compute_flavor_v2" "server" {
  name = var.flavor
}

locals {
  # The name nassella bootstrap uploads Flatcar's OpenStack image under.
  image_name = var.image_name != "" ? var.image_name : "flatcar-${var.flatcar_channel}"

  # Neutron and Cinder take tags as a list; Nova and Cinder take metadata as a map
  # (local.labels).
  tags = ["nassella-site=${var.site}"]

  # The addresses the site's names point at (shared/dns.tf): the floating IP, which
  # outlives every server.
  public_ipv4 = openstack_networking_floatingip_v2.ipv4.address
  public_ipv6 = ""
  has_ipv6    = false

  # The data volume by the serial QEMU gives it: Nova sets a volume's disk serial to the
  # volume's ID (nova-specs, rocky "local-disk-serial-numbers": "we already expose the
  # volume id as the serial number"), virtio-blk passes at most 20 bytes of it
  # (linux include/uapi/linux/virtio_blk.h, VIRTIO_BLK_ID_BYTES) and udev links
  # /dev/disk/by-id/virtio-<serial> (systemd rules.d/60-persistent-storage.rules). Known
  # before the server exists, the same for every server of the site.
  data_device = "/dev/disk/by-id/virtio-${substr(openstack_blockstorage_volume_v3.data.id, 0, 20)}"
  volume_env  = "NASSELLA_DATA_DEVICE=${local.data_device}\n"

  # The apply-time files that are part of the server's setup (shared/ignition.tf): a change
  # rebuilds it.
  setup_files = concat([
    local.volume_file,
    local.outside_file,
    local.mail_file,
  ], local.host_key_files)
}

# The server. Immutable like on every platform: a changed setup replaces it; the port with
# its floating IP and the data volume stay. A newer Flatcar image is not a rebuild
# (Flatcar updates itself in place), nor are new backup settings. A replacement boots with
# the whole current user_data (ignore_changes only holds back updates).
resource "openstack_compute_instance_v2" "host" {
  name              = var.site
  image_id          = data.openstack_images_image_v2.flatcar.id
  flavor_id         = data.openstack_compute_flavor_v2.server.id
  user_data         = local.user_data
  config_drive      = true
  availability_zone = var.availability_zone != "" ? var.availability_zone : null
  metadata          = local.labels

  network {
    port = openstack_networking_port_v2.host.id
  }

  lifecycle {
    ignore_changes       = [image_id, user_data]
    replace_triggered_by = [terraform_data.server_setup]

    precondition {
      condition     = data.openstack_compute_flavor_v2.server.ram >= var.memory_needed_mb
      error_message = "The flavor ${var.flavor} has ${data.openstack_compute_flavor_v2.server.ram} MiB of memory, the site's apps need ${var.memory_needed_mb} MiB: choose a larger flavor in site.yaml's provider.openstack.flavor (openstack flavor list shows them), or remove an app."
    }

    # A private host key without its public half (or the other way round) is a plan made
    # by hand without nassella, which would rebuild the server with another user_data.
    precondition {
      condition     = (var.ssh_host_key == "") == (var.ssh_host_public_key == "")
      error_message = "ssh_host_key and ssh_host_public_key go together: run nassella plan (it derives the public key from TF_VAR_ssh_host_key), or set TF_VAR_ssh_host_public_key to the output of ssh-keygen -y -f KEYFILE."
    }
  }
}
