package standin

import (
	"slices"
	"testing"
)

// TestScriptPrograms reads the programs of the one-line scripts catalogs write.
func TestScriptPrograms(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   []string
	}{
		{"rm -f /data/db_*.sqlite3 && /vaultwarden backup >&2 && cat /data/db_*.sqlite3 && rm -f /data/db_*.sqlite3",
			[]string{"rm", "/vaultwarden", "cat", "rm"}},
		{"pg_isready -U x || exit 1", []string{"pg_isready"}},
		{"PGPASSWORD=x exec pg_dump -U 'a b' > /tmp/out; echo done", []string{"pg_dump", "echo"}},
		{"2> /dev/null wget -q -O - http://localhost/ | grep -q ok", []string{"wget", "grep"}},
		{`sh -c "a; b" & (cd /x && ls)`, []string{"sh", "ls"}},
	} {
		if got := scriptPrograms(tc.script); !slices.Equal(got, tc.want) {
			t.Errorf("%s\n got %q\nwant %q", tc.script, got, tc.want)
		}
	}
}
