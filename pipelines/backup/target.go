package backup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nassella/nassella/internal/hostcontract"
)

// checkTarget refuses a target restic would mix data into or write through a symlink out
// of: restic restores over existing files, and creates and fills folders through symlinks
// that already exist. It checks everything the restore writes: the whole volume's folders,
// or one app's folder and its secrets file, and the folders they are in. (Symlinks inside
// the snapshot are restored as symlinks and never followed.)
func checkTarget(target, app string) error {
	fi, err := os.Lstat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil // created fresh
	case err != nil:
		return fmt.Errorf("checking the target folder: %w", err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return symlinkError(target, "pass the folder it points to instead")
	case !fi.IsDir():
		return fmt.Errorf("the target %s is not a folder: name an empty folder or a freshly formatted volume", target)
	}
	if app == "" {
		entries, err := os.ReadDir(target)
		if err != nil {
			return fmt.Errorf("checking the target folder: %w", err)
		}
		for _, e := range entries {
			// Every fresh ext4 volume has one; the backup leaves it out, so nothing lands there.
			if e.Name() == "lost+found" {
				continue
			}
			if err := mustBeEmpty(filepath.Join(target, e.Name())); err != nil {
				return err
			}
		}
		return nil
	}
	apps := filepath.Join(target, filepath.Base(hostcontract.AppsData))
	secrets := filepath.Join(target, filepath.Base(hostcontract.SecretsDir))
	for _, dir := range []string{apps, secrets} {
		fi, err := os.Lstat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return fmt.Errorf("checking the target folder: %w", err)
		case fi.Mode()&fs.ModeSymlink != 0:
			return symlinkError(dir, "remove the link or restore into another folder")
		case !fi.IsDir():
			return fmt.Errorf("%s is a file, where the restore needs a folder: move it away first", dir)
		}
	}
	if err := mustBeEmpty(filepath.Join(apps, app)); err != nil {
		return err
	}
	return mustBeEmpty(filepath.Join(secrets, app+hostcontract.EnvSuffix))
}

// mustBeEmpty refuses p unless it is missing or an empty folder.
func mustBeEmpty(p string) error {
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("checking the target folder: %w", err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return symlinkError(p, "remove the link or restore into another folder")
	case fi.IsDir():
		if entries, err := os.ReadDir(p); err == nil && len(entries) == 0 {
			return nil
		}
	}
	return fmt.Errorf("%s already holds data: restore into an empty folder or volume, or move it away first", p)
}

func symlinkError(p, fix string) error {
	to, _ := os.Readlink(p)
	return fmt.Errorf("%s is a symlink to %s: restic would write through it, outside the target; %s", p, to, fix)
}
