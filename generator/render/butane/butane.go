// Package butane renders the host's Butane config (Flatcar variant 1.0.0) and translates it
// to Ignition with the Butane library, strictly: a warning is an error. The Ignition holds
// everything known before apply; Terraform adds the few values that exist only at apply
// time (the data volume's device, outside secrets) by merging it into user_data.
package butane

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"
	"sync"

	bconfig "github.com/coreos/butane/config"
	"github.com/coreos/butane/config/common"
	"gopkg.in/yaml.v3"

	"github.com/nassella/nassella/generator/render"
	"github.com/nassella/nassella/internal/hostcontract"
)

// Paths in the site repo.
const (
	ButanePath   = "host/butane.yaml"
	IgnitionPath = "host/ignition.json"
)

// File is a file the Ignition writes on the host.
type File struct {
	Path     string
	Contents string
	Mode     int // octal permission bits, e.g. 0o644
}

// Inputs are the rendered files the host needs besides what this package writes itself:
// the compose files and the Caddyfile, placed under /etc/nassella.
type Inputs struct {
	Files []File
}

// The Butane schema subset nassella writes.
type config struct {
	Variant string  `yaml:"variant"`
	Version string  `yaml:"version"`
	Passwd  passwd  `yaml:"passwd"`
	Storage storage `yaml:"storage"`
	Systemd systemd `yaml:"systemd"`
}

type passwd struct {
	Users []user `yaml:"users"`
}

type user struct {
	Name              string   `yaml:"name"`
	SSHAuthorizedKeys []string `yaml:"ssh_authorized_keys"`
}

type storage struct {
	Files []file `yaml:"files"`
	Links []link `yaml:"links"`
}

type file struct {
	Path      string   `yaml:"path"`
	Mode      yamlMode `yaml:"mode"`
	Overwrite bool     `yaml:"overwrite,omitempty"`
	Contents  contents `yaml:"contents"`
}

type contents struct {
	Inline       string        `yaml:"inline,omitempty"`
	Source       string        `yaml:"source,omitempty"`
	Verification *verification `yaml:"verification,omitempty"`
}

type verification struct {
	Hash string `yaml:"hash"`
}

type link struct {
	Path      string `yaml:"path"`
	Target    string `yaml:"target"`
	Hard      bool   `yaml:"hard"`
	Overwrite bool   `yaml:"overwrite,omitempty"`
}

type systemd struct {
	Units []unit `yaml:"units"`
}

type unit struct {
	Name     string   `yaml:"name"`
	Enabled  *bool    `yaml:"enabled,omitempty"`
	Mask     bool     `yaml:"mask,omitempty"`
	Contents string   `yaml:"contents,omitempty"`
	Dropins  []dropin `yaml:"dropins,omitempty"`
}

// dropin is a drop-in for a unit the host already has (Flatcar's docker.service, a device
// unit systemd makes itself): Ignition writes it to /etc/systemd/system/NAME.d/.
type dropin struct {
	Name     string `yaml:"name"`
	Contents string `yaml:"contents"`
}

// yamlMode prints a file mode in octal so the Butane file reads like a shell's ls.
type yamlMode int

func (m yamlMode) MarshalYAML() (any, error) {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: fmt.Sprintf("0%o", int(m))}, nil
}

