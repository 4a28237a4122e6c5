package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/nassella/nassella/internal/sshx"
)

// Remote is how to reach the server's journal.
type Remote = sshx.Login

// Stream runs the query on the server and copies its entries to w until it ends (or, with
// Follow, until ctx is cancelled).
func Stream(ctx context.Context, r Remote, q Query, w io.Writer, opt Options) error {
	cmd, err := q.Command()
	if err != nil {
		return err
	}
	c, err := r.Dial(ctx)
	if errors.Is(err, sshx.ErrNoHostKey) {
		return err
	}
	if err != nil {
		if q.LogsKey {
			return fmt.Errorf("%w (is the key admin.logs_key in your site.yaml, and is that change merged?)", err)
		}
		return fmt.Errorf("%w (is your key in admin.ssh_keys?)", err)
	}
	defer c.Close()
	// Copy reads the entries as they come; when it fails (w is closed), the command is
	// stopped rather than left to fill the connection.
	run, stop := context.WithCancel(ctx)
	defer stop()
	pr, pw := io.Pipe()
	copied := make(chan error, 1)
	go func() {
		err := Copy(ctx, pr, w, opt)
		if err != nil {
			stop()
		}
		pr.CloseWithError(err) // the session's writes fail from now on
		copied <- err
	}()
	var stderr limitedBuffer
	runErr := c.Stream(run, cmd, nil, pw, &stderr)
	pw.Close()
	copyErr := <-copied
	if ctx.Err() != nil {
		return nil // the reader stopped following
	}
	if copyErr != nil {
		return copyErr
	}
	if runErr != nil {
		return fmt.Errorf("reading the journal on %s: %v: %s", r.Addr, runErr, bytes.TrimSpace(stderr.buf))
	}
	return nil
}

// limitedBuffer keeps the first 64 KiB written to it, for an error message.
type limitedBuffer struct{ buf []byte }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p[:min(len(p), 64*1024-len(b.buf))]...)
	return len(p), nil
}
