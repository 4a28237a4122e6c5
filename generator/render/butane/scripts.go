package butane

import (
	"fmt"
	"io/fs"
	"strings"

	"github.com/nassella/nassella/generator/render"
	"github.com/nassella/nassella/internal/hostcontract"
	sitetemplate "github.com/nassella/nassella/site-template"
)

// The host's scripts, real files in site-template/host. They hold no site value: what
// differs per site is in the files they read (backup.env, backup-hooks.sh), or appended
// (the secrets to create).
var (
	// dataVolumeScript formats the data volume only when it is blank and refuses a disk
	// that holds anything else: app data is never wiped, whatever the state of the server.
	dataVolumeScript = hostScript("nassella-data-volume")
	secretsHead      = hostScript("nassella-secrets")
	backupScript     = hostScript("nassella-backup")
	// backupNowScript is the forced command of admin.backup_key: it starts the backup unit
	// and waits for it (joining one that is already running), or prints the status record.
	backupNowScript = hostScript("nassella-backup-now")
	// settingsScript checks and writes the backup settings that change in place, and
	// gives the backup timer its schedule.
	settingsScript = hostScript("nassella-backup-settings")
	// logsScript is the forced command of admin.logs_key: journalctl for one strict
	// request, nothing else.
	logsScript = hostScript("nassella-logs")
)

func hostScript(name string) string {
	b, err := fs.ReadFile(sitetemplate.FS, "host/"+name+".sh")
	if err != nil {
		panic(fmt.Sprintf("site-template/host/%s.sh is not embedded: %v", name, err))
	}
	return string(b)
}

// secretsScript creates each app's secrets once, on the volume; an existing secret is
// never changed, a secret a new catalog release adds is appended. Apps that log in to the
// site's mail relay get its password too, renewed at every boot.
func secretsScript(in render.Input) string {
	var b strings.Builder
	b.WriteString(secretsHead)
	for _, app := range in.Site.Apps {
		fmt.Fprintf(&b, "touch \"$dir/%s%s\"\n", app.Name, hostcontract.EnvSuffix)
		for _, s := range app.Spec.Secrets {
			fmt.Fprintf(&b, "ensure %s %s %d\n", app.Name, s.Name, s.Length)
		}
		if render.MailPassword(in, app) {
			fmt.Fprintf(&b, "relay %s\n", app.Name)
		}
	}
	return b.String()
}
