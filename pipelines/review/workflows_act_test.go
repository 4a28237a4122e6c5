package review_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/forge"
	"github.com/nassella/nassella/internal/hostcontract"
	"github.com/nassella/nassella/internal/testenv/actrunner"
	"github.com/nassella/nassella/internal/testenv/dnssim"
	"github.com/nassella/nassella/internal/testenv/githubsim"
	"github.com/nassella/nassella/internal/testenv/hcloudsim"
	"github.com/nassella/nassella/internal/testenv/s3test"
	"github.com/nassella/nassella/internal/testenv/sshtest"
	"github.com/nassella/nassella/internal/testenv/testca"
	"github.com/nassella/nassella/internal/testenv/testtool"
	"github.com/nassella/nassella/pipelines/deploy"
	"github.com/nassella/nassella/pipelines/doctor"
)

// The generated site workflows, run for real: act runs the site repo's own
// .forgejo/workflows (plan, apply, doctor) against a real Gitea and .github/workflows
// against the GitHub simulator, in the CI image built from this checkout.
//
//   - A pull request that breaks site.yaml fails the check, with the annotation on the line
//     a runner turns into a note, and the bot's note on that line.
//   - A good one gets its generated files committed by the bot, passes every check (the live
//     DNS one included) and gets exactly one plan comment, made by OpenTofu with the real
//     hcloud provider against the Hetzner simulator and the state in S3 over HTTPS, updated
//     in place on the next push.
//   - Merging applies it with the reviewed digest; a merge whose plan changed since review
//     is refused (mergeIsApplied).
//   - The doctor keeps one issue open while the backups have stopped and closes it once
//     they work (doctorKeepsOneIssue).
//
// The secrets never show in the runner's log. ci-images/README.md lists what stands in
// for what a customer's runner has.
func TestSiteWorkflowsUnderAct(t *testing.T) {
	w := startActWorld(t)
	g := startGiteaUsers(t)

	t.Run("gitea", func(t *testing.T) {
		j := actrunner.Job{
			Workflow:  ".forgejo/workflows/nassella-plan.yml",
			ServerURL: g.URL,
			Secrets:   w.secrets(map[string]string{"NASSELLA_FORGE_TOKEN": g.bot, "GITHUB_TOKEN": g.owner}),
			Env:       w.env,
		}
		brokenPRFailsTheCheck(t, w.runner, giteaForge(t, g, "acted"), j)
		y, files := w.goodSite(t, "coop-gitea")
		s := giteaForgeOf(t, g, "planned", files)
		pr := goodPRGetsOnePlanComment(t, w, y, s, j)
		mergeIsApplied(t, w, s, j, pr, "coop-gitea")
		doctorKeepsOneIssue(t, w, s, j, "coop-gitea")
	})
	t.Run("github", func(t *testing.T) {
		sim, s := githubSiteForge(t, "acted")
		j := actrunner.Job{
			Workflow:  ".github/workflows/nassella-plan.yml",
			ServerURL: sim.URL,
			APIURL:    sim.URL + "/api/v3",
			Secrets:   w.secrets(map[string]string{"NASSELLA_FORGE_TOKEN": "bot-token", "GITHUB_TOKEN": "actions-token"}),
			Env:       w.env,
		}
		brokenPRFailsTheCheck(t, w.runner, s, j)
		y, files := w.goodSite(t, "coop-github")
		sim, s = githubSiteForgeOf(t, "planned", files)
		j.ServerURL, j.APIURL = sim.URL, sim.URL+"/api/v3"
		// On GitHub the plan comment is the workflow's own (github-actions[bot]).
		s.botLogin = "github-actions[bot]"
		pr := goodPRGetsOnePlanComment(t, w, y, s, j)
		mergeIsApplied(t, w, s, j, pr, "coop-github")
		doctorKeepsOneIssue(t, w, s, j, "coop-github")
	})
}

