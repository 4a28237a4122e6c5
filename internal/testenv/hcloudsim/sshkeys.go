package hcloudsim

import (
	"crypto/md5" // #nosec G501: the API's SSH key fingerprints are MD5
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"strings"
	"time"
)

type sshKey struct {
	id          int64
	name        string
	publicKey   string
	fingerprint string
	labels      map[string]string
	created     time.Time
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
	s.handle("GET /v1/ssh_keys", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		q := r.URL.Query()
		f, err := parseListFilter(q)
		if err != nil {
			return 0, nil, err
		}
		fingerprint := q.Get("fingerprint")
		var list []*sshKey
		for _, k := range s.sshKeys {
			if f.matches(k.name, k.labels) && (fingerprint == "" || fingerprint == k.fingerprint) {
				list = append(list, k)
			}
		}
		if err := sortList(q, list, sortKeys[*sshKey]{
			"id":   byID(func(k *sshKey) int64 { return k.id }),
			"name": byString(func(k *sshKey) string { return k.name }),
		}); err != nil {
			return 0, nil, err
		}
		page, meta, err := paginate(w, r, list)
		if err != nil {
			return 0, nil, err
		}
		out := make([]sshKeyJSON, 0, len(page))
		for _, k := range page {
			out = append(out, k.json())
		}
		return http.StatusOK, map[string]any{"ssh_keys": out, "meta": meta}, nil
	})

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
		checkName(&f, "name", req.Name)
		fingerprint, err := sshFingerprint(req.PublicKey)
		if err != nil {
			f.add("public_key", "%v", err)
		}
		labels := checkLabels(&f, req.Labels)
		if err := f.err(); err != nil {
			return 0, nil, err
		}
		for _, k := range s.sshKeys {
			if k.name == req.Name {
				return 0, nil, errUniqueness("name", "SSH key with the same name already exists")
			}
			if k.fingerprint == fingerprint {
				return 0, nil, errUniqueness("public_key", "SSH key with the same fingerprint already exists")
			}
		}
		k := &sshKey{
			id:          s.newID("ssh_key"),
			name:        req.Name,
			publicKey:   req.PublicKey,
			fingerprint: fingerprint,
			labels:      labels,
			created:     s.now(),
		}
		s.sshKeys[k.id] = k
		return http.StatusCreated, map[string]any{"ssh_key": k.json()}, nil
	})

	s.handle("GET /v1/ssh_keys/{id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		k, err := s.sshKeyFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"ssh_key": k.json()}, nil
	})

	s.handle("PUT /v1/ssh_keys/{id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		k, err := s.sshKeyFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		var req struct {
			Name   *string            `json:"name"`
			Labels *map[string]string `json:"labels"`
		}
		if err := decodeBody(r, &req); err != nil {
			return 0, nil, err
		}
		var f fieldErrors
		if req.Name != nil && *req.Name != "" {
			checkName(&f, "name", *req.Name)
		}
		labels := checkLabels(&f, req.Labels)
		if err := f.err(); err != nil {
			return 0, nil, err
		}
		if req.Name != nil && *req.Name != "" {
			for _, other := range s.sshKeys {
				if other != k && other.name == *req.Name {
					return 0, nil, errUniqueness("name", "SSH key with the same name already exists")
				}
			}
			k.name = *req.Name
		}
		if req.Labels != nil {
			k.labels = labels
		}
		return http.StatusOK, map[string]any{"ssh_key": k.json()}, nil
	})

	s.handle("DELETE /v1/ssh_keys/{id}", func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		k, err := s.sshKeyFromPath(r)
		if err != nil {
			return 0, nil, err
		}
		delete(s.sshKeys, k.id)
		return http.StatusNoContent, nil, nil
	})
}

func (s *Server) sshKeyFromPath(r *http.Request) (*sshKey, error) {
	id, err := pathID(r, "SSH key")
	if err != nil {
		return nil, err
	}
	k, ok := s.sshKeys[id]
	if !ok {
		return nil, errNotFound("SSH key", id)
	}
	return k, nil
}

// checkName checks a resource name: required, at most 64 characters, and without
// surrounding whitespace.
func checkName(f *fieldErrors, field, name string) {
	switch {
	case name == "":
		f.add(field, "is required")
	case len(name) > 64:
		f.add(field, "is too long")
	case strings.TrimSpace(name) != name:
		f.add(field, "must not start or end with whitespace")
	}
}
