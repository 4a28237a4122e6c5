package hostcontract_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/nassella/nassella/internal/hostcontract"
	"github.com/nassella/nassella/internal/testenv/testtool"
	sitetemplate "github.com/nassella/nassella/site-template"
)

// hostScripts returns site-template's host scripts by file name.
func hostScripts(t *testing.T) map[string]string {
	t.Helper()
	names, err := fs.Glob(sitetemplate.FS, "host/*.sh")
	if err != nil || len(names) == 0 {
		t.Fatalf("no host scripts embedded in site-template: %v", err)
	}
	out := map[string]string{}
	for _, n := range names {
		b, err := fs.ReadFile(sitetemplate.FS, n)
		if err != nil {
			t.Fatal(err)
		}
		out[path.Base(n)] = string(b)
	}
	return out
}

// bashWords writes args as the scripts do: words holding a variable double-quoted.
func bashWords(args []string) string {
	var w []string
	for _, a := range args {
		if strings.Contains(a, "$") {
			a = `"` + a + `"`
		}
		w = append(w, a)
	}
	return strings.Join(w, " ")
}

// The scripts spell the contract out literally (Go does not splice it in, so the Ignition
// holds them as they are): each one names the paths, units and commands it was written
// against.
func TestScriptsNameTheContract(t *testing.T) {
	want := map[string][]string{
		"nassella-backup.sh": {
			"data=${NASSELLA_DATA:-" + hostcontract.DataDir + "}",
			"config=${NASSELLA_CONFIG:-" + hostcontract.ConfigDir + "}",
			"cache=${NASSELLA_RESTIC_CACHE:-" + hostcontract.BackupCacheDir + "}",
			`state="$data/` + strings.TrimPrefix(hostcontract.BackupStateDir, hostcontract.DataDir+"/") + `"`,
			`status="$state/` + path.Base(hostcontract.BackupStatusFile) + `"`,
			`outside="$config/` + path.Base(hostcontract.OutsideEnv) + `"`,
			`. "$config/` + path.Base(hostcontract.BackupEnv) + `"`,
			`settings="$config/` + path.Base(hostcontract.BackupSettings) + `"`,
			"NASSELLA_SCHEDULE | NASSELLA_KEEP_DAILY | NASSELLA_KEEP_WEEKLY | NASSELLA_KEEP_MONTHLY | NASSELLA_HEARTBEAT_URL)",
			`. "$config/` + path.Base(hostcontract.BackupHooks) + `"`,
			`local dir="$data/` + path.Base(hostcontract.AppsData) + `/$app/` + hostcontract.DumpsDir + `"`,
			`--env-file "$data/` + path.Base(hostcontract.SecretsDir) + `/$app` + hostcontract.EnvSuffix + `"`,
			`--file "$config/` + path.Base(hostcontract.AppsConfig) + `/$app/` + hostcontract.ComposeYML + `"`,
			`units=("` + hostcontract.AppUnitName("$app") + `")`,
			`'` + hostcontract.AppUnitName("*") + `'`,
			// RestoreArgs, as bash builds them.
			"local args=(" + bashWords(hostcontract.RestoreArgs("$NASSELLA_SITE", "$snapshot", "", "$target")) + ")",
			"args+=(" + bashWords(hostcontract.RestorePaths("$app")) + ")",
			// The site's own snapshots only, in every command that picks them.
			"restic snapshots --json " + bashWords(hostcontract.SnapshotFilter("$NASSELLA_SITE")) + ")",
			"(backup . --json " + bashWords(hostcontract.SnapshotFilter("$NASSELLA_SITE")) + " --exclude",
			"restic forget --prune " + bashWords(hostcontract.SnapshotFilter("$NASSELLA_SITE")) + " ",
			"restic snapshots " + bashWords(hostcontract.SnapshotFilter("$NASSELLA_SITE")) + ` "$@"`,
			// The restore before a first boot's apps.
			`[ -r "$config/` + path.Base(hostcontract.RestoreEnv) + `" ]`,
			`sed -n 's/^` + hostcontract.RestoreVar + `=//p'`,
			`pending="$data/` + path.Base(hostcontract.RestorePending) + `"`,
			"\n  " + hostcontract.RestoreVerb + ") restore_first_boot ;;",
		},
		"nassella-backup-now.sh": {
			`"${SSH_ORIGINAL_COMMAND:-}" = ` + hostcontract.StatusCommand + " ",
			"exec sudo -n cat " + hostcontract.BackupStatusFile + "\n",
			"sudo -n systemctl start " + hostcontract.BackupUnit + ";",
			`"${SSH_ORIGINAL_COMMAND:-}" = ` + hostcontract.SettingsCommand + " ",
			"exec sudo -n " + hostcontract.SettingsScript + " set\n",
		},
		"nassella-backup-settings.sh": {
			"config=${NASSELLA_CONFIG:-" + hostcontract.ConfigDir + "}",
			`file="$config/` + path.Base(hostcontract.BackupSettings) + `"`,
			"keys=(" + strings.Join(hostcontract.SettingsKeys, " ") + ")",
			"#   timer DIR  the systemd generator (" + hostcontract.ScheduleGenerator + ",",
			`"$dir/` + hostcontract.ScheduleDropIn + `"`,
			"systemctl restart " + hostcontract.BackupTimer + "\n",
		},
		"nassella-data-volume.sh": {
			"Terraform writes it to " + hostcontract.VolumeEnv + "}",
			"mkfs.ext4 -q -L " + hostcontract.DataLabel + ` "$dev"`,
			`[ "$label" != ` + hostcontract.DataLabel + " ]",
		},
		"nassella-claim.sh": {
			"data=${NASSELLA_DATA:-" + hostcontract.DataDir + "}",
			"config=${NASSELLA_CONFIG:-" + hostcontract.ConfigDir + "}",
			`claims="$data/` + path.Base(hostcontract.ClaimsDir) + `"`,
			"proxy_net=" + hostcontract.ProxyNet + "\n",
			`"$config/` + path.Base(hostcontract.AppsConfig) + `/$1/` + hostcontract.ClaimFile + `"`,
			`"$data/` + path.Base(hostcontract.SecretsDir) + `/$1` + hostcontract.EnvSuffix + `"`,
			`--env-file "$data/` + path.Base(hostcontract.SecretsDir) + `/$app` + hostcontract.EnvSuffix + `"`,
			`--file "$config/` + path.Base(hostcontract.AppsConfig) + `/$app/` + hostcontract.ComposeYML + `"`,
			`"$claims/$app` + hostcontract.ClaimFailed + `"`,
		},
		"nassella-logs.sh": {
			"config=${NASSELLA_CONFIG:-" + hostcontract.ConfigDir + "}",
			`re="^` + hostcontract.LogsVerb + `( --app `,
			"|" + strconv.Itoa(hostcontract.LogsMax) + "))?",
			`"$config/` + path.Base(hostcontract.AppsConfig) + `/$app"`,
			`"_SYSTEMD_UNIT=` + hostcontract.AppUnitName("$app") + `"`,
			"_SYSTEMD_UNIT=" + hostcontract.ProxyUnit + ")",
			"_SYSTEMD_UNIT=" + hostcontract.BackupUnit + ")",
		},
		"nassella-secrets.sh": {
			"dir=" + hostcontract.SecretsDir + "\n",
			"claims=" + hostcontract.ClaimsDir + "\n",
			"apps=" + hostcontract.AppsData + "\n",
			`local f="$dir/$1` + hostcontract.EnvSuffix + `"`,
			"mail=" + hostcontract.MailEnv + "\n",
			`^` + hostcontract.MailPasswordVar + `=`,
		},
	}
	scripts := hostScripts(t)
	for name := range scripts {
		if _, ok := want[name]; !ok {
			t.Errorf("host/%s: add what it takes from the host contract to this test", name)
		}
	}
	for name, lines := range want {
		body, ok := scripts[name]
		if !ok {
			t.Errorf("site-template/host/%s is missing", name)
			continue
		}
		for _, l := range lines {
			if !strings.Contains(body, l) {
				t.Errorf("host/%s does not say %q: make it agree with internal/hostcontract", name, l)
			}
		}
	}
}

