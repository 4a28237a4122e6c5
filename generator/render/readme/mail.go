package readme

import (
	"fmt"
	"strings"

	"github.com/nassella/nassella/generator/site"
)

// MailSection is the README's section on the e-mail the site's apps send: with a relay,
// which apps use it by themselves and where the others take its settings; without one,
// what each app cannot do. Empty when no app of the site sends e-mail.
func MailSection(s *site.Loaded, ask string) string {
	var b strings.Builder
	var apps []site.App
	for _, a := range s.Apps {
		if a.Spec.Mail != nil {
			apps = append(apps, a)
		}
	}
	if len(apps) == 0 {
		return ""
	}
	b.WriteString("## E-mail from your apps\n\n")
	r := s.Mail
	if r == nil {
		b.WriteString("`site.yaml` names no mail server, so your apps send no e-mail. Until it does:\n\n")
		for _, a := range apps {
			fmt.Fprintf(&b, "- **%s** sends no %s.\n", a.Spec.Title, a.Spec.Mail.Uses)
		}
		fmt.Fprintf(&b, "\nTo send them, add `mail:` to `site.yaml` with your e-mail provider's server for sending "+
			"(`host`, `port`, `tls`, `user`, `from`; the guide explains each), and give the account's password to %s, "+
			"who keeps it as the secret `SMTP_PASSWORD`: it is never written in this repository.\n", ask)
		return b.String()
	}
	login := "without logging in"
	if r.User != "" {
		login = fmt.Sprintf("as `%s` (its password is the secret `SMTP_PASSWORD`, kept by %s)", r.User, ask)
	}
	fmt.Fprintf(&b, "Your apps send e-mail from `%s` through `%s`, port %d (%s), %s.\n\n", r.From, r.Host, r.Port, tlsWords(r.TLSMode()), login)
	b.WriteString("| App | E-mail for | Set up |\n| --- | --- | --- |\n")
	for _, a := range apps {
		how := "by itself"
		if m := a.Spec.Mail; len(m.Services) == 0 {
			how = fmt.Sprintf("once, in the app: %s, with the server above", m.Settings)
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", a.Spec.Title, a.Spec.Mail.Uses, how)
	}
	return b.String()
}

func tlsWords(mode string) string {
	switch mode {
	case "tls":
		return "encrypted from the start"
	case "none":
		return "not encrypted"
	}
	return "encrypted with STARTTLS"
}
