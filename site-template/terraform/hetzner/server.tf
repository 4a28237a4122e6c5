# Flatcar snapshot in the project, labelled by nassella bootstrap.
data "hcloud_image" "flatcar" {
  with_selector     = "os=flatcar,flatcar-channel=${var.flatcar_channel}"
  with_architecture = "x86"
  most_recent       = true
}

# SSH keys given to the server when it is created: Hetzner's rescue system takes them, and
# so does the host, whose Hetzner image also installs them for core through
# coreos-metadata-sshkeys@core besides the admin keys Ignition writes (Flatcar's docs,
# deploy/cloud/hetzner.md, create a server with --ssh-key alone and log in as core).
resource "hcloud_ssh_key" "admin" {
  for_each = var.ssh_keys

  name       = "${var.site}-${each.key}"
  public_key = each.value
  labels     = local.labels
}

locals {
  # The addresses the site's names point at (shared/dns.tf): the primary IPs, which outlive
  # every server.
  public_ipv4 = hcloud_primary_ip.ipv4.ip_address
  has_ipv6    = true

  # Values only known at apply time, written next to the committed Ignition on the host.
  volume_env = "NASSELLA_DATA_DEVICE=${hcloud_volume.data.linux_device}\n"

  # The public IPv6 the AAAA records point at (dns.tf), which Flatcar leaves unconfigured
  # on Hetzner (flatcar/Flatcar#1968): the ::1 of the primary IP's /64 with the gateway
  # fe80::1 on eth0, as Hetzner's metadata gives it (coreos/afterburn#1141; "The gateway
  # is always fe80::1", docs.hetzner.com robot/dedicated-server/network/
  # net-config-debian-ubuntu). networkd applies only the first matching file in name
  # order (systemd.network(5), [Match]), so this one replaces Flatcar's zz-default.network
  # for eth0 and repeats its DHCP settings for IPv4 (flatcar/init systemd/network/). eth0:
  # Flatcar keeps the kernel's names for virtio NICs (flatcar/init 98-virtio.link) and
  # the module attaches no other network; under another name the default file still
  # gives IPv4.
  public_ipv6 = cidrhost(hcloud_primary_ip.ipv6.ip_network, 1)
  public_network = join("\n", [
    "[Match]",
    "Name=eth0",
    "",
    "[Network]",
    "DHCP=ipv4",
    "KeepConfiguration=dhcp-on-stop",
    "Address=${local.public_ipv6}/${split("/", hcloud_primary_ip.ipv6.ip_network)[1]}",
    "Gateway=fe80::1",
    "",
    "[DHCPv4]",
    "UseMTU=true",
    "UseDomains=true",
    "RoutesToDNS=false",
    "",
  ])

  # The apply-time files that are part of the server's setup (shared/ignition.tf): a change
  # rebuilds it. Their order is part of the setup's hash: keep it.
  setup_files = concat([
    local.volume_file,
    local.outside_file,
    local.mail_file,
    {
      path      = "/etc/systemd/network/10-public.network"
      mode      = 420 # 0644
      overwrite = true
      contents  = { source = "data:;base64,${base64encode(local.public_network)}" }
    },
  ], local.host_key_files)
}

# The server. Immutable: a changed setup replaces it (data stays on the volume, the IPs
# stay); a newer Flatcar snapshot does not, as Flatcar updates itself in place, nor do new
# backup settings. A replacement boots with the whole current user_data: ignore_changes
# only holds back updates (opentofu internal/tofu/node_resource_abstract_instance.go plans
# a replace from the configuration "with no ignored values").
resource "hcloud_server" "host" {
  name                     = var.site
  server_type              = var.server_type
  datacenter               = var.datacenter
  image                    = data.hcloud_image.flatcar.id
  ssh_keys                 = [for key in hcloud_ssh_key.admin : key.id]
  user_data                = local.user_data
  firewall_ids             = [hcloud_firewall.host.id]
  shutdown_before_deletion = true
  keep_disk                = true # the OS disk stays small, so the server type can go down again
  labels                   = local.labels

  public_net {
    ipv4_enabled = true
    ipv4         = hcloud_primary_ip.ipv4.id
    ipv6_enabled = true
    ipv6         = hcloud_primary_ip.ipv6.id
  }

  # ssh_keys are read when the server is created only; they are the admin keys that also
  # come with the Ignition, whose change replaces the server anyway. user_data changes
  # through server_setup only.
  lifecycle {
    ignore_changes       = [image, ssh_keys, user_data]
    replace_triggered_by = [terraform_data.server_setup]

    # A private host key without its public half (or the other way round) is a plan made
    # by hand without nassella, which would rebuild the server with another user_data.
    precondition {
      condition     = (var.ssh_host_key == "") == (var.ssh_host_public_key == "")
      error_message = "ssh_host_key and ssh_host_public_key go together: run nassella plan (it derives the public key from TF_VAR_ssh_host_key), or set TF_VAR_ssh_host_public_key to the output of ssh-keygen -y -f KEYFILE."
    }
  }
}