// Every host path and unit a script names is one of the contract's, so a path changed on
// one side only fails here.
func TestScriptsNameNothingElse(t *testing.T) {
	known := map[string]bool{}
	for _, p := range []string{
		hostcontract.DataDir, hostcontract.ConfigDir, hostcontract.SecretsDir, hostcontract.VolumeEnv,
		hostcontract.OutsideEnv, hostcontract.MailEnv, hostcontract.BackupHooks, hostcontract.BackupStatusFile,
		hostcontract.BackupCacheDir, hostcontract.BackupUnit, hostcontract.AppUnitName("$app"),
		hostcontract.AppUnitName("*"), hostcontract.BackupScript, hostcontract.BackupNowScript,
		path.Base(hostcontract.BackupScript), path.Base(hostcontract.BackupNowScript),
		hostcontract.StatusCommand, hostcontract.BackupSettings, hostcontract.SettingsCommand,
		hostcontract.SettingsScript, hostcontract.ScheduleGenerator, hostcontract.BackupTimer,
		hostcontract.ClaimsDir, hostcontract.AppsData, hostcontract.ClaimCommand, hostcontract.ProxyNet,
		hostcontract.ProxyUnit, hostcontract.RestoreUnit, path.Base(hostcontract.RestorePending)[1:],
	} {
		known[p] = true
	}
	// Absolute paths under the host's own folders, and nassella's names (units, commands).
	re := regexp.MustCompile(`/(?:etc|var|opt)/[A-Za-z0-9_./-]*[A-Za-z0-9_]|nassella-[A-Za-z0-9_$*-]*[A-Za-z0-9_$*](?:\.service|\.timer|\.mount)?`)
	for name, body := range hostScripts(t) {
		for _, m := range re.FindAllString(body, -1) {
			if !known[m] && m != hostcontract.DataLabel {
				t.Errorf("host/%s names %s, which is not in internal/hostcontract", name, m)
			}
		}
	}
}

// shellcheck's findings left on purpose, each with its reason. A finding not listed here
// is a bug to fix in the script (and the golden trees to update).
var shellcheckExclude = map[string][]string{
	// $region_opt is empty or one --option=s3.region=... word; quoted, an empty one would
	// reach restic as an empty argument.
	"nassella-backup.sh": {"SC2086"},
}

// The scripts parse (bash -n) and pass shellcheck. shellcheck comes from Debian
// (.ci/tools-backup.sh): without it the check skips locally and fails in CI.
func TestScriptsCheck(t *testing.T) {
	dir := t.TempDir()
	scripts := hostScripts(t)
	for name, body := range scripts {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("bash", "-n", p).CombinedOutput(); err != nil {
			t.Errorf("bash -n host/%s: %v\n%s", name, err, out)
		}
	}
	shellcheck := testtool.Require(t, "NASSELLA_SHELLCHECK", ".ci/tools-backup.sh")
	for name := range scripts {
		var args []string
		if ex := shellcheckExclude[name]; len(ex) > 0 {
			args = append(args, "--exclude="+strings.Join(ex, ","))
		}
		out, err := exec.Command(shellcheck, append(args, filepath.Join(dir, name))...).CombinedOutput()
		if err != nil {
			t.Errorf("shellcheck host/%s: %v\n%s", name, err, out)
		}
	}
}
