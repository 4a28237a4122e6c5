package deploy

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/nassella/nassella/generator/render/terraform"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/forge"
)

// Summary is what a plan does, in words a site owner understands: what happens to their
// site, not which resources change (those stay in the technical details).
type Summary struct {
	Headline string
	// When says when the change applies: at once, or in the site's maintenance window
	// (Timing, window.go); empty when nothing changes or the plan knows no site.
	When     string
	Lines    []string
	Warnings []string
	// Counts is the technical tally, "Plan: 1 to rebuild, 2 to change.", for logs and
	// the technical details.
	Counts string
	// Support is who the owner asks, in Markdown, or "your co-op".
	Support string
}

// Summarize turns a plan's changes into owner words. What it promises comes from the site
// the plan was made for (p.Site): a backup before a rebuild only with admin.backup_key.
func Summarize(p *Plan) Summary {
	s := Summary{Support: site.NoSupport}
	backupKey := false
	if p.Site != nil {
		s.Support = p.Site.Support.Markdown()
		backupKey = p.Site.Admin.BackupKey != ""
	}
	if len(p.Changes) > 0 {
		s.When = Timing(p) // window.go
	}
	hosts := map[string]string{} // host → action of its DNS records
	network := map[string]bool{} // actions on the site's network already told
	counts := map[string]int{}
	retireTold := false
	for _, c := range p.Changes {
		counts[c.Action]++
		// The old server of a moving site: untouched (frozen) until its retire deletes it.
		if strings.HasPrefix(c.Address, terraform.PreviousModule+".") {
			if p.Retires && c.Action == "delete" && !retireTold {
				retireTold = true
				s.Warnings = append(s.Warnings, retireLine(p))
			}
			continue
		}
		switch c.Kind() {
		case KindServer:
			switch c.Action {
			case "replace":
				line := "The server will be rebuilt with the new setup, because your apps' settings or the server's setup changed. Your data volume and IP addresses stay; your apps are offline for a few minutes."
				if backupKey {
					line += " A backup of all your data is taken first."
				} else if p.Site != nil {
					s.Warnings = append(s.Warnings, fmt.Sprintf("The server must be rebuilt, but site.yaml has no admin.backup_key, so no backup can be taken first: merging stops before anything changes. Ask %s to set up the backup key.", s.Support))
				}
				s.Lines = append(s.Lines, line)
			case "create":
				if p.Moves {
					s.Lines = append(s.Lines, moveLine(p))
					break
				}
				s.Lines = append(s.Lines, "Your server will be created and your apps installed on it.")
			case "update":
				s.Lines = append(s.Lines, "The server's setup will change without a rebuild; if its size changes, it restarts once and your apps are offline for a few minutes.")
			case "delete":
				s.Warnings = append(s.Warnings, "The server will be deleted.")
			}
			// A new server with the restore instruction (hostcontract.RestoreUnit).
			if (c.Action == "create" || c.Action == "replace") && p.Site != nil && p.Site.Backups.Restore != "" {
				s.Lines = append(s.Lines, fmt.Sprintf("backups.restore is set: if the new server finds its data volume empty, it first brings back your backup (%s), before any app starts. A data volume that holds data is left as it is.", p.Site.Backups.Restore))
			}
		case KindData:
			switch c.Action {
			case "create":
				s.Lines = append(s.Lines, fmt.Sprintf("A data volume of %s will be created for your apps' data.", c.Detail))
			case "update":
				s.Lines = append(s.Lines, fmt.Sprintf("The data volume will grow to %s.", c.Detail))
			default:
				s.Warnings = append(s.Warnings, "The data volume and EVERYTHING ON IT will be deleted.")
			}
		case KindAddress:
			switch c.Action {
			case "create":
				s.Lines = append(s.Lines, fmt.Sprintf("A fixed %s address will be reserved for your site.", ipName(c.Detail)))
			case "delete", "replace":
				s.Warnings = append(s.Warnings, fmt.Sprintf("Your site's %s address will be released: every app's address changes.", ipName(c.Detail)))
			}
		case "hcloud_zone_rrset":
			// The owner's own records (MX, the website, ...) are not app addresses.
			if strings.HasPrefix(c.Address, "hcloud_zone_rrset.owner[") {
				s.Lines = append(s.Lines, fmt.Sprintf("Your own record for %s (dns.hetzner.records in site.yaml) will be %s.", c.Detail, pastTense(c.Action)))
			} else if c.Detail != "" {
				hosts[c.Detail] = c.Action
			}
		case "hcloud_zone":
			switch c.Action {
			case "create":
				s.Lines = append(s.Lines, fmt.Sprintf("A DNS zone for %s will be created; your domain's name servers must point at it (ask %s which).", c.Detail, s.Support))
			case "delete":
				s.Warnings = append(s.Warnings, fmt.Sprintf("The DNS zone for %s will be deleted.", c.Detail))
			}
		case "hcloud_firewall":
			if c.Action == "create" {
				s.Lines = append(s.Lines, "The firewall will let only web traffic (80, 443), SSH and ping through.")
			} else {
				s.Lines = append(s.Lines, "The firewall rules will change.")
			}
		case KindNetwork:
			// The site's own network, router, firewall and port (OpenStack): one line.
			if !network[c.Action] {
				network[c.Action] = true
				switch c.Action {
				case "create":
					s.Lines = append(s.Lines, "The site's own network will be set up: a private network and its router, and a firewall that lets only web traffic (80, 443), SSH and ping through.")
				case "delete":
					s.Lines = append(s.Lines, "Parts of the site's own network (its router, firewall or private network) will be removed.")
				default:
					s.Lines = append(s.Lines, "The site's own network or its firewall rules will change.")
				}
			}
		case "hcloud_ssh_key":
			// Rescue keys: too technical to list one by one.
		case KindFollows:
			// Follows the server and the volume.
		case "terraform_data":
			// nassella's own records (ignition.tf): the server's setup shows as its rebuild;
			// new backup settings change the running server.
			if l := SetupLine(p, c); l != "" {
				s.Lines = append(s.Lines, l)
			}
		default:
			s.Lines = append(s.Lines, fmt.Sprintf("Another part of the server's setup (`%s`) will be %s.", c.Address, pastTense(c.Action)))
		}
	}
	s.Lines = append(s.Lines, recordsToAdd(p)...)
	names := make([]string, 0, len(hosts))
	for h := range hosts {
		names = append(names, h)
	}
	sort.Strings(names)
	for _, h := range names {
		switch hosts[h] {
		case "create":
			s.Lines = append(s.Lines, fmt.Sprintf("https://%s will point at your server.", h))
		case "delete":
			s.Lines = append(s.Lines, fmt.Sprintf("https://%s will no longer point at your server.", h))
		case "update", "replace":
			s.Lines = append(s.Lines, fmt.Sprintf("The address of https://%s will be updated.", h))
		}
	}
	if len(p.Unverified) > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("This plan was made with --allow-unverified: %d pieces of the server's software have no checked digest yet (%s). Fine for a test project; never merge it for a real site.", len(p.Unverified), strings.Join(p.Unverified, ", ")))
	}
	for _, r := range p.Reads {
		if w := callOut(r); w != "" {
			s.Warnings = append(s.Warnings, w+" Nassella never generates this: do not merge unless you know why it is there.")
		}
	}
	s.Headline = headline(p)
	if len(p.Changes) == 0 {
		s.Counts = "Plan: no changes."
		return s
	}
	var parts []string
	for _, a := range []string{"create", "replace", "update", "delete"} {
		if counts[a] > 0 {
			parts = append(parts, fmt.Sprintf("%d to %s", counts[a], map[string]string{"create": "add", "replace": "rebuild", "update": "change", "delete": "remove"}[a]))
		}
	}
	s.Counts = "Plan: " + strings.Join(parts, ", ") + "."
	return s
}

