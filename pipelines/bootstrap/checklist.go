package bootstrap

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"gopkg.in/yaml.v3"

	"github.com/nassella/nassella/generator"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/fleet"
	"github.com/nassella/nassella/internal/forge"
	sitetemplate "github.com/nassella/nassella/site-template"
)

// The onboarding checklist's steps that are checks rather than actions
// (docs/maintainers/onboarding.md lists them all, in the order bootstrap runs them).
const (
	stepTools      = "nassella and OpenTofu"
	stepActions    = "Actions and a runner"
	stepCIImage    = "CI image"
	stepFleet      = "site in fleet.yaml"
	stepProtection = "branch protection of main"
	stepDNSOrder   = "DNS order"
)

// versionRe finds the leading dotted version in tofu's "1.10.10-dev".
var versionRe = regexp.MustCompile(`^v?(\d+(?:\.\d+)*)`)

// tofuMinimum is the oldest OpenTofu the site's Terraform accepts: its required_version.
func tofuMinimum() string {
	data, _ := fs.ReadFile(sitetemplate.FS, "terraform/shared/state.tf")
	if m := regexp.MustCompile(`required_version\s*=\s*">=\s*([0-9.]+)"`).FindSubmatch(data); m != nil {
		return string(m[1])
	}
	return ""
}

// checkTools reports this nassella and the OpenTofu on this machine: the maintainer runs
// nassella validate and plan locally with them; CI has its own in the CI image.
func (r *runner) checkTools() {
	detail := "nassella " + generator.Version
	if r.cfg.Catalog != nil {
		detail += " with catalog " + r.cfg.Catalog.Release
	}
	min := tofuMinimum()
	install := fmt.Sprintf("install OpenTofu %s or newer (the CI image runs 1.10.10; see ci-images/README.md), then put tofu on PATH or set NASSELLA_TOFU", min)
	if r.cfg.Tofu == "" {
		r.report(Step{Name: stepTools, Status: ToDo, Detail: detail + "; OpenTofu not found", Fix: install})
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, r.cfg.Tofu, "version", "-json").Output()
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err == nil {
		err = json.Unmarshal(out, &v)
	}
	m := versionRe.FindStringSubmatch(v.Version)
	if err != nil || m == nil {
		r.report(Step{Name: stepTools, Status: Failed, Detail: fmt.Sprintf("%s; %s does not say its version (tofu version -json): %v", detail, r.cfg.Tofu, err), Fix: install})
		return
	}
	detail += "; OpenTofu " + m[1]
	if compareVersions(m[1], min) < 0 {
		r.report(Step{Name: stepTools, Status: Failed, Detail: detail + ", older than the " + min + " the site's Terraform needs", Fix: install})
		return
	}
	r.report(Step{Name: stepTools, Status: AlreadyThere, Detail: detail})
}

// checkCIImage says which image the workflows run in and whether they pin it by digest.
func (r *runner) checkCIImage() {
	if sitetemplate.CIImageDigest != "" {
		r.report(Step{Name: stepCIImage, Status: AlreadyThere, Detail: "the workflows run " + sitetemplate.CIImage + "@" + sitetemplate.CIImageDigest + ", pinned by digest"})
		return
	}
	r.report(Step{Name: stepCIImage, Status: Warning,
		Detail: "the workflows run " + sitetemplate.CIImage + " by its tag, not pinned by digest: whoever can push that tag changes what runs with the site's secrets",
		Fix: "the nassella maintainers publish it with ci-images/build.sh; once a release's image is pushed, its sha256 digest goes into site-template/ciimage.go (CIImageDigest) " +
			"and the next nassella release pins every site's workflows; runners must be able to pull from ghcr.io"})
}

