// Package s3test runs a real S3-compatible server for tests: versitygw with its posix
// backend on 127.0.0.1, built by .ci/tools-s3.sh (NASSELLA_VERSITYGW). Buckets are folders
// under its root, so tests can look at what a client stored.
package s3test

import (
	"fmt"
	"github.com/nassella/nassella/internal/testenv/testtool"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Server is a running versitygw.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT
	Access   string
	Secret   string
	Root     string // folder holding the buckets
}

// Start starts versitygw for the test and stops it at cleanup. Without NASSELLA_VERSITYGW
// the test is skipped, or fails in CI.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := testtool.Require(t, "NASSELLA_VERSITYGW", ".ci/tools-s3.sh")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := &Server{Endpoint: "http://" + addr, Access: "nassellatest", Secret: "nassella-test-secret-key", Root: t.TempDir()}
	cmd := exec.Command(bin, "--access", s.Access, "--secret", s.Secret, "--port", addr, "posix", s.Root)
	logf, err := os.Create(filepath.Join(t.TempDir(), "versitygw.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting versitygw: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.Endpoint)
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("versitygw did not answer on %s: %v\n%s", addr, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

// Bucket creates a bucket (a folder of the posix backend) and returns its folder.
func (s *Server) Bucket(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(s.Root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Env is the environment an S3 client needs to reach the server.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.Access,
		"AWS_SECRET_ACCESS_KEY=" + s.Secret,
		"AWS_REGION=us-east-1",
	}
}

// BackendFile writes an OpenTofu -backend-config file pointing the s3 backend at the
// server and returns its path.
func (s *Server) BackendFile(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "backend.hcl")
	body := fmt.Sprintf("endpoints = {\n  s3 = %q\n}\n", s.Endpoint)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