// moveLine tells a move (provider.previous in site.yaml) in the owner's words.
func moveLine(p *Plan) string {
	from, to := "the old provider", "the new one"
	if p.Site != nil && p.Site.Provider.Previous != nil {
		from = platformName[terraform.PlatformOf(p.Site.Provider.Previous.Provider())]
		to = platformName[terraform.Platform(p.Site)]
	}
	names := "and your addresses then point at the new server"
	if p.Site != nil && p.Site.DNSMode() == site.DNSRecordsOnly {
		// Nobody but the owner changes those records (dns: records_only).
		names = "and once every app answers there, you point your addresses at it (the records below, at your DNS host)"
	}
	return fmt.Sprintf("Your site moves from %s to %s: a backup of all your data is taken on the old server first, the new server restores it before its apps start, %s. The old server and its data volume stay as they are, untouched, until you ask for them to be deleted.", from, to, names)
}

// retireLine tells the retire of a moved site's old server.
func retireLine(p *Plan) string {
	from := "the old provider"
	if p.Site != nil && p.Site.Provider.Previous != nil {
		from = platformName[terraform.PlatformOf(p.Site.Provider.Previous.Provider())]
	}
	return fmt.Sprintf("The old server at %s, its data volume with EVERYTHING ON IT and its addresses will be deleted (provider.previous.retire in site.yaml). Your site keeps running on its new server, with the data it brought along and its backups. Once this is applied, remove previous from site.yaml.", from)
}

