// Package fleet reads fleet.yaml: the co-op's list of customer site repos the update bot
// keeps current, each with its forge, its repo and the environment variable holding the
// bot's token for it (the token itself is never in the file).
package fleet

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/nassella/nassella/internal/diag"
	"github.com/nassella/nassella/internal/inputfile"
	"github.com/nassella/nassella/internal/strictyaml"
)

// Forge kinds.
const (
	GitHub  = "github"
	Gitea   = "gitea"
	Forgejo = "forgejo"
)

// Fleet is fleet.yaml.
type Fleet struct {
	Version int    `yaml:"version"`
	Bot     Bot    `yaml:"bot"`
	Sites   []Site `yaml:"sites"`
	File    string `yaml:"-"`
}

// Bot is the identity the bot's commits carry. Its email tells the bot's own commits
// from a person's on the bot's branches.
type Bot struct {
	Name  string `yaml:"name"`
	Email string `yaml:"email"`
}

// Site is one customer site repo.
type Site struct {
	// Name is how the site is called in progress and the summary; the repo by default.
	Name  string `yaml:"name"`
	Forge string `yaml:"forge"` // github, gitea or forgejo
	// URL is the forge's web address: https://github.com, https://codeberg.org, a
	// GitHub Enterprise or Gitea server. The API and git addresses follow from it.
	URL     string `yaml:"url"`
	Repo    string `yaml:"repo"`    // owner/name
	Channel string `yaml:"channel"` // stable or testing
	// TokenEnv names the environment variable holding the bot's token for this repo.
	TokenEnv string `yaml:"token_env"`
	// Branch is the branch the site deploys from; the repo's default branch when empty.
	Branch string `yaml:"branch"`
}

// DefaultBot is the identity used when fleet.yaml names none.
var DefaultBot = Bot{Name: "nassella bot", Email: "bot@nassella.invalid"}

var (
	repoRe   = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	envRe    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	nameRe   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	branchRe = regexp.MustCompile(`^[A-Za-z0-9_./-]+$`)
)

// Read reads and checks a fleet file.
func Read(file string) (*Fleet, error) {
	data, err := inputfile.Read(file)
	if err != nil {
		return nil, fmt.Errorf("%w (the fleet file lists the site repos to update; see docs/maintainers/update-bot.md)", err)
	}
	return Load(file, data)
}

// Load decodes and checks fleet.yaml (named file in messages). The error, when not nil,
// is a diag.List with every problem found, each at its line and column.
func Load(file string, data []byte) (*Fleet, error) {
	f := &Fleet{}
	doc, errs := strictyaml.Decode(file, data, f)
	if len(errs) > 0 && len(doc.Values) == 0 {
		return nil, errs.Err()
	}
	f.File = file
	add := func(path, msg, fix string) { errs.Add(doc.At(path, msg, fix)) }
	if !doc.Bad["version"] && f.Version != 1 {
		add("version", fmt.Sprintf("version %d is unknown", f.Version), "write version: 1")
	}
	if doc.Has("bot") {
		if f.Bot.Name == "" {
			add("bot.name", "bot.name is empty", "name the bot, e.g. nassella bot")
		}
		if !strings.Contains(f.Bot.Email, "@") {
			add("bot.email", fmt.Sprintf("bot.email %q is not an email address", f.Bot.Email), "write the address the bot's commits carry, e.g. bot@coop.example")
		}
	} else {
		f.Bot = DefaultBot
	}
	if len(f.Sites) == 0 && !doc.Bad["sites"] {
		add("sites", "the fleet has no sites", "list the site repos under sites:")
	}
	names := map[string]int{}
	repos := map[string]int{}
	for i := range f.Sites {
		s := &f.Sites[i]
		p := fmt.Sprintf("sites.%d", i)
		need := func(field, val, example string) bool {
			if doc.Bad[p+"."+field] {
				return false
			}
			if val == "" {
				add(p, fmt.Sprintf("site %d has no %s", i+1, field), fmt.Sprintf("add %s: %s", field, example))
				return false
			}
			return true
		}
		if need("forge", s.Forge, "github, gitea or forgejo") {
			switch s.Forge {
			case GitHub, Gitea, Forgejo:
			default:
				fix := "use github, gitea or forgejo"
				if c := diag.Closest(s.Forge, []string{GitHub, Gitea, Forgejo}); c != "" {
					fix = fmt.Sprintf("did you mean %q?", c)
				}
				add(p+".forge", fmt.Sprintf("forge %q is unknown", s.Forge), fix)
			}
		}
		if need("url", s.URL, "https://codeberg.org") {
			u, err := url.Parse(s.URL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
				add(p+".url", fmt.Sprintf("url %q is not a forge address", s.URL), "write the forge's web address, like https://github.com or https://codeberg.org")
			} else {
				s.URL = strings.TrimSuffix(s.URL, "/")
			}
		}
		if need("repo", s.Repo, "owner/name") {
			if !repoRe.MatchString(s.Repo) {
				add(p+".repo", fmt.Sprintf("repo %q is not owner/name", s.Repo), "write the repo as owner/name, like acme/site")
			} else if j, dup := repos[strings.ToLower(s.URL+" "+s.Repo)]; dup {
				add(p+".repo", fmt.Sprintf("repo %s is listed twice (also site %d)", s.Repo, j+1), "remove one of them")
			} else {
				repos[strings.ToLower(s.URL+" "+s.Repo)] = i
			}
		}
		if need("channel", s.Channel, "stable") && s.Channel != "stable" && s.Channel != "testing" {
			add(p+".channel", fmt.Sprintf("channel %q is unknown", s.Channel), "use stable or testing")
		}
		if need("token_env", s.TokenEnv, "NASSELLA_CODEBERG_TOKEN") && !envRe.MatchString(s.TokenEnv) {
			// The value is not repeated: it may be a token pasted in by mistake.
			add(p+".token_env", "token_env is not an environment variable name", "name the variable that holds the token, like NASSELLA_CODEBERG_TOKEN (never the token itself)")
		}
		if s.Branch != "" && !branchRe.MatchString(s.Branch) {
			add(p+".branch", fmt.Sprintf("branch %q is not a branch name", s.Branch), "leave it out to use the repo's default branch")
		}
		if s.Name == "" {
			s.Name = s.Repo
		}
		if !nameRe.MatchString(strings.ReplaceAll(s.Name, "/", "_")) {
			add(p+".name", fmt.Sprintf("name %q is too long or has spaces", s.Name), "use letters, digits, dots, dashes")
		} else if j, dup := names[s.Name]; dup {
			add(p+".name", fmt.Sprintf("name %q is used twice (also site %d)", s.Name, j+1), "give each site its own name")
		} else {
			names[s.Name] = i
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return f, nil
}

// CloneURL is the HTTPS address git clones the site repo from.
func (s Site) CloneURL() string { return s.URL + "/" + s.Repo + ".git" }

// APIURL is the base address of the forge's REST API, with a trailing slash.
func (s Site) APIURL() string {
	if s.Forge == GitHub {
		if s.URL == "https://github.com" {
			return "https://api.github.com/"
		}
		return s.URL + "/api/v3/" // GitHub Enterprise Server, and the simulator
	}
	return s.URL + "/api/v1/"
}

// Owner and RepoName split Repo.
func (s Site) Owner() string    { o, _, _ := strings.Cut(s.Repo, "/"); return o }
func (s Site) RepoName() string { _, n, _ := strings.Cut(s.Repo, "/"); return n }
