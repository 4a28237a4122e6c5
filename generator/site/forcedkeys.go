package site

import (
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// forcedKey is an optional admin key the server forces one command for: one plain public
// key, not also a key that may do more (sshd takes the first line a key matches, so the
// forced command would lock that key's other use out).
type forcedKey struct {
	path    string // admin.backup_key
	name    string // backup key
	comment string // the comment of the example key line
	file    string // the file name in the example ssh-keygen command
	secret  string // the forge secret holding the private half; "" when none
	purpose string // what a separate key pair is for
	only    string // what the server lets the key do
	taken   []otherKeys
}

// otherKeys are keys a forced key may not be.
type otherKeys struct {
	what string // "one of admin.ssh_keys"
	keys []string
}

// forcedKeys checks admin.backup_key (CI starts backups with it) and admin.logs_key (the
// console reads logs with it).
func (c *checker) forcedKeys(s *Site) {
	admins := otherKeys{"one of admin.ssh_keys", s.Admin.SSHKeys}
	c.forcedKey(s.Admin.BackupKey, forcedKey{path: "admin.backup_key", name: "backup key", comment: "nassella-ci-backup",
		file: "backup_key", secret: "BACKUP_SSH_KEY", purpose: "backups", only: "start backups only", taken: []otherKeys{admins}})
	c.forcedKey(s.Admin.LogsKey, forcedKey{path: "admin.logs_key", name: "logs key", comment: "nassella-logs",
		file: "logs_key", purpose: "reading logs", only: "read logs only",
		taken: []otherKeys{admins, {"admin.backup_key", []string{s.Admin.BackupKey}}}})
}

func (c *checker) forcedKey(k string, f forcedKey) {
	if !c.doc.Has(f.path) || c.doc.Bad[f.path] {
		return
	}
	p := f.path
	if strings.Contains(k, "PRIVATE KEY") {
		replace := "replace this key pair"
		if f.secret != "" {
			replace += " and the " + f.secret + " secret"
		}
		c.add(p, "this is a PRIVATE key", "remove it now and paste the public key instead (the .pub file); "+replace+", as it is no longer secret")
		return
	}
	pub, _, opts, rest, err := ssh.ParseAuthorizedKey([]byte(k))
	if err == nil && len(opts) > 0 {
		c.add(p, "this key has options in front of it", `remove them: nassella adds the forced command itself; write just "ssh-ed25519 AAAA… `+f.comment+`"`)
		return
	}
	if err != nil || len(rest) > 0 || strings.ContainsRune(strings.TrimSpace(k), '\n') {
		c.add(p, "this is not one public SSH key", fmt.Sprintf(`paste the one line of the %s's .pub file, like "ssh-ed25519 AAAA… %s"`, f.name, f.comment))
		return
	}
	for _, o := range f.taken {
		for _, a := range o.keys {
			if ap, _, _, _, err := ssh.ParseAuthorizedKey([]byte(a)); err == nil && ssh.FingerprintSHA256(ap) == ssh.FingerprintSHA256(pub) {
				c.add(p, fmt.Sprintf("the %s is also %s", f.name, o.what), fmt.Sprintf("make a separate key pair for %s (ssh-keygen -t ed25519 -f %s); the server lets it %s", f.purpose, f.file, f.only))
				return
			}
		}
	}
}