// actWorld is what a site's workflow reaches besides its forge, on loopback addresses:
// the Hetzner simulator, an S3 server for the state behind HTTPS with a test CA the CI
// image trusts, a DNS server the job containers ask, which says the sites' domains are on
// Hetzner's name servers and where the S3 server is, and the sites' apps as their
// servers' addresses serve them over HTTPS (the simulator hands out those addresses).
type actWorld struct {
	runner *actrunner.Runner
	cat    *catalog.Release // the pinned release the image's nassella carries
	sim    *hcloudsim.Server
	state  string // the state's S3 endpoint, https://objects.nassella-test.org:PORT
	env    map[string]string
	cloud  map[string]string // the site's Actions secrets but the forge tokens
	// backupKeys are each site's BACKUP_SSH_KEY (private, PEM) and admin.backup_key.
	backupKeys, backupPubs map[string]string
	// backupsFail makes the servers' backup status record say the backups stopped.
	backupsFail atomic.Bool
}

// The good sites are named for their forge, each with its own domain, server and state;
// their domains are not reserved ones (a CI check refuses those) and are only ever asked
// of the test's DNS server.
var actSites = []string{"coop-gitea", "coop-github"}

func actDomain(site string) string { return site + ".org" }

func startActWorld(t *testing.T) *actWorld {
	t.Helper()
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	s3 := s3test.Start(t)
	s3.Bucket(t, "coop-state")
	upstream, _ := url.Parse(s3.Endpoint)
	// The request keeps its Host header, which the S3 signature covers.
	const objects = "objects.nassella-test.org"
	front, err := ca.Serve(httputil.NewSingleHostReverseProxy(upstream), objects)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(front.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(front.URL, "https://"))
	// Port 53 of an address of its own on the loopback net: /etc/resolv.conf takes no
	// port, and 127.0.0.53 may be systemd-resolved's.
	records := []string{objects + ". 300 IN A 127.0.0.1"}
	catDir := actrunner.PinnedCatalog(t)
	cat, err := catalog.Load(os.DirFS(catDir))
	if err != nil {
		t.Fatal(err)
	}
	sim := hcloudsim.StartForOpenTofu(t)
	w := &actWorld{cat: cat, sim: sim, backupKeys: map[string]string{}, backupPubs: map[string]string{}}
	hostKey, hostKeyPEM := newSSHKey(t)
	var names []string
	var backupKeys []ssh.PublicKey
	for i, site := range actSites {
		d := actDomain(site)
		ip := fmt.Sprintf("127.2.1.%d", i+1)
		records = append(records, d+". 300 IN NS hydrogen.ns.hetzner.com.", d+". 300 IN NS oxygen.ns.hetzner.com.")
		// Once applied, the apps' names point at the server (the doctor reaches it by them).
		for _, a := range cat.Apps {
			records = append(records, a.Subdomain+"."+d+". 300 IN A "+ip)
		}
		names = append(names, "*."+d)
		// Each site's server gets the address its apps and SSH are served on below.
		sim.UseIPv4s(ip)
		key, keyPEM := newSSHKey(t)
		w.backupKeys[site] = keyPEM
		w.backupPubs[site] = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key.PublicKey()))) + " nassella-ci-backup"
		backupKeys = append(backupKeys, key.PublicKey())
	}
	dnssim.StartAt(t, "127.2.0.53:53", records...)
	serveApps(t, ca, cat, len(actSites), names)
	// The servers' SSH, for the doctor: the site's host key, and the backup key may only
	// read the backup status record (the host forces the command for it).
	for i := range actSites {
		sshtest.Start(t, sshtest.Options{Addr: fmt.Sprintf("127.2.1.%d:22", i+1), HostKey: hostKey, User: "core", Allow: backupKeys,
			Handle: func(e sshtest.Exec) uint32 {
				if e.Command != hostcontract.StatusCommand {
					fmt.Fprintln(e.Stderr, "the backup key may only read the backup status")
					return 1
				}
				json.NewEncoder(e.Stdout).Encode(w.backupStatus())
				return 0
			}})
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.CertDER()})
	w.runner = actrunner.StartWith(t, actrunner.Options{Catalog: catDir, DNS: "127.2.0.53", CACert: caPEM})
	w.state = "https://" + objects + ":" + port
	w.env = map[string]string{"TF_VAR_hcloud_endpoint": sim.Endpoint()}
	w.cloud = map[string]string{
		"HCLOUD_TOKEN":                hcloudsim.TestToken,
		"STATE_PASSPHRASE":            "the state passphrase of the act test",
		"BACKUP_PASSWORD":             "the backup password of the act test",
		"BACKUP_S3_ACCESS_KEY_ID":     "backup-key-id-of-the-act-test",
		"BACKUP_S3_SECRET_ACCESS_KEY": "backup-secret-of-the-act-test",
		"NASSELLA_HOST_KEY":           hostKeyPEM,
		"STATE_S3_ACCESS_KEY_ID":      s3.Access,
		"STATE_S3_SECRET_ACCESS_KEY":  s3.Secret,
	}
	return w
}

