package cli

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/nassella/nassella/pipelines/bootstrap"
)

func runBootstrap(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "bootstrap", "[DIR] [--flatcar-image FILE|--flatcar-image-url URL --flatcar-sha512 HEX --flatcar-version V] [--forge KIND --forge-url URL --repo OWNER/NAME [--create-repo]]")
	catDir := fs.String("catalog", "", "use the catalog in `DIR` instead of the built-in one")
	endpoint := fs.String("hcloud-endpoint", firstNonEmpty(os.Getenv("HCLOUD_ENDPOINT"), "https://api.hetzner.cloud/v1"), "Hetzner Cloud API endpoint")
	image := fs.String("flatcar-image", "", "the Flatcar Hetzner image `FILE` (flatcar_production_hetzner_image.bin.bz2), needed only when the project has no snapshot yet")
	imageURL := fs.String("flatcar-image-url", "", "or download the image from this `URL`")
	sha512 := fs.String("flatcar-sha512", "", "the image file's SHA-512 (from the release's DIGESTS), checked before anything is written")
	checksum := fs.String("flatcar-checksum", "", "or its checksum as sha256:HEX or sha512:HEX")
	version := fs.String("flatcar-version", "", "the Flatcar version of the image, e.g. 4230.2.3 (labels the snapshot)")
	device := fs.String("device", "/dev/sda", "the temporary server's disk the rescue system writes the image to")
	rescueAddr := fs.String("rescue-ssh-addr", "", "reach the rescue system's SSH at `HOST:PORT` instead of the server's public IPv4 (tests only)")
	rescueUser := fs.String("rescue-ssh-user", "root", "the rescue system's user (tests only)")
	serverType := fs.String("build-server-type", "cx22", "server type of the temporary server that builds the snapshot")
	s3Endpoint := fs.String("s3-endpoint", "", "use this S3 endpoint for both buckets instead of site.yaml's (tests, or a service reached another way)")
	forgeKind := fs.String("forge", "", "where the site repo lives: gitea, forgejo or github (none: leave the forge alone)")
	forgeURL := fs.String("forge-url", "", "the forge's web address, e.g. https://codeberg.org (default https://github.com for github)")
	forgeAPI := fs.String("forge-api", "", "the forge's API base (default derived from --forge-url)")
	repo := fs.String("repo", "", "the site repo on the forge, `OWNER/NAME`")
	tokenEnv := fs.String("forge-token-env", "FORGE_TOKEN", "environment variable holding the forge access token")
	createRepo := fs.Bool("create-repo", false, "create the repo when missing and push the local site repo to its main branch")
	public := fs.Bool("public", false, "make a new repo public (default private)")
	replace := fs.Bool("replace-secrets", false, "overwrite secrets the forge already has (default: keep them)")
	secretsFile := fs.String("secrets-file", "", "read the secrets from `FILE` (NAME=value lines) instead of environment variables of their names")
	var secretEnv multi
	fs.Var(&secretEnv, "secret-env", "read secret `NAME=VAR` from the environment variable VAR (repeatable)")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	dir := dirArg(pos)
	cat, err := loadCatalog(*catDir)
	if err != nil {
		return err
	}
	l, err := loadSiteDir(dir, *catDir)
	if err != nil {
		return err
	}
	secrets, err := readSecrets(*secretsFile, secretEnv)
	if err != nil {
		return err
	}
	sum := *checksum
	if *sha512 != "" {
		if sum != "" {
			return usageError{"give --flatcar-sha512 or --flatcar-checksum, not both"}
		}
		sum = "sha512:" + *sha512
	}
	cfg := bootstrap.Config{
		Site:       l,
		Flatcar:    cat.Flatcar,
		Secrets:    secrets,
		S3Endpoint: *s3Endpoint,
		Hetzner:    bootstrap.Hetzner{Endpoint: *endpoint, ServerType: *serverType},
		Image: bootstrap.Image{Path: *image, URL: *imageURL, Checksum: sum, Version: *version, Device: *device,
			RescueSSHAddr: *rescueAddr, RescueUser: *rescueUser},
		Out: s.Out,
	}
	if *forgeKind != "" {
		owner, name, ok := strings.Cut(*repo, "/")
		if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			return usageError{"--repo must be OWNER/NAME"}
		}
		url := *forgeURL
		if url == "" && *forgeKind == "github" {
			url = "https://github.com"
		}
		if url == "" {
			return usageError{"--forge-url is needed for " + *forgeKind}
		}
		cfg.Forge = &bootstrap.Forge{Kind: *forgeKind, URL: url, API: *forgeAPI, Owner: owner, Repo: name,
			Token: os.Getenv(*tokenEnv), CreateRepo: *createRepo, ReplaceSecrets: *replace, Dir: dir, Private: !*public}
	}
	fmt.Fprintf(s.Out, "nassella bootstrap: preparing site %s (catalog %s, Flatcar %s ≥ %s)\n", l.Name, cat.Release, cat.Flatcar.Channel, cat.Flatcar.MinVersion)
	_, err = bootstrap.Run(ctx, cfg)
	return err
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
