package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/nassella/nassella/internal/siterepo"
	"github.com/nassella/nassella/pipelines/bootstrap"
)

func runBootstrap(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "bootstrap", "[DIR] [--flatcar-image FILE|--flatcar-image-url URL --flatcar-sha512 HEX --flatcar-version V] [--forge KIND --forge-url URL --repo OWNER/NAME [--create-repo] [--protect]] [--fleet FILE]")
	cfg := bootstrap.Config{Out: s.Out}
	catDir := fs.String("catalog", "", "use the catalog in `DIR` instead of the built-in one")
	fs.StringVar(&cfg.Hetzner.Endpoint, "hcloud-endpoint", firstNonEmpty(os.Getenv("HCLOUD_ENDPOINT"), "https://api.hetzner.cloud/v1"), "Hetzner Cloud API endpoint")
	fs.StringVar(&cfg.Image.Path, "flatcar-image", "", "the Flatcar image `FILE` of the site's platform (flatcar_production_hetzner_image.bin.bz2, or flatcar_production_openstack_image.img.bz2 for provider.openstack), needed only when the project has no Flatcar yet")
	fs.StringVar(&cfg.Image.URL, "flatcar-image-url", "", "or download the image from this `URL`")
	sha512 := fs.String("flatcar-sha512", "", "the image file's SHA-512 (from the release's DIGESTS), checked before anything is written")
	fs.StringVar(&cfg.Image.Checksum, "flatcar-checksum", "", "or its checksum as sha256:HEX or sha512:HEX")
	fs.StringVar(&cfg.Image.Version, "flatcar-version", "", "the Flatcar version of the image, e.g. 4230.2.3 (labels the snapshot)")
	fs.StringVar(&cfg.Image.Device, "device", "/dev/sda", "the temporary server's disk the rescue system writes the image to")
	fs.StringVar(&cfg.Image.RescueSSHAddr, "rescue-ssh-addr", "", "reach the rescue system's SSH at `HOST:PORT` instead of the server's public IPv4 (tests only)")
	fs.StringVar(&cfg.Image.RescueUser, "rescue-ssh-user", "root", "the rescue system's user (tests only)")
	fs.StringVar(&cfg.Hetzner.ServerType, "build-server-type", "", "server type of the temporary server that builds the snapshot (default: the x86 type with the smallest disk sold in the site's location)")
	fs.StringVar(&cfg.DNSResolver, "dns-resolver", "", "ask the resolver at `ADDR` (host:port) for the domain's live records (default: the system's)")
	fs.StringVar(&cfg.Fleet, "fleet", "", "the co-op's fleet.yaml (`FILE`), checked to list the site")
	fs.StringVar(&cfg.S3Endpoint, "s3-endpoint", "", "use this S3 endpoint for both buckets instead of site.yaml's (tests, or a service reached another way)")
	var ff forgeFlags
	ff.add(fs)
	secretsFile := fs.String("secrets-file", "", "read the secrets from `FILE` (NAME=value lines) instead of environment variables of their names")
	var secretEnv multi
	fs.Var(&secretEnv, "secret-env", "read secret `NAME=VAR` from the environment variable VAR (repeatable)")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	dir := dirArg(pos)
	r, err := siterepo.Open(dir, siterepo.Options{CatalogDir: *catDir})
	if err != nil {
		return err
	}
	cfg.Site, cfg.Flatcar, cfg.Catalog, cfg.Dir, cfg.Tofu = r.Site, r.Catalog.Flatcar, r.Catalog, dir, findTofu()
	if cfg.Secrets, err = readSecrets(*secretsFile, secretEnv); err != nil {
		return err
	}
	if *sha512 != "" {
		if cfg.Image.Checksum != "" {
			return usageError{"give --flatcar-sha512 or --flatcar-checksum, not both"}
		}
		cfg.Image.Checksum = "sha512:" + *sha512
	}
	if cfg.Forge, err = ff.forge(dir); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "nassella bootstrap: preparing site %s (catalog %s, Flatcar %s ≥ %s)\n", r.Site.Name, r.Catalog.Release, cfg.Flatcar.Channel, cfg.Flatcar.MinVersion)
	_, err = bootstrap.Run(ctx, cfg)
	return err
}

// forgeFlags say where the site repo lives on a forge.
type forgeFlags struct {
	kind, url, api, repo, tokenEnv string
	createRepo, public, replace    bool
	protect                        bool
}

func (f *forgeFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&f.kind, "forge", "", "where the site repo lives: gitea, forgejo or github (none: leave the forge alone)")
	fs.StringVar(&f.url, "forge-url", "", "the forge's web address, e.g. https://codeberg.org (default https://github.com for github)")
	fs.StringVar(&f.api, "forge-api", "", "the forge's API base (default derived from --forge-url)")
	fs.StringVar(&f.repo, "repo", "", "the site repo on the forge, `OWNER/NAME`")
	fs.StringVar(&f.tokenEnv, "forge-token-env", "FORGE_TOKEN", "environment variable holding the forge access token")
	fs.BoolVar(&f.createRepo, "create-repo", false, "create the repo when missing and propose the local site repo as its first pull request (branch "+bootstrap.FirstBranch+"), after the secrets are stored")
	fs.BoolVar(&f.protect, "protect", false, "protect main when it is not: changes only through pull requests whose plan check passed (default: only report)")
	fs.BoolVar(&f.public, "public", false, "make a new repo public (default private)")
	fs.BoolVar(&f.replace, "replace-secrets", false, "overwrite secrets the forge already has (default: keep them)")
}

// forge is the forge the flags name for the site repo in dir; nil without --forge.
func (f forgeFlags) forge(dir string) (*bootstrap.Forge, error) {
	if f.kind == "" {
		return nil, nil
	}
	owner, name, ok := strings.Cut(f.repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return nil, usageError{"--repo must be OWNER/NAME"}
	}
	url := f.url
	if url == "" && f.kind == "github" {
		url = "https://github.com"
	}
	if url == "" {
		return nil, usageError{"--forge-url is needed for " + f.kind}
	}
	return &bootstrap.Forge{Kind: f.kind, URL: url, API: f.api, Owner: owner, Repo: name,
		Token: os.Getenv(f.tokenEnv), CreateRepo: f.createRepo, ReplaceSecrets: f.replace, Dir: dir, Private: !f.public, Protect: f.protect}, nil
}

// readSecrets reads the workflows' secrets from a file, or from environment variables
// named after them (or as --secret-env says). Values never come from the command line.
func readSecrets(file string, envs []string) (map[string]string, error) {
	out := map[string]string{}
	known := bootstrap.SecretNames()
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("reading the secrets file: %w", err)
		}
		defer f.Close()
		got, err := bootstrap.ParseSecretsFile(f)
		if err != nil {
			return nil, fmt.Errorf("secrets file %s: %w", file, err)
		}
		out = got
	} else {
		for _, name := range known {
			if v := os.Getenv(name); v != "" {
				out[name] = v
			}
		}
	}
	for _, e := range envs {
		name, variable, ok := strings.Cut(e, "=")
		if !ok || !slices.Contains(known, name) {
			return nil, usageError{fmt.Sprintf("--secret-env %q: want NAME=VAR with NAME one of %s", e, strings.Join(known, ", "))}
		}
		if v := os.Getenv(variable); v != "" {
			out[name] = v
		} else {
			return nil, fmt.Errorf("--secret-env %s: the environment variable %s is empty", name, variable)
		}
	}
	return out, nil
}
