package doctor_test

import (
	"strings"
	"testing"

	"github.com/nassella/nassella/catalog"
	"github.com/nassella/nassella/generator/examples"
	"github.com/nassella/nassella/generator/site"
	"github.com/nassella/nassella/pipelines/doctor"
)

// Without a relay the doctor says, app by app, which e-mails are not sent; with one,
// which apps send by themselves and which need it set in the app. Never a problem.
func TestMailFindings(t *testing.T) {
	data, _ := examples.Get("every-app")
	noRelay := ""
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if !strings.HasPrefix(line, "mail:") {
			noRelay += line
		}
	}
	for _, tt := range []struct {
		name, yaml string
		want       map[string]string // app → a part of what the doctor says
	}{
		{"no relay", noRelay, map[string]string{
			"nextcloud":   "Nextcloud sends no password resets, share notifications and activity e-mails: site.yaml names no mail server (mail)",
			"uptime-kuma": "Uptime Kuma sends no alerts by e-mail",
		}},
		{"a relay", string(data), map[string]string{
			"nextcloud":   "Nextcloud sends password resets, share notifications and activity e-mails through smtp.everything.example:587",
			"uptime-kuma": "Uptime Kuma sends alerts by e-mail once its mail server (smtp.everything.example:587) is set in the app: Settings, Notifications",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := site.Load("site.yaml", []byte(tt.yaml), catalog.Embedded())
			if err != nil {
				t.Fatal(err)
			}
			opt, err := doctor.SiteCheck{Site: l}.Options()
			if err != nil {
				t.Fatal(err)
			}
			opt.Apps, opt.DNS, opt.Updates = nil, nil, nil // the mail findings only
			got := map[string]doctor.Finding{}
			for _, f := range doctor.Run(t.Context(), opt) {
				if f.Check == "mail" {
					got[f.Subject] = f
				}
			}
			if len(got) != 8 {
				t.Errorf("%d apps have a mail finding, want the 8 that send e-mail (all but Jellyfin)", len(got))
			}
			for app, want := range tt.want {
				if f := got[app]; !f.OK || !strings.Contains(f.What, want) {
					t.Errorf("%s: %+v\nwant OK, saying %q", app, f, want)
				}
			}
		})
	}
}
