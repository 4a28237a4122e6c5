package bootstrap

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/internal/siterepo"
)

// BackupKeySecret holds the private half of admin.backup_key: CI starts the backup before
// a rebuild with it, as the plan comment promises.
const BackupKeySecret = "BACKUP_SSH_KEY"

const stepBackupKey = "backup key"

// ensureBackupKey makes sure the site has a backup key pair: site.yaml's admin.backup_key
// and, given or on the forge, its private half. `nassella init` cannot make a CI
// secret, so a site.yaml without backup_key gets a new pair here: the private half is
// stored as BACKUP_SSH_KEY and only then the public half written into site.yaml
// (writeBackupKey), so site.yaml never names a key the forge lacks.
func (r *runner) ensureBackupKey() {
	if !withBackupKey(&r.cfg) {
		return
	}
	step := Step{Name: stepBackupKey}
	given := r.cfg.Secrets[BackupKeySecret]
	var givenPub ssh.PublicKey
	if given != "" {
		signer, err := ssh.ParsePrivateKey([]byte(given))
		if err != nil {
			step.Status, step.Detail = Failed, BackupKeySecret+" is not an OpenSSH private key without a passphrase"
			step.Fix = "give the key ssh-keygen -t ed25519 -N '' -f backup_key wrote, or leave " + BackupKeySecret + " unset and delete backup_key from site.yaml: bootstrap then makes a pair"
			r.report(step)
			return
		}
		givenPub = signer.PublicKey()
	}
	if k := r.cfg.Site.Admin.BackupKey; k != "" {
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k))
		switch {
		case err != nil:
			// site.Load refused it already; nothing to add.
			step.Status, step.Detail = Failed, "admin.backup_key in site.yaml is not a public key"
		case givenPub != nil && ssh.FingerprintSHA256(pub) != ssh.FingerprintSHA256(givenPub):
			step.Status, step.Detail = Failed, fmt.Sprintf("%s is not the private half of admin.backup_key (%s)", BackupKeySecret, ssh.FingerprintSHA256(pub))
			step.Fix = "give the matching private key, or delete backup_key from site.yaml and leave " + BackupKeySecret + " unset: bootstrap then makes a new pair"
		default:
			step.Status, step.Detail = AlreadyThere, "admin.backup_key in site.yaml: "+ssh.FingerprintSHA256(pub)
		}
		r.report(step)
		return
	}
	if givenPub == nil {
		pemKey, pub, err := newKeyPair("nassella CI backup key of " + r.cfg.Site.Name)
		if err != nil {
			step.Status, step.Detail, step.Fix = Failed, err.Error(), "run again"
			r.report(step)
			return
		}
		r.cfg.Secrets[BackupKeySecret] = pemKey
		givenPub = pub
		step.Detail = "made a new key pair " + ssh.FingerprintSHA256(pub)
	} else {
		step.Detail = "the public half of the given " + BackupKeySecret + " " + ssh.FingerprintSHA256(givenPub)
	}
	if r.replace == nil {
		r.replace = map[string]bool{}
	}
	// A key the forge holds has no public half in site.yaml: it is of no use, replace it.
	r.replace[BackupKeySecret] = true
	r.backupKeyLine = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(givenPub))) + " nassella-ci-backup"
	step.Status = Done
	step.Detail += "; written into site.yaml as admin.backup_key once " + BackupKeySecret + " is stored"
	r.report(step)
}

// newKeyPair returns a new ed25519 key as an OpenSSH private key file, and its public key.
func newKeyPair(comment string) (string, ssh.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return "", nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	return string(pem.EncodeToMemory(block)), sshPub, err
}

const stepWriteBackupKey = "admin.backup_key in site.yaml"

// writeBackupKey writes the public half of the backup key into site.yaml once the forge
// holds the private half, regenerates (the server's setup authorises the key) and
// commits both.
func (r *runner) writeBackupKey() {
	if r.backupKeyLine == "" {
		return
	}
	if !r.stored[BackupKeySecret] {
		r.report(Step{Name: stepWriteBackupKey, Status: ToDo, Detail: "not written: " + BackupKeySecret + " is not on the forge yet",
			Fix: "run bootstrap with the forge (--forge, --forge-url, --repo): it stores the key's private half, then writes its public half into site.yaml"})
		return
	}
	file := filepath.Join(r.cfg.Dir, siterepo.SiteFile)
	data, err := os.ReadFile(file)
	if err == nil {
		var text string
		text, err = withBackupKeyLine(string(data), r.backupKeyLine)
		if err == nil {
			err = os.WriteFile(file, []byte(text), 0o644)
		}
	}
	if err != nil {
		r.report(Step{Name: stepWriteBackupKey, Status: Failed, Detail: err.Error(),
			Fix: fmt.Sprintf("add the line  backup_key: %q  under admin: in site.yaml by hand, then run nassella generate and commit", r.backupKeyLine)})
		return
	}
	repo, err := siterepo.Open(r.cfg.Dir, siterepo.Options{Catalog: r.cfg.Catalog})
	if err == nil {
		_, err = repo.Regenerate()
	}
	if err == nil {
		r.cfg.Site = repo.Site
		err = commitAll(r.cfg.Dir, "Add the CI backup key (nassella bootstrap)")
	}
	if err != nil {
		r.report(Step{Name: stepWriteBackupKey, Status: Failed, Detail: err.Error(), Fix: "run nassella generate in the site repo, commit, and run bootstrap again"})
		return
	}
	r.backupKeyLine = ""
	r.report(Step{Name: stepWriteBackupKey, Status: Done, Detail: "written, the files regenerated and committed"})
}

var (
	adminLine        = regexp.MustCompile(`(?m)^admin:[ \t]*\n`)
	commentedKeyLine = regexp.MustCompile(`(?m)^([ \t]+)#[ \t]*backup_key:.*\n`)
	firstAdminField  = regexp.MustCompile(`(?m)^admin:[ \t]*\n([ \t]+)\S`)
)

// withBackupKeyLine puts backup_key under admin: in place of the skeleton's commented
// line, or as admin's first field, indented like the others.
func withBackupKeyLine(text, key string) (string, error) {
	if m := commentedKeyLine.FindStringSubmatchIndex(text); m != nil {
		indent := text[m[2]:m[3]]
		return text[:m[0]] + indent + "backup_key: " + quote(key) + "\n" + text[m[1]:], nil
	}
	m := firstAdminField.FindStringSubmatch(text)
	loc := adminLine.FindStringIndex(text)
	if m == nil || loc == nil {
		return "", fmt.Errorf("site.yaml has no admin: block written one field a line, where backup_key goes")
	}
	return text[:loc[1]] + m[1] + "backup_key: " + quote(key) + "\n" + text[loc[1]:], nil
}

func quote(s string) string { return `"` + s + `"` }