// platformName is each platform as the owner knows it.
var platformName = map[string]string{"hetzner": "Hetzner Cloud", "libvirt": "your own machine", "openstack": "your OpenStack cloud"}

// headline is the one sentence the owner reads first: what merging does to their site.
func headline(p *Plan) string {
	server, retired := "", false
	for _, c := range p.Changes {
		if strings.HasPrefix(c.Address, terraform.PreviousModule+".") {
			retired = retired || (c.Kind() == KindServer && c.Action == "delete")
			continue
		}
		if c.Kind() == KindServer {
			server = c.Action
		}
	}
	switch {
	case len(p.Changes) == 0:
		return "Nothing changes on your server."
	case retired:
		return "The old server your site moved away from will be deleted, with its data: read the warnings below. Your site keeps running."
	case server == "create" && p.Moves:
		return "Your site moves to a new server; the old one stays until you delete it."
	case server == "create":
		return "Your server will be created."
	case server == "replace":
		return "Your server will be rebuilt: your apps are offline for a few minutes."
	case server == "update":
		return "Your server will be changed without a rebuild."
	case server == "delete":
		return "Your server will be deleted: read the warnings below."
	}
	return "Your site will be changed; your apps keep running."
}

// ipName is "IPv4" for the provider's "ipv4".
func ipName(t string) string {
	return strings.Replace(t, "ip", "IP", 1)
}

// siteProviders are the providers nassella's Terraform reads and changes sites with, one
// per platform (site-template/terraform/*/versions.tf).
var siteProviders = []string{"hetznercloud/hcloud", "dmacvicar/libvirt", "terraform-provider-openstack/openstack"}

// siteProvider reports whether the provider is one of them, by its short name or its
// full source address.
func siteProvider(p string) bool {
	for _, sp := range siteProviders {
		if p == path.Base(sp) || strings.HasSuffix(p, "/"+sp) {
			return true
		}
	}
	return false
}

