package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestConsoleRefusesBadConfig(t *testing.T) {
	var out, errOut bytes.Buffer
	code := Run(t.Context(), Streams{Out: &out, Err: &errOut}, []string{"console", "--forge", "ftp://x", "--client-id", "a"})
	if code != 1 || !strings.Contains(errOut.String(), "is not an http(s) address") {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
}