// Render returns the Butane config and the Ignition translated from it.
func Render(in render.Input, extra Inputs) (butaneYAML, ignition []byte, err error) {
	s := in.Site
	cfg := config{Variant: "flatcar", Version: "1.0.0"}
	keys := append([]string{}, s.Admin.SSHKeys...)
	if s.Admin.BackupKey != "" {
		keys = append(keys, hostcontract.AuthorizedBackupKey(s.Admin.BackupKey))
	}
	if s.Admin.LogsKey != "" {
		keys = append(keys, hostcontract.AuthorizedLogsKey(s.Admin.LogsKey))
	}
	cfg.Passwd.Users = []user{{Name: "core", SSHAuthorizedKeys: keys}}

	add := func(p, body string, mode int) {
		cfg.Storage.Files = append(cfg.Storage.Files, file{Path: p, Mode: yamlMode(mode), Overwrite: true, Contents: contentsOf(body)})
	}
	add("/etc/hostname", s.Name+"\n", 0o644)
	add("/etc/flatcar/update.conf", updateConf(in), 0o644)
	add("/etc/systemd/journald.conf.d/10-nassella.conf", journaldConf, 0o644)
	add(hostcontract.DataVolumeScript, dataVolumeScript, 0o755)
	add(hostcontract.SecretsScript, secretsScript(in), 0o755)
	add(path.Join(hostcontract.ProxyDir, "tmpfiles.conf"), proxyTmpfiles(), 0o644)
	for _, app := range s.Apps {
		add(path.Join(hostcontract.AppsConfig, app.Name, "tmpfiles.conf"), appTmpfiles(app.Name, in), 0o644)
	}
	for _, f := range backupFiles(in) {
		add(f.Path, f.Contents, f.Mode)
	}
	for _, f := range claimFiles(in) {
		add(f.Path, f.Contents, f.Mode)
	}
	if s.Admin.LogsKey != "" { // only a server with a logs key needs its command
		add(hostcontract.LogsScript, logsScript, 0o755)
	}
	for _, f := range extra.Files {
		add(f.Path, f.Contents, f.Mode)
	}

	// Docker Compose as a systemd-sysext, pinned by version and, once known, hash.
	c := in.Catalog.Compose
	raw := fmt.Sprintf("/opt/extensions/docker-compose/docker-compose-%s-x86-64.raw", c.Version)
	sysext := file{Path: raw, Mode: 0o644, Contents: contents{Source: c.URL}}
	if c.SHA512 != "" {
		sysext.Contents.Verification = &verification{Hash: "sha512-" + c.SHA512}
	}
	cfg.Storage.Files = append(cfg.Storage.Files, sysext)
	cfg.Storage.Links = []link{
		{Path: "/etc/extensions/docker-compose.raw", Target: raw, Overwrite: true},
		// Flatcar runs in UTC by default; the site's window and backup times are local.
		{Path: "/etc/localtime", Target: "/usr/share/zoneinfo/" + s.Updates.Timezone, Overwrite: true},
	}
	sort.Slice(cfg.Storage.Files, func(i, j int) bool { return cfg.Storage.Files[i].Path < cfg.Storage.Files[j].Path })

	cfg.Systemd.Units = units(in)

	var b bytes.Buffer
	b.WriteString(render.Header("#", in))
	b.WriteString("# The host's whole configuration. Translated to host/ignition.json, which Terraform\n# passes to the server at creation: a change here replaces the server (data stays).\n")
	if err := encodeConfig(&b, cfg); err != nil {
		return nil, nil, err
	}
	ign, err := translate(cfg)
	if err != nil {
		return nil, nil, err
	}
	return b.Bytes(), ign, nil
}

// encodeConfig writes cfg as YAML, as one yaml.v3 encoding (indent 2) would, but with
// each file's entry encoded once per process: the host's scripts are the same in every
// site, and encoding them was the largest part of generating one.
func encodeConfig(b *bytes.Buffer, cfg config) error {
	files := cfg.Storage.Files
	cfg.Storage.Files = nil
	var doc bytes.Buffer
	enc := yaml.NewEncoder(&doc)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		return fmt.Errorf("butane: %w", err)
	}
	enc.Close()
	if len(files) == 0 {
		b.Write(doc.Bytes())
		return nil
	}
	const empty = "\n  files: []\n"
	head, tail, ok := strings.Cut(doc.String(), empty)
	if !ok {
		return fmt.Errorf("butane: the encoded config has no %q", strings.TrimSpace(empty))
	}
	b.WriteString(head)
	b.WriteString("\n  files:\n")
	for _, f := range files {
		entry, err := fileEntry(f)
		if err != nil {
			return err
		}
		b.WriteString(entry)
	}
	b.WriteString(tail)
	return nil
}

var (
	entriesMu sync.Mutex
	entries   = map[file]string{}
)

