package catalog

// Release is one immutable catalog release: the apps, and the pieces every host runs
// (the reverse proxy, the compose plugin), all pinned together.
type Release struct {
	Release string            `yaml:"release"` // YYYY.MM.N
	Channel string            `yaml:"channel"` // stable or testing
	Flatcar Flatcar           `yaml:"flatcar"`
	Compose ComposeSysext     `yaml:"compose"`
	Proxy   Image             `yaml:"proxy"`  // the Caddy image every site runs in front of its apps
	Backup  Image             `yaml:"backup"` // the restic image the host backs up and restores with
	Apps    map[string]*App   `yaml:"-"`      // from apps/*.yaml, by name
	Files   map[string]string `yaml:"-"`      // app name → file it was read from, for messages
}

// Flatcar names the OS the hosts boot: the snapshot the site's Terraform looks up by label.
type Flatcar struct {
	Channel    string `yaml:"channel"`     // Flatcar's update group: stable, beta
	MinVersion string `yaml:"min_version"` // oldest snapshot a site may boot from
}

// ComposeSysext is the Docker Compose plugin as a Flatcar systemd-sysext image.
type ComposeSysext struct {
	Version string `yaml:"version"`
	URL     string `yaml:"url"`
	// SHA512 of the image, hex. Empty until the catalog pipeline has read it from the
	// release; a site built without it is marked unpinned.
	SHA512  string   `yaml:"sha512"`
	Checked *Checked `yaml:"checked"` // what upstream showed when last compared
}

// Image is a container image pinned by tag and, once read from the registry, by digest.
type Image struct {
	Image string `yaml:"image"` // fully qualified repository, e.g. docker.io/library/postgres
	Tag   string `yaml:"tag"`
	// Digest of the multi-arch index ("sha256:…"), filled only by the catalog pipeline from
	// the registry; never written by hand.
	Digest string `yaml:"digest"`
	// Versioning is how nassella catalog check-updates finds a newer tag; without it the
	// image is never checked.
	Versioning *Versioning `yaml:"versioning"`
	// Checked is what upstream showed when release.yaml's images were last compared with
	// it (an app records it once, for the whole entry).
	Checked *Checked `yaml:"checked"`
}

// Versioning is an image's update policy: which of the registry's tags are versions of
// the same variant, and how far the pipeline may move on its own.
type Versioning struct {
	// Tags is a regular expression every tag of this variant matches as a whole, with a
	// group named version capturing a semantic version:
	// '^(?P<version>[0-9]+\.[0-9]+\.[0-9]+)-alpine$'. Tags that do not match (other
	// variants, latest, dates) are never proposed, nor are pre-releases (1.36.0-rc.1).
	Tags string `yaml:"tags"`
	// Allow is the largest step proposed: patch, minor (the default: stay within the major
	// version, and within 0.y while the major is 0) or major.
	Allow string `yaml:"allow"`
	// SameAs names another service of the app this one moves with (the same image run
	// twice, or images upstream releases together): its new tag is the one with the same
	// version, and the app waits until both exist.
	SameAs string `yaml:"same_as"`
	// Majors is what check-updates does with a new major version beyond Allow: propose
	// (the default: its own proposal, marked as a major upgrade), listed (only the majors
	// the app's upgrades name) or never (noted only; see MajorsNever).
	Majors string `yaml:"majors"`
}

// Allowed steps for Versioning.Allow.
const (
	AllowPatch = "patch"
	AllowMinor = "minor"
	AllowMajor = "major"
)

// Ref is the image reference compose pulls: by digest when pinned, by tag otherwise.
func (i Image) Ref() string {
	if i.Digest != "" {
		return i.Image + ":" + i.Tag + "@" + i.Digest
	}
	return i.Image + ":" + i.Tag
}

// App is one catalog entry: everything needed to run it on a site.
type App struct {
	Name      string `yaml:"name"`
	Title     string `yaml:"title"`
	Summary   string `yaml:"summary"`
	Homepage  string `yaml:"homepage"`
	Version   string `yaml:"version"`   // the upstream version owners see
	Changelog string `yaml:"changelog"` // upstream release notes for Version
	// ChangelogTemplate is Changelog for any version: {version}, {major}, {minor} and
	// {patch} are replaced. The app's version is the version in its http service's tag.
	ChangelogTemplate string `yaml:"changelog_template"`
	// Checked is what upstream showed when the entry was last compared with it.
	Checked *Checked `yaml:"checked"`
	// Upgrades are what moving to each major version needs (see Upgrade).
	Upgrades []Upgrade `yaml:"upgrades"`

	Subdomain string `yaml:"subdomain"` // default; a site may override it
	MemoryMB  int    `yaml:"memory_mb"` // what all its services need together in normal use
	HTTP      HTTP   `yaml:"http"`
	Health    Health `yaml:"health"`
	// Caddy directives added inside the app's site block (redirects, body limits).
	Caddy    string              `yaml:"caddy"`
	Secrets  []Secret            `yaml:"secrets"`
	Volumes  []Volume            `yaml:"volumes"`
	Backup   Backup              `yaml:"backup"`
	Services map[string]*Service `yaml:"services"`
	Mail     *Mail               `yaml:"mail"`  // how the app sends e-mail (mail.go)
	Files    []File              `yaml:"files"` // settings files seeded once (files.go)
	Claim    *Claim              `yaml:"claim"` // how its administrator is created (claim.go)
}

// HTTP is where Caddy sends the app's traffic.
type HTTP struct {
	Service string `yaml:"service"`
	Port    int    `yaml:"port"`
}

// Health is how to tell from outside that the app works.
type Health struct {
	Path   string `yaml:"path"`
	Status int    `yaml:"status"`
}

// Secret is generated on the host at first boot and kept on the data volume; compose
// reads it as ${NAME}.
type Secret struct {
	Name   string `yaml:"name"`
	Length int    `yaml:"length"` // characters of [A-Za-z0-9]
}

// Volume is a folder of the app's data under /var/lib/nassella/apps/<app>/<name>.
type Volume struct {
	Name  string `yaml:"name"`
	Owner string `yaml:"owner"` // "uid:gid" the folder is created with; root when empty
	Mode  string `yaml:"mode"`  // octal, e.g. "0750"; 0750 when empty
}

// Backup says how to make the app's data consistent before the volume is backed up.
type Backup struct {
	Hooks   []Hook   `yaml:"hooks"`
	Exclude []string `yaml:"exclude"` // volumes that are caches, not data
}

// Hook runs a command in one of the app's containers and keeps its output as a dump.
type Hook struct {
	Service string   `yaml:"service"`
	Command []string `yaml:"command"`
	Output  string   `yaml:"output"` // file name under the app's dumps folder
}

// Service is one container of the app.
type Service struct {
	Image       `yaml:",inline"`
	Command     []string          `yaml:"command"`
	Entrypoint  []string          `yaml:"entrypoint"`
	User        string            `yaml:"user"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"` // "<volume>:<path in container>[:ro]"
	Tmpfs       []string          `yaml:"tmpfs"`
	ShmSize     string            `yaml:"shm_size"`
	DependsOn   []string          `yaml:"depends_on"`
	Healthcheck *Healthcheck      `yaml:"healthcheck"`
}

// Healthcheck is the container's own health probe, so dependants wait for it.
type Healthcheck struct {
	Test        []string `yaml:"test"`
	Interval    string   `yaml:"interval"`
	Timeout     string   `yaml:"timeout"`
	Retries     int      `yaml:"retries"`
	StartPeriod string   `yaml:"start_period"`
}
