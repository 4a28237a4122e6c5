// Package site is the customer's contract: site.yaml, version 1. It decodes the file
// strictly, checks it against a catalog release and returns either a valid Site or every
// problem at once, each naming site.yaml:LINE:COL and the fix.
package site

// The jsonschema tags feed docs/site.schema.json (see schema.go); descriptions are what
// an editor shows while the customer types.

// Site is one customer's server and everything on it.
type Site struct {
	Version  int                `yaml:"version" jsonschema:"required,enum=1" jsonschema_description:"Version of this file's format. Always 1."`
	Name     string             `yaml:"name" jsonschema:"required,pattern=^[a-z0-9]([a-z0-9-]*[a-z0-9])?$,maxLength=32" jsonschema_description:"Short name of the site (lowercase letters, digits and dashes), used in server and volume names. Example: acme"`
	Domain   string             `yaml:"domain" jsonschema:"required,pattern=^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z][a-z0-9-]*[a-z0-9]$,maxLength=253" jsonschema_description:"The domain your apps live under: each app answers at <subdomain>.<domain>. Example: acme.example"`
	Admin    Admin              `yaml:"admin" jsonschema:"required"`
	Provider Provider           `yaml:"provider" jsonschema:"required"`
	DNS      DNS                `yaml:"dns" jsonschema:"required"`
	Apps     map[string]AppConf `yaml:"apps" jsonschema:"required" jsonschema_description:"The apps to run, by catalog name. Example: nextcloud: {}"`
	Backups  Backups            `yaml:"backups" jsonschema:"required"`
	Updates  Updates            `yaml:"updates" jsonschema:"required"`
	Mail     *Mail              `yaml:"mail" jsonschema_description:"The mail server your apps send password resets, invitations and alerts through. Without it those e-mails are not sent; README.md lists what that means for each app."`
	Support  *Support           `yaml:"support" jsonschema_description:"Who you ask for help with this site; the README, the guide, the plan comments and the issues nassella opens name them. Without it they say: ask your co-op."`
	State    *State             `yaml:"state" jsonschema_description:"Where OpenTofu keeps the site's state (encrypted); without it the state stays in the CI workspace, which is only fit for trying nassella out."`
	Danger   Danger             `yaml:"danger_zone" jsonschema_description:"Settings that can lose data. Leave them out unless the co-op asked you to set one."`
}

// Support is the owner's contact for help: the co-op or the person who looks after the
// site. Checked in support.go.
type Support struct {
	Name  string `yaml:"name" jsonschema:"required,minLength=1,maxLength=80" jsonschema_description:"Who helps you, as you would address them. Example: Riverside Tech Co-op"`
	Email string `yaml:"email" jsonschema:"format=email" jsonschema_description:"Their email address. Example: help@riverside.coop"`
	URL   string `yaml:"url" jsonschema:"format=uri" jsonschema_description:"An https address where you reach them: a help page, a ticket form or a chat. Example: https://riverside.coop/help"`
}

// State is the S3-compatible bucket the OpenTofu state lives in, locked with a lock file.
type State struct {
	S3 *S3 `yaml:"s3" jsonschema_description:"Any S3-compatible object storage; credentials are CI secrets."`
}

// Danger holds the switches that allow destructive changes.
type Danger struct {
	AllowDestroyingData bool `yaml:"allow_destroying_data" jsonschema_description:"Allow a change to delete the data volume or the IP addresses (moving or deleting the site). Everything on the volume is lost unless restored from a backup."`
}

