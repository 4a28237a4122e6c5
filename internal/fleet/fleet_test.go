package fleet

import (
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	f, err := Load("fleet.yaml", []byte(`version: 1
bot: { name: co-op bot, email: bot@coop.example }
sites:
  - forge: gitea
    url: https://git.coop.example/
    repo: acme/site
    channel: stable
    token_env: GITEA_TOKEN
  - name: bakery
    forge: github
    url: https://github.com
    repo: bakery/site
    channel: testing
    token_env: GH_TOKEN
    branch: main
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Sites) != 2 || f.Sites[0].Name != "acme/site" || f.Sites[0].URL != "https://git.coop.example" {
		t.Fatalf("sites: %+v", f.Sites)
	}
	if got := f.Sites[0].APIURL(); got != "https://git.coop.example/api/v1/" {
		t.Errorf("gitea API URL %s", got)
	}
	if got := f.Sites[1].APIURL(); got != "https://api.github.com/" {
		t.Errorf("github API URL %s", got)
	}
	if got := f.Sites[0].CloneURL(); got != "https://git.coop.example/acme/site.git" {
		t.Errorf("clone URL %s", got)
	}
}

func TestLoadErrors(t *testing.T) {
	_, err := Load("fleet.yaml", []byte(`version: 1
sites:
  - forge: gitee
    url: ftp://x
    repo: acme
    channel: beta
    token_env: "ghp_abc def"
    colour: red
  - forge: github
    url: https://github.com
    repo: a/b
    channel: stable
`))
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		`fleet.yaml:3:12: forge "gitee" is unknown; did you mean "gitea"?`,
		`fleet.yaml:4:10: url "ftp://x" is not a forge address`,
		`fleet.yaml:5:11: repo "acme" is not owner/name`,
		`fleet.yaml:6:14: channel "beta" is unknown`,
		`fleet.yaml:7:16: token_env is not an environment variable name`,
		`fleet.yaml:8:5: `,
		`fleet.yaml:9:5: site 2 has no token_env; add token_env: NASSELLA_CODEBERG_TOKEN`,
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
	if strings.Contains(err.Error(), "ghp_abc") {
		t.Error("the error repeats token_env's value, which may be a token pasted by mistake")
	}
}
