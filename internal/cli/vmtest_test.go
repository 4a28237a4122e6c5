package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/nassella/nassella/internal/cli"
)

// The vmtest command's mistakes are caught before any VM boots; the runs themselves are
// tested in pipelines/vmtest.
func TestVMTestCommandErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"vmtest"}, 2, "--image is required"},
		{[]string{"vmtest", "--image", "x.img", "--accel", "hvf"}, 2, `--accel "hvf": use kvm, tcg or auto`},
		{[]string{"vmtest", "--image", "x.img", "--backup-endpoint", "https://s3.example.org"}, 2, "BACKUP_S3_ACCESS_KEY_ID"},
		{[]string{"vmtest", "--image", "https://127.0.0.1:1/flatcar_production_qemu_image.img"}, 1, "needs its checksum"},
		{[]string{"vmtest", "--image", "x.img", "--catalog", "/nonexistent"}, 1, "release.yaml"},
	} {
		var out, errb bytes.Buffer
		code := cli.Run(context.Background(), cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errb}, c.args)
		if code != c.code || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, errb.String(), c.code, c.want)
		}
	}
}
