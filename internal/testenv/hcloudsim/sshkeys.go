package hcloudsim

import (
	"crypto/md5" // #nosec G501: the API's SSH key fingerprints are MD5
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

type sshKey struct {
	meta
	publicKey   string
	fingerprint string
}

type sshKeyJSON struct {
	ID          int64             `json:"id"`
	Name        string            `json:"name"`
	Fingerprint string            `json:"fingerprint"`
	PublicKey   string            `json:"public_key"`
	Labels      map[string]string `json:"labels"`
	Created     time.Time         `json:"created"`
}

func (k *sshKey) json() sshKeyJSON {
	return sshKeyJSON{k.id, k.name, k.fingerprint, k.publicKey, copyLabels(k.labels), k.created}
}

var sshKeyTypes = []string{
	"ssh-ed25519", "ssh-rsa", "ssh-dss",
	"ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
	"sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
}

// sshFingerprint parses an OpenSSH public key line and returns its MD5
// fingerprint in the colon-separated form the API uses.
func sshFingerprint(line string) (string, error) {
	fields := strings.Fields(line)
	if len(fields) < 2 {
		return "", fmt.Errorf("expected \"<type> <base64 key> [comment]\"")
	}
	blob, err := base64.StdEncoding.DecodeString(fields[1])
	if err != nil {
		return "", fmt.Errorf("key is not valid base64")
	}
	// The key blob starts with its type as a length-prefixed string.
	if len(blob) < 4 {
		return "", fmt.Errorf("key is too short")
	}
	n := binary.BigEndian.Uint32(blob)
	if uint64(len(blob)) < 4+uint64(n) || string(blob[4:4+n]) != fields[0] {
		return "", fmt.Errorf("key data does not match key type %q", fields[0])
	}
	known := false
	for _, t := range sshKeyTypes {
		known = known || t == fields[0]
	}
	if !known {
		return "", fmt.Errorf("unsupported key type %q", fields[0])
	}
	sum := md5.Sum(blob) // #nosec G401
	hex := make([]string, len(sum))
	for i, b := range sum {
		hex[i] = fmt.Sprintf("%02x", b)
	}
	return strings.Join(hex, ":"), nil
}

func (s *Server) sshKeyRoutes() {
	s.sshKeys = &store[*sshKey]{
		sim: s, kind: "ssh_key", noun: "SSH key", collection: "ssh_keys", items: map[int64]*sshKey{},
		render: func(k *sshKey) any { return k.json() },
		sort:   []string{"name"},
		filter: func(q url.Values) (func(*sshKey) bool, error) {
			fingerprint := q.Get("fingerprint")
			return func(k *sshKey) bool { return fingerprint == "" || fingerprint == k.fingerprint }, nil
		},
		checkName:     checkName,
		keepEmptyName: true,
		duplicate:     func(string) string { return "SSH key with the same name already exists" },
	}
	s.sshKeys.routes()

	s.handle("POST /v1/ssh_keys", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var req struct {
			Name      string             `json:"name"`
			PublicKey string             `json:"public_key"`
			Labels    *map[string]string `json:"labels"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		var f fieldErrors
		checkName(&f, req.Name)
		fingerprint, err := sshFingerprint(req.PublicKey)
		if err != nil {
			f.add("public_key", "%v", err)
		}
		labels := checkLabels(&f, req.Labels)
		if err := f.err(); err != nil {
			return 0, nil, err
		}
		if err := s.sshKeys.unique(req.Name, 0); err != nil {
			return 0, nil, err
		}
		for _, k := range s.sshKeys.items {
			if k.fingerprint == fingerprint {
				return 0, nil, errUniqueness("public_key", "SSH key with the same fingerprint already exists")
			}
		}
		k := s.sshKeys.put(&sshKey{meta: s.sshKeys.newMeta(req.Name, labels), publicKey: req.PublicKey, fingerprint: fingerprint})
		return http.StatusCreated, map[string]any{"ssh_key": k.json()}, nil
	})
}

// checkName checks a resource name: required, at most 64 characters, and without
// surrounding whitespace.
func checkName(f *fieldErrors, name string) {
	switch {
	case name == "":
		f.add("name", "is required")
	case len(name) > 64:
		f.add("name", "is too long")
	case strings.TrimSpace(name) != name:
		f.add("name", "must not start or end with whitespace")
	}
}
