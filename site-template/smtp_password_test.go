package sitetemplate

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nassella/nassella/internal/testenv/testtool"
)

// The module refuses, at plan time, a mail password the host could not hand to the apps
// (a ' or a line break, or a final \), and says so without the password; OpenTofu runs
// the variable's own validation block, taken from site-variables.tf as it is.
func TestSMTPPasswordValidation(t *testing.T) {
	tofu := testtool.Require(t, "NASSELLA_TOFU", ".ci/tools.sh")
	body, err := fs.ReadFile(FS, "terraform/shared/site-variables.tf")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)variable "smtp_password" \{.*?\n\}\n`).Find(body)
	if block == nil {
		t.Fatal(`site-variables.tf has no variable "smtp_password"`)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), block, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		password string
		ok       bool
	}{
		{"", true},
		{`a $b "c" #d \e ü`, true},
		{"it's", false},
		{"two\nlines", false},
		{`ends\`, false},
	} {
		cmd := exec.Command(tofu, "plan", "-input=false", "-no-color", "-lock=false")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TF_VAR_smtp_password="+tt.password, "TF_IN_AUTOMATION=1")
		out, err := cmd.CombinedOutput()
		if (err == nil) != tt.ok {
			t.Errorf("plan with %q: %v, want ok %v\n%s", tt.password, err, tt.ok, out)
		}
		if !tt.ok && (!strings.Contains(string(out), "SMTP_PASSWORD must not contain") || strings.Contains(string(out), tt.password)) {
			t.Errorf("plan with %q says:\n%s", tt.password, out)
		}
	}
}
