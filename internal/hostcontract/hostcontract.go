// Package hostcontract is what nassella and a site's server agree on: where files live on
// the host, the systemd units, and the backup protocol with its status record. The
// renderers write the host to it and the pipelines talk to the host through it, so neither
// side has to ask the other. The host scripts (site-template/host) spell these paths out
// literally; a test keeps them equal to the constants here.
package hostcontract

import (
	"fmt"
	"strings"
)

// Paths on the host: where the Ignition puts files and where data lives.
const (
	DataDir    = "/var/lib/nassella"        // the data volume
	ConfigDir  = "/etc/nassella"            // written by Ignition; replaced with the server
	SecretsDir = DataDir + "/secrets"       // generated on the host at first boot
	BinDir     = "/opt/nassella/bin"        // host scripts
	ProxyNet   = "nassella-proxy"           // the docker network Caddy reaches the apps on
	DataLabel  = "nassella-data"            // filesystem label of the data volume
	VolumeEnv  = ConfigDir + "/volume.env"  // written by Terraform at apply: the device path
	OutsideEnv = ConfigDir + "/outside.env" // written by Terraform at apply: restic's password, S3 keys
	MailEnv    = ConfigDir + "/mail.env"    // written by Terraform at apply: the mail relay's password
	ProxyDir   = ConfigDir + "/proxy"       // Caddy's compose file and Caddyfile
	CaddyData  = DataDir + "/proxy"         // Caddy's certificates and state
	AppsConfig = ConfigDir + "/apps"        // per app compose files
	AppsData   = DataDir + "/apps"          // per app data folders
	DumpsDir   = "dumps"                    // per app folder for backup hook output
	EnvSuffix  = ".env"                     // secrets file per app under SecretsDir
	ComposeYML = "compose.yaml"             // file name of every compose file
	Caddyfile  = "Caddyfile"                // file name of the Caddy config

	DataVolumeScript = BinDir + "/nassella-data-volume" // formats the data volume when blank
	SecretsScript    = BinDir + "/nassella-secrets"     // creates the apps' secrets once
)

// MailPasswordVar holds the mail relay's password in the secrets file of each app that
// sends mail; its compose file names only the variable. The secrets script copies it
// there from MailEnv at every boot.
const MailPasswordVar = "NASSELLA_SMTP_PASSWORD"

// Systemd units nassella writes.
const (
	UnitPrefix     = "nassella-"
	AppUnit        = UnitPrefix + "app-%s.service" // one per app
	ProxyUnit      = UnitPrefix + "proxy.service"  // Caddy
	DataVolumeUnit = UnitPrefix + "data-volume.service"
	DataMount      = "var-lib-nassella.mount" // systemd's name for DataDir
	SecretsUnit    = UnitPrefix + "secrets.service"
)

// The metadata guard: the cloud metadata service serves user_data, with the backup
// credentials, to anything on the server that asks; no container needs it. Its rule has to
// exist before dockerd starts the containers again at boot.
const (
	MetadataGuardUnit = UnitPrefix + "metadata-guard.service"
	MetadataAddress   = "169.254.169.254"
	DockerUnit        = "docker.service" // Flatcar's; docker.socket activates it too
	DockerUserChain   = "DOCKER-USER"    // the chain dockerd jumps to from FORWARD first and leaves alone
)

// The claim: each app's administrator is created on the host once, after the app first
// answers its health check (the catalog's claim steps, rendered per app into ClaimFile
// and run by ClaimScript from ClaimUnit). Caddy serves an app only while its marker
// exists in ClaimsDir; a failed claim leaves the reason beside it and the app shut.
const (
	ClaimsDir     = DataDir + "/claims"             // <app> once claimed, <app>.failed with the reason
	ClaimCommand  = "nassella-claim"                // run | credentials
	ClaimScript   = BinDir + "/" + ClaimCommand     // the runner
	ClaimFile     = "claim.sh"                      // per app under AppsConfig: its login and steps
	ClaimUnit     = UnitPrefix + "claim-%s.service" // one per app
	ClaimsInProxy = "/claims"                       // where Caddy's container sees ClaimsDir, read-only
	ClaimFailed   = ".failed"                       // suffix of a failed claim's reason
)

// SetupHeader is the header of the proxy's answer while an app is shut, saying why, so
// that apply's health check and doctor can tell the owner: SetupPending while its claim
// runs, SetupFailed after it failed.
const (
	SetupHeader  = "X-Nassella-Setup"
	SetupPending = "pending"
	SetupFailed  = "failed"
)

// ClaimUnitName is the unit that claims app.
func ClaimUnitName(app string) string { return fmt.Sprintf(ClaimUnit, app) }

// AppUnitName is the unit that runs app.
func AppUnitName(app string) string { return fmt.Sprintf(AppUnit, app) }

// Backup on the host: restic, run from the catalog's pinned image, backs the data volume up
// to the site's S3 target on a timer, and writes a Status record after every run.
const (
	BackupScript     = BinDir + "/nassella-backup" // run | check | restore | snapshots
	BackupNowCommand = "nassella-backup-now"       // the forced command of admin.backup_key
	BackupNowScript  = BinDir + "/" + BackupNowCommand
	BackupEnv        = ConfigDir + "/backup.env"      // repository, image, excludes
	BackupHooks      = ConfigDir + "/backup-hooks.sh" // each app's dump commands
	BackupStateDir   = DataDir + "/backup"            // status.json, on the volume
	BackupStatusFile = BackupStateDir + "/status.json"
	BackupCacheDir   = "/var/cache/nassella/restic" // restic's cache; not backed up
	BackupUnit       = UnitPrefix + "backup.service"
	BackupTimer      = UnitPrefix + "backup.timer"
	BackupCheckUnit  = UnitPrefix + "backup-check.service"
	BackupCheckTimer = UnitPrefix + "backup-check.timer"
	// StatusCommand is what the backup key may ask for instead of a backup: the status
	// record, so `nassella doctor` can read it from CI.
	StatusCommand = "nassella-backup-status"
)