// Admin is who runs the site.
type Admin struct {
	Email   string   `yaml:"email" jsonschema:"required,format=email" jsonschema_description:"Receives certificate (ACME) notices and alerts. Example: ops@acme.example"`
	SSHKeys []string `yaml:"ssh_keys" jsonschema:"required,minItems=1" jsonschema_description:"Public SSH keys allowed to log in to the server as user core. Example: ssh-ed25519 AAAA… me@laptop"`
	// BackupKey may only start a backup: the host forces the command for it.
	BackupKey string `yaml:"backup_key" jsonschema_description:"Public SSH key of the CI secret BACKUP_SSH_KEY. The server lets it do one thing only: start a backup (before a change rebuilds the server). Example: ssh-ed25519 AAAA… nassella-ci-backup"`
	// LogsKey may only read the server's logs: the host forces the command for it.
	LogsKey string `yaml:"logs_key" jsonschema_description:"Public SSH key for reading your apps' logs, from the console or nassella logs --logs-key. The server lets it do one thing only: read logs. Example: ssh-ed25519 AAAA… nassella-logs"`
}

// Provider is where the server runs. Exactly one provider is set.
type Provider struct {
	Hetzner   *Hetzner   `yaml:"hetzner" jsonschema_description:"A server in Hetzner Cloud."`
	Libvirt   *Libvirt   `yaml:"libvirt" jsonschema_description:"A server on your own hardware: a Linux machine running libvirt and QEMU (a box in the office, a home lab) that nassella reaches over SSH."`
	OpenStack *OpenStack `yaml:"openstack" jsonschema_description:"A server in an OpenStack cloud (OVHcloud Public Cloud, Infomaniak, Open Telekom Cloud, any OpenStack), in a project of yours."`
	// Previous is where the site ran before a move: kept untouched beside the new server
	// until Retire deletes it (docs/owner/moving.md).
	Previous *Previous `yaml:"previous" jsonschema_description:"While your site moves: the provider it ran on, exactly as it was written under provider before the move. That server and its data stay untouched until you add retire: true. Example: previous: { hetzner: { location: nbg1, server_type: cx33, volume_gb: 50 } }"`
}

// Previous is the platform a moving site leaves: one of its providers, as it was.
type Previous struct {
	Hetzner   *Hetzner   `yaml:"hetzner" jsonschema_description:"The site ran in Hetzner Cloud, with the settings of provider.hetzner."`
	Libvirt   *Libvirt   `yaml:"libvirt" jsonschema_description:"The site ran on your own hardware, with the settings of provider.libvirt."`
	OpenStack *OpenStack `yaml:"openstack" jsonschema_description:"The site ran in an OpenStack cloud, with the settings of provider.openstack."`
	Retire    bool       `yaml:"retire" jsonschema_description:"Delete the old server, its data volume and its addresses, once your site works on its new provider. Everything on the old volume is lost; your data lives on in the new server and its backups. Once that change is applied, remove previous altogether."`
}

// Provider returns the platform as a Provider of its own, so it renders and checks as
// the site's provider did before the move.
func (p Previous) Provider() Provider {
	return Provider{Hetzner: p.Hetzner, Libvirt: p.Libvirt, OpenStack: p.OpenStack}
}

// HasIPv6 says whether the site's names get AAAA records: a Hetzner server always has an
// IPv6 address, a server on the owner's hardware when site.yaml gives one, an OpenStack
// server never (floating IPs are IPv4, site-template/terraform/openstack/network.tf).
func (p Provider) HasIPv6() bool {
	switch {
	case p.Libvirt != nil:
		return p.Libvirt.IPv6 != ""
	case p.OpenStack != nil:
		return false
	}
	return true
}

// Platforms names the providers set, in site.yaml's order of the fields.
func (p Provider) Platforms() []string {
	var out []string
	if p.Hetzner != nil {
		out = append(out, "hetzner")
	}
	if p.Libvirt != nil {
		out = append(out, "libvirt")
	}
	if p.OpenStack != nil {
		out = append(out, "openstack")
	}
	return out
}

