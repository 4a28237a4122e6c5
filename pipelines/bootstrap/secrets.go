package bootstrap

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Secret is one secret the site repo's workflows read from the forge's secret store.
type Secret struct {
	Name string
	For  string // what it is for, in plain words
	// Needed says whether this site needs it.
	Needed func(c *Config) bool
}

func always(*Config) bool { return true }

func withState(c *Config) bool { return c.Site.State != nil && c.Site.State.S3 != nil }

func withBackups(c *Config) bool { return c.Site.Backups.Target.S3 != nil }

// withMailUser: a relay that takes mail only after logging in.
func withMailUser(c *Config) bool { return c.Site.Mail != nil && c.Site.Mail.User != "" }

// withBackupKey: a site that backs up promises a backup before every rebuild, which CI
// takes with this key; bootstrap makes it when site.yaml has none (backupkey.go).
func withBackupKey(c *Config) bool {
	return c.Site.Admin.BackupKey != "" || c.Site.Backups.Target.S3 != nil
}

// atHetzner: a Hetzner server, or the site's DNS zones at Hetzner (a server anywhere).
func atHetzner(c *Config) bool {
	return c.Site.Provider.Hetzner != nil || c.Site.DNS.Hetzner != nil
}

// onLibvirt: a server on the owner's own machine, reached over SSH with this key.
func onLibvirt(c *Config) bool { return c.Site.Provider.Libvirt != nil }

// onOpenStack: a server in an OpenStack project, reached with its application credential.
func onOpenStack(c *Config) bool { return c.Site.Provider.OpenStack != nil }

// Secrets are the secrets of site-template/workflows (GitHub and Forgejo), by name.
var Secrets = []Secret{
	{"HCLOUD_TOKEN", "Hetzner Cloud API token (read-write) of the site's project", atHetzner},
	{LibvirtKeySecret, "private SSH key that logs in to the site's own machine as provider.libvirt.user (its public half in that user's authorized_keys)", onLibvirt},
	{"OPENSTACK_APPLICATION_CREDENTIAL_ID", "ID of an application credential of the site's OpenStack project (openstack application credential create nassella)", onOpenStack},
	{"OPENSTACK_APPLICATION_CREDENTIAL_SECRET", "secret of that application credential", onOpenStack},
	{"STATE_PASSPHRASE", "passphrase encrypting the Terraform state and plans", always},
	{"STATE_S3_ACCESS_KEY_ID", "access key of the state bucket", withState},
	{"STATE_S3_SECRET_ACCESS_KEY", "secret key of the state bucket", withState},
	{"BACKUP_PASSWORD", "password of the restic backup repository", withBackups},
	{"BACKUP_S3_ACCESS_KEY_ID", "access key of the backup bucket", withBackups},
	{"BACKUP_S3_SECRET_ACCESS_KEY", "secret key of the backup bucket", withBackups},
	{"SMTP_PASSWORD", "password of the mail relay the apps send e-mail through (site.yaml mail.user)", withMailUser},
	{BackupKeySecret, "private SSH key of admin.backup_key, to back up before a rebuild; bootstrap makes it when site.yaml has no backup_key", withBackupKey},
	{HostKeySecret, "the server's SSH host key (OpenSSH ed25519 private key), which every SSH call checks; bootstrap makes it when not given", always},
	{"NASSELLA_FORGE_TOKEN", "the bot's forge token: it commits the regenerated files to pull requests (a push with the workflow's own token would not run the checks again) and, on Forgejo/Gitea, comments on pull requests and opens issues", always},
}

// SecretNames returns the names of Secrets.
func SecretNames() []string {
	var out []string
	for _, s := range Secrets {
		out = append(out, s.Name)
	}
	return out
}

// ParseSecretsFile reads NAME=value lines (blank lines and # comments are skipped; a
// value may be quoted with ' or "). Errors name the line, never a value.
func ParseSecretsFile(rd io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		name, value, ok := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("line %d is not NAME=value", n)
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		// A multi-line value (an SSH private key) is written with \n escapes.
		value = strings.ReplaceAll(value, `\n`, "\n")
		out[name] = value
	}
	return out, sc.Err()
}

// checkSecrets reports the secrets this site needs that were not given.
func (r *runner) checkSecrets() {
	var missing, unknown []string
	known := map[string]bool{}
	for _, s := range Secrets {
		known[s.Name] = true
		// A backup key bootstrap made on an earlier run is on the forge only: storeSecrets
		// checks it is there.
		if s.Needed(&r.cfg) && r.cfg.Secrets[s.Name] == "" && s.Name != BackupKeySecret {
			missing = append(missing, s.Name)
		}
	}
	for name := range r.cfg.Secrets {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	step := Step{Name: "secrets at hand", Status: AlreadyThere, Detail: "every secret the workflows need was given"}
	if p := r.cfg.Secrets["STATE_PASSPHRASE"]; p != "" && len(p) < 16 {
		step.Status, step.Detail = Failed, "STATE_PASSPHRASE is shorter than 16 characters"
		step.Fix = "choose a longer passphrase (e.g. openssl rand -base64 24) and keep it safe: without it the state cannot be read"
	}
	if len(missing) > 0 {
		step.Status = Failed
		step.Detail = "missing " + strings.Join(missing, ", ")
		step.Fix = "set each as an environment variable of that name (or name another with --secret-env NAME=VAR), or put NAME=value lines in a file given with --secrets-file"
	}
	if len(unknown) > 0 && step.Status != Failed {
		step.Status = Warning
		step.Detail = "ignoring " + strings.Join(unknown, ", ") + ": no workflow reads them"
		step.Fix = "known secrets: " + strings.Join(SecretNames(), ", ")
	}
	r.report(step)
}
