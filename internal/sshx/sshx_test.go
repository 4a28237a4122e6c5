package sshx_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/nassella/nassella/internal/sshx"
	"github.com/nassella/nassella/internal/testenv/sshtest"
)

// server answers "both" (a line on each stream, exit 3), "cat" (stdin back),
// "ignore-stdin" (a line, exit 0, stdin unread) and "block" (prints until the session is
// closed).
func server(t *testing.T, client ssh.Signer) *sshtest.Server {
	return sshtest.New(t, sshtest.Options{User: "core", Allow: []ssh.PublicKey{client.PublicKey()}, Handle: func(e sshtest.Exec) uint32 {
		switch e.Command {
		case "both":
			fmt.Fprintln(e.Stdout, "to stdout")
			fmt.Fprintln(e.Stderr, "to stderr")
			return 3
		case "cat":
			io.Copy(e.Stdout, e.Stdin)
		case "ignore-stdin":
			fmt.Fprintln(e.Stdout, "done")
		case "block":
			for {
				if _, err := e.Stdout.Write([]byte(".")); err != nil {
					return 0
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		return 0
	}})
}

func config(client ssh.Signer, hk sshx.HostKey) sshx.Config {
	return sshx.Config{User: "core", Signer: client, HostKey: hk, Timeout: 5 * time.Second}
}

func TestDialWaitsForTheServer(t *testing.T) {
	client := sshtest.NewKey(t)
	s := server(t, client)
	time.AfterFunc(700*time.Millisecond, s.Listen)
	cfg := config(client, sshx.Pinned(s.HostKey.PublicKey()))
	cfg.Wait = 20 * time.Second
	start := time.Now()
	c, err := sshx.Dial(context.Background(), s.Addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if d := time.Since(start); d < 700*time.Millisecond || d > 5*time.Second {
		t.Errorf("connected after %s", d)
	}

	// Without Wait, one try.
	late := server(t, client)
	cfg.Wait = 0
	if _, err := sshx.Dial(context.Background(), late.Addr, cfg); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err = %v", err)
	}
}

func TestDialGivesUp(t *testing.T) {
	client := sshtest.NewKey(t)
	s := server(t, client) // never listens
	cfg := config(client, sshx.Pinned(s.HostKey.PublicKey()))
	cfg.Wait = time.Second
	start := time.Now()
	_, err := sshx.Dial(context.Background(), s.Addr, cfg)
	if err == nil || !strings.Contains(err.Error(), "tries in 1s") || time.Since(start) > 3*time.Second {
		t.Errorf("after %s: %v", time.Since(start), err)
	}

	// A cancelled context stops the retries at once.
	cfg.Wait = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start = time.Now()
	_, err = sshx.Dial(ctx, s.Addr, cfg)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "last try") || time.Since(start) > 3*time.Second {
		t.Errorf("after %s: %v", time.Since(start), err)
	}
}

func dial(t *testing.T) *sshx.Client {
	client := sshtest.NewKey(t)
	s := server(t, client)
	s.Listen()
	c, err := sshx.Dial(context.Background(), s.Addr, config(client, sshx.Pinned(s.HostKey.PublicKey())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRun(t *testing.T) {
	c := dial(t)
	out, err := c.Run(context.Background(), "both")
	var exit *ssh.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() != 3 {
		t.Errorf("err = %v, want exit status 3", err)
	}
	if string(out.Stdout) != "to stdout\n" || string(out.Stderr) != "to stderr\n" || len(out.Combined) != len(out.Stdout)+len(out.Stderr) {
		t.Errorf("output %+v", out)
	}
	if _, err := c.Run(context.Background(), "true"); err != nil {
		t.Errorf("a command exiting 0: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := c.Run(ctx, "block"); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 6*time.Second {
		t.Errorf("a command past its deadline: %v after %s", err, time.Since(start))
	}
}

func TestStreamCopiesStdin(t *testing.T) {
	c := dial(t)
	in := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB: more than a channel window
	var out, errOut bytes.Buffer
	if err := c.Stream(context.Background(), "cat", bytes.NewReader(in), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), in) || errOut.Len() != 0 {
		t.Errorf("stdout %d bytes (want %d), stderr %q", out.Len(), len(in), errOut.String())
	}
}

// A command that exits 0 without reading its input worked: the input's write into the
// closed channel is no error (it was, at random, in deploy's TestSettingsToAnOlderServer).
func TestStreamStdinNotRead(t *testing.T) {
	c := dial(t)
	in := bytes.Repeat([]byte("x"), 1<<20)
	for i := 0; i < 20; i++ {
		var out, errOut bytes.Buffer
		if err := c.Stream(context.Background(), "ignore-stdin", bytes.NewReader(in), &out, &errOut); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if strings.TrimSpace(out.String()) != "done" {
			t.Fatalf("run %d: output %q", i, out.String())
		}
	}
}
