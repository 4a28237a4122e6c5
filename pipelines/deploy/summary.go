package deploy

import (
	"fmt"
	"sort"
	"strings"
)

// Summary is what a plan does, in words a site owner understands.
type Summary struct {
	Headline string
	Lines    []string
	Warnings []string
}

// Summarize turns a plan's changes into owner words.
func Summarize(p *Plan) Summary {
	var s Summary
	hosts := map[string]string{} // host → action of its DNS records
	counts := map[string]int{}
	for _, c := range p.Changes {
		counts[c.Action]++
		switch c.Type {
		case "hcloud_server":
			switch c.Action {
			case "replace":
				s.Lines = append(s.Lines, "The server will be rebuilt with the new configuration (apps, versions or settings changed). Your data volume and IP addresses stay; a backup is taken first and the apps are offline for a few minutes.")
			case "create":
				s.Lines = append(s.Lines, "Your server will be created and your apps installed on it.")
			case "update":
				s.Lines = append(s.Lines, "Server settings will change without a rebuild.")
			case "delete":
				s.Warnings = append(s.Warnings, "The server will be deleted.")
			}
		case "hcloud_volume":
			switch c.Action {
			case "create":
				s.Lines = append(s.Lines, fmt.Sprintf("A data volume of %s will be created for your apps' data.", c.Detail))
			case "update":
				s.Lines = append(s.Lines, fmt.Sprintf("The data volume will grow to %s.", c.Detail))
			default:
				s.Warnings = append(s.Warnings, "The data volume and EVERYTHING ON IT will be deleted.")
			}
		case "hcloud_primary_ip":
			switch c.Action {
			case "create":
				s.Lines = append(s.Lines, fmt.Sprintf("A fixed %s address will be reserved for the site.", strings.ToUpper(strings.Replace(c.Detail, "ip", "IP", 1))))
			case "delete", "replace":
				s.Warnings = append(s.Warnings, fmt.Sprintf("The site's %s address will be released: every app's address changes.", c.Detail))
			}
		case "hcloud_zone_rrset":
			if c.Detail != "" {
				hosts[c.Detail] = c.Action
			}
		case "hcloud_zone":
			switch c.Action {
			case "create":
				s.Lines = append(s.Lines, fmt.Sprintf("A DNS zone for %s will be created; your domain's name servers must point at it (the co-op tells you which).", c.Detail))
			case "delete":
				s.Warnings = append(s.Warnings, fmt.Sprintf("The DNS zone for %s will be deleted.", c.Detail))
			}
		case "hcloud_firewall":
			if c.Action == "create" {
				s.Lines = append(s.Lines, "The firewall will let only web traffic (80, 443), SSH and ping through.")
			} else {
				s.Lines = append(s.Lines, "The firewall rules will change.")
			}
		case "hcloud_ssh_key":
			// Rescue keys: too technical to list one by one.
		case "hcloud_volume_attachment":
			// Follows the server and the volume.
		default:
			s.Lines = append(s.Lines, fmt.Sprintf("%s will be %s.", c.Address, pastTense(c.Action)))
		}
	}
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
	for _, r := range p.Reads {
		if w := callOut(r); w != "" {
			s.Warnings = append(s.Warnings, w+" Nassella never generates this: do not merge unless you know why it is there.")
		}
	}
	if len(p.Changes) == 0 {
		s.Headline = "Nothing changes on the server."
		return s
	}
	var parts []string
	for _, a := range []string{"create", "replace", "update", "delete"} {
		if counts[a] > 0 {
			parts = append(parts, fmt.Sprintf("%d to %s", counts[a], map[string]string{"create": "add", "replace": "rebuild", "update": "change", "delete": "remove"}[a]))
		}
	}
	s.Headline = "Plan: " + strings.Join(parts, ", ") + "."
	return s
}

// siteProvider is the one provider nassella's Terraform reads and changes the site with.
const siteProvider = "hetznercloud/hcloud"

// callOut says in plain words why a reviewer must look at a data source: it runs a program
// or reaches beyond the site's Hetzner project while the plan is made, where the site's
// tokens are at hand. The site's own provider's data sources need no word.
func callOut(r Read) string {
	switch {
	case r.Type == "external":
		return fmt.Sprintf("The configuration runs a program (%s) on the machine that makes the plan, where the site's tokens are.", r.Address)
	case r.Type == "http":
		return fmt.Sprintf("The configuration fetches a web address (%s) while the plan is made.", r.Address)
	case r.Provider != "hcloud" && !strings.HasSuffix(r.Provider, "/"+siteProvider):
		return fmt.Sprintf("The configuration reads %s through the %s provider, not the site's Hetzner one: it may reach anywhere.", r.Address, r.Provider)
	}
	return ""
}

func pastTense(action string) string {
	return map[string]string{"create": "created", "update": "changed", "replace": "replaced", "delete": "deleted"}[action]
}

// Text renders the summary for a terminal or CI log.
func (s Summary) Text() string {
	var b strings.Builder
	b.WriteString(s.Headline + "\n")
	for _, w := range s.Warnings {
		b.WriteString("  WARNING: " + w + "\n")
	}
	for _, l := range s.Lines {
		b.WriteString("  - " + l + "\n")
	}
	return b.String()
}

// CommentMarker opens the sticky pull-request comment, so the workflow updates one
// comment rather than adding one per push.
const CommentMarker = "<!-- nassella-plan -->"

// Markdown renders the summary as the sticky pull-request comment, with the technical
// list folded away and the plan digest the merge is checked against.
func (s Summary) Markdown(p *Plan) string {
	var b strings.Builder
	b.WriteString(CommentMarker + "\n")
	fmt.Fprintf(&b, "<!-- nassella-plan-digest: %s -->\n", p.Digest)
	b.WriteString("### What merging this pull request does\n\n")
	fmt.Fprintf(&b, "**%s**\n\n", s.Headline)
	for _, w := range s.Warnings {
		fmt.Fprintf(&b, "> [!WARNING]\n> %s\n\n", w)
	}
	for _, l := range s.Lines {
		fmt.Fprintf(&b, "- %s\n", l)
	}
	if len(p.Changes)+len(p.Reads) > 0 {
		b.WriteString("\n<details><summary>Technical details</summary>\n\n| Resource | Change |\n|---|---|\n")
		for _, c := range p.Changes {
			fmt.Fprintf(&b, "| `%s` | %s |\n", c.Address, c.Action)
		}
		for _, r := range p.Reads {
			fmt.Fprintf(&b, "| `%s` | read (%s) |\n", r.Address, r.Provider)
		}
		b.WriteString("\n</details>\n")
	}
	fmt.Fprintf(&b, "\nPlan digest `%s`: merging applies exactly these changes, or nothing.\n", p.Digest)
	return b.String()
}