// Hetzner is a Hetzner Cloud server.
type Hetzner struct {
	Location   string `yaml:"location" jsonschema:"required,enum=fsn1,enum=nbg1,enum=hel1,enum=ash,enum=hil,enum=sin" jsonschema_description:"Hetzner location. Example: nbg1"`
	ServerType string `yaml:"server_type" jsonschema:"required,enum=cx23,enum=cx33,enum=cx43,enum=cx53,enum=cpx12,enum=cpx22,enum=cpx32,enum=cpx42,enum=cpx52,enum=cpx62,enum=ccx13,enum=ccx23,enum=ccx33,enum=ccx43,enum=ccx53,enum=ccx63" jsonschema_description:"Hetzner server type; its memory must fit the apps. Older types (cx22 to cx52, cpx11 to cpx51) can no longer be ordered, and every change rebuilds the server, so nassella refuses them. Example: cx33"`
	VolumeGB   int    `yaml:"volume_gb" jsonschema:"required,minimum=10,maximum=10240" jsonschema_description:"Size of the data volume in GB; it holds all app data and can grow later. Example: 50"`
}

// DNS is who serves the records for the site's domains. Exactly one is set; the modes
// are explained and checked in dns.go.
type DNS struct {
	Hetzner     *HetznerDNS  `yaml:"hetzner" jsonschema_description:"nassella keeps your domain's records at Hetzner: you point the domain (or a part of it, like apps.example.org) at Hetzner's name servers. Example: hetzner: { delegation: subdomain }"`
	RecordsOnly *RecordsOnly `yaml:"records_only" jsonschema_description:"Your domain stays where it is: you add the addresses of your apps at your own DNS host, and nassella tells you which. Your e-mail and website there are not touched. Example: records_only: {}"`
}

// RecordsOnly has no settings: the README and the doctor name the records to add.
type RecordsOnly struct{}

// HetznerDNS is a zone at Hetzner named after the domain (and one for each app domain).
type HetznerDNS struct {
	Delegation string      `yaml:"delegation" jsonschema:"enum=whole_domain,enum=subdomain" jsonschema_description:"whole_domain (the default): your whole domain moves to Hetzner, so every record it needs (e-mail, website) must be listed under records. subdomain: only the site's domain, like apps.example.org, moves; your main domain, its e-mail and website stay where they are. Example: subdomain"`
	Records    []DNSRecord `yaml:"records" jsonschema_description:"Records your domain needs besides the apps (e-mail, website, verification), kept in the zone with the apps'. Example: [ { name: \"@\", type: MX, value: \"10 mx.mail.example.\" } ]"`
}

// DNSRecord is one record the owner keeps in the zone.
type DNSRecord struct {
	Name  string `yaml:"name" jsonschema:"required,minLength=1,maxLength=253" jsonschema_description:"Where the record is, inside the site's domain: @ for the domain itself, www for www.<domain>. Example: @"`
	Type  string `yaml:"type" jsonschema:"required,enum=A,enum=AAAA,enum=CAA,enum=CNAME,enum=MX,enum=SRV,enum=TXT" jsonschema_description:"Kind of record. Example: MX"`
	Value string `yaml:"value" jsonschema:"required,minLength=1" jsonschema_description:"What the record says, as your mail or web host gives it: an address for A/AAAA, '10 mx.mail.example.' for MX, the text for TXT (without quotes), a host name for CNAME, '0 issue \"letsencrypt.org\"' for CAA, '10 5 443 host.example.' for SRV. Example: 10 mx.mail.example."`
	TTL   int    `yaml:"ttl" jsonschema:"minimum=60,maximum=86400" jsonschema_description:"How long, in seconds, other servers may remember the record; 3600 when left out. Example: 3600"`
}

// AppConf is a site's choices for one catalog app.
type AppConf struct {
	Subdomain string `yaml:"subdomain" jsonschema_description:"Overrides the app's default subdomain. Example: vault"`
	Domain    string `yaml:"domain" jsonschema_description:"Serve this app under another domain than the site's. Example: acme.org"`
}

