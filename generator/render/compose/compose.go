// Package compose renders one Docker Compose file per app, plus the proxy's, from the
// catalog entries: pinned images, journald logging tagged by app, the app's own network,
// data folders on the volume, and no published ports but Caddy's 80/443.
package compose

import (
	"bytes"
	"fmt"
	"path"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/render"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/hostcontract"
)

// The subset of the Compose specification nassella writes, in the order a reader expects.
type file struct {
	Name     string             `yaml:"name"`
	Services map[string]service `yaml:"services"`
	Networks map[string]network `yaml:"networks"`
}

type service struct {
	Image       string                `yaml:"image"`
	Restart     string                `yaml:"restart"`
	Entrypoint  []string              `yaml:"entrypoint,omitempty"`
	Command     []string              `yaml:"command,omitempty"`
	User        string                `yaml:"user,omitempty"`
	Environment map[string]string     `yaml:"environment,omitempty"`
	Ports       []string              `yaml:"ports,omitempty"`
	Volumes     []string              `yaml:"volumes,omitempty"`
	Tmpfs       []string              `yaml:"tmpfs,omitempty"`
	ShmSize     string                `yaml:"shm_size,omitempty"`
	DependsOn   map[string]dependency `yaml:"depends_on,omitempty"`
	Healthcheck *healthcheck          `yaml:"healthcheck,omitempty"`
	Networks    networks              `yaml:"networks"`
	Logging     logging               `yaml:"logging"`
	SecurityOpt []string              `yaml:"security_opt,omitempty"`
}

type dependency struct {
	Condition string `yaml:"condition"`
}

type healthcheck struct {
	Test        []string `yaml:"test"`
	Interval    string   `yaml:"interval,omitempty"`
	Timeout     string   `yaml:"timeout,omitempty"`
	Retries     int      `yaml:"retries,omitempty"`
	StartPeriod string   `yaml:"start_period,omitempty"`
}

// networks is written as a plain list unless a network has aliases, which need the long
// form; the short form is what people write by hand.
type networks map[string]*attach

func (n networks) MarshalYAML() (any, error) {
	names := make([]string, 0, len(n))
	long := false
	for k, v := range n {
		names = append(names, k)
		long = long || v != nil
	}
	if long {
		m := map[string]*attach{}
		for k, v := range n {
			if v == nil {
				v = &attach{}
			}
			m[k] = v
		}
		return m, nil
	}
	sort.Strings(names)
	return names, nil
}

type attach struct {
	Aliases []string `yaml:"aliases,omitempty"`
}

type logging struct {
	Driver  string            `yaml:"driver"`
	Options map[string]string `yaml:"options"`
}

type network struct {
	Name     string `yaml:"name"`
	External bool   `yaml:"external,omitempty"`
}

// AppPath is where an app's compose file lives in the site repo.
func AppPath(app string) string { return path.Join("apps", app, hostcontract.ComposeYML) }

// ProxyPath is where the proxy's compose file lives in the site repo.
const ProxyPath = "proxy/" + hostcontract.ComposeYML

// journald tags each container's lines with its app, so `nassella logs APP` can filter.
func journald(tag string) logging {
	return logging{Driver: "journald", Options: map[string]string{"tag": tag}}
}

// App renders an app's compose file.
func App(in render.Input, app site.App) ([]byte, error) {
	a := app.Spec
	f := file{
		Name:     app.Name,
		Services: map[string]service{},
		Networks: map[string]network{
			"default": {Name: app.Name},
			"proxy":   {Name: hostcontract.ProxyNet, External: true},
		},
	}
	dataDir := path.Join(hostcontract.AppsData, app.Name)
	for _, name := range a.ServiceNames() {
		s := a.Services[name]
		svc := service{
			Image:       s.Image.Ref(),
			Restart:     "unless-stopped",
			Entrypoint:  s.Entrypoint,
			Command:     s.Command,
			User:        s.User,
			Tmpfs:       s.Tmpfs,
			ShmSize:     s.ShmSize,
			Networks:    networks{"default": nil},
			Logging:     journald(app.Name),
			SecurityOpt: []string{"no-new-privileges:true"},
		}
		if len(s.Environment) > 0 {
			svc.Environment = map[string]string{}
			for k, v := range s.Environment {
				svc.Environment[k] = render.Fill(v, in, app)
			}
		}
		// The site's mail relay, for the services that send the app's e-mail.
		for k, v := range render.MailEnv(in, app, name) {
			if svc.Environment == nil {
				svc.Environment = map[string]string{}
			}
			svc.Environment[k] = v
		}
		for _, m := range s.Volumes {
			vol, rest, _ := strings.Cut(m, ":")
			svc.Volumes = append(svc.Volumes, path.Join(dataDir, vol)+":"+rest)
		}
		if len(s.DependsOn) > 0 {
			svc.DependsOn = map[string]dependency{}
			for _, d := range s.DependsOn {
				cond := "service_started"
				if a.Services[d].Healthcheck != nil {
					cond = "service_healthy"
				}
				svc.DependsOn[d] = dependency{Condition: cond}
			}
		}
		if h := s.Healthcheck; h != nil {
			svc.Healthcheck = &healthcheck{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, Retries: h.Retries, StartPeriod: h.StartPeriod}
		}
		if name == a.HTTP.Service {
			// The alias is the app's name: unique on the shared network, and what Caddy dials.
			svc.Networks["proxy"] = &attach{Aliases: []string{app.Name}}
		}
		f.Services[name] = svc
	}
	return encode(in, fmt.Sprintf("# %s %s: %s\n", a.Title, a.Version, a.Homepage), f)
}

// Proxy renders Caddy's compose file: the only service that publishes ports.
func Proxy(in render.Input) ([]byte, error) {
	f := file{
		Name: "proxy",
		Services: map[string]service{
			"caddy": {
				Image:   in.Catalog.Proxy.Ref(),
				Restart: "unless-stopped",
				Ports:   []string{"80:80", "443:443", "443:443/udp"},
				Volumes: []string{
					path.Join(hostcontract.ProxyDir, hostcontract.Caddyfile) + ":/etc/caddy/Caddyfile:ro",
					path.Join(hostcontract.CaddyData, "data") + ":/data",
					path.Join(hostcontract.CaddyData, "config") + ":/config",
					// Which apps are claimed: Caddy serves an app only once it is.
					hostcontract.ClaimsDir + ":" + hostcontract.ClaimsInProxy + ":ro",
				},
				Networks:    networks{"proxy": nil},
				Logging:     journald("proxy"),
				SecurityOpt: []string{"no-new-privileges:true"},
			},
		},
		// Created here; every app joins it as external.
		Networks: map[string]network{"proxy": {Name: hostcontract.ProxyNet}},
	}
	return encode(in, "# Caddy: HTTPS for every app, certificates kept on the data volume.\n", f)
}

// Images lists "service image" of an app as compose will pull them, for the lock file.
func Images(a *catalog.App) map[string]string {
	out := map[string]string{}
	for name, s := range a.Services {
		out[name] = s.Image.Ref()
	}
	return out
}

func encode(in render.Input, intro string, f file) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(render.Header("#", in))
	b.WriteString(intro)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("compose %s: %w", f.Name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
