package compose_test

import (
	"maps"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/generator/render"
	"github.com/nassella/nassella/generator/render/compose"
	"github.com/nassella/nassella/generator/site"
)

// relayed is the every-app example with its mail line replaced by relay ("" for none).
func relayed(t *testing.T, relay string) render.Input {
	t.Helper()
	data, _ := examples.Get("every-app")
	var b strings.Builder
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if !strings.HasPrefix(line, "mail:") {
			b.WriteString(line)
		}
	}
	if relay != "" {
		b.WriteString("mail: " + relay + "\n")
	}
	cat := catalog.Embedded()
	l, err := site.Load("site.yaml", []byte(b.String()), cat)
	if err != nil {
		t.Fatal(err)
	}
	return render.Input{Site: l, Catalog: cat, Version: "test"}
}

// environments renders every app's compose file and returns each service's environment,
// by "app/service".
func environments(t *testing.T, in render.Input) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for _, app := range in.Site.Apps {
		data, err := compose.App(in, app)
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Services map[string]struct {
				Environment map[string]string `yaml:"environment"`
			} `yaml:"services"`
		}
		if err := yaml.Unmarshal(data, &f); err != nil {
			t.Fatalf("%s: %v", app.Name, err)
		}
		for name, s := range f.Services {
			out[app.Name+"/"+name] = s.Environment
		}
	}
	return out
}

