package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/nassella/nassella/internal/hostcontract"
)

// The backup settings (schedule, retention, heartbeat) change on the running server: they
// are not in the Ignition that decides a rebuild, and terraform/ignition.tf keeps what the
// server has in terraform_data.backup_settings. A plan that updates it, and neither creates
// nor rebuilds the server, has Apply send the planned settings over SSH with the backup key
// (pinned host key, the forced command's nassella-backup-settings verb) before it applies.

// Addresses of nassella's own terraform_data resources (site-template/terraform/shared/ignition.tf).
const (
	SettingsAddress = "terraform_data.backup_settings"
	SetupAddress    = "terraform_data.server_setup"
)

// SettingsLine is what the owner reads for a backup settings change.
const SettingsLine = "Backup settings change on the running server; nothing restarts."

// SettingsSender sends new backup settings to the running server.
type SettingsSender interface {
	SendSettings(ctx context.Context, host string, settings []byte) error
}

// SetupLine is the owner's line for a change of nassella's terraform_data resources, or
// "" when there is none to say: the server's setup shows as the server's rebuild, and new
// backup settings reach a new server with it.
func SetupLine(p *Plan, c Change) string {
	if c.Address == SettingsAddress && c.Action == "update" && !serverMade(p) {
		return SettingsLine
	}
	return ""
}

// serverMade says the plan creates or rebuilds the server, which then boots with the
// current backup settings.
func serverMade(p *Plan) bool {
	for _, c := range p.Changes {
		if c.Kind() == KindServer && (c.Action == "create" || c.Action == "replace") {
			return true
		}
	}
	return false
}

// settingsChange says the plan changes the backup settings of a server it keeps.
func settingsChange(p *Plan) bool {
	for _, c := range p.Changes {
		if c.Address == SettingsAddress && c.Action == "update" {
			return !serverMade(p)
		}
	}
	return false
}

// sendSettings sends the settings the plan holds (not the file as it is now: the reviewed
// plan is what is applied) to the running server, before the plan is applied: if the
// apply then fails, the next one sends them again.
func (e Env) sendSettings(ctx context.Context, tf *tfexec.Terraform, opt ApplyOptions, p *Plan) error {
	if !settingsChange(p) {
		return nil
	}
	sender, ok := opt.Backup.(SettingsSender)
	if !ok {
		return errors.New("the backup settings change on the running server, which takes them over SSH with the backup key: give the backup SSH key (--backup-key, the BACKUP_SSH_KEY secret)")
	}
	settings, err := plannedSettings(ctx, tf, p.File)
	if err != nil {
		return err
	}
	ip, err := outputString(ctx, tf, "ipv4_address")
	if err != nil {
		return fmt.Errorf("finding the server for its new backup settings: %w", err)
	}
	e.logf("sending the new backup settings to %s\n", ip)
	if err := sender.SendSettings(ctx, ip, settings); err != nil {
		return fmt.Errorf("the server did not take the new backup settings, so nothing was changed: %w", err)
	}
	return nil
}

// plannedSettings reads the settings file's lines from the plan's
// terraform_data.backup_settings.
func plannedSettings(ctx context.Context, tf *tfexec.Terraform, file string) ([]byte, error) {
	shown, err := tf.ShowPlanFile(ctx, file)
	if err != nil {
		return nil, fmt.Errorf("tofu show: %w", err)
	}
	for _, rc := range shown.ResourceChanges {
		if rc.Address != SettingsAddress || rc.Change == nil {
			continue
		}
		after, _ := rc.Change.After.(map[string]any)
		lines, ok := after["input"].([]any)
		if !ok {
			break
		}
		var b strings.Builder
		for _, l := range lines {
			s, ok := l.(string)
			if !ok {
				return nil, fmt.Errorf("%s holds %v, not lines of text", SettingsAddress, l)
			}
			b.WriteString(s + "\n")
		}
		return []byte(b.String()), nil
	}
	return nil, fmt.Errorf("the plan holds no backup settings (%s.input): make the plan again with this version of nassella", SettingsAddress)
}

// settingsDone starts what the host's settings verb prints once it has taken them. A
// server set up before the verb existed runs a backup for any command instead, and says
// something else.
const settingsDone = "backups: "

// SendSettings runs the forced command's settings verb with settings on stdin; the host
// checks every line before it writes anything.
func (b SSHBackup) SendSettings(ctx context.Context, host string, settings []byte) error {
	out, err := b.run(ctx, host, hostcontract.SettingsCommand, settings)
	if err != nil {
		return commandError(hostcontract.SettingsCommand, host, err, out)
	}
	if !strings.Contains("\n"+string(out), "\n"+settingsDone) {
		return fmt.Errorf("%s on %s: the server's setup is older than in-place backup settings and did not take them; rebuild it once (nassella apply of a plan made with -replace=hcloud_server.host, or any change that rebuilds it)", hostcontract.SettingsCommand, host)
	}
	return nil
}
