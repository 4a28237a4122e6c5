package cli

import (
	"context"

	"github.com/nassella/nassella/internal/siterepo"
	"github.com/nassella/nassella/pipelines/credentials"
)

func runCredentials(ctx context.Context, s Streams, args []string) error {
	fs := flags(s, "credentials", "[APP] [--json] [--host H] [--dir DIR]")
	var opt credentials.Options
	fs.BoolVar(&opt.JSON, "json", false, "print a JSON array (app, title, address, state, login, password, reason) for scripts")
	dir := fs.String("dir", ".", "the site repo")
	server := addServerFlags(fs)
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if len(pos) == 1 {
		opt.App = pos[0]
	}
	r, err := siterepo.Open(*dir, siterepo.Options{})
	if err != nil {
		return err
	}
	if err := credentials.HasApp(r.Site, opt.App); err != nil {
		return usageError{err.Error()}
	}
	login, err := server.login(r.Site)
	if err != nil {
		return err
	}
	opt.Remote = login
	return credentials.Show(ctx, r.Site, opt, s.Out)
}
