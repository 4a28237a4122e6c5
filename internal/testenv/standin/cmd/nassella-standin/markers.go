package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// markerFile is written at the top of every data folder: its id is made once, when the
// folder is first seen empty of it, so a test proves "the same data" after a restart, a
// rebuild or a restore by finding the same id; starts counts the server starts of every
// container that mounts the folder.
const markerFile = ".nassella-standin.json"

type marker struct {
	ID     string `json:"id"`
	Starts int    `json:"starts"`
	Image  string `json:"image"`
}

// dataDirs returns the container's data folders, sorted: the writable mounts that are
// directories (bind mounts and volumes, Forgejo's /etc/gitea too), from
// /proc/self/mountinfo — not the root, not /proc, /sys, /dev, not tmpfs, not the single
// files Docker mounts (/etc/hosts, /etc/resolv.conf).
func dataDirs() ([]string, error) {
	if v, ok := os.LookupEnv(envData); ok {
		dirs := strings.FieldsFunc(v, func(r rune) bool { return r == ':' })
		sort.Strings(dirs)
		return dirs, nil
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var dirs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if dir, ok := dataMount(sc.Text()); ok {
			dirs = append(dirs, dir)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sort.Strings(dirs)
	return dirs, nil
}

// dataMount reads one mountinfo line (proc(5): id parent major:minor root mountpoint
// options [optional...] - fstype source superoptions) and says whether it is a data folder.
func dataMount(line string) (string, bool) {
	pre, post, ok := strings.Cut(line, " - ")
	f, g := strings.Fields(pre), strings.Fields(post)
	if !ok || len(f) < 6 || len(g) < 1 {
		return "", false
	}
	mp, fstype := unescapeMount(f[4]), g[0]
	for _, opt := range strings.Split(f[5], ",") {
		if opt == "ro" {
			return "", false
		}
	}
	for _, sys := range []string{"/proc", "/sys", "/dev"} {
		if mp == sys || strings.HasPrefix(mp, sys+"/") {
			return "", false
		}
	}
	if mp == "/" || fstype == "tmpfs" {
		return "", false
	}
	if fi, err := os.Stat(mp); err != nil || !fi.IsDir() {
		return "", false
	}
	return mp, true
}

// unescapeMount undoes mountinfo's octal escapes of space, tab, newline and backslash.
func unescapeMount(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// markStart records one more start in dir's marker, making the marker if there is none.
// The folder is locked meanwhile: Nextcloud's app and cron containers share folders and
// start together.
func markStart(dir, image string) (marker, error) {
	d, err := os.Open(dir)
	if err != nil {
		return marker{}, err
	}
	defer d.Close()
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX); err != nil {
		return marker{}, fmt.Errorf("locking %s: %w", dir, err)
	}
	defer syscall.Flock(int(d.Fd()), syscall.LOCK_UN)
	m, err := readMarker(dir)
	if os.IsNotExist(err) {
		var id [16]byte
		if _, err := rand.Read(id[:]); err != nil {
			return marker{}, err
		}
		m, err = marker{ID: hex.EncodeToString(id[:])}, nil
	}
	if err != nil {
		return marker{}, err
	}
	m.Starts++
	m.Image = image
	data, _ := json.Marshal(m)
	p := filepath.Join(dir, markerFile)
	if err := os.WriteFile(p+".tmp", append(data, '\n'), 0o644); err != nil {
		return marker{}, err
	}
	return m, os.Rename(p+".tmp", p)
}

func readMarker(dir string) (marker, error) {
	var m marker
	data, err := os.ReadFile(filepath.Join(dir, markerFile))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(data, &m); err != nil || m.ID == "" {
		return m, fmt.Errorf("%s: not a stand-in marker (%v); remove it to start afresh", filepath.Join(dir, markerFile), err)
	}
	return m, nil
}

// writeDump prints what the dump tools print instead of the app's data: the marker id of
// every data folder, as SQL comments, the same for the same data (no clock, no start count).
func writeDump(w io.Writer, tool string) error {
	dirs, err := dataDirs()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "-- nassella stand-in dump by %s for %s: the marker of each data folder, not the app's data\n", tool, os.Getenv(envFor))
	for _, dir := range dirs {
		m, err := readMarker(dir)
		if err != nil {
			return fmt.Errorf("no marker in %s (the stand-in server has not started on it): %w", dir, err)
		}
		fmt.Fprintf(w, "-- %s %s\n", dir, m.ID)
	}
	return nil
}