// Backups says when and where the data volume is backed up.
type Backups struct {
	Schedule string `yaml:"schedule" jsonschema:"required,pattern=^(hourly|daily ([01][0-9]|2[0-3]):[0-5][0-9])$" jsonschema_description:"When backups run, in the site's timezone: 'daily HH:MM' or 'hourly'. Example: daily 03:00"`
	Keep     Keep   `yaml:"keep" jsonschema:"required"`
	Target   Target `yaml:"target" jsonschema:"required"`
	// HeartbeatURL is fetched after every successful backup, so a missed one is noticed
	// by a service that waits for it (healthchecks.io, Uptime Kuma push monitors).
	// Restore is for a server that takes the site over: it restores this backup onto a
	// blank data volume before its apps start (hostcontract.RestoreUnit).
	Restore      string `yaml:"restore" jsonschema:"pattern=^(latest|[0-9a-f]{8\\,64})$" jsonschema_description:"Only when moving your site or bringing it back after a loss, as your co-op says: a new server restores this backup (latest, or a snapshot ID) onto its blank data volume before the apps start. A data volume that holds data is never overwritten. Example: latest"`
	HeartbeatURL string `yaml:"heartbeat_url" jsonschema:"format=uri" jsonschema_description:"Optional https address the server calls after every successful backup; a monitoring service (healthchecks.io, an Uptime Kuma push monitor) alerts you when a call is missing. Example: https://hc-ping.com/your-uuid"`
}

// Keep is how many snapshots are kept of each age.
type Keep struct {
	Daily   int `yaml:"daily" jsonschema:"minimum=0,maximum=1000" jsonschema_description:"Daily snapshots to keep. Example: 7"`
	Weekly  int `yaml:"weekly" jsonschema:"minimum=0,maximum=1000" jsonschema_description:"Weekly snapshots to keep. Example: 4"`
	Monthly int `yaml:"monthly" jsonschema:"minimum=0,maximum=1000" jsonschema_description:"Monthly snapshots to keep. Example: 6"`
}

// Target is where backups go. Exactly one is set; its credentials are CI secrets, never here.
type Target struct {
	S3 *S3 `yaml:"s3" jsonschema_description:"Any S3-compatible object storage (Hetzner Object Storage, Backblaze B2, ...)."`
}

// S3 is an S3-compatible bucket.
type S3 struct {
	Endpoint string `yaml:"endpoint" jsonschema:"required" jsonschema_description:"HTTPS endpoint of the S3 service. Example: https://fsn1.your-objectstorage.com"`
	Bucket   string `yaml:"bucket" jsonschema:"required,pattern=^[a-z0-9][a-z0-9.-]*[a-z0-9]$,minLength=3,maxLength=63" jsonschema_description:"Bucket name. Example: acme-backups"`
	Region   string `yaml:"region" jsonschema_description:"Region, where the service needs one. Example: eu-central"`
}

// Updates says which releases the site gets and when the server may restart for them.
type Updates struct {
	Plan      string `yaml:"plan" jsonschema:"enum=full,enum=os-only,default=full" jsonschema_description:"What the co-op keeps up to date for you. full (the default): each tested release of your apps and of the server's setup comes as a pull request for you to merge. os-only: only the server's operating system updates itself; your apps keep their versions until you switch back to full. Example: full"`
	Channel   string `yaml:"channel" jsonschema:"required,enum=stable,enum=testing" jsonschema_description:"Which catalog releases this site gets."`
	Window    string `yaml:"window" jsonschema:"required,pattern=^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([01][0-9]|2[0-3]):[0-5][0-9]$" jsonschema_description:"Start of the weekly one-hour maintenance window, 'Day HH:MM'. Example: Sun 03:00"`
	Timezone  string `yaml:"timezone" jsonschema:"required" jsonschema_description:"IANA timezone of the window and the backup schedule. Example: Europe/Berlin"`
	Automerge bool   `yaml:"automerge" jsonschema_description:"Merge update pull requests by themselves once their checks pass."`
}