// newSSHKey makes an ed25519 key and its private half as PEM, as nassella bootstrap does.
func newSSHKey(t *testing.T) (ssh.Signer, string) {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return signer, string(pem.EncodeToMemory(block))
}

// backupStatus is the servers' backup status record: a backup an hour ago, or, with
// backupsFail, one that failed an hour ago after three days without a good one.
func (w *actWorld) backupStatus() hostcontract.Status {
	now := time.Now().UTC()
	st := hostcontract.Status{Time: now.Add(-time.Hour), Result: "ok", Snapshot: "4bd1a2f0", SizeBytes: 3 << 30,
		AddedBytes: 12 << 20, Duration: 95, LastSuccess: now.Add(-time.Hour).Format(time.RFC3339), Schedule: "daily 02:00",
		Disk: hostcontract.Disk{SizeBytes: 30 << 30, UsedBytes: 3 << 30, AvailBytes: 27 << 30, UsedPercent: 10}}
	if w.backupsFail.Load() {
		st.Result, st.Error, st.Snapshot = "failed", "unable to open the repository: Access Denied", ""
		st.LastSuccess = now.Add(-72 * time.Hour).Format(time.RFC3339)
	}
	return st
}

// serveApps answers HTTPS on port 443 of 127.2.1.1… (one address per site) for every app
// of the catalog as a healthy host does: each health path with the status the catalog
// expects of it.
func serveApps(t *testing.T, ca *testca.CA, cat *catalog.Release, n int, names []string) {
	t.Helper()
	// As long as a Let's Encrypt certificate: the doctor warns of one about to expire.
	cert, err := ca.IssueFor(90*24*time.Hour, names...)
	if err != nil {
		t.Fatal(err)
	}
	apps := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sub, _, _ := strings.Cut(r.Host, ".")
		for _, a := range cat.Apps {
			if a.Subdomain == sub && a.Health.Path == r.URL.Path {
				w.WriteHeader(a.Health.Status)
				return
			}
		}
		w.WriteHeader(http.StatusOK)
	})
	testtool.HoldPort(t, 443) // the rehearsal's Caddy listens on :443 too
	for i := 1; i <= n; i++ {
		l, err := net.Listen("tcp", fmt.Sprintf("127.2.1.%d:443", i))
		if err != nil {
			t.Fatalf("serving the apps (port 443 needs root): %v", err)
		}
		srv := &http.Server{Handler: apps, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, ErrorLog: log.New(io.Discard, "", 0)}
		go srv.ServeTLS(l, "", "")
		t.Cleanup(func() { srv.Close() })
	}
}

// secrets are the site's Actions secrets with the forge's tokens.
func (w *actWorld) secrets(tokens map[string]string) map[string]string {
	out := maps.Clone(w.cloud)
	maps.Copy(out, tokens)
	return out
}