// checkFleet looks for the site in the maintainer's fleet.yaml: the update bot keeps only
// the sites listed there current.
func (r *runner) checkFleet() {
	entry := r.fleetEntry()
	todo := "add it to the fleet.yaml the update bot reads (docs/maintainers/update-bot.md), then run bootstrap with --fleet FILE to check:\n" + entry
	if r.cfg.Fleet == "" {
		r.report(Step{Name: stepFleet, Status: ToDo, Detail: "not checked (no --fleet)", Fix: todo})
		return
	}
	fl, err := fleet.Read(r.cfg.Fleet)
	if err != nil {
		r.report(Step{Name: stepFleet, Status: Failed, Detail: err.Error(), Fix: "fix " + r.cfg.Fleet + " as the message says"})
		return
	}
	for _, s := range fl.Sites {
		if f := r.cfg.Forge; f != nil && strings.EqualFold(s.Repo, f.Owner+"/"+f.Repo) && strings.EqualFold(s.URL, f.URL) {
			r.report(Step{Name: stepFleet, Status: AlreadyThere, Detail: fmt.Sprintf("listed in %s (channel %s)", r.cfg.Fleet, s.Channel)})
			return
		}
	}
	r.report(Step{Name: stepFleet, Status: ToDo, Detail: "not listed in " + r.cfg.Fleet, Fix: todo})
}

// fleetEntry is the site's fleet.yaml entry, as YAML to paste under sites:.
func (r *runner) fleetEntry() string {
	e := fleet.Site{Name: r.cfg.Site.Name, Forge: "FORGE", URL: "https://FORGE", Repo: "OWNER/REPO", Channel: r.cfg.Site.Updates.Channel, TokenEnv: "NASSELLA_FORGE_TOKEN"}
	if f := r.cfg.Forge; f != nil {
		e.Forge, e.URL, e.Repo = f.Kind, f.URL, f.Owner+"/"+f.Repo
	}
	out, _ := yaml.Marshal(map[string]string{"name": e.Name, "forge": e.Forge, "url": e.URL, "repo": e.Repo, "channel": e.Channel, "token_env": e.TokenEnv})
	return "  - " + strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", "\n    ")
}

// checkActions reads whether the repo's Actions are on and a runner can take its jobs.
// Where the token may not list runners, the step says which settings page to look at.
func (r *runner) checkActions(ctx context.Context, c forge.Client, f *Forge) {
	a, err := c.Actions(ctx)
	if err != nil {
		r.report(Step{Name: stepActions, Status: Failed, Detail: err.Error(), Fix: "check that the token may read the repo, then run again"})
		return
	}
	repoPage := f.URL + "/" + f.Owner + "/" + f.Repo + "/settings"
	if !a.Enabled {
		fix := "turn Actions on for the repo: " + repoPage + "/actions (Allow all actions)"
		if f.Kind != "github" {
			fix = "turn Actions on for the repo: " + repoPage + " → Advanced settings → Actions (the instance needs [actions] ENABLED = true in app.ini; Codeberg: request Actions access)"
		}
		r.report(Step{Name: stepActions, Status: ToDo, Detail: "Actions are off for the repo: no check or plan runs on a pull request", Fix: fix})
		return
	}
	if a.Hosted {
		r.report(Step{Name: stepActions, Status: AlreadyThere, Detail: "on; the workflows run on GitHub-hosted runners (ubuntu-latest)"})
		return
	}
	var online []string
	for _, rn := range a.Runners {
		if rn.Online {
			online = append(online, rn.Name+" ("+rn.Scope+")")
		}
	}
	if len(online) > 0 {
		r.report(Step{Name: stepActions, Status: AlreadyThere, Detail: "on; runners online: " + strings.Join(online, ", ")})
		return
	}
	pages := []string{repoPage + "/actions/runners"}
	if f.Owner != "" {
		pages = append(pages, f.URL+"/org/"+f.Owner+"/settings/actions/runners (if "+f.Owner+" is an organisation)")
	}
	pages = append(pages, f.URL+"/-/admin/actions/runners (instance-wide, site admins)")
	fix := "register a Forgejo/Gitea Actions runner with the label docker (the workflows say runs-on: docker) for the repo, its organisation or the instance: " + strings.Join(pages, ", ")
	detail := fmt.Sprintf("on; no runner online among those the token can see (looked at: %s)", strings.Join(a.Looked, ", "))
	if len(a.Unreadable) > 0 {
		detail += fmt.Sprintf("; the token may not list the %s runners: check there", strings.Join(a.Unreadable, " and "))
	}
	r.report(Step{Name: stepActions, Status: ToDo, Detail: detail, Fix: fix})
}