// Every app that takes a relay from its environment gets all of it, in its own names, in
// each service that sends its e-mail; the password only as a reference to the host's
// secrets file.
func TestMailRelayInEveryApp(t *testing.T) {
	const pw = "${NASSELLA_SMTP_PASSWORD}"
	login := "{ host: smtp.relay.example, port: 587, tls: starttls, user: apps@acme.example, from: apps@acme.example }"
	implicit := "{ host: smtp.relay.example, port: 465, tls: tls, from: apps@acme.example }"
	plain := "{ host: 10.0.0.25, port: 25, tls: none, from: apps@acme.example }"
	tests := []struct {
		service string
		relay   string
		want    map[string]string
	}{
		{"nextcloud/app", login, map[string]string{"SMTP_HOST": "smtp.relay.example", "SMTP_PORT": "587", "MAIL_FROM_ADDRESS": "apps", "MAIL_DOMAIN": "acme.example", "SMTP_NAME": "apps@acme.example", "SMTP_PASSWORD": pw, "SMTP_SECURE": "tls"}},
		{"nextcloud/cron", login, map[string]string{"SMTP_HOST": "smtp.relay.example", "SMTP_PORT": "587", "MAIL_FROM_ADDRESS": "apps", "MAIL_DOMAIN": "acme.example", "SMTP_NAME": "apps@acme.example", "SMTP_PASSWORD": pw, "SMTP_SECURE": "tls"}},
		{"nextcloud/app", implicit, map[string]string{"SMTP_HOST": "smtp.relay.example", "SMTP_PORT": "465", "MAIL_FROM_ADDRESS": "apps", "MAIL_DOMAIN": "acme.example", "SMTP_SECURE": "ssl"}},
		{"nextcloud/app", plain, map[string]string{"SMTP_HOST": "10.0.0.25", "SMTP_PORT": "25", "MAIL_FROM_ADDRESS": "apps", "MAIL_DOMAIN": "acme.example"}},
		{"vaultwarden/server", login, map[string]string{"SMTP_HOST": "smtp.relay.example", "SMTP_PORT": "587", "SMTP_FROM": "apps@acme.example", "SMTP_USERNAME": "apps@acme.example", "SMTP_PASSWORD": pw, "SMTP_SECURITY": "starttls"}},
		{"vaultwarden/server", implicit, map[string]string{"SMTP_HOST": "smtp.relay.example", "SMTP_PORT": "465", "SMTP_FROM": "apps@acme.example", "SMTP_SECURITY": "force_tls"}},
		{"vaultwarden/server", plain, map[string]string{"SMTP_HOST": "10.0.0.25", "SMTP_PORT": "25", "SMTP_FROM": "apps@acme.example", "SMTP_SECURITY": "off"}},
		{"forgejo/server", login, map[string]string{"FORGEJO__mailer__ENABLED": "true", "FORGEJO__mailer__SMTP_ADDR": "smtp.relay.example", "FORGEJO__mailer__SMTP_PORT": "587", "FORGEJO__mailer__FROM": "apps@acme.example", "FORGEJO__mailer__USER": "apps@acme.example", "FORGEJO__mailer__PASSWD": pw, "FORGEJO__mailer__PROTOCOL": "smtp+starttls"}},
		{"forgejo/server", implicit, map[string]string{"FORGEJO__mailer__ENABLED": "true", "FORGEJO__mailer__SMTP_ADDR": "smtp.relay.example", "FORGEJO__mailer__SMTP_PORT": "465", "FORGEJO__mailer__FROM": "apps@acme.example", "FORGEJO__mailer__PROTOCOL": "smtps"}},
		{"forgejo/server", plain, map[string]string{"FORGEJO__mailer__ENABLED": "true", "FORGEJO__mailer__SMTP_ADDR": "10.0.0.25", "FORGEJO__mailer__SMTP_PORT": "25", "FORGEJO__mailer__FROM": "apps@acme.example", "FORGEJO__mailer__PROTOCOL": "smtp"}},
		{"paperless-ngx/webserver", login, map[string]string{"PAPERLESS_EMAIL_HOST": "smtp.relay.example", "PAPERLESS_EMAIL_PORT": "587", "PAPERLESS_EMAIL_FROM": "apps@acme.example", "PAPERLESS_EMAIL_HOST_USER": "apps@acme.example", "PAPERLESS_EMAIL_HOST_PASSWORD": pw, "PAPERLESS_EMAIL_USE_TLS": "true"}},
		{"paperless-ngx/webserver", implicit, map[string]string{"PAPERLESS_EMAIL_HOST": "smtp.relay.example", "PAPERLESS_EMAIL_PORT": "465", "PAPERLESS_EMAIL_FROM": "apps@acme.example", "PAPERLESS_EMAIL_USE_SSL": "true"}},
		{"mealie/server", login, map[string]string{"SMTP_HOST": "smtp.relay.example", "SMTP_PORT": "587", "SMTP_FROM_EMAIL": "apps@acme.example", "SMTP_FROM_NAME": "Mealie", "SMTP_USER": "apps@acme.example", "SMTP_PASSWORD": pw, "SMTP_AUTH_STRATEGY": "TLS"}},
		{"mealie/server", implicit, map[string]string{"SMTP_HOST": "smtp.relay.example", "SMTP_PORT": "465", "SMTP_FROM_EMAIL": "apps@acme.example", "SMTP_FROM_NAME": "Mealie", "SMTP_AUTH_STRATEGY": "SSL"}},
		{"mealie/server", plain, map[string]string{"SMTP_HOST": "10.0.0.25", "SMTP_PORT": "25", "SMTP_FROM_EMAIL": "apps@acme.example", "SMTP_FROM_NAME": "Mealie", "SMTP_AUTH_STRATEGY": "NONE"}},
	}
	without := environments(t, relayed(t, ""))
	renders := map[string]map[string]map[string]string{}
	covered := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.service+" "+tt.relay, func(t *testing.T) {
			if renders[tt.relay] == nil {
				renders[tt.relay] = environments(t, relayed(t, tt.relay))
			}
			got := renders[tt.relay][tt.service]
			// What the relay added: the environment less the app's own settings.
			added := map[string]string{}
			for k, v := range got {
				if _, own := without[tt.service][k]; !own {
					added[k] = v
				}
			}
			if !maps.Equal(added, tt.want) {
				t.Errorf("the relay gave %s\n%v\nwant\n%v", tt.service, added, tt.want)
			}
			covered[tt.service] = true
		})
	}
	// The table covers every service a catalog app names for its mail.
	for name, a := range catalog.Embedded().Apps {
		if a.Mail == nil {
			continue
		}
		for _, s := range a.Mail.Services {
			if !covered[name+"/"+s] {
				t.Errorf("%s/%s takes the relay but has no case above", name, s)
			}
		}
	}
	// No service of an app that takes no relay from its environment, nor any other
	// service, changes.
	for svc, env := range renders[login] {
		if covered[svc] {
			continue
		}
		if !maps.Equal(env, without[svc]) {
			t.Errorf("%s does not send the app's e-mail, but the relay changed its environment", svc)
		}
	}
	// The password itself is never in a compose file, only the reference.
	for svc, env := range renders[login] {
		for k, v := range env {
			if strings.Contains(k, "SMTP_PASSWORD") || strings.Contains(k, "EMAIL_HOST_PASSWORD") || k == "FORGEJO__mailer__PASSWD" {
				if v != pw {
					t.Errorf("%s %s = %q, want the reference %s", svc, k, v, pw)
				}
			}
		}
	}
}
