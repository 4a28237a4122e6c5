package butane_test

import (
	"io/fs"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/generator/render"
	"github.com/nassella/nassella/generator/render/butane"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/generator/validate"
	"github.com/nassella/nassella/internal/hostcontract"
	sitetemplate "github.com/nassella/nassella/site-template"
)

// admin.logs_key is let in with the logs command forced, after the other keys, and the
// command is on the server only when there is such a key. With both forced keys, the
// every-app site still fits Hetzner's user_data limit.
func TestLogsKey(t *testing.T) {
	const (
		backupKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP6GFDaQMZU1kOb0QQ/u7o8CuL6QqDAT2ZoAqrdTEh8l ci"
		logsKey   = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILxq77fjJZRleVCMj9Fxn7hYsOsFmtaMv3GLS+i+i87R nassella-logs"
	)
	script, err := fs.ReadFile(sitetemplate.FS, "host/nassella-logs.sh")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := examples.Get("every-app")
	cat := catalog.Embedded()
	for _, key := range []string{"", logsKey} {
		l, err := site.Load("site.yaml", data, cat)
		if err != nil {
			t.Fatal(err)
		}
		l.Admin.BackupKey, l.Admin.LogsKey = backupKey, key
		by, ign, err := butane.Render(render.Input{Site: l, Catalog: cat, Version: "test"}, butane.Inputs{})
		if err != nil {
			t.Fatal(err)
		}
		cfg := parseButane(t, by)
		keys := cfg.Passwd.Users[0].SSHAuthorizedKeys
		files := map[string]string{}
		for _, f := range cfg.Storage.Files {
			files[f.Path] = f.body(t)
		}
		body, installed := files[hostcontract.LogsScript]
		n, err := butane.UserDataSize(ign)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("every-app, logs key %v: user_data %d of %d bytes", key != "", n, validate.UserDataLimit)
		if n > validate.UserDataLimit {
			t.Errorf("user_data %d bytes, over the limit of %d", n, validate.UserDataLimit)
		}
		if key == "" {
			if installed || keys[len(keys)-1] != hostcontract.AuthorizedBackupKey(backupKey) {
				t.Errorf("without a logs key: script installed %v, last key line %q", installed, keys[len(keys)-1])
			}
			continue
		}
		want := `command="/opt/nassella/bin/nassella-logs",restrict ` + logsKey
		if got := keys[len(keys)-1]; got != want || keys[len(keys)-2] != hostcontract.AuthorizedBackupKey(backupKey) {
			t.Errorf("key lines end %q, want the backup key's and then %q", keys[len(keys)-2:], want)
		}
		if body != string(script) {
			t.Errorf("%s is not site-template/host/nassella-logs.sh:\n%s", hostcontract.LogsScript, body)
		}
	}
}

// butaneConfig is a rendered Butane config: core's authorized keys, the host's files and
// units.
type butaneConfig struct {
	Passwd struct {
		Users []struct {
			SSHAuthorizedKeys []string `yaml:"ssh_authorized_keys"`
		} `yaml:"users"`
	} `yaml:"passwd"`
	hostYAML `yaml:",inline"`
}

func parseButane(t *testing.T, by []byte) butaneConfig {
	t.Helper()
	var cfg butaneConfig
	if err := yaml.Unmarshal(by, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}