// requiredChecks are the plan workflow's status check names, as each forge writes them:
// GitHub names a check after the job, Gitea and Forgejo "<workflow> / <job> (<event>)"
// (services/actions/commit_status.go, Gitea 1.26). Read from the workflow that is
// generated, so a renamed job is followed.
func requiredChecks(kind string) ([]string, error) {
	dir := "forgejo"
	if kind == "github" {
		dir = "github"
	}
	data, err := fs.ReadFile(sitetemplate.FS, "workflows/"+dir+"/nassella-plan.yml")
	if err != nil {
		return nil, err
	}
	var wf struct {
		Name string `yaml:"name"`
		Jobs map[string]struct {
			Name string `yaml:"name"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		return nil, fmt.Errorf("the plan workflow: %w", err)
	}
	var out []string
	for id, j := range wf.Jobs {
		job := id
		if j.Name != "" {
			job = j.Name
		}
		if kind == "github" {
			out = append(out, job)
		} else {
			out = append(out, fmt.Sprintf("%s / %s (pull_request)", wf.Name, job))
		}
	}
	sort.Strings(out)
	return out, nil
}

// checkProtection reads main's protection and, with Protect, sets it: changes reach main
// only through pull requests whose plan check passed.
func (r *runner) checkProtection(ctx context.Context, c forge.Client, f *Forge) {
	checks, err := requiredChecks(f.Kind)
	if err != nil {
		r.report(Step{Name: stepProtection, Status: Failed, Detail: err.Error()})
		return
	}
	page := f.URL + "/" + f.Owner + "/" + f.Repo + "/settings/branches"
	want := fmt.Sprintf("protect main: no direct pushes, and require the check %s", strings.Join(checks, ", "))
	p, found, err := c.BranchProtection(ctx, "main")
	if err != nil {
		r.report(Step{Name: stepProtection, Status: Failed, Detail: err.Error(), Fix: want + " at " + page + " (the token needs admin rights on the repo to read it)"})
		return
	}
	if found && p.PullRequestsOnly && p.Requires(checks) {
		r.report(Step{Name: stepProtection, Status: AlreadyThere, Detail: "pull requests only, requires " + strings.Join(checks, ", ")})
		return
	}
	now := "main is not protected"
	if found {
		now = fmt.Sprintf("main is protected, but not as needed (pull requests only: %v; required checks: %s)", p.PullRequestsOnly, strings.Join(p.Checks, ", "))
	}
	if !f.Protect {
		r.report(Step{Name: stepProtection, Status: ToDo, Detail: now, Fix: want + " at " + page + ", or run bootstrap again with --protect"})
		return
	}
	if err := c.ProtectBranch(ctx, "main", checks); err != nil {
		r.report(Step{Name: stepProtection, Status: Failed, Detail: "protecting it: " + err.Error(), Fix: want + " at " + page})
		return
	}
	r.report(Step{Name: stepProtection, Status: Done, Detail: "protected: pull requests only, requires " + strings.Join(checks, ", ")})
}

// dnsOrder says in which order DNS comes up. The site's Terraform creates the zone
// (hcloud_zone) in the first apply; bootstrap does not create it, as a zone made here
// would make that apply fail on the existing name unless the Terraform imported it.
// So: merge the first pull request, then delegate to the zone's name servers. A
// records-only site has no zone (Zones is empty): checkLiveDNS says what to add.
func (r *runner) dnsOrder(ctx context.Context, hc *hcloud.Client) {
	var missing []string
	for _, zone := range r.cfg.Site.Zones() {
		if hc == nil {
			missing = append(missing, zone)
			continue
		}
		z, _, err := hc.Zone.GetByName(ctx, zone)
		if err != nil || z == nil {
			missing = append(missing, zone)
		}
	}
	if len(missing) == 0 {
		return
	}
	delegate := "3. set them as the domain's name servers at its registrar"
	if r.cfg.Site.DNSMode() == site.DNSSubdomain {
		delegate = "3. add them as NS records of " + strings.Join(missing, ", ") + " at the DNS host of the parent domain (nothing else there changes)"
	}
	r.report(Step{Name: stepDNSOrder, Status: ToDo, Detail: "the zone of " + strings.Join(missing, ", ") + " exists only after the first apply",
		Fix: "1. the owner merges the first pull request: the apply creates the zone and the server\n" +
			"2. run bootstrap again: it prints the zone's own name servers\n" +
			delegate + "; the apps answer over HTTPS once the delegation shows (up to a day)"})
}
