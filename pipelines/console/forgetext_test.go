package console

import (
	"io"
	"net/http"
	"testing"
)

// apiText GETs a path of the forge's API that answers with text rather than JSON (a raw
// file, a pull request's diff) as the site's owner.
func (e *consoleEnv) apiText(t *testing.T, path string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", e.g.URL+"/api/v1"+path, nil)
	req.Header.Set("Authorization", "token "+e.ownerToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", path, resp.Status, raw)
	}
	return string(raw)
}