// fileEntry is f as an item of storage.files: its own encoding, indented as the list's
// items are (yaml.v3 folds no line, so moving a block keeps it the same). Blank lines stay
// blank, as yaml.v3 writes them inside a block.
func fileEntry(f file) (string, error) {
	key := f
	if f.Contents.Verification != nil {
		key.Contents.Verification = nil
		key.Contents.Source += "\x00" + f.Contents.Verification.Hash
	}
	entriesMu.Lock()
	s, ok := entries[key]
	entriesMu.Unlock()
	if ok {
		return s, nil
	}
	var one bytes.Buffer
	enc := yaml.NewEncoder(&one)
	enc.SetIndent(2)
	if err := enc.Encode([]file{f}); err != nil {
		return "", fmt.Errorf("butane: %s: %w", f.Path, err)
	}
	enc.Close()
	var out strings.Builder
	for _, line := range strings.SplitAfter(one.String(), "\n") {
		if line != "" && line != "\n" {
			out.WriteString("    ")
		}
		out.WriteString(line)
	}
	s = out.String()
	entriesMu.Lock()
	if len(entries) >= maxEntries {
		clear(entries)
	}
	entries[key] = s
	entriesMu.Unlock()
	return s, nil
}

// maxEntries bounds the cache: the update bot renders a whole fleet in one process; the
// entries most sites share stay while per-site ones churn.
const maxEntries = 4096

// contentsOf is a file's body as Butane contents, for the smallest user_data: the server
// gets the Ignition gzipped whole (server.tf), and text compresses well there only as
// text. So a body goes in URL-escaped (a data URL) even where base64 would be shorter,
// which is where Butane would pick base64 for an inline body; elsewhere it stays inline,
// readable here, and Butane escapes it the same way. (For a site with every app, base64
// or a gzip per file made user_data 40 KB, over Hetzner's 32 KiB; escaped it is 28 KB.)
func contentsOf(body string) contents {
	if body != "" && len(";base64,")+base64.StdEncoding.EncodedLen(len(body)) < 1+escapedLen(body) {
		return contents{Source: (&url.URL{Scheme: "data", Opaque: "," + escape(body)}).String()}
	}
	return contents{Inline: body}
}

// Translate turns Butane into Ignition strictly: any warning fails, as a warning in the
// host config is a host that may not boot as intended. Files are not compressed one by
// one (NoResourceAutoCompression): the server's user_data gzips the whole Ignition,
// which compresses the host's text far better in one stream than a gzip per file wrapped
// in base64, and keeps a site with every app under Hetzner's 32 KiB.
func Translate(butaneYAML []byte) ([]byte, error) {
	ign, rep, err := bconfig.TranslateBytes(butaneYAML, common.TranslateBytesOptions{Pretty: true, TranslateOptions: common.TranslateOptions{NoResourceAutoCompression: true}})
	if err != nil {
		return nil, fmt.Errorf("butane: %w\n%s", err, rep.String())
	}
	if len(rep.Entries) > 0 {
		return nil, fmt.Errorf("butane (strict): %s", strings.TrimSpace(rep.String()))
	}
	return append(ign, '\n'), nil
}

func updateConf(in render.Input) string {
	// The window has a space, so it is quoted as in Flatcar's docs (flatcar-website
	// content/docs/latest/updates-releases/releases/update-strategies.md:
	// LOCKSMITHD_REBOOT_WINDOW_START="Thu 04:00").
	return fmt.Sprintf(`GROUP=%s
REBOOT_STRATEGY=reboot
LOCKSMITHD_REBOOT_WINDOW_START="%s"
LOCKSMITHD_REBOOT_WINDOW_LENGTH=1h
`, in.Catalog.Flatcar.Channel, in.Site.Updates.Window)
}

// journald keeps every app's logs on the host, bounded so they never fill the disk.
const journaldConf = `[Journal]
Storage=persistent
SystemMaxUse=2G
SystemKeepFree=1G
MaxRetentionSec=3month
`

func proxyTmpfiles() string {
	return fmt.Sprintf("d %s 0700 root root -\nd %s/data 0700 root root -\nd %s/config 0700 root root -\n",
		hostcontract.CaddyData, hostcontract.CaddyData, hostcontract.CaddyData)
}

func appTmpfiles(name string, in render.Input) string {
	var b strings.Builder
	base := path.Join(hostcontract.AppsData, name)
	fmt.Fprintf(&b, "d %s 0755 root root -\nd %s 0700 root root -\n", base, path.Join(base, hostcontract.DumpsDir))
	for _, a := range in.Site.Apps {
		if a.Name != name {
			continue
		}
		for _, v := range a.Spec.Volumes {
			uid, gid, mode := "root", "root", "0750"
			if v.Owner != "" {
				uid, gid, _ = strings.Cut(v.Owner, ":")
			}
			if v.Mode != "" {
				mode = v.Mode
			}
			fmt.Fprintf(&b, "d %s %s %s %s -\n", path.Join(base, v.Name), mode, uid, gid)
		}
		b.WriteString(seedLines(base, a.Spec.Files))
	}
	return b.String()
}