// goodSite is a site ready to apply (a real-looking domain, a backup key, state in S3) and
// its repo, generated with the image's catalog release; its state is in the one bucket,
// under its name.
func (w *actWorld) goodSite(t *testing.T, name string) (siteYAML string, files map[string][]byte) {
	t.Helper()
	backupKey := w.backupPubs[name]
	y := strings.ReplaceAll(regenSiteYAML, "coop.example", actDomain(name))
	y = strings.Replace(y, "name: coop\n", "name: "+name+"\n", 1)
	y = strings.Replace(y, "  ssh_keys:\n", "  backup_key: \""+backupKey+"\"\n  ssh_keys:\n", 1)
	y += "state:\n  s3: { bucket: coop-state, endpoint: \"" + w.state + "\" }\n"
	return y, generatedSiteOf(t, y, w.cat)
}

// goodPRGetsOnePlanComment: the owner adds an app to site.yaml; the run commits the
// generated files as the bot, passes every check and posts what merging does. The next
// push (a bigger volume) updates that comment instead of adding one.
func goodPRGetsOnePlanComment(t *testing.T, w *actWorld, siteYAML string, s siteForge, j actrunner.Job) int {
	added := strings.Replace(siteYAML, "  vaultwarden: {}\n", "  vaultwarden: {}\n  nextcloud: {}\n", 1)
	s.edit(t, "add-nextcloud", "site.yaml", added)
	pr := s.open(t, "add-nextcloud")
	first := runGood(t, w, s, j, pr)
	for _, want := range []string{"Your server will be created", "A data volume of 20"} {
		if !strings.Contains(first.Body, want) {
			t.Errorf("the plan comment does not say %q:\n%s", want, first.Body)
		}
	}
	commits, err := s.bot.PRCommits(context.Background(), pr)
	if err != nil {
		t.Fatal(err)
	}
	if last := commits[len(commits)-1]; last.AuthorEmail != botAuthor.Email || !slices.Contains(last.Files, "apps/nextcloud/compose.yaml") {
		t.Errorf("the pull request's last commit is %+v; want the bot's, with apps/nextcloud/compose.yaml", last)
	}

	s.edit(t, "add-nextcloud", "site.yaml", strings.Replace(added, "volume_gb: 20", "volume_gb: 30", 1))
	second := runGood(t, w, s, j, pr)
	if second.ID != first.ID {
		t.Errorf("the next push posted plan comment %d beside %d; want the first one updated", second.ID, first.ID)
	}
	t.Logf("the plan comment after the second push:\n%s", second.Body)
	if !strings.Contains(second.Body, "A data volume of 30") {
		t.Errorf("the updated plan comment does not say the new volume size:\n%s", second.Body)
	}
	return pr
}

// runGood runs the plan workflow on pr's head, which must pass every step, and returns
// the one plan comment.
func runGood(t *testing.T, w *actWorld, s siteForge, j actrunner.Job, pr int) forge.Comment {
	t.Helper()
	j.Dir, j.Event, j.Payload = prClone(t, s, j.ServerURL, pr)
	res := w.runner.Run(t, j)
	if res.Failed {
		t.Fatalf("the check failed on a good pull request:\n%s", res.Log)
	}
	for _, step := range []string{"Update the generated files", "Check your site.yaml", "Preview what changes on your server", "Post the preview"} {
		if !strings.Contains(res.Log, "✅  Success - Main "+step) {
			t.Errorf("step %q did not succeed:\n%s", step, res.Log)
		}
	}
	// The live DNS check asked the test's name server, not the machine's.
	if !strings.Contains(res.Log, "your domain already points at the zone") {
		t.Errorf("the live DNS check did not see the domain on Hetzner's name servers:\n%s", res.Log)
	}
	noSecrets(t, res.Log, j.Secrets)
	cs, err := s.bot.Comments(context.Background(), pr)
	if err != nil {
		t.Fatal(err)
	}
	var plans []forge.Comment
	for _, c := range cs {
		if strings.HasPrefix(c.Body, deploy.CommentMarker) {
			plans = append(plans, c)
		}
	}
	if len(plans) != 1 || plans[0].Author != s.botLogin {
		t.Fatalf("plan comments %+v; want one, by %s", plans, s.botLogin)
	}
	return plans[0]
}

