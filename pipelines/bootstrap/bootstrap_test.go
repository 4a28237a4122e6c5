package bootstrap

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/hetznercloud/hcloud-go/v2/hcloud"
	"golang.org/x/crypto/nacl/box"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/siterepo"
	"github.com/nassella/nassella/internal/testenv/giteatest"
	"github.com/nassella/nassella/internal/testenv/hcloudsim"
	"github.com/nassella/nassella/internal/testenv/s3test"
	"github.com/nassella/nassella/internal/testenv/sshtest"
	"github.com/nassella/nassella/pipelines/initsite"
)

// fakeResolver is a test double for DNS: it answers NS lookups from a map, so the
// delegation check never leaves the machine.
type fakeResolver struct {
	mu sync.Mutex
	ns map[string][]string
}

func (f *fakeResolver) set(zone string, hosts []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ns == nil {
		f.ns = map[string][]string{}
	}
	f.ns[zone] = hosts
}

func (f *fakeResolver) LookupNS(_ context.Context, name string) ([]*net.NS, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hosts, ok := f.ns[name]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	var out []*net.NS
	for _, h := range hosts {
		out = append(out, &net.NS{Host: strings.TrimSuffix(h, ".") + "."}) // as the resolver answers: fully qualified
	}
	return out, nil
}

// loadSite loads the custom-domains example without the buckets' region (the test's S3
// server has the default one).
func loadSite(t *testing.T) (*site.Loaded, []byte) {
	t.Helper()
	data, ok := examples.Get("custom-domains")
	if !ok {
		t.Fatal("no example custom-domains")
	}
	text := strings.ReplaceAll(string(data), ", region: eu-central-003", "")
	// With a backup key, so every secret is needed.
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	key, _ := ssh.NewPublicKey(pub)
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
	text = strings.Replace(text, "admin:\n", "admin:\n  backup_key: \""+line+" nassella-ci-backup\"\n", 1)
	// And a mail relay that takes a login, whose password is a secret too.
	text += "mail: { host: smtp.riverside.example, port: 587, user: apps@riverside.example, from: apps@riverside.example }\n"
	l, err := site.Load("site.yaml", []byte(text), catalog.Embedded())
	if err != nil {
		t.Fatal(err)
	}
	return l, []byte(text)
}

func testSecrets() map[string]string {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, _ := ssh.MarshalPrivateKey(priv, "")
	_, hostPriv, _ := ed25519.GenerateKey(rand.Reader)
	hostBlock, _ := ssh.MarshalPrivateKey(hostPriv, "")
	return map[string]string{
		"NASSELLA_HOST_KEY":           string(pem.EncodeToMemory(hostBlock)),
		"HCLOUD_TOKEN":                hcloudsim.DefaultToken,
		"STATE_PASSPHRASE":            "state-passphrase-" + randHex(8),
		"BACKUP_PASSWORD":             "backup-password-" + randHex(8),
		"BACKUP_S3_ACCESS_KEY_ID":     "nassellatest",
		"BACKUP_S3_SECRET_ACCESS_KEY": "nassella-test-secret-key",
		"STATE_S3_ACCESS_KEY_ID":      "nassellatest",
		"STATE_S3_SECRET_ACCESS_KEY":  "nassella-test-secret-key",
		"BACKUP_SSH_KEY":              string(pem.EncodeToMemory(block)),
		"NASSELLA_FORGE_TOKEN":        "forge-comment-token-" + randHex(8),
		"SMTP_PASSWORD":               "smtp-password-" + randHex(8),
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func statuses(rep *Report) map[string]Status {
	out := map[string]Status{}
	for _, s := range rep.Steps {
		out[s.Name] = s.Status
	}
	return out
}

// The wrong token is told apart from a read-only one, each with its fix, and nothing is
// created in the project.
func TestTokenChecks(t *testing.T) {
	sim := hcloudsim.New()
	sim.Start()
	t.Cleanup(sim.Close)
	readOnly := "readonly" + strings.Repeat("0", 56)
	sim.AddReadOnlyToken(readOnly)
	l, _ := loadSite(t)

	for _, tc := range []struct {
		name, token, want, fix string
	}{
		{"wrong", "wrong" + strings.Repeat("x", 59), "does not know this token (401", "copy the token again"},
		{"read-only", readOnly, "read-only (403 forbidden", "Read & Write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &runner{cfg: Config{Site: l, Flatcar: catalog.Embedded().Flatcar, Hetzner: Hetzner{Endpoint: sim.Endpoint(), Token: tc.token, PollInterval: time.Millisecond}}, rep: &Report{}}
			r.defaults()
			if _, ok := r.checkToken(context.Background()); ok {
				t.Fatal("the token was accepted")
			}
			s := r.rep.Step(stepToken)
			if s.Status != Failed || !strings.Contains(s.Detail, tc.want) || !strings.Contains(s.Fix, tc.fix) {
				t.Errorf("got %+v", s)
			}
			if strings.Contains(r.rep.Text(), tc.token) {
				t.Error("the token was printed")
			}
		})
	}
	if n := len(sim.SSHKeys()); n != 0 {
		t.Errorf("the checks left %d SSH keys", n)
	}
	// The read-write token passes with the probe refused as invalid input.
	r := &runner{cfg: Config{Site: l, Hetzner: Hetzner{Endpoint: sim.Endpoint(), Token: hcloudsim.DefaultToken, PollInterval: time.Millisecond}}, rep: &Report{}}
	r.defaults()
	if _, ok := r.checkToken(context.Background()); !ok {
		t.Fatalf("a read-write token was refused: %s", r.rep.Text())
	}
	var probe []hcloudsim.Request
	for _, q := range sim.Requests() {
		if q.Method == "POST" && q.Path == "/v1/ssh_keys" {
			probe = append(probe, q)
		}
	}
	// The wrong token already fails at the first read; the read-only one at the probe.
	if len(probe) != 2 || probe[0].Status != 403 || probe[1].Status != 422 {
		t.Errorf("probe writes: %+v, want the read-only token's 403 and the read-write token's 422", probe)
	}
}

// The secrets bootstrap knows are exactly those the site workflows read.
func TestSecretsMatchWorkflows(t *testing.T) {
	files, _ := filepath.Glob("../../site-template/workflows/*/*.yml")
	if len(files) == 0 {
		t.Fatal("no workflows found")
	}
	re := regexp.MustCompile(`secrets\.([A-Z0-9_]+)`)
	seen := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(data), -1) {
			if m[1] != "GITHUB_TOKEN" && m[1] != "GITEA_TOKEN" && m[1] != "FORGEJO_TOKEN" {
				seen[m[1]] = true
			}
		}
	}
	var got []string
	for n := range seen {
		got = append(got, n)
	}
	sort.Strings(got)
	want := SecretNames()
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("the workflows read %v, bootstrap stores %v", got, want)
	}
}

