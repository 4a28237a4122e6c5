package cli_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/nassella/nassella/internal/testenv/dnssim"
)

// nassella validate --dns-resolver refuses moving a whole domain whose live MX records
// the zone would drop, naming them and the fix; once site.yaml lists them it passes.
func TestValidateLiveDNS(t *testing.T) {
	t.Setenv("CI", "") // the example has placeholders that only an apply refuses
	dir := filepath.Join(t.TempDir(), "choir")
	if _, errs, code := run(t, "demo", "--example", "mail-and-web", "--no-tofu", dir); code != 0 {
		t.Fatalf("demo: %s", errs)
	}
	live := dnssim.Start(t, "choir.example. 300 IN MX 10 mx1.mail.example.", "choir.example. 300 IN MX 30 backup-mx.other.example.")
	out, errs, code := run(t, "validate", "--no-tofu", "--dns-resolver", live.Addr, dir)
	if code == 0 {
		t.Fatalf("validate passed:\n%s", out)
	}
	for _, want := range []string{"FAIL  your domain's current records", "choir.example MX 30 backup-mx.other.example.",
		`- { name: "@", type: MX, value: "30 backup-mx.other.example." }`, "records_only"} {
		if !strings.Contains(out+errs, want) {
			t.Errorf("output lacks %q:\n%s%s", want, out, errs)
		}
	}
	if strings.Contains(out, "MX 10 mx1.mail.example.\n") {
		t.Errorf("a listed record is named as dropped:\n%s", out)
	}
	live.Set(t, "choir.example. 300 IN MX 10 mx1.mail.example.")
	if out, errs, code := run(t, "validate", "--no-tofu", "--dns-resolver", live.Addr, dir); code != 0 || !strings.Contains(out, "ok    your domain's current records") {
		t.Fatalf("validate with the records listed: code %d\n%s%s", code, out, errs)
	}
}
