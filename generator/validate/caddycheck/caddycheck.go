// Package caddycheck runs Caddy's own Caddyfile adapter over a Caddyfile. It lives apart
// because importing Caddy is heavy: only the modules a generated Caddyfile uses are linked.
package caddycheck

import (
	"fmt"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	// The directives and modules a generated Caddyfile may use: the standard HTTP ones
	// (reverse_proxy, header, redir, request_body, ...), TLS and file storage.
	_ "github.com/caddyserver/caddy/v2/modules/caddyhttp/standard"
	_ "github.com/caddyserver/caddy/v2/modules/caddytls"
	_ "github.com/caddyserver/caddy/v2/modules/filestorage"
)

// Check adapts the Caddyfile to Caddy's JSON config; an error or any warning fails.
func Check(name string, body []byte) error {
	adapter := caddyfile.Adapter{ServerType: httpcaddyfile.ServerType{}}
	_, warnings, err := adapter.Adapt(body, map[string]any{"filename": name})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(warnings) > 0 {
		var msgs []string
		for _, w := range warnings {
			msgs = append(msgs, fmt.Sprintf("%s:%d: %s", name, w.Line, w.Message))
		}
		return fmt.Errorf("caddy warnings:\n%s", strings.Join(msgs, "\n"))
	}
	return nil
}
