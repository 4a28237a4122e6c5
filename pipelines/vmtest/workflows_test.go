package vmtest

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// The catalog pipelines pass actionlint: the GitHub one as is, the Forgejo one with its
// runner label "vmtest" declared. Where shellcheck is installed, the scripts of the run
// steps are checked too.
func TestCatalogWorkflowsPassActionlint(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "actionlint.yaml")
	if err := os.WriteFile(cfg, []byte("self-hosted-runner:\n  labels: [vmtest]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := &actionlint.LinterOptions{ConfigFile: cfg}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = sc
		t.Logf("with %s", sc)
	}
	l, err := actionlint.NewLinter(io.Discard, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"../catalog-workflows/github/catalog-vmtest.yml", "../catalog-workflows/forgejo/catalog-vmtest.yml"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		errs, err := l.Lint(f, data, nil)
		if err != nil {
			t.Fatalf("actionlint %s: %v", f, err)
		}
		for _, e := range errs {
			t.Errorf("%s:%d:%d: %s [%s]", f, e.Line, e.Column, e.Message, e.Kind)
		}
		// Both run the whole catalog on a release candidate and upload the evidence.
		for _, want := range []string{`"catalog/*"`, "workflow_dispatch:", "nassella vmtest", "vmtest-out/", "--image-sha512"} {
			if !strings.Contains(string(data), want) {
				t.Errorf("%s lacks %s", f, want)
			}
		}
	}
}

// kvmProbe is the assembled testdata/kvmprobe.S; where GNU as and ld are installed, check
// the bytes still match the source.
func TestKVMProbeMatchesSource(t *testing.T) {
	as, err1 := exec.LookPath("as")
	ld, err2 := exec.LookPath("ld")
	if err1 != nil || err2 != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("GNU as and ld are missing: CI machines have them with gcc (Debian's binutils)")
		}
		t.Skip("GNU as and ld are not installed")
	}
	dir := t.TempDir()
	obj, bin := filepath.Join(dir, "p.o"), filepath.Join(dir, "p.bin")
	for _, c := range [][]string{
		{as, "--32", "-o", obj, "testdata/kvmprobe.S"},
		{ld, "-m", "elf_i386", "-Ttext=0x100000", "--oformat", "binary", "-o", bin, obj},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", c, err, out)
		}
	}
	got, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(kvmProbe) {
		t.Errorf("kvmProbe in kvm.go does not match testdata/kvmprobe.S assembled:\n%x", got)
	}
}
