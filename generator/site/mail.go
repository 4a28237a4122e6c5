package site

import (
	"fmt"
	"net"
	"net/mail"
	"slices"
	"strings"
	"unicode"

	"github.com/nassella/nassella/catalog"
)

// Mail is the one mail server (an SMTP relay) every app that sends e-mail uses: the
// co-op's, the owner's e-mail provider's, or a sending service's. Its password is the CI
// secret SMTP_PASSWORD, delivered to the server like the backup credentials; it is never
// written here.
type Mail struct {
	Host string `yaml:"host" jsonschema:"required,minLength=1,maxLength=253" jsonschema_description:"The mail server's name, as your e-mail provider gives it for sending (SMTP). Example: smtp.mailbox.org"`
	Port int    `yaml:"port" jsonschema:"required,minimum=1,maximum=65535" jsonschema_description:"Its port for sending: usually 587 (with tls: starttls) or 465 (with tls: tls). Example: 587"`
	TLS  string `yaml:"tls" jsonschema:"enum=starttls,enum=tls,enum=none,default=starttls" jsonschema_description:"How the connection is encrypted: starttls (the default, port 587), tls (port 465), or none (only for a relay on a private network, without a password). Example: starttls"`
	User string `yaml:"user" jsonschema:"maxLength=254" jsonschema_description:"The user name the server asks for, often the sending address; its password is the CI secret SMTP_PASSWORD. Leave it out for a relay that takes mail without logging in. Example: apps@acme.example"`
	From string `yaml:"from" jsonschema:"required,format=email" jsonschema_description:"The address your apps' e-mails come from; your provider must allow it. Example: apps@acme.example"`
}

// TLSMode is the relay's TLS mode: starttls when site.yaml leaves it out.
func (m *Mail) TLSMode() string {
	if m.TLS == "" {
		return "starttls"
	}
	return m.TLS
}

// FromParts are the sender address's local part and domain, for apps that ask for them
// apart.
func (m *Mail) FromParts() (local, domain string) {
	i := strings.LastIndexByte(m.From, '@')
	return m.From[:i], m.From[i+1:]
}

// mail checks the optional relay: a host name, a port that fits the TLS mode, a sender
// address, and no password crossing the network in the clear.
func (c *checker) mail(s *Site) {
	if !c.doc.Has("mail") || c.doc.Bad["mail"] {
		return
	}
	m := s.Mail
	if m == nil {
		c.add("mail", "mail is empty", "add host:, port: and from: under mail, or remove mail")
		return
	}
	if c.required("mail.host", "smtp.mailbox.org") && !mailHost(m.Host) {
		c.add("mail.host", fmt.Sprintf("host %q is not a server name", m.Host), "write just the name, like smtp.mailbox.org (no smtp://, no port)")
	}
	tls := m.TLSMode()
	if c.doc.Has("mail.tls") && !c.doc.Bad["mail.tls"] && !slices.Contains(catalog.MailTLSModes, m.TLS) {
		c.add("mail.tls", fmt.Sprintf("tls %q is unknown", m.TLS), suggest(m.TLS, catalog.MailTLSModes, "use starttls, tls or none"))
		tls = ""
	}
	if c.required("mail.port", "587") {
		switch {
		case m.Port < 1 || m.Port > 65535:
			c.add("mail.port", fmt.Sprintf("port %d is out of range", m.Port), "use the port your provider gives for sending, usually 587")
		case m.Port == 465 && tls == "starttls":
			c.add("mail.port", "port 465 expects TLS from the start", "write tls: tls, or use port 587 for starttls")
		case m.Port == 587 && tls == "tls":
			c.add("mail.port", "port 587 expects starttls", "write tls: starttls, or use port 465 for tls")
		}
	}
	if c.doc.Has("mail.user") && !c.doc.Bad["mail.user"] {
		switch {
		case strings.TrimSpace(m.User) == "" || strings.ContainsFunc(m.User, unicode.IsSpace) || strings.ContainsFunc(m.User, unicode.IsControl):
			c.add("mail.user", fmt.Sprintf("user %q is not a user name", m.User), "write it without spaces, as your provider gives it, or remove user")
		case tls == "none":
			c.add("mail.tls", "with tls: none the password would cross the network unencrypted", "use tls: starttls or tls, or remove user for a relay that needs no login")
		}
	}
	if c.required("mail.from", "apps@acme.example") {
		a, err := mail.ParseAddress(m.From)
		if err != nil || a.Address != m.From || !strings.Contains(m.From[strings.LastIndexByte(m.From, '@')+1:], ".") {
			c.add("mail.from", fmt.Sprintf("%q is not an email address", m.From), "write just the address, like apps@acme.example")
		}
	}
}

// mailHost says h is a DNS name or an IP address, without scheme or port.
func mailHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if len(h) > 253 || !strings.Contains(h, ".") {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if !labelRe.MatchString(strings.ToLower(l)) {
			return false
		}
	}
	return true
}