func brokenPRFailsTheCheck(t *testing.T, runner *actrunner.Runner, s siteForge, j actrunner.Job) {
	s.edit(t, "add-app", "site.yaml", withApp("nextclod"))
	pr := s.open(t, "add-app")
	j.Dir, j.Event, j.Payload = prClone(t, s, j.ServerURL, pr)
	res := runner.Run(t, j)
	if !res.Failed {
		t.Errorf("the check passed on a site.yaml with a mistake:\n%s", res.Log)
	}
	// The runner got the annotation on site.yaml line 16 (act prints the workflow command
	// it parsed; GitHub and Forgejo make it a note on the line).
	if !regexp.MustCompile(`::error file=site\.yaml,line=16[^:]*::[^\n]*nextclod`).MatchString(res.Log) {
		t.Errorf("no annotation on site.yaml line 16 in the runner's log:\n%s", res.Log)
	}
	if !strings.Contains(res.Log, "stand-in checkout: "+s.repo) {
		t.Errorf("the checkout stand-in did not run:\n%s", res.Log)
	}
	notes := botNotes(t, s, pr)
	if len(notes) != 1 || notes[0].Path != "site.yaml" || notes[0].Line != 16 || !strings.Contains(notes[0].Body, "nextclod") {
		t.Errorf("the bot's notes after the run: %+v; want one on site.yaml line 16", notes)
	}
	if c := botComment(t, s, pr); !strings.Contains(c, "Your site.yaml needs a change") {
		t.Errorf("the bot's comment: %q", c)
	}
	noSecrets(t, res.Log, j.Secrets)

	// Fixed on the branch: the next run's first step commits the regenerated files to it
	// as the bot, pushing from inside the job's container, and the note goes. (This site's
	// .example domain fails the next check in CI; goodPRGetsOnePlanComment runs a site
	// that passes them all.)
	s.edit(t, "add-app", "site.yaml", withApp("nextcloud"))
	j.Dir, j.Event, j.Payload = prClone(t, s, j.ServerURL, pr)
	res = runner.Run(t, j)
	if !strings.Contains(res.Log, "✅  Success - Main Update the generated files") {
		t.Fatalf("after the fix the regenerate step failed:\n%s", res.Log)
	}
	commits, err := s.bot.PRCommits(context.Background(), pr)
	if err != nil {
		t.Fatal(err)
	}
	last := commits[len(commits)-1]
	if last.AuthorEmail != botAuthor.Email || !slices.Contains(last.Files, "apps/nextcloud/compose.yaml") {
		t.Errorf("the pull request's last commit is %+v; want the bot's, with apps/nextcloud/compose.yaml", last)
	}
	if notes := botNotes(t, s, pr); len(notes) != 0 {
		t.Errorf("notes left after the fix: %+v", notes)
	}
	noSecrets(t, res.Log, j.Secrets)
}

func noSecrets(t *testing.T, log string, secrets map[string]string) {
	t.Helper()
	for name, v := range secrets {
		if strings.Contains(log, v) {
			t.Errorf("the runner's log shows the secret %s", name)
		}
	}
}