// callOut says in plain words why a reviewer must look at a data source: it runs a program
// or reaches beyond the site's own project while the plan is made, where the site's
// tokens are at hand. The site's own providers' data sources need no word.
func callOut(r Read) string {
	switch {
	case r.Type == "external":
		return fmt.Sprintf("The configuration runs a program (%s) on the machine that makes the plan, where the site's tokens are.", r.Address)
	case r.Type == "http":
		return fmt.Sprintf("The configuration fetches a web address (%s) while the plan is made.", r.Address)
	case !siteProvider(r.Provider):
		return fmt.Sprintf("The configuration reads %s through the %s provider, not one of the site's own: it may reach anywhere.", r.Address, r.Provider)
	}
	return ""
}

func pastTense(action string) string {
	return map[string]string{"create": "created", "update": "changed", "replace": "replaced", "delete": "deleted"}[action]
}

// Text renders the summary for a terminal or CI log, with the technical tally.
func (s Summary) Text() string {
	var b strings.Builder
	b.WriteString(s.Headline + "\n")
	if s.When != "" {
		b.WriteString("  " + s.When + "\n")
	}
	for _, w := range s.Warnings {
		b.WriteString("  WARNING: " + w + "\n")
	}
	for _, l := range s.Lines {
		b.WriteString("  - " + l + "\n")
	}
	b.WriteString("  " + s.Counts + "\n")
	return b.String()
}

// CommentMarker opens the sticky pull-request comment, so the workflow updates one
// comment rather than adding one per push.
const CommentMarker = forge.PlanCommentMarker

// Markdown renders the summary as the sticky pull-request comment: the owner's words
// first, the technical list folded away, and the plan digest the merge is checked against.
func (s Summary) Markdown(p *Plan) string {
	var b strings.Builder
	b.WriteString(CommentMarker + "\n")
	fmt.Fprintf(&b, "<!-- nassella-plan-digest: %s -->\n", p.Digest)
	b.WriteString("### What merging this pull request does\n\n")
	fmt.Fprintf(&b, "**%s**\n\n", s.Headline)
	if s.When != "" {
		fmt.Fprintf(&b, "%s\n\n", s.When)
	}
	for _, w := range s.Warnings {
		fmt.Fprintf(&b, "> [!WARNING]\n> %s\n\n", w)
	}
	for _, l := range s.Lines {
		fmt.Fprintf(&b, "- %s\n", l)
	}
	if len(p.Changes)+len(p.Reads) > 0 {
		fmt.Fprintf(&b, "\n<details><summary>Technical details</summary>\n\n%s\n\n| Resource | Change |\n|---|---|\n", s.Counts)
		for _, c := range p.Changes {
			fmt.Fprintf(&b, "| `%s` | %s |\n", c.Address, c.Action)
		}
		for _, r := range p.Reads {
			fmt.Fprintf(&b, "| `%s` | read (%s) |\n", r.Address, r.Provider)
		}
		fmt.Fprintf(&b, "\nPlan digest `%s`: merging applies exactly these changes, or nothing.\n\n</details>\n", p.Digest)
	}
	fmt.Fprintf(&b, "\nQuestions about this change? Ask %s.\n", s.Support)
	return b.String()
}

// recordsToAdd tells a records_only site's owner, who keeps the domain's records at
// their own DNS host, which records to add there: every app's on a new server; on a
// rebuild the plan cannot tell which app is new, so it points at the README's list.
func recordsToAdd(p *Plan) []string {
	if p.Site == nil || p.Site.DNSMode() != site.DNSRecordsOnly {
		return nil
	}
	records := "A record"
	if p.Site.Provider.HasIPv6() {
		records = "A and AAAA records"
	}
	var out []string
	for _, c := range p.Changes {
		if c.Kind() != KindServer {
			continue
		}
		switch c.Action {
		case "create":
			for _, a := range p.Site.Apps {
				out = append(out, fmt.Sprintf("Add the %s of https://%s at your DNS host once the server exists (README.md lists them; the addresses are in the log of this change, under records_to_add).", records, a.Host))
			}
		case "replace":
			out = append(out, fmt.Sprintf("If this change adds an app, add the %s of its address at your DNS host (README.md lists every name).", records))
		}
	}
	return out
}