func enabled() *bool { t := true; return &t }

// DataDevice is systemd's unit for the data volume's label device (systemd-escape --path
// --suffix=device /dev/disk/by-label/nassella-data).
var DataDevice = escapePath("/dev/disk/by-label/"+hostcontract.DataLabel) + ".device"

// escapePath is systemd-escape --path for the characters a device path holds: "/" becomes
// "-", and anything but ASCII letters, digits, ":", "_" and "." becomes \xNN
// (systemd.unit(5), "String Escaping for Inclusion in Unit Names").
func escapePath(p string) string {
	var b strings.Builder
	for i, c := range []byte(strings.Trim(p, "/")) {
		switch {
		case c == '/':
			b.WriteByte('-')
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == ':', c == '_', c == '.' && i > 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "\\x%02x", c)
		}
	}
	return b.String()
}

// metadataGuard creates the DOCKER-USER chain unless it exists and puts the REJECT rule
// for the metadata service in it unless it is there: idempotent, and failing (so docker
// does not start) when the rule cannot be made.
const metadataGuard = `/bin/sh -c 'set -e; ` +
	`/usr/sbin/iptables -w -n -L ` + hostcontract.DockerUserChain + ` >/dev/null 2>&1 || /usr/sbin/iptables -w -N ` + hostcontract.DockerUserChain + `; ` +
	`/usr/sbin/iptables -w -C ` + hostcontract.DockerUserChain + ` -d ` + hostcontract.MetadataAddress + `/32 -j REJECT 2>/dev/null || ` +
	`/usr/sbin/iptables -w -I ` + hostcontract.DockerUserChain + ` -d ` + hostcontract.MetadataAddress + `/32 -j REJECT'`