// prClone clones the site repo at the pull request's head, with origin on the forge (act
// names the repository from it), and returns the pull_request event the forge sends.
func prClone(t *testing.T, s siteForge, server string, pr int) (dir, event string, payload any) {
	t.Helper()
	info, err := s.bot.PullRequest(context.Background(), pr)
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	git(t, dir, "init", "-q")
	git(t, dir, "remote", "add", "origin", server+"/"+s.repo+".git")
	// The token only on this fetch's command line, never in the clone's config.
	git(t, dir, "fetch", "-q", strings.Replace(server, "://", "://x:"+s.botToken+"@", 1)+"/"+s.repo+".git", info.Head)
	git(t, dir, "checkout", "-q", "FETCH_HEAD")
	sha := strings.TrimSpace(mustGitOut(t, dir, "rev-parse", "HEAD"))
	owner, name, _ := strings.Cut(s.repo, "/")
	repo := map[string]any{"full_name": s.repo, "name": name, "owner": map[string]any{"login": owner},
		"clone_url": server + "/" + s.repo + ".git"}
	// The fields of the pull_request webhook payload the workflows and act read
	// (docs.github.com/webhooks/webhook-events-and-payloads#pull_request; Gitea sends the
	// same shape: modules/structs/hook.go PullRequestPayload).
	payload = map[string]any{
		"action": "opened",
		"number": pr,
		"pull_request": map[string]any{
			"number": pr,
			"head":   map[string]any{"ref": info.Head, "sha": sha, "repo": repo},
			"base":   map[string]any{"ref": "main", "repo": repo},
		},
		"repository": repo,
	}
	return dir, "pull_request", payload
}

func mustGitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitOut(dir, args...)
	if err != nil {
		t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out
}

// githubSiteForge is githubForge with the simulator itself, and the workflow's own token
// (github.token) as a user of its own.
func githubSiteForge(t *testing.T, name string) (*githubsim.Server, siteForge) {
	t.Helper()
	return githubSiteForgeOf(t, name, generatedSite(t, regenSiteYAML))
}

// githubSiteForgeOf is githubSiteForge with files as the repo's first commit.
func githubSiteForgeOf(t *testing.T, name string, files map[string][]byte) (*githubsim.Server, siteForge) {
	t.Helper()
	s, sim := githubForgeOf(t, name, files)
	sim.AddUser("github-actions[bot]", "actions-token")
	return sim, s
}

