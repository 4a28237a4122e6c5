package rehearsal_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/internal/health"
	"github.com/nassella/nassella/internal/hostcontract"
	"github.com/nassella/nassella/internal/testenv/dockertest"
	"github.com/nassella/nassella/internal/testenv/smtpsink"
	"github.com/nassella/nassella/internal/testenv/standin"
	"github.com/nassella/nassella/internal/testenv/testca"
	"github.com/nassella/nassella/pipelines/vmtest"
)

// mailRelay is the site's mail relay in the rehearsal: an SMTP sink (smtpsink) that wants
// STARTTLS and a login, listening on the gateway of the proxy's Docker network. The
// private dockerd shares this machine's network stack, so that address is the machine's
// own and the apps' containers reach it over their network, as a server's apps reach
// their provider's relay; 127.0.0.1 would be the container's own.
type mailRelay struct {
	sink                 *smtpsink.Sink
	caPEM                string
	host                 string
	port                 int
	user, password, from string
}

// Compose's labels on a network it made: the proxy's project is "proxy" and its network
// "proxy" (generator/render/compose, the proxy's compose.yaml: name: proxy, networks:
// proxy: name: nassella-proxy). Compose takes an existing network carrying them as its own
// (docker/compose v5.3.1 pkg/compose/create.go resolveOrCreateNetwork: the network label
// must match, a missing project label only warns) and removes it at `down` like its own
// (pkg/compose/down.go removeNetwork filters on both).
var proxyNetworkLabels = []string{"com.docker.compose.project=proxy", "com.docker.compose.network=proxy"}

// startRelay makes the proxy's network before the site is generated, so that its gateway
// (chosen by Docker, clear of the machine's routes) can be the site's mail host, and
// starts the sink there.
func startRelay(t *testing.T, d *dockertest.Daemon) *mailRelay {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := []string{"docker", "network", "create"}
	for _, l := range proxyNetworkLabels {
		args = append(args, "--label", l)
	}
	if out, errOut, err := d.Run(ctx, nil, append(args, hostcontract.ProxyNet)...); err != nil {
		t.Fatalf("creating the proxy's network: %v\n%s%s", err, out, errOut)
	}
	out, errOut, err := d.Run(ctx, nil, "docker", "network", "inspect", "--format", "{{range .IPAM.Config}}{{.Gateway}} {{end}}", hostcontract.ProxyNet)
	var gw net.IP
	if f := strings.Fields(string(out)); len(f) > 0 {
		gw = net.ParseIP(f[0])
	}
	if err != nil || gw.To4() == nil {
		t.Fatalf("the proxy network's gateway: %q %v %s", out, err, errOut)
	}
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(gw.String())
	if err != nil {
		t.Fatal(err)
	}
	r := &mailRelay{
		caPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.CertDER()})),
		host:  gw.String(), user: "apps@" + vmtest.TestDomain, from: "apps@" + vmtest.TestDomain,
		password: randomHex(t, 24),
	}
	r.sink = smtpsink.Start(t, smtpsink.Options{Addr: net.JoinHostPort(r.host, "0"),
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}}, User: r.user, Password: r.password})
	_, port, _ := net.SplitHostPort(r.sink.Addr)
	r.port, _ = strconv.Atoi(port)
	return r
}

// siteMail is the relay as site.yaml's mail: gives it; its password is SMTP_PASSWORD in
// mailEnv, as Terraform writes it (site-template/terraform/shared/ignition.tf).
func (r *mailRelay) siteMail() string {
	return fmt.Sprintf("{ host: %s, port: %d, tls: starttls, user: %q, from: %q }", r.host, r.port, r.user, r.from)
}

func (r *mailRelay) mailEnv() []byte { return []byte("SMTP_PASSWORD=" + r.password + "\n") }

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// checkMail asks each app whose stand-in can send mail (its mail service is the one
// Caddy reaches) to send one, through Caddy: each reaches the relay from inside its
// container with the settings its compose file was generated with and the password
// nassella-secrets took from mail.env, over STARTTLS, from the site's sender.
func (h *composeHost) checkMail(ctx context.Context, c *http.Client, targets []health.Target) {
	h.t.Helper()
	r := h.relay
	to := h.site.Site.Admin.Email
	specs := map[string]*catalog.App{}
	for _, a := range h.site.Site.Apps {
		specs[a.Name] = a.Spec
	}
	var sent []string
	for _, tg := range targets {
		if a := specs[tg.App]; a == nil || standin.MailVar(a, a.HTTP.Service) == "" {
			continue
		}
		body, _ := json.Marshal(map[string]any{"to": []string{to}, "ca": r.caPEM})
		status, _, answer, err := visit(ctx, c, http.MethodPost, tg, standin.MailPath, string(body))
		if strings.Contains(answer, r.password) {
			h.t.Fatalf("%s: the stand-in's answer holds the relay's password", tg.App)
		}
		var did struct{ Relay, TLS, User, From string }
		json.Unmarshal([]byte(answer), &did)
		if err != nil || status != http.StatusOK {
			h.t.Errorf("%s: sending mail: %d %s (%v)", tg.App, status, answer, err)
			continue
		}
		if want := net.JoinHostPort(r.host, strconv.Itoa(r.port)); did.Relay != want || did.TLS != "starttls" || did.User != r.user || did.From != r.from {
			h.t.Errorf("%s: sent through %s (%s) as %s from %s; want %s (starttls) as %s from %s", tg.App, did.Relay, did.TLS, did.User, did.From, want, r.user, r.from)
		}
		sent = append(sent, tg.App)
		msgs, err := r.sink.Wait(len(sent), 30*time.Second)
		if err != nil {
			h.t.Fatalf("%s: %v", tg.App, err)
		}
		m := msgs[len(sent)-1]
		if m.From != r.from || !slices.Equal(m.To, []string{to}) || m.User != r.user || !m.TLS || !strings.Contains(string(m.Data), "mail from "+tg.App+"/") {
			h.t.Errorf("%s: the relay got mail from %s to %v, logged in as %q, TLS %v:\n%.300s", tg.App, m.From, m.To, m.User, m.TLS, m.Data)
		}
	}
	if _, ok := specs["vaultwarden"]; ok && !slices.Contains(sent, "vaultwarden") || len(sent) == 0 {
		h.t.Errorf("mail sent by %v; want vaultwarden's among them", sent)
	}
	h.t.Logf("mail through the relay at %s from %s", r.sink.Addr, strings.Join(sent, ", "))
}
