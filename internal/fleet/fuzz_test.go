package fleet

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nassella/nassella/internal/diag"
)

// FuzzLoad feeds fleet.yaml's loader: it must never panic, and a fleet it refuses is a
// diag.List.
func FuzzLoad(f *testing.F) {
	f.Add([]byte("version: 1\nbot: { name: co-op bot, email: bot@coop.example }\nsites:\n  - forge: gitea\n    url: https://git.coop.example/\n    repo: acme/site\n    channel: stable\n    token_env: GITEA_TOKEN\n"))
	f.Add([]byte("version: 1\nsites:\n  - name: bakery\n    forge: github\n    url: https://github.com\n    repo: bakery/site\n    channel: testing\n    token_env: GH_TOKEN\n    branch: main\n"))
	f.Add([]byte("version: 1\nsites:\n  - forge: gitee\n    url: ftp://x\n    repo: acme\n    channel: beta\n    colour: red\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fl, err := Load("fleet.yaml", data)
		if err != nil {
			var list diag.List
			if fl != nil || !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("refused without a diagnostic list: %T %v", err, err)
			}
			return
		}
		for _, s := range fl.Sites {
			s.CloneURL()
			s.APIURL()
		}
	})
}

func TestReadRefusesAHugeFleetFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fleet.yaml")
	os.WriteFile(p, []byte("version: 1\n"), 0o644)
	os.Truncate(p, 50<<20)
	if _, err := Read(p); err == nil || !strings.Contains(err.Error(), "fleet.yaml is 50.0 MiB") {
		t.Fatalf("err = %v", err)
	}
}
