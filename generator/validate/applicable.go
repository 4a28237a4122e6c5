package validate

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/internal/diag"
	"github.com/nassella/nassella/internal/inputfile"
	"github.com/nassella/nassella/internal/strictyaml"
)

// ApplicableCheck is the check that a site which loads can also be applied: no
// placeholder left from the skeleton, a backup key for the backup the plan promises, a
// place for the state. The template's example SSH key is refused when site.yaml loads.
const ApplicableCheck = "ready to apply"

// reservedTLDs never resolve on the internet: RFC 2606 §2 (.example, .test, .invalid,
// .localhost) and RFC 6761 §6.
var reservedTLDs = []string{"example", "test", "invalid", "localhost"}

// reservedDomains are the second-level names RFC 2606 §3 reserves for documentation.
var reservedDomains = []string{"example.com", "example.net", "example.org"}

// skeletonBuckets are the buckets site-template/site.yaml names before nassella init
// puts the site's name in.
var skeletonBuckets = []string{"mysite-backups", "mysite-state"}

// placeholderDomain says why d cannot be a real domain, or "".
func placeholderDomain(d string) string {
	d = strings.TrimSuffix(strings.ToLower(d), ".")
	for _, r := range reservedDomains {
		if d == r || strings.HasSuffix(d, "."+r) {
			return r + " is reserved for examples (RFC 2606)"
		}
	}
	tld := d[strings.LastIndexByte(d, '.')+1:]
	for _, t := range reservedTLDs {
		if tld == t {
			return "." + t + " names are reserved and never reach the internet (RFC 2606, RFC 6761)"
		}
	}
	return ""
}

// applicable lists what in site.yaml cannot be applied, each at its line with the fix.
// data is site.yaml as loaded into s.
func applicable(file string, data []byte, s *site.Loaded) diag.List {
	doc, _ := strictyaml.Decode(file, data, &site.Site{})
	var out diag.List
	add := func(path, msg, fix string) { out.Add(doc.At(path, msg, fix)) }
	name := s.Name
	if name == "mysite" { // the skeleton's, as is
		name = "acme"
	}

	domains := map[string]string{"domain": s.Domain}
	for name, a := range s.Site.Apps {
		if a.Domain != "" {
			domains["apps."+name+".domain"] = a.Domain
		}
	}
	paths := make([]string, 0, len(domains))
	for p := range domains {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if why := placeholderDomain(domains[p]); why != "" {
			add(p, fmt.Sprintf("%s is a placeholder, not your domain: %s", domains[p], why),
				"write the domain your apps will live under, like apps.your-organisation.org")
		}
	}

	if s.Admin.BackupKey == "" {
		out.Add(doc.AtKey("admin", "there is no admin.backup_key: a change that rebuilds the server promises a backup first, and it cannot be taken without this key",
			"run nassella bootstrap: it makes the key pair, stores the private half as the secret BACKUP_SSH_KEY and writes the public half here"))
	}

	buckets := map[string]*site.S3{"backups.target.s3": s.Backups.Target.S3}
	if s.State == nil || s.State.S3 == nil {
		add("state", "there is no state: every run would forget what it created and try to create the server again",
			fmt.Sprintf("add state: { s3: { endpoint: \"https://fsn1.your-objectstorage.com\", bucket: %s-state } } at the end of your site.yaml; nassella bootstrap creates the bucket", name))
	} else {
		buckets["state.s3"] = s.State.S3
	}
	for _, p := range []string{"backups.target.s3", "state.s3"} {
		b := buckets[p]
		if b == nil {
			continue
		}
		for _, ex := range skeletonBuckets {
			if b.Bucket == ex {
				add(p+".bucket", fmt.Sprintf("%s is the template's example bucket name", b.Bucket),
					fmt.Sprintf("name the bucket after your site, like %s-%s (bucket names are shared by everyone at the storage provider)", name, strings.TrimPrefix(ex, "mysite-")))
			}
		}
		if u, err := url.Parse(b.Endpoint); err == nil && u.Hostname() != "" {
			if why := placeholderDomain(u.Hostname()); why != "" {
				add(p+".endpoint", fmt.Sprintf("%s is a placeholder, not your storage provider's address: %s", b.Endpoint, why),
					"write your provider's S3 address, like https://fsn1.your-objectstorage.com (Hetzner Object Storage)")
			}
		}
	}
	return out
}

// applicableCheck reads site.yaml from dir and checks it can be applied. For an apply
// (in CI) what cannot be applied fails the check; otherwise it is a warning, so trying
// a site out locally (nassella demo, a fresh nassella init) keeps working.
func applicableCheck(dir string, s *site.Loaded, forApply bool) Check {
	c := Check{Name: ApplicableCheck}
	data, err := inputfile.ReadIn(dir, "site.yaml")
	if err != nil {
		c.Err = err
		return c
	}
	problems := applicable(s.File, data, s)
	switch {
	case len(problems) == 0:
		c.Detail = "nothing left from the template"
	case forApply:
		c.Err = problems.Err()
	default:
		c.Warning = problems.Err().Error() + "\n(a warning here; in CI, or with --for-apply, these fail)"
	}
	return c
}