// mergeIsApplied: the owner merges the reviewed pull request; the apply workflow on main
// applies exactly the reviewed plan against the simulator, checks every app over HTTPS
// and moves nassella/last-good to the merge. Then a second pull request is reviewed, and
// the cloud changes before it is merged (someone deletes the admin's SSH key in the
// provider's console): its plan is no longer the reviewed one, so the apply refuses,
// changes nothing and says so in an issue.
func mergeIsApplied(t *testing.T, w *actWorld, s siteForge, plan actrunner.Job, pr int, name string) {
	apply := plan
	apply.Workflow = strings.Replace(plan.Workflow, "nassella-plan.yml", "nassella-apply.yml", 1)
	reviewed := planDigest(t, s, pr)
	sha := s.merge(t, pr)
	apply.Dir, apply.Event, apply.Payload = pushClone(t, s, apply.ServerURL, sha)
	res := w.runner.Run(t, apply)
	if res.Failed {
		t.Fatalf("the apply of a reviewed merge failed:\n%s", res.Log)
	}
	for _, want := range []string{"(digest " + reviewed + ")", "applied; every app is healthy",
		"✅  Success - Main Apply your change", "✅  Success - Main Remember the last good configuration"} {
		if !strings.Contains(res.Log, want) {
			t.Errorf("the apply's log lacks %q:\n%s", want, res.Log)
		}
	}
	noSecrets(t, res.Log, apply.Secrets)
	if v := siteVolume(t, w.sim, name); v.Size != 30 {
		t.Errorf("the site's volume has %d GB after the apply, want the reviewed 30", v.Size)
	}
	if got := remoteRef(t, s, apply.ServerURL, "refs/tags/nassella/last-good"); got != sha {
		t.Errorf("nassella/last-good is %q on the forge, want the applied merge %s", got, sha)
	}

	data, err := os.ReadFile(filepath.Join(apply.Dir, "site.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s.edit(t, "grow", "site.yaml", strings.Replace(string(data), "volume_gb: 30", "volume_gb: 40", 1))
	pr2 := s.open(t, "grow")
	runGood(t, w, s, plan, pr2)
	deleteSSHKeys(t, w.sim, name)
	sha2 := s.merge(t, pr2)
	apply.Dir, apply.Event, apply.Payload = pushClone(t, s, apply.ServerURL, sha2)
	res = w.runner.Run(t, apply)
	if !res.Failed {
		t.Fatalf("a merge whose plan differs from the reviewed one was applied:\n%s", res.Log)
	}
	if !strings.Contains(res.Log, "is not the reviewed one") {
		t.Errorf("the apply's log does not say the plan is not the reviewed one:\n%s", res.Log)
	}
	noSecrets(t, res.Log, apply.Secrets)
	if v := siteVolume(t, w.sim, name); v.Size != 30 {
		t.Errorf("the refused apply changed the volume to %d GB", v.Size)
	}
	issues, err := s.bot.OpenIssues(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	told := false
	for _, i := range issues {
		told = told || (i.Author == s.botLogin && strings.Contains(i.Body, sha2) && strings.Contains(i.Body, "Your site is unchanged"))
	}
	if !told {
		t.Errorf("no issue by %s tells of the refused apply of %s: %+v", s.botLogin, sha2, issues)
	}
	if got := remoteRef(t, s, apply.ServerURL, "refs/tags/nassella/last-good"); got != sha {
		t.Errorf("nassella/last-good moved to %q after a refused apply, want %s", got, sha)
	}
}

// planDigest is the digest in the pull request's plan comment.
func planDigest(t *testing.T, s siteForge, pr int) string {
	t.Helper()
	cs, err := s.bot.Comments(context.Background(), pr)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`nassella-plan-digest: ([0-9a-f]+)`)
	for _, c := range cs {
		if m := re.FindStringSubmatch(c.Body); m != nil && strings.HasPrefix(c.Body, deploy.CommentMarker) {
			return m[1]
		}
	}
	t.Fatalf("pull request #%d has no plan comment", pr)
	return ""
}

// siteVolume is the data volume of the site named name in the simulator.
func siteVolume(t *testing.T, sim *hcloudsim.Server, name string) hcloudsim.VolumeInfo {
	t.Helper()
	var mine []hcloudsim.VolumeInfo
	for _, v := range sim.Volumes() {
		if strings.HasPrefix(v.Name, name) {
			mine = append(mine, v)
		}
	}
	if len(mine) != 1 {
		t.Fatalf("volumes of %s in the simulator: %+v; want one", name, mine)
	}
	return mine[0]
}

// deleteSSHKeys deletes the site's SSH keys through the Hetzner API, as a person in the
// provider's console would (DELETE /ssh_keys/{id}, docs.hetzner.cloud).
func deleteSSHKeys(t *testing.T, sim *hcloudsim.Server, name string) {
	t.Helper()
	n := 0
	for _, k := range sim.SSHKeys() {
		if !strings.HasPrefix(k.Name, name) {
			continue
		}
		req, _ := http.NewRequest(http.MethodDelete, fmt.Sprintf("%s/ssh_keys/%d", sim.Endpoint(), k.ID), nil)
		req.Header.Set("Authorization", "Bearer "+hcloudsim.TestToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("deleting SSH key %s: %s", k.Name, resp.Status)
		}
		n++
	}
	if n == 0 {
		t.Fatalf("the simulator has no SSH key of %s: %+v", name, sim.SSHKeys())
	}
}

// remoteRef is what ref points at on the forge ("" when it does not exist).
func remoteRef(t *testing.T, s siteForge, server, ref string) string {
	t.Helper()
	url := strings.Replace(server, "://", "://x:"+s.botToken+"@", 1) + "/" + s.repo + ".git"
	out := git(t, t.TempDir(), "ls-remote", url, ref)
	sha, _, _ := strings.Cut(out, "\t")
	return sha
}

// pushClone clones the site repo at main's commit sha, with origin on the forge, and
// returns the push event the forge sends for it
// (docs.github.com/webhooks/webhook-events-and-payloads#push; Gitea's PushPayload in
// modules/structs/hook.go has the same fields).
func pushClone(t *testing.T, s siteForge, server, sha string) (dir, event string, payload any) {
	t.Helper()
	dir = t.TempDir()
	git(t, dir, "init", "-q")
	git(t, dir, "remote", "add", "origin", server+"/"+s.repo+".git")
	git(t, dir, "fetch", "-q", strings.Replace(server, "://", "://x:"+s.botToken+"@", 1)+"/"+s.repo+".git", "main")
	git(t, dir, "checkout", "-q", "-B", "main", sha)
	owner, name, _ := strings.Cut(s.repo, "/")
	repo := map[string]any{"full_name": s.repo, "name": name, "owner": map[string]any{"login": owner},
		"clone_url": server + "/" + s.repo + ".git", "default_branch": "main"}
	payload = map[string]any{"ref": "refs/heads/main", "after": sha, "deleted": false, "repository": repo,
		"pusher": map[string]any{"name": owner}}
	return dir, "push", payload
}

// doctorKeepsOneIssue runs the doctor workflow on the applied site: with the backups
// stopped it opens one issue (kept, not doubled, on the next run) that says so; once a
// backup works again the next run closes it. The doctor reaches the server by its apps'
// names, over HTTPS and over SSH with the site's host key pinned and the backup key.
func doctorKeepsOneIssue(t *testing.T, w *actWorld, s siteForge, plan actrunner.Job, name string) {
	job := plan
	job.Workflow = strings.Replace(plan.Workflow, "nassella-plan.yml", "nassella-doctor.yml", 1)
	job.Secrets = maps.Clone(plan.Secrets)
	job.Secrets["BACKUP_SSH_KEY"] = w.backupKeys[name]
	sha := remoteRef(t, s, job.ServerURL, "refs/heads/main")
	run := func() string {
		t.Helper()
		job.Dir, _, _ = pushClone(t, s, job.ServerURL, sha)
		job.Event, job.Payload = "workflow_dispatch", map[string]any{"ref": "refs/heads/main",
			"repository": map[string]any{"full_name": s.repo, "default_branch": "main"}}
		res := w.runner.Run(t, job)
		if res.Failed {
			t.Fatalf("the doctor workflow failed:\n%s", res.Log)
		}
		noSecrets(t, res.Log, job.Secrets)
		return res.Log
	}
	open := func() []forge.Issue {
		t.Helper()
		issues, err := s.bot.OpenIssues(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var mine []forge.Issue
		for _, i := range issues {
			if i.Author == s.botLogin && strings.HasPrefix(i.Body, doctor.Marker) {
				mine = append(mine, i)
			}
		}
		return mine
	}

	w.backupsFail.Store(true)
	for range 2 {
		log := run()
		if !strings.Contains(log, "the newest backup is 3 days old") {
			t.Errorf("the doctor did not see the stopped backups:\n%s", log)
		}
		if is := open(); len(is) != 1 || !strings.Contains(is[0].Body, "Access Denied") {
			t.Fatalf("doctor issues by %s: %+v; want one that says the backups stopped", s.botLogin, is)
		}
	}
	w.backupsFail.Store(false)
	log := run()
	for _, want := range []string{"the newest backup is 60 minutes old", "the data volume is 10% full"} {
		if !strings.Contains(log, want) {
			t.Errorf("the doctor's log lacks %q:\n%s", want, log)
		}
	}
	if is := open(); len(is) != 0 {
		t.Errorf("the doctor issue stays open on a healthy site: %+v", is)
	}
}