// Restore on a first boot: a server made to take a site over (a move to another platform,
// a lost server or volume) gets RestoreEnv from apply, naming a snapshot. On a blank data
// volume RestoreUnit restores it (BackupScript RestoreVerb) before the secrets, the proxy
// and the apps start; a volume with data is never touched. RestorePending marks a
// restore that began, so one that failed is tried again at the next boot instead of the
// apps starting on part of the data.
const (
	RestoreEnv     = ConfigDir + "/restore.env" // NASSELLA_RESTORE_SNAPSHOT=latest or a snapshot ID
	RestoreVar     = "NASSELLA_RESTORE_SNAPSHOT"
	RestoreUnit    = UnitPrefix + "restore.service"
	RestoreVerb    = "restore-first-boot"
	RestorePending = DataDir + "/.nassella-restore-pending"
)

// The backup settings that change on a running server, without a rebuild: when backups
// run, how many are kept, and the heartbeat address. Terraform writes them at first boot
// (they are not part of the Ignition that decides a rebuild); later, `nassella apply`
// sends new ones through the backup key's forced command, which hands them to
// SettingsScript. A systemd generator turns them into the backup timer's schedule at
// every boot and daemon-reload.
const (
	BackupSettings    = ConfigDir + "/backup-settings.env" // KEY=VALUE lines, read, never sourced
	SettingsCommand   = "nassella-backup-settings"         // what the backup key asks for, the settings on stdin
	SettingsScript    = BinDir + "/" + SettingsCommand     // set (stdin) | timer DIR
	ScheduleGenerator = "/etc/systemd/system-generators/nassella-backup-schedule"
	ScheduleDropIn    = BackupTimer + ".d/schedule.conf" // written by the generator into its folder
)

// SettingsKeys are the keys of BackupSettings, in the order they are written.
var SettingsKeys = []string{"NASSELLA_SCHEDULE", "NASSELLA_KEEP_DAILY", "NASSELLA_KEEP_WEEKLY", "NASSELLA_KEEP_MONTHLY", "NASSELLA_HEARTBEAT_URL"}

// Repository is the restic repository of a site: a folder named after the site in the
// backup bucket at endpoint.
func Repository(endpoint, bucket, site string) string {
	return "s3:" + strings.TrimSuffix(endpoint, "/") + "/" + bucket + "/" + site
}

// BackupTag is the tag of every snapshot the host makes; its host name is the site's name
// (the backup runs restic with --host SITE --tag nassella).
const BackupTag = "nassella"

// SnapshotFilter are restic's options that keep snapshots, forget and a "latest" to the
// host's own backups. restic applies them to "latest" only, not to a snapshot named by
// ID, so whoever takes an ID checks its host and tag itself.
func SnapshotFilter(host string) []string {
	return []string{"--host", host, "--tag", BackupTag}
}

// RestoreArgs are restic's arguments to restore a snapshot of host ("latest" when empty,
// the newest of host's backups) into target, the whole data volume or only one app's
// folder and secrets. The host script and `nassella restore` both run exactly these (the
// host's in the pinned restic image).
func RestoreArgs(host, snapshot, app, target string) []string {
	if snapshot == "" {
		snapshot = "latest"
	}
	args := append([]string{"restore", snapshot}, SnapshotFilter(host)...)
	args = append(args, "--target", target, "--verify")
	if app != "" {
		args = append(args, RestorePaths(app)...)
	}
	return args
}

// RestorePaths are restic's --include options that restore only app: its folder (with its
// dumps) and its secrets.
func RestorePaths(app string) []string {
	return []string{"--include", "/apps/" + app, "--include", "/secrets/" + app + EnvSuffix}
}

// AuthorizedBackupKey is the authorized_keys line of admin.backup_key: it may run the
// backup command and nothing else.
func AuthorizedBackupKey(key string) string { return forced(BackupNowScript, key) }

// The logs key: admin.logs_key may read the journal and nothing else. Its forced command
// takes one request, exactly
//
//	logs [--app NAME] [--lines N] [--since 'WHEN'] [--follow]
//
// in this order (NAME one of the server's apps, proxy or backup; N at most LogsMax; WHEN
// letters, digits, spaces and :.+@-), and runs journalctl with the filters `nassella logs`
// asks for with an admin key.
const (
	LogsCommand = "nassella-logs"
	LogsScript  = BinDir + "/" + LogsCommand
	LogsVerb    = "logs" // the first word of every request
	LogsMax     = 10000  // the most entries one request may ask for
)

// AuthorizedLogsKey is the authorized_keys line of admin.logs_key.
func AuthorizedLogsKey(key string) string { return forced(LogsScript, key) }

// forced is an authorized_keys line that runs script whatever the client asks (the
// client's command is in SSH_ORIGINAL_COMMAND) and, with restrict, allows no forwarding,
// no pty and no ~/.ssh/rc (OpenSSH sshd(8), AUTHORIZED_KEYS FILE FORMAT: command=, restrict).
func forced(script, key string) string {
	return `command="` + script + `",restrict ` + strings.TrimSpace(key)
}
