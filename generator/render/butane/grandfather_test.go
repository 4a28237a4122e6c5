package butane_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nassella/nassella/internal/hostcontract"
)

// A server whose volume comes from a release before claims keeps serving its apps: their
// owners set them up already, so the secrets script marks each existing app claimed
// (Caddy would shut them otherwise, and a claim would fail against an app that has its
// administrator). A new volume, or one that has claims already, gets no such mark.
func TestSecretsScriptMarksAppsFromBeforeClaims(t *testing.T) {
	_, files := renderedHost(t)
	for name, c := range map[string]struct {
		apps   []string // folders under apps/ before the script runs
		claims []string // files under claims/ before; nil: no claims folder
		want   []string // files under claims/ after
	}{
		"a new volume":                    {want: []string{}},
		"a volume from before claims":     {apps: []string{"forgejo", "immich"}, want: []string{"forgejo", "immich"}},
		"a volume with claims already":    {apps: []string{"forgejo", "immich"}, claims: []string{"forgejo"}, want: []string{"forgejo"}},
		"an app added since, not claimed": {apps: []string{"forgejo"}, claims: []string{}, want: []string{}},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			apps, claims := filepath.Join(dir, "apps"), filepath.Join(dir, "claims")
			script := files[hostcontract.SecretsScript]
			for _, r := range [][2]string{
				{"dir=" + hostcontract.SecretsDir + "\n", "dir=" + filepath.Join(dir, "secrets") + "\n"},
				{"mail=" + hostcontract.MailEnv + "\n", "mail=" + filepath.Join(dir, "mail.env") + "\n"},
				{"claims=" + hostcontract.ClaimsDir + "\n", "claims=" + claims + "\n"},
				{"apps=" + hostcontract.AppsData + "\n", "apps=" + apps + "\n"},
			} {
				if !strings.Contains(script, r[0]) {
					t.Fatalf("the secrets script has no line %q", r[0])
				}
				script = strings.Replace(script, r[0], r[1], 1)
			}
			for _, a := range c.apps {
				os.MkdirAll(filepath.Join(apps, a, "data"), 0o755)
			}
			if c.claims != nil {
				os.MkdirAll(claims, 0o700)
				for _, a := range c.claims {
					os.WriteFile(filepath.Join(claims, a), []byte("claimed\n"), 0o600)
				}
			}
			path := filepath.Join(dir, "nassella-secrets")
			os.WriteFile(path, []byte(script), 0o755)
			if out, err := exec.Command("bash", path).CombinedOutput(); err != nil {
				t.Fatalf("the secrets script: %v\n%s", err, out)
			}
			entries, err := os.ReadDir(claims)
			if err != nil {
				t.Fatalf("no claims folder afterwards: %v", err)
			}
			got := []string{}
			for _, e := range entries {
				got = append(got, e.Name())
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("claims/ holds %v, want %v", got, c.want)
			}
		})
	}
}