func units(in render.Input) []unit {
	compose := func(project, dir, envFile string) string {
		cmd := "/usr/bin/docker compose --project-name " + project
		if envFile != "" {
			cmd += " --env-file " + envFile
		}
		return cmd + " --file " + path.Join(dir, hostcontract.ComposeYML)
	}
	us := []unit{
		// The script waits for the volume without limit (see DataDevice below); a oneshot
		// has no start timeout (systemd.service(5), TimeoutStartSec=).
		{Name: hostcontract.DataVolumeUnit, Enabled: enabled(), Contents: `[Unit]
Description=Prepare the nassella data volume (format only when blank)
Before=var-lib-nassella.mount
[Service]
Type=oneshot
RemainAfterExit=yes
EnvironmentFile=` + hostcontract.VolumeEnv + `
ExecStart=` + hostcontract.DataVolumeScript + `
[Install]
RequiredBy=var-lib-nassella.mount
`},
		// Terraform attaches the volume only after the server exists and the volume
		// service labels it, so the label's device can show up minutes into the boot. A
		// device unit's start job gives up after DefaultDeviceTimeoutSec (90 s) by default
		// (systemd.unit(5), JobRunningTimeoutSec=: "the default is infinity, except for
		// device units"), failing the mount and everything after it. x-systemd.device-timeout
		// would do the same, but only in fstab (systemd.mount(5)); systemd-fstab-generator
		// turns it into this very drop-in (src/shared/generator.c,
		// generator_write_device_timeout). No limit: the volume service waits for the
		// volume and says so in the journal, and the host comes up once it is attached.
		{Name: DataDevice, Dropins: []dropin{{Name: "10-nassella-wait.conf", Contents: "[Unit]\nJobRunningTimeoutSec=infinity\n"}}},
		// Docker must never run before the volume is mounted: dockerd restarts the
		// unless-stopped containers as soon as it runs, and they would write into the empty
		// folder on the root disk. Flatcar's docker.service is moby's
		// contrib/init/systemd/docker.service (flatcar/scripts, coreos-overlay
		// app-containers/docker, systemd_dounit); docker.socket, in sockets.target,
		// activates it on the first client. RequiresMountsFor= (Requires= and After= the
		// mount, systemd.unit(5)) on docker.service holds every start of it, socket
		// activation included, until the mount is there. docker.socket itself gets no
		// such drop-in: it is ordered before sockets.target, which comes before the
		// volume service (basic.target), so ordering it after the mount is a cycle systemd
		// would break by dropping a job; the socket only queues clients, the service it
		// starts waits.
		{Name: hostcontract.DockerUnit, Dropins: []dropin{{Name: "10-nassella-data.conf", Contents: "[Unit]\nRequiresMountsFor=" + hostcontract.DataDir + "\n"}}},
		// nofail: without it the mount is ordered before local-fs.target, and the volume
		// service it requires (after sysinit.target) would make an ordering cycle.
		{Name: hostcontract.DataMount, Enabled: enabled(), Contents: `[Unit]
Description=nassella data volume
Requires=nassella-data-volume.service
After=nassella-data-volume.service
[Mount]
What=/dev/disk/by-label/` + hostcontract.DataLabel + `
Where=` + hostcontract.DataDir + `
Type=ext4
Options=defaults,noatime,nofail
[Install]
WantedBy=multi-user.target
`},
		{Name: hostcontract.SecretsUnit, Enabled: enabled(), Contents: `[Unit]
Description=Generate app secrets on the data volume
Requires=var-lib-nassella.mount
After=var-lib-nassella.mount
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=` + hostcontract.SecretsScript + `
[Install]
WantedBy=multi-user.target
`},
		// A server taking a site over (a move, a lost server or volume) restores the backup
		// apply names onto a blank volume before the secrets service (which would otherwise
		// make new secrets), the proxy and the apps; the backup script decides whether the
		// volume is blank. Without restore.env the unit is skipped, which its dependents take
		// as success (systemd.unit(5), ConditionPathExists=); a failed restore fails the
		// secrets service, and with it the proxy and every app, so the host never answers
		// healthy on a volume without its data. restic runs in a container: Docker and the
		// network first.
		{Name: hostcontract.RestoreUnit, Enabled: enabled(), Contents: `[Unit]
Description=Restore the site's backup onto a blank data volume (a server taking the site over)
ConditionPathExists=` + hostcontract.RestoreEnv + `
Requires=docker.service var-lib-nassella.mount
After=docker.service var-lib-nassella.mount network-online.target
Wants=network-online.target
Before=nassella-secrets.service nassella-proxy.service
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=` + hostcontract.BackupScript + ` ` + hostcontract.RestoreVerb + `
[Install]
RequiredBy=nassella-secrets.service
`},
		{Name: "nassella-data-grow.service", Enabled: enabled(), Contents: `[Unit]
Description=Grow the data filesystem when the volume was made bigger
Requires=var-lib-nassella.mount
After=var-lib-nassella.mount
[Service]
Type=oneshot
RemainAfterExit=yes
EnvironmentFile=` + hostcontract.VolumeEnv + `
ExecStart=/usr/sbin/resize2fs ${NASSELLA_DATA_DEVICE}
[Install]
WantedBy=multi-user.target
`},
		// user_data (with the outside secrets) is readable from the metadata service; no
		// container needs it, so containers may not reach it. dockerd restarts containers
		// as soon as it runs, so the rule is in place before it, on every boot: docker.service
		// requires the guard (also when docker.socket activates it). dockerd keeps an
		// existing DOCKER-USER chain and its rules and only adds its RETURN and the jump from
		// FORWARD (moby/moby libnetwork/firewall_linux.go, setupUserChain).
		{Name: hostcontract.MetadataGuardUnit, Enabled: enabled(), Contents: `[Unit]
Description=Keep containers away from the cloud metadata service
Before=` + hostcontract.DockerUnit + `
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=` + metadataGuard + `
[Install]
RequiredBy=` + hostcontract.DockerUnit + `
WantedBy=multi-user.target
`},
		{Name: hostcontract.ProxyUnit, Enabled: enabled(), Contents: `[Unit]
Description=Caddy, HTTPS in front of every app
Requires=docker.service var-lib-nassella.mount nassella-metadata-guard.service nassella-secrets.service
After=docker.service var-lib-nassella.mount nassella-metadata-guard.service nassella-secrets.service network-online.target
Wants=network-online.target
[Service]
Type=oneshot
RemainAfterExit=yes
TimeoutStartSec=15min
ExecStartPre=/usr/bin/systemd-tmpfiles --create ` + path.Join(hostcontract.ProxyDir, "tmpfiles.conf") + `
ExecStart=` + compose("proxy", hostcontract.ProxyDir, "") + ` up --detach --remove-orphans
ExecStop=` + compose("proxy", hostcontract.ProxyDir, "") + ` down
[Install]
WantedBy=multi-user.target
`},
	}
	for _, app := range in.Site.Apps {
		dir := path.Join(hostcontract.AppsConfig, app.Name)
		env := path.Join(hostcontract.SecretsDir, app.Name+hostcontract.EnvSuffix)
		us = append(us, unit{Name: hostcontract.AppUnitName(app.Name), Enabled: enabled(), Contents: `[Unit]
Description=` + app.Spec.Title + ` (nassella app ` + app.Name + `)
Requires=nassella-proxy.service nassella-secrets.service
After=nassella-proxy.service nassella-secrets.service
[Service]
Type=oneshot
RemainAfterExit=yes
TimeoutStartSec=30min
ExecStartPre=/usr/bin/systemd-tmpfiles --create ` + path.Join(dir, "tmpfiles.conf") + `
ExecStart=` + compose(app.Name, dir, env) + ` up --detach --remove-orphans
ExecStop=` + compose(app.Name, dir, env) + ` down
[Install]
WantedBy=multi-user.target
`}, claimUnit(app))
	}
	return append(us, backupUnits(in)...)
}

