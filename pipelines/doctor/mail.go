package doctor

import (
	"fmt"

	"github.com/nassella/nassella/generator/site"
)

// MailSetup is the site's mail relay and the apps that send e-mail, for the doctor to say
// what works and what does not. It is information, never a problem: a site may choose to
// send no e-mail.
type MailSetup struct {
	Relay string // "host:port" from site.yaml mail; "" without one
	Apps  []MailApp
}

// MailApp is one app that sends e-mail: what for, and where in the app its mail server
// is set when the app does not take the relay by itself.
type MailApp struct {
	App, Title, Uses, Settings string
}

// MailSetupOf reads the relay and the apps' mail from the site; nil when no app sends
// e-mail.
func MailSetupOf(s *site.Loaded) *MailSetup {
	m := &MailSetup{}
	if s.Mail != nil {
		m.Relay = fmt.Sprintf("%s:%d", s.Mail.Host, s.Mail.Port)
	}
	for _, a := range s.Apps {
		if mm := a.Spec.Mail; mm != nil {
			settings := ""
			if len(mm.Services) == 0 {
				settings = mm.Settings
			}
			m.Apps = append(m.Apps, MailApp{App: a.Name, Title: a.Spec.Title, Uses: mm.Uses, Settings: settings})
		}
	}
	if len(m.Apps) == 0 {
		return nil
	}
	return m
}

// checkMail says, for each app that sends e-mail, whether it can.
func checkMail(opt Options) []Finding {
	m := opt.Mail
	if m == nil {
		return nil
	}
	var fs []Finding
	for _, a := range m.Apps {
		f := Finding{Check: "mail", Subject: a.App, OK: true}
		switch {
		case m.Relay == "":
			f.What = fmt.Sprintf("%s sends no %s: site.yaml names no mail server (mail)", a.Title, a.Uses)
		case a.Settings != "":
			f.What = fmt.Sprintf("%s sends %s once its mail server (%s) is set in the app: %s", a.Title, a.Uses, m.Relay, a.Settings)
		default:
			f.What = fmt.Sprintf("%s sends %s through %s", a.Title, a.Uses, m.Relay)
		}
		fs = append(fs, f)
	}
	return fs
}
