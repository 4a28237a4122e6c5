package cli

import (
	"fmt"
	"io"

	"github.com/nassella/nassella/generator"
)

// noteUnpinned tells the maintainer, never the owner (the README stays silent on it), that
// n images run by tag: the site gets what the tags point at on the day it is built.
func noteUnpinned(w io.Writer, n int) {
	if n > 0 {
		fmt.Fprintf(w, "note for maintainers: %d images are not pinned by digest yet (unpinned: in %s); nassella catalog lock pins them, and a catalog release refuses unpinned images\n", n, generator.LockPath)
	}
}

// noteUnpinnedIn is noteUnpinned for the site repo in dir, from its lock file.
func noteUnpinnedIn(w io.Writer, dir string) {
	if l, err := generator.ReadLock(dir); err == nil && l != nil {
		noteUnpinned(w, len(l.Unpinned))
	}
}