// githubSecretsSim is a test handler for GitHub's secrets API: it hands out a Curve25519
// public key, decrypts every stored sealed box with the private key and keeps the
// plaintext for the test to check.
type githubSecretsSim struct {
	t        *testing.T
	pub      *[32]byte
	priv     *[32]byte
	mu       sync.Mutex
	secrets  map[string]string
	badToken int
	// protection is main's required checks once protected; nil: not protected.
	protection []string
}

func (g *githubSecretsSim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer gh-test-token" {
		g.badToken++
		http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
		return
	}
	switch {
	case r.Method == "GET" && r.URL.Path == "/repos/coop/site":
		fmt.Fprint(w, `{"clone_url":"http://127.0.0.1:1/coop/site.git","default_branch":"main"}`)
	case r.Method == "GET" && r.URL.Path == "/repos/coop/site/actions/secrets":
		var names []map[string]string
		for n := range g.secrets {
			names = append(names, map[string]string{"name": n})
		}
		json.NewEncoder(w).Encode(map[string]any{"total_count": len(names), "secrets": names})
	case r.Method == "GET" && r.URL.Path == "/repos/coop/site/actions/permissions":
		fmt.Fprint(w, `{"enabled":true,"allowed_actions":"all"}`)
	case r.Method == "GET" && r.URL.Path == "/repos/coop/site/branches/main/protection":
		if g.protection == nil {
			http.Error(w, `{"message":"Branch not protected"}`, http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"required_status_checks":        map[string]any{"strict": true, "contexts": g.protection},
			"required_pull_request_reviews": map[string]any{"required_approving_review_count": 0},
		})
	case r.Method == "PUT" && r.URL.Path == "/repos/coop/site/branches/main/protection":
		var body struct {
			Checks struct {
				Contexts []string `json:"contexts"`
			} `json:"required_status_checks"`
			Reviews *struct{} `json:"required_pull_request_reviews"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Reviews == nil {
			http.Error(w, `{"message":"bad body"}`, http.StatusUnprocessableEntity)
			return
		}
		g.protection = body.Checks.Contexts
		fmt.Fprint(w, `{}`)
	case r.Method == "GET" && r.URL.Path == "/repos/coop/site/actions/secrets/public-key":
		json.NewEncoder(w).Encode(map[string]string{"key_id": "key-1", "key": base64.StdEncoding.EncodeToString(g.pub[:])})
	case r.Method == "PUT" && strings.HasPrefix(r.URL.Path, "/repos/coop/site/actions/secrets/"):
		var body struct {
			EncryptedValue string `json:"encrypted_value"`
			KeyID          string `json:"key_id"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.KeyID != "key-1" {
			http.Error(w, `{"message":"bad body or key_id"}`, http.StatusUnprocessableEntity)
			return
		}
		sealed, err := base64.StdEncoding.DecodeString(body.EncryptedValue)
		if err != nil {
			http.Error(w, `{"message":"not base64"}`, http.StatusUnprocessableEntity)
			return
		}
		plain, ok := box.OpenAnonymous(nil, sealed, g.pub, g.priv)
		if !ok {
			http.Error(w, `{"message":"cannot decrypt"}`, http.StatusUnprocessableEntity)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/repos/coop/site/actions/secrets/")
		_, existed := g.secrets[name]
		g.secrets[name] = string(plain)
		if existed {
			w.WriteHeader(http.StatusNoContent)
		} else {
			w.WriteHeader(http.StatusCreated)
		}
	default:
		http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
	}
}

// GitHub secrets go as sealed boxes the repo's private key opens to the exact values;
// a second run keeps them, --replace-secrets overwrites them; only names are printed.
// startGitHubSecrets serves a githubSecretsSim; it returns the sim and its address.
func startGitHubSecrets(t *testing.T) (*githubSecretsSim, string) {
	pub, priv, err := box.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	gh := &githubSecretsSim{t: t, pub: pub, priv: priv, secrets: map[string]string{}}
	srv := httptest.NewServer(gh)
	t.Cleanup(srv.Close)
	return gh, srv.URL
}

func TestGitHubSecrets(t *testing.T) {
	gh, api := startGitHubSecrets(t)
	l, _ := loadSite(t)
	secrets := testSecrets()
	var out bytes.Buffer
	newRunner := func(replace bool) *runner {
		r := &runner{cfg: Config{Site: l, Secrets: secrets, Out: &out,
			Forge: &Forge{Kind: "github", URL: "https://github.com", API: api, Owner: "coop", Repo: "site", Token: "gh-test-token", ReplaceSecrets: replace, Protect: true}}, rep: &Report{}}
		r.defaults()
		return r
	}
	r := newRunner(false)
	r.ensureForge(context.Background())
	// GitHub needs the bot's token too: a push with GITHUB_TOKEN (the regenerated files)
	// would not run the pull request's checks again.
	if _, ok := gh.secrets["NASSELLA_FORGE_TOKEN"]; !ok {
		t.Error("NASSELLA_FORGE_TOKEN was not stored on GitHub; the plan workflow commits the regenerated files with it")
	}
	for name, value := range secrets {
		if gh.secrets[name] != value {
			t.Errorf("%s decrypted to a different value", name)
		}
		if s := r.rep.Step("secret " + name); s.Status != Done {
			t.Errorf("secret %s: %+v", name, s)
		}
	}
	if s := r.rep.Step(stepProtection); s.Status != Done || len(gh.protection) != 1 || gh.protection[0] != "plan" {
		t.Errorf("protection: %+v, GitHub requires %v, want the plan job", s, gh.protection)
	}
	if s := r.rep.Step(stepActions); s.Status != AlreadyThere || !strings.Contains(s.Detail, "GitHub-hosted") {
		t.Errorf("actions: %+v", s)
	}
	r = newRunner(false)
	r.ensureForge(context.Background())
	for _, s := range r.rep.Steps {
		if s.Status != AlreadyThere && s.Name != stepCommitted && s.Name != stepFirstPR {
			t.Errorf("second run: %s is %s, want already there", s.Name, s.Status)
		}
	}
	secrets["STATE_PASSPHRASE"] = "a-new-passphrase-" + randHex(8)
	r = newRunner(true)
	r.ensureForge(context.Background())
	if gh.secrets["STATE_PASSPHRASE"] != secrets["STATE_PASSPHRASE"] {
		t.Error("--replace-secrets did not replace STATE_PASSPHRASE")
	}
	for _, v := range secrets {
		if strings.Contains(out.String(), v) {
			t.Fatalf("a secret value was printed:\n%s", out.String())
		}
	}
	if strings.Contains(out.String(), "gh-test-token") {
		t.Fatal("the forge token was printed")
	}
}

// startSSHD starts a real sshd on 127.0.0.1 standing in for the rescue system: its own
// config and host key, and an authorized_keys file the test fills with the keys the
// simulator's rescue system was given.
func startSSHD(t *testing.T) (addr, authorizedKeys, user string, hostKeys ssh.HostKeyCallback) {
	t.Helper()
	sshd := sshtest.StartSSHD(t, "")
	hostKeys, err := knownhosts.New(sshd.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	return sshd.Addr, sshd.AuthorizedKeys, sshd.User, hostKeys
}

// makeImage writes a fake Flatcar image (random bytes of an odd size), bzip2-compressed
// as Flatcar publishes it when bzip2 is installed, and returns its path, the raw bytes
// and the file's sha512.
func makeImage(t *testing.T) (path string, raw []byte, sum string) {
	t.Helper()
	raw = make([]byte, 5<<20+12345)
	_, _ = rand.Read(raw[:1<<20]) // compressible after the first MiB, like a disk image
	dir := t.TempDir()
	path = filepath.Join(dir, "flatcar_production_hetzner_image.bin")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if bz, err := exec.LookPath("bzip2"); err == nil {
		if out, err := exec.Command(bz, "-1", path).CombinedOutput(); err != nil {
			t.Fatalf("bzip2: %v\n%s", err, out)
		}
		path += ".bz2"
	} else {
		t.Log("bzip2 is not installed: the image is written uncompressed")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha512.Sum512(data)
	return path, raw, hex.EncodeToString(h[:])
}

// commitSite makes a site repo in one commit (its root holds the site: bootstrap must
// start main without it), generated as nassella generate would.
func commitSite(t *testing.T, siteYAML []byte) (string, plumbing.Hash) {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")}})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "site.yaml"), siteYAML, 0o644)
	sr, err := siterepo.Open(dir, siterepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sr.Regenerate(); err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	wt.AddWithOptions(&git.AddOptions{All: true})
	sig := &object.Signature{Name: "test", Email: "test@nassella.invalid", When: time.Unix(1700000000, 0)}
	h, err := wt.Commit("my site", &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		t.Fatal(err)
	}
	return dir, h
}

// openSite loads the site repo as the CLI does before each run.
func openSite(t *testing.T, dir string) *site.Loaded {
	t.Helper()
	sr, err := siterepo.Open(dir, siterepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return sr.Site
}

// The whole onboarding against the simulator, a real sshd as the rescue system, a real
// S3 server and a real Gitea: an interrupted run cleans up after itself, a crashed run's
// leftover is found by label, the next run builds the snapshot (image bytes checked on
// the "disk"), the buckets, the repo and its secrets (on the forge before anything is
// pushed), makes the backup key, opens the site as a pull request into a main without
// site files, protects main, runs the checklist and says what to delegate; a third run
// changes nothing.
func TestBootstrapEndToEnd(t *testing.T) {
	sshAddr, authorizedKeys, sshUser, hostKeys := startSSHD(t)
	s3 := s3test.Start(t)
	gitea := giteatest.Start(t)
	ctx := context.Background()
	if err := gitea.CreateOrg(ctx, "riverside"); err != nil {
		t.Fatal(err)
	}

	sim := hcloudsim.New()
	sim.Start()
	t.Cleanup(sim.Close)
	hc := hcloud.NewClient(hcloud.WithEndpoint(sim.Endpoint()), hcloud.WithToken(hcloudsim.DefaultToken),
		hcloud.WithPollOpts(hcloud.PollOpts{BackoffFunc: hcloud.ConstantBackoff(5 * time.Millisecond)}))

	l, siteYAML := loadSite(t)
	// Without a backup key, as nassella init writes it: bootstrap makes the pair.
	siteYAML = regexp.MustCompile(`(?m)^  backup_key: .*\n`).ReplaceAll(siteYAML, nil)
	siteDir, _ := commitSite(t, siteYAML)
	imagePath, raw, sum := makeImage(t)
	disk := filepath.Join(t.TempDir(), "disk.img") // the rescue system's "/dev/sda"
	os.WriteFile(disk, nil, 0o600)
	secrets := testSecrets()
	delete(secrets, BackupKeySecret)
	dns := &fakeResolver{}
	fleetFile := filepath.Join(t.TempDir(), "fleet.yaml")
	os.WriteFile(fleetFile, []byte("version: 1\nsites:\n  - forge: gitea\n    url: "+gitea.URL+"\n    repo: riverside/site\n    channel: stable\n    token_env: RIVERSIDE_TOKEN\n"), 0o644)
	var atPush []string // the secrets Gitea holds when the site is pushed
	beforePush := func() {
		var stored []struct {
			Name string `json:"name"`
		}
		if err := gitea.API(ctx, "GET", "/repos/riverside/site/actions/secrets", nil, &stored); err != nil {
			t.Error(err)
		}
		for _, s := range stored {
			atPush = append(atPush, s.Name)
		}
	}

	var out bytes.Buffer
	cfgFor := func(runID string, hooks Hooks) Config {
		hooks.BeforePush = beforePush
		return Config{
			Site:       openSite(t, siteDir),
			Catalog:    catalog.Embedded(),
			Dir:        siteDir,
			Fleet:      fleetFile,
			Tofu:       os.Getenv("NASSELLA_TOFU"),
			Flatcar:    catalog.Embedded().Flatcar,
			Secrets:    secrets,
			S3Endpoint: s3.Endpoint,
			Hetzner:    Hetzner{Endpoint: sim.Endpoint(), RunID: runID, PollInterval: 5 * time.Millisecond, Timeout: 2 * time.Minute},
			Image: Image{Path: imagePath, Checksum: "sha512:" + sum, Version: "4230.2.3", Device: disk,
				RescueSSHAddr: sshAddr, RescueUser: sshUser, HostKey: hostKeys, SSHWait: 20 * time.Second},
			Forge: &Forge{Kind: "gitea", URL: gitea.URL, Owner: "riverside", Repo: "site", Token: gitea.Token,
				CreateRepo: true, Dir: siteDir, Private: true, Protect: true},
			Resolver: dns,
			Out:      &out,
			Hooks:    hooks,
		}
	}
	rescueKeys := func(serverID int64) {
		for _, s := range sim.Servers() {
			if s.ID != serverID {
				continue
			}
			if !s.InRescue {
				t.Errorf("server %d is not running the rescue system when the image is written", serverID)
			}
			if len(s.RescueSSHKeys) != 1 {
				t.Errorf("the rescue system has keys %v, want the run's one", s.RescueSSHKeys)
			}
			os.WriteFile(authorizedKeys, []byte(strings.Join(s.RescueSSHKeys, "\n")+"\n"), 0o600)
		}
	}
	noLeftovers := func(when string) {
		t.Helper()
		for _, s := range sim.Servers() {
			if _, ok := s.Labels[LabelRun]; ok {
				t.Errorf("%s: server %s (%d) with the bootstrap label is left", when, s.Name, s.ID)
			}
		}
		for _, k := range sim.SSHKeys() {
			if _, ok := k.Labels[LabelRun]; ok {
				t.Errorf("%s: SSH key %s with the bootstrap label is left", when, k.Name)
			}
		}
	}

	// 1. Interrupted right after the temporary server was created: it is deleted on the
	// way out, with a fresh context.
	start := time.Now()
	cctx, cancel := context.WithCancel(ctx)
	created := int64(0)
	rep, err := Run(cctx, cfgFor("run-interrupted", Hooks{AfterServerCreated: func(id int64) { created = id; cancel() }}))
	cancel()
	if err == nil || created == 0 {
		t.Fatalf("the interrupted run: err %v, server %d\n%s", err, created, rep.Text())
	}
	if s := rep.Step(stepSnapshot); s.Status != Failed || !strings.Contains(s.Detail, "context canceled") {
		t.Errorf("interrupted snapshot step: %+v", s)
	}
	noLeftovers("after the interrupted run")
	t.Logf("interrupted run: %v", time.Since(start))

	// 2. A crashed run (killed, no cleanup) left a labelled server behind.
	start2 := false
	res, _, err := hc.Server.Create(ctx, hcloud.ServerCreateOpts{Name: "nassella-bootstrap-crashed", ServerType: &hcloud.ServerType{Name: "cx23"},
		Image: &hcloud.Image{Name: "debian-12"}, Location: &hcloud.Location{Name: "fsn1"}, StartAfterCreate: &start2,
		Labels: map[string]string{LabelRun: "run-crashed"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := hc.Action.WaitFor(ctx, res.Action); err != nil {
		t.Fatal(err)
	}

	// 3. The full run.
	out.Reset()
	start = time.Now()
	rep, err = Run(ctx, cfgFor("run-full", Hooks{BeforeRescueSSH: rescueKeys}))
	t.Logf("full run: %v\n%s", time.Since(start), rep.Text())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Status{
		"secrets at hand":                          AlreadyThere,
		stepToken:                                  AlreadyThere,
		stepLeftovers:                              Done,
		stepSnapshot:                               Done,
		"state bucket riverside-state":             Done,
		"backups bucket riverside-backups":         Done,
		"site repo riverside/site on " + gitea.URL: Done,
		stepFirstPR:                                Done,
		stepBackupKey:                              Done,
		stepWriteBackupKey:                         Done,
		stepCommitted:                              AlreadyThere,
		stepFleet:                                  AlreadyThere,
		stepProtection:                             Done,
		stepCIImage:                                Warning,
		stepDNSOrder:                               ToDo,
		"DNS delegation of riverside.example":      ToDo,
		"DNS delegation of riverside-dev.example": ToDo,
	}
	got := statuses(rep)
	for name, st := range want {
		if got[name] != st {
			t.Errorf("full run: %s is %q, want %q", name, got[name], st)
		}
	}
	for _, name := range hetznerSecrets() {
		if got["secret "+name] != Done {
			t.Errorf("full run: secret %s is %q", name, got["secret "+name])
		}
	}
	if v := got["versioning of state bucket riverside-state"]; v != Done && v != Warning {
		t.Errorf("versioning: %q", v)
	}
	if s := rep.Step("DNS delegation of riverside.example"); !strings.Contains(s.Fix, "helium.ns.hetzner.de, hydrogen.ns.hetzner.com, oxygen.ns.hetzner.com") {
		t.Errorf("the delegation to make is not Hetzner's standard name servers: %+v", s)
	}
	// The "disk" holds the image, byte for byte.
	written, _ := os.ReadFile(disk)
	if !bytes.Equal(written, raw) {
		t.Errorf("the disk holds %d bytes that differ from the image's %d", len(written), len(raw))
	}
	noLeftovers("after the full run")
	var snaps []hcloudsim.ImageInfo
	for _, im := range sim.Images() {
		if im.Type == "snapshot" {
			snaps = append(snaps, im)
		}
	}
	if len(snaps) != 1 || snaps[0].Status != "available" || snaps[0].Architecture != "x86" ||
		snaps[0].Labels["os"] != "flatcar" || snaps[0].Labels["flatcar-channel"] != "stable" || snaps[0].Labels["flatcar-version"] != "4230.2.3" {
		t.Errorf("snapshots: %+v", snaps)
	}
	// The Terraform's lookup finds it.
	found, err := hc.Image.AllWithOpts(ctx, hcloud.ImageListOpts{ListOpts: hcloud.ListOpts{LabelSelector: "os=flatcar,flatcar-channel=stable"}, Architecture: []hcloud.Architecture{hcloud.ArchitectureX86}})
	if err != nil || len(found) != 1 {
		t.Errorf("the Terraform's selector finds %d images (%v)", len(found), err)
	}
	for _, b := range []string{"riverside-state", "riverside-backups"} {
		if fi, err := os.Stat(filepath.Join(s3.Root, b)); err != nil || !fi.IsDir() {
			t.Errorf("bucket %s is not on the S3 server: %v", b, err)
		}
	}
	// The secrets were on Gitea before anything was pushed; main holds a commit without
	// files and the site is on the pull request's branch, at the local head (read with
	// git, as a clone would).
	sort.Strings(atPush)
	if wantNames := hetznerSecrets(); !slices.Equal(atPush, sorted(wantNames)) {
		t.Errorf("when the site was pushed Gitea held %v, want every secret %v", atPush, sorted(wantNames))
	}
	rem := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "gitea", URLs: []string{gitea.URL + "/riverside/site.git"}})
	refs, err := rem.List(&git.ListOptions{Auth: &githttp.BasicAuth{Username: gitea.User, Password: gitea.Token}})
	if err != nil {
		t.Fatal(err)
	}
	branches := map[string]plumbing.Hash{}
	for _, ref := range refs {
		branches[ref.Name().Short()] = ref.Hash()
	}
	local, _ := git.PlainOpen(siteDir)
	head, _ := local.Head()
	if branches[FirstBranch] != head.Hash() {
		t.Errorf("%s on Gitea is %s, want the local head %s", FirstBranch, branches[FirstBranch], head.Hash())
	}
	var files []any
	if err := gitea.API(ctx, "GET", "/repos/riverside/site/contents?ref=main", nil, &files); err != nil || len(files) != 0 {
		t.Errorf("main holds %d files (%v), want none", len(files), err)
	}
	var prs []struct {
		Head struct {
			Ref string `json:"ref"`
		} `json:"head"`
		Base struct {
			Ref string `json:"ref"`
		} `json:"base"`
	}
	if err := gitea.API(ctx, "GET", "/repos/riverside/site/pulls?state=open", nil, &prs); err != nil || len(prs) != 1 || prs[0].Head.Ref != FirstBranch || prs[0].Base.Ref != "main" {
		t.Errorf("open pull requests: %+v (%v), want one from %s into main", prs, err, FirstBranch)
	}
	// site.yaml names the backup key whose private half was stored, and main is protected.
	siteNow := openSite(t, siteDir)
	signer, err := ssh.ParsePrivateKey([]byte(secrets[BackupKeySecret]))
	if err != nil {
		t.Fatal(err)
	}
	if pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(siteNow.Admin.BackupKey)); err != nil || ssh.FingerprintSHA256(pub) != ssh.FingerprintSHA256(signer.PublicKey()) {
		t.Errorf("admin.backup_key %q is not the public half of %s (%v)", siteNow.Admin.BackupKey, BackupKeySecret, err)
	}
	var rule struct {
		EnablePush bool     `json:"enable_push"`
		Contexts   []string `json:"status_check_contexts"`
	}
	// Gitea names an Actions check "<workflow> / <job> (<event>)".
	checks, _ := requiredChecks("gitea")
	if err := gitea.API(ctx, "GET", "/repos/riverside/site/branch_protections/main", nil, &rule); err != nil || rule.EnablePush ||
		len(rule.Contexts) != 1 || !slices.Equal(rule.Contexts, checks) || !strings.HasSuffix(checks[0], " / plan (pull_request)") {
		t.Errorf("main's protection: %+v (%v)", rule, err)
	}
	for _, name := range []string{stepActions, stepDNSOrder} {
		if s := rep.Step(name); s.Status != ToDo || s.Fix == "" {
			t.Errorf("%s: %+v, want a to-do with its fix", name, s)
		}
	}
	if s := rep.Step(stepActions); !strings.Contains(s.Fix, gitea.URL+"/riverside/site/settings") {
		t.Errorf("the Actions to-do does not name the settings page: %+v", s)
	}
	var repoInfo struct {
		Private bool `json:"private"`
	}
	gitea.API(ctx, "GET", "/repos/riverside/site", nil, &repoInfo)
	if !repoInfo.Private {
		t.Error("the site repo is not private")
	}
	var stored []struct {
		Name string `json:"name"`
	}
	if err := gitea.API(ctx, "GET", "/repos/riverside/site/actions/secrets", nil, &stored); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range stored {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	wantNames := hetznerSecrets()
	sort.Strings(wantNames)
	if !slices.Equal(names, wantNames) {
		t.Errorf("Gitea has secrets %v, want %v", names, wantNames)
	}
	for name, v := range secrets {
		for _, line := range strings.Split(v, "\n") {
			if len(line) > 8 && strings.Contains(out.String(), line) {
				t.Fatalf("the value of %s was printed", name)
			}
		}
	}
	if strings.Contains(out.String(), gitea.Token) || strings.Contains(out.String(), hcloudsim.DefaultToken) {
		t.Fatal("a token was printed")
	}

	// 4. The first apply creates the zones; the owner delegates them.
	for _, z := range l.Zones() {
		zr, _, err := hc.Zone.Create(ctx, hcloud.ZoneCreateOpts{Name: z, Mode: hcloud.ZoneModePrimary})
		if err != nil {
			t.Fatal(err)
		}
		dns.set(z, zr.Zone.AuthoritativeNameservers.Assigned)
	}

	// 5. A second full run changes nothing.
	actionsBefore := len(sim.Actions())
	out.Reset()
	start = time.Now()
	rep, err = Run(ctx, cfgFor("run-again", Hooks{AfterServerCreated: func(int64) { t.Error("the second run created a server") }}))
	t.Logf("second run: %v\n%s", time.Since(start), rep.Text())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Steps {
		// What only a person can change stays to do: Actions (off in the test Gitea),
		// the CI image's pin, OpenTofu when this machine has none.
		ok := s.Status == AlreadyThere || s.Status == Skipped || (s.Status == Warning && strings.HasPrefix(s.Name, "versioning")) ||
			s.Name == stepActions || s.Name == stepCIImage || (s.Name == stepTools && s.Status == ToDo)
		if !ok {
			t.Errorf("second run: %s is %q (%s), want already there", s.Name, s.Status, s.Detail)
		}
	}
	for _, a := range sim.Actions()[actionsBefore:] {
		t.Errorf("second run started the action %s", a.Command)
	}
}

// A damaged image is refused before anything is created in the project: no server, no
// key, nothing billed; the failure says where to get the image.
func TestWrongChecksumCreatesNothing(t *testing.T) {
	sim := hcloudsim.New()
	sim.Start()
	t.Cleanup(sim.Close)
	l, _ := loadSite(t)
	img := filepath.Join(t.TempDir(), "flatcar.bin")
	os.WriteFile(img, []byte("not the published image"), 0o644)
	rep, err := Run(context.Background(), Config{
		Site: l, Flatcar: catalog.Embedded().Flatcar, Secrets: map[string]string{"HCLOUD_TOKEN": hcloudsim.DefaultToken},
		Hetzner:  Hetzner{Endpoint: sim.Endpoint(), PollInterval: time.Millisecond},
		Image:    Image{Path: img, Checksum: "sha256:" + strings.Repeat("ab", 32), Version: "4230.2.3", Device: filepath.Join(t.TempDir(), "disk")},
		Resolver: &fakeResolver{},
	})
	if err == nil {
		t.Fatal("a damaged image was accepted")
	}
	s := rep.Step(stepSnapshot)
	if s.Status != Failed || !strings.Contains(s.Detail, "damaged or not the one published") || !strings.Contains(s.Fix, "--flatcar-image") {
		t.Errorf("snapshot step: %+v", s)
	}
	if n := len(sim.Servers()); n != 0 {
		t.Errorf("%d servers were created", n)
	}
	if n := len(sim.SSHKeys()); n != 0 {
		t.Errorf("%d SSH keys were created", n)
	}
}

// A repo nassella init made starts main at init's first commit (no files), so the local
// history stays as it is; once the owner merged the pull request, a run finds the site
// on main. Only the forge part runs here.
func TestFirstPullRequestFromInit(t *testing.T) {
	gitea := giteatest.Start(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "mysite")
	keyFile := filepath.Join(t.TempDir(), "me.pub")
	os.WriteFile(keyFile, []byte(newPublicKey(t)+" me@laptop\n"), 0o644)
	if _, err := initsite.Init(initsite.Options{Dir: dir, KeyFile: keyFile, AuthorName: "me", AuthorEmail: "me@nassella.invalid"}); err != nil {
		t.Fatal(err)
	}
	local, _ := git.PlainOpen(dir)
	head, _ := local.Head()
	first, _ := local.CommitObject(head.Hash())
	root, _ := first.Parent(0)
	secrets := testSecrets()
	delete(secrets, BackupKeySecret)
	run := func() *Report {
		r := &runner{cfg: Config{Site: openSite(t, dir), Catalog: catalog.Embedded(), Dir: dir, Secrets: secrets,
			Forge: &Forge{Kind: "gitea", URL: gitea.URL, Owner: gitea.User, Repo: "mysite", Token: gitea.Token, CreateRepo: true, Private: true}}, rep: &Report{}}
		r.defaults()
		r.ensureBackupKey()
		r.ensureForge(ctx)
		return r.rep
	}
	rep := run()
	if s := rep.Step(stepFirstPR); s.Status != Done || !strings.Contains(s.Detail, "got the repo's first commit, which holds no files") {
		t.Fatalf("first pull request: %+v\n%s", s, rep.Text())
	}
	head, _ = local.Head()
	top, _ := local.CommitObject(head.Hash())
	// The one commit on top of init's is bootstrap's, adding the backup key.
	if top.NumParents() != 1 || top.ParentHashes[0] != first.Hash {
		t.Errorf("the local history changed: head %s has parents %v, want init's commit %s", top.Hash, top.ParentHashes, first.Hash)
	}
	var branch struct {
		Commit struct {
			ID string `json:"id"`
		} `json:"commit"`
	}
	if err := gitea.API(ctx, "GET", "/repos/"+gitea.User+"/mysite/branches/main", nil, &branch); err != nil || branch.Commit.ID != root.Hash.String() {
		t.Errorf("main on Gitea is %s (%v), want init's first commit %s", branch.Commit.ID, err, root.Hash)
	}

	// The owner merges; the next run finds the site on main.
	if err := gitea.API(ctx, "POST", "/repos/"+gitea.User+"/mysite/pulls/1/merge", map[string]string{"Do": "merge"}, nil); err != nil {
		t.Fatal(err)
	}
	rep = run()
	if s := rep.Step(stepFirstPR); s.Status != AlreadyThere || !strings.Contains(s.Detail, "main holds") {
		t.Errorf("after the merge: %+v", s)
	}
	if rep.Failed() {
		t.Errorf("after the merge:\n%s", rep.Text())
	}
}

func newPublicKey(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ssh.NewPublicKey(pub)
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

// hetznerSecrets are the secrets of the end-to-end test's site, a Hetzner server with
// everything: all but those of other platforms.
func hetznerSecrets() []string {
	var out []string
	for _, n := range SecretNames() {
		if n != LibvirtKeySecret && !strings.HasPrefix(n, "OPENSTACK_") {
			out = append(out, n)
		}
	}
	return out
}

// A site on its own hardware makes no Flatcar snapshot at Hetzner; it checks a Hetzner
// token only when its DNS zones are there.
func TestOwnHardwareSkipsTheSnapshot(t *testing.T) {
	sim := hcloudsim.New()
	sim.SetToken(hcloudsim.TestToken)
	sim.Start()
	t.Cleanup(sim.Close)
	images := len(sim.Images()) // Hetzner's own system images
	y, _ := examples.Get("own-hardware")
	for _, tc := range []struct {
		name, dns string
		token     Status
	}{
		{"dns at Hetzner", "hetzner: { delegation: subdomain }", AlreadyThere},
		{"records only", "records_only: {}", Skipped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := strings.Replace(string(y), "hetzner: { delegation: subdomain }", tc.dns, 1)
			l, err := site.Load("site.yaml", []byte(data), catalog.Embedded())
			if err != nil {
				t.Fatal(err)
			}
			r := &runner{cfg: Config{Site: l, Flatcar: catalog.Embedded().Flatcar, Hetzner: Hetzner{Endpoint: sim.Endpoint(), Token: hcloudsim.TestToken, PollInterval: time.Millisecond}}, rep: &Report{}}
			r.defaults()
			r.hetznerProject(context.Background())
			if s := r.rep.Step(stepToken); s.Status != tc.token {
				t.Errorf("token step %+v, want %s", s, tc.token)
			}
			if s := r.rep.Step(stepSnapshot); s.Status != Skipped || !strings.Contains(s.Detail, "own hardware") {
				t.Errorf("snapshot step %+v, want skipped for own hardware", s)
			}
		})
	}
	if n := len(sim.Servers()) + len(sim.Images()) - images; n != 0 {
		t.Errorf("bootstrap of an own-hardware site made %d servers or images at Hetzner", n)
	}
}