// UserDataSize is the size of the user_data Terraform builds from the Ignition (see
// terraform/ignition.tf): a wrapper merging the gzipped, base64 Ignition, plus the
// apply-time files at their largest (a volume device path, outside secrets of up to 128
// characters each). It errs on the large side.
func UserDataSize(ignition []byte) (int, error) {
	var gz bytes.Buffer
	w, err := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
	if err != nil {
		return 0, err
	}
	w.Write(ignition)
	w.Close()
	volumeEnv := "NASSELLA_DATA_DEVICE=/dev/disk/by-id/scsi-0HC_Volume_1234567890123\n"
	secret := strings.Repeat("x", 128)
	outsideEnv := "RESTIC_PASSWORD=" + secret + "\nAWS_ACCESS_KEY_ID=" + secret + "\nAWS_SECRET_ACCESS_KEY=" + secret + "\n"
	mailEnv := "SMTP_PASSWORD=" + secret + "\n"
	settings := strings.Repeat("x", 1024) // the backup settings file, with the longest heartbeat address
	publicNetwork := "[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\nKeepConfiguration=dhcp-on-stop\nAddress=2a01:4f8:ffff:ffff::1/64\nGateway=fe80::1\n\n[DHCPv4]\nUseMTU=true\nUseDomains=true\nRoutesToDNS=false\n"
	wrapper := map[string]any{
		"ignition": map[string]any{
			"version": "3.3.0",
			"config": map[string]any{"merge": []any{map[string]any{
				"source":      "data:;base64," + base64.StdEncoding.EncodeToString(gz.Bytes()),
				"compression": "gzip",
			}}},
		},
		"storage": map[string]any{"files": []any{
			map[string]any{"path": "/etc/nassella/volume.env", "mode": 420, "overwrite": true,
				"contents": map[string]any{"source": "data:;base64," + base64.StdEncoding.EncodeToString([]byte(volumeEnv))}},
			map[string]any{"path": "/etc/nassella/outside.env", "mode": 384, "overwrite": true,
				"contents": map[string]any{"source": "data:;base64," + base64.StdEncoding.EncodeToString([]byte(outsideEnv))}},
			map[string]any{"path": hostcontract.MailEnv, "mode": 384, "overwrite": true,
				"contents": map[string]any{"source": "data:;base64," + base64.StdEncoding.EncodeToString([]byte(mailEnv))}},
			map[string]any{"path": hostcontract.BackupSettings, "mode": 420, "overwrite": true,
				"contents": map[string]any{"source": "data:;base64," + base64.StdEncoding.EncodeToString([]byte(settings))}},
			// server.tf's public network file, with the longest IPv6 address.
			map[string]any{"path": "/etc/systemd/network/10-public.network", "mode": 420, "overwrite": true,
				"contents": map[string]any{"source": "data:;base64," + base64.StdEncoding.EncodeToString([]byte(publicNetwork))}},
		}},
	}
	out, err := json.Marshal(wrapper)
	return len(out), err
}
