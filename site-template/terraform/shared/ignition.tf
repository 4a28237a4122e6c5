# What every platform's server boots with besides the committed Ignition: the outside
# secrets, the SSH host key and the backup settings, as Ignition files. Each platform's
# server.tf adds its own apply-time files (the data volume's device, its network) and
# passes the whole as user_data.
locals {
  labels = {
    "nassella-site" = var.site
  }

  outside_env = join("", [
    "RESTIC_PASSWORD=${var.backup_password}\n",
    "AWS_ACCESS_KEY_ID=${var.backup_s3_access_key_id}\n",
    "AWS_SECRET_ACCESS_KEY=${var.backup_s3_secret_access_key}\n",
  ])
  # The mail relay's password, apart from the backup's: the secrets service gives it to the
  # apps that send e-mail, and restic never sees it.
  mail_env = "SMTP_PASSWORD=${var.smtp_password}\n"

  # Each platform's server.tf says where its data volume is (local.volume_env).
  volume_file = {
    path      = "/etc/nassella/volume.env"
    mode      = 420 # 0644
    overwrite = true
    contents  = { source = "data:;base64,${base64encode(local.volume_env)}" }
  }
  outside_file = {
    path      = "/etc/nassella/outside.env"
    mode      = 384 # 0600
    overwrite = true
    contents  = { source = "data:;base64,${base64encode(local.outside_env)}" }
  }
  mail_file = {
    path      = "/etc/nassella/mail.env"
    mode      = 384 # 0600
    overwrite = true
    contents  = { source = "data:;base64,${base64encode(local.mail_env)}" }
  }

  # The committed Ignition, gzipped to stay far below the providers' user_data limits
  # (Hetzner: 32 KiB).
  ignition_source = "data:;base64,${base64gzip(file("${path.module}/${var.ignition_file}"))}"

  # When backups run, how many are kept, the heartbeat: written at first boot, changed on
  # the running server by nassella apply (over SSH, with the backup key), never a rebuild.
  backup_settings = file("${path.module}/${var.backup_settings_file}")
  backup_settings_file = {
    path      = "/etc/nassella/backup-settings.env"
    mode      = 420 # 0644
    overwrite = true
    contents  = { source = "data:;base64,${base64encode(local.backup_settings)}" }
  }

  # The restore a server taking the site over does on a blank data volume before its apps
  # start (nassella-restore.service on the host). Like the backup settings it is not part of
  # the setup: naming a backup rebuilds nothing, a server made afterwards restores it.
  restore_files = var.restore_snapshot == "" ? [] : [
    {
      path      = "/etc/nassella/restore.env"
      mode      = 420 # 0644
      overwrite = true
      contents  = { source = "data:;base64,${base64encode("NASSELLA_RESTORE_SNAPSHOT=${var.restore_snapshot}\n")}" }
    },
  ]

  # The SSH host key, the same on every server of the site, so nassella checks the server
  # it backs up before a rebuild (and the doctor's) against a key known before the server
  # exists. Ignition writes it before sshd starts; Flatcar's sshd-keygen.service runs
  # ssh-keygen -A, which only makes the keys that are missing (flatcar/init
  # systemd/system/sshd-keygen.service and coreos/init scripts/sshd_keygen).
  host_key_files = var.ssh_host_key == "" ? [] : [
    {
      path      = "/etc/ssh/ssh_host_ed25519_key"
      mode      = 384 # 0600
      overwrite = true
      contents  = { source = "data:;base64,${base64encode("${trimspace(var.ssh_host_key)}\n")}" }
    },
    {
      path      = "/etc/ssh/ssh_host_ed25519_key.pub"
      mode      = 420 # 0644
      overwrite = true
      contents  = { source = "data:;base64,${base64encode("${trimspace(var.ssh_host_public_key)}\n")}" }
    },
  ]

  # The Ignition the server boots with: it merges the committed one and adds the
  # apply-time files (local.setup_files, each platform's) and the backup settings.
  user_data = jsonencode({
    ignition = {
      version = "3.3.0"
      config = {
        merge = [{
          source      = local.ignition_source
          compression = "gzip"
        }]
      }
    }
    storage = {
      files = concat(local.setup_files, [local.backup_settings_file], local.restore_files)
    }
  })
}

# The server's setup: the committed Ignition and the apply-time files, not the backup
# settings. A change replaces the server (each platform's server has it in
# replace_triggered_by, which triggers on this resource's update: opentofu
# internal/tofu/eval_context_builtin.go, EvaluateReplaceTriggeredBy); its hash keeps the
# state small.
resource "terraform_data" "server_setup" {
  input = sha256(jsonencode([local.ignition_source, local.setup_files]))
}

# The backup settings the running server has (the file's lines, comments aside); a change
# is an update that nassella apply sends to the server, which restarts nothing.
resource "terraform_data" "backup_settings" {
  input = [for line in split("\n", local.backup_settings) : line if line != "" && !startswith(line, "#")]
}
