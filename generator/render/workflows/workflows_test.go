package workflows

import (
	"strings"
	"testing"

	sitetemplate "github.com/nassella/nassella/site-template"
)

// Once the CI image's digest is set, every generated workflow runs in the image by
// digest, so a re-pushed tag cannot change what runs with the site's secrets.
func TestPinImage(t *testing.T) {
	body := []byte("    container:\n      image: " + sitetemplate.CIImage + "\n")
	digest := "sha256:" + strings.Repeat("ab", 32)
	got := string(PinImage(body, digest))
	if want := "      image: " + sitetemplate.CIImage + "@" + digest + "\n"; !strings.Contains(got, want) {
		t.Fatalf("PinImage = %q, want it to contain %q", got, want)
	}
	if got := PinImage(body, ""); string(got) != string(body) {
		t.Fatalf("without a digest the workflow changed: %q", got)
	}
}
