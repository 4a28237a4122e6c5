package console

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/internal/cmdline"
	"github.com/nassella/nassella/internal/forge"
	"github.com/nassella/nassella/internal/inputfile"
	"github.com/nassella/nassella/internal/siterepo"
)

// ClientSecretEnv holds the OAuth2 client secret, which never goes on the command line
// (where ps and shell histories would show it).
const ClientSecretEnv = "NASSELLA_CONSOLE_CLIENT_SECRET"

// HcloudTokenEnv holds the Hetzner API token the console reads prices with.
const HcloudTokenEnv = "NASSELLA_CONSOLE_HCLOUD_TOKEN"

// Options are the console's flags: its Config and the address it listens on.
type Options struct {
	Config Config
	Listen string
}

// ParseFlags reads the console's flags, and the secrets from files or the environment
// (getenv); prog is how the usage line names the command.
func ParseFlags(s cmdline.Streams, prog string, args []string, getenv func(string) string) (Options, error) {
	fs := cmdline.Flags(s, prog, "--forge URL --client-id ID [--forge-kind gitea|forgejo|github] [--listen ADDR] [--public-url URL] [--bot LOGIN] [--logs-key FILE] [--admin-key FILE] [--known-hosts FILE] [--hcloud-token-file FILE]")
	var o Options
	fs.StringVar(&o.Config.Forge, "forge", "", "the forge's web address people sign in with, e.g. https://codeberg.org")
	fs.StringVar(&o.Config.Kind, "forge-kind", "", "gitea, forgejo or github (default: github for https://github.com, else gitea)")
	fs.StringVar(&o.Config.API, "api", "", "the forge's REST API address, when not the usual one")
	fs.StringVar(&o.Config.ClientID, "client-id", getenv("NASSELLA_CONSOLE_CLIENT_ID"), "the client id of the console's OAuth2 application on the forge (default: $NASSELLA_CONSOLE_CLIENT_ID)")
	secretFile := fs.String("client-secret-file", "", "a file holding the OAuth2 client secret (default: $"+ClientSecretEnv+"; Gitea/Forgejo public clients need none)")
	keyFile := fs.String("session-key-file", "", "a file of 32 random bytes (openssl rand -hex 32) that seals sign-ins, so they survive a restart; random per start when empty")
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:8470", "the address to serve on")
	fs.StringVar(&o.Config.PublicURL, "public-url", "", "where browsers reach the console (default: http://ADDR of --listen); the OAuth2 redirect URI is this + /oauth/callback")
	bots := fs.String("bot", "", "comma-separated logins whose plan comments count besides the repo owner's: the login the site workflows comment as (default on GitHub: "+forge.GitHubActionsBot+")")
	catDir := fs.String("catalog", "", "use the catalog in `DIR` instead of the built-in one")
	workDir := fs.String("work-dir", "", "where changes are cloned while they are made (default: the system's temp folder)")
	logsKey := fs.String("logs-key", "", "the private key whose public half sites put in admin.logs_key: the Logs tab reads the server's journal with it (it may only read logs)")
	adminKey := fs.String("admin-key", "", "a private key of one of the sites' admin.ssh_keys, for the Sign-ins tab (off by default: it can do anything on those servers)")
	knownHosts := fs.String("known-hosts", "", "a known_hosts file listing each site's server by its first app's host name: the only server keys accepted (required with --logs-key or --admin-key)")
	hcloudFile := fs.String("hcloud-token-file", "", "a file holding a (read-only) Hetzner Cloud API token, for prices (default: $"+HcloudTokenEnv+"; without one, prices are not shown)")
	fs.StringVar(&o.Config.HcloudEndpoint, "hcloud-endpoint", "", "the Hetzner Cloud API (default: Hetzner's own)")
	if _, err := cmdline.Parse(fs, args, 0); err != nil {
		return o, err
	}
	if o.Config.Forge == "" {
		return o, cmdline.UsageError{Msg: "--forge is required: the forge's web address, like https://codeberg.org"}
	}
	if o.Config.ClientID == "" {
		return o, cmdline.UsageError{Msg: "--client-id is required: register the console as an OAuth2 application on the forge (redirect URI: the console's address + /oauth/callback)"}
	}
	if _, _, err := net.SplitHostPort(o.Listen); err != nil {
		return o, cmdline.UsageError{Msg: fmt.Sprintf("--listen %q is not HOST:PORT", o.Listen)}
	}
	if o.Config.PublicURL == "" {
		o.Config.PublicURL = "http://" + o.Listen
	}
	o.Config.ClientSecret = getenv(ClientSecretEnv)
	if *secretFile != "" {
		data, err := inputfile.Read(*secretFile)
		if err != nil {
			return o, fmt.Errorf("--client-secret-file: %w", err)
		}
		o.Config.ClientSecret = strings.TrimSpace(string(data))
	}
	if *keyFile != "" {
		data, err := inputfile.Read(*keyFile)
		if err != nil {
			return o, fmt.Errorf("--session-key-file: %w", err)
		}
		if o.Config.SessionKey, err = ParseSessionKey(data); err != nil {
			return o, fmt.Errorf("--session-key-file %s: %w", *keyFile, err)
		}
	}
	for _, b := range strings.Split(*bots, ",") {
		if b = strings.TrimSpace(b); b != "" {
			o.Config.Bots = append(o.Config.Bots, b)
		}
	}
	if len(o.Config.Bots) == 0 && (o.Config.Kind == "github" || strings.TrimSuffix(o.Config.Forge, "/") == "https://github.com") {
		o.Config.Bots = []string{forge.GitHubActionsBot}
	}
	if *catDir != "" {
		cat, err := siterepo.LoadCatalog(*catDir)
		if err != nil {
			return o, err
		}
		o.Config.Catalog = cat
	}
	o.Config.WorkDir = *workDir
	o.Config.HcloudToken = getenv(HcloudTokenEnv)
	if *hcloudFile != "" {
		data, err := inputfile.Read(*hcloudFile)
		if err != nil {
			return o, fmt.Errorf("--hcloud-token-file: %w", err)
		}
		o.Config.HcloudToken = strings.TrimSpace(string(data))
	}
	if *logsKey != "" || *adminKey != "" {
		if *knownHosts == "" {
			return o, cmdline.UsageError{Msg: "--known-hosts is required with --logs-key or --admin-key: the console logs in only to servers whose key it knows"}
		}
		sv := &Servers{KnownHosts: *knownHosts}
		for _, k := range []struct {
			flag, file string
			to         *ssh.Signer
		}{{"--logs-key", *logsKey, &sv.LogsKey}, {"--admin-key", *adminKey, &sv.AdminKey}} {
			if k.file == "" {
				continue
			}
			data, err := inputfile.Read(k.file)
			if err != nil {
				return o, fmt.Errorf("%s: %w", k.flag, err)
			}
			if *k.to, err = ssh.ParsePrivateKey(data); err != nil {
				return o, fmt.Errorf("%s %s is not a private SSH key without a passphrase: %w", k.flag, k.file, err)
			}
		}
		o.Config.Servers = sv
	}
	return o, nil
}

// Command is the console as a command (nassella console, nassella-console): it parses
// args and serves until ctx ends.
func Command(ctx context.Context, s cmdline.Streams, prog string, args []string) error {
	o, err := ParseFlags(s, prog, args, os.Getenv)
	if err != nil {
		return err
	}
	o.Config.Log = slog.New(slog.NewTextHandler(s.Err, nil))
	srv, err := New(o.Config)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "nassella console on %s (listening on %s), signing in with %s\n", o.Config.PublicURL, o.Listen, o.Config.Forge)
	return srv.ListenAndServe(ctx, o.Listen)
}
