// Package inputfile reads the files people hand nassella (site.yaml, fleet.yaml, the lock
// file, catalog files) with a cap on their size, so a huge file is refused with a clear
// message instead of filling the memory of the update bot that reads every site; and reads
// a repo's files only inside its folder, so a committed symlink cannot make nassella read
// a file elsewhere on the host.
package inputfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// MaxSize is the cap for one input file: site.yaml, fleet.yaml and nassella.lock are a
// few kilobytes, the biggest catalog file a few dozen.
const MaxSize = 1 << 20

// TooLargeError says a file is bigger than nassella reads.
type TooLargeError struct {
	File  string
	Size  int64 // -1 when unknown: past the limit nothing more is read
	Limit int64
}

func (e *TooLargeError) Error() string {
	is := "is " + size(e.Size) + ","
	if e.Size < 0 {
		is = "is"
	}
	return fmt.Sprintf("%s %s more than the %s nassella reads from one file; it is no file nassella wrote or expects: shorten it, or point nassella at the right file",
		e.File, is, size(e.Limit))
}

func size(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// Read reads file from the host, at most MaxSize bytes.
func Read(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return read(f, file)
}

// ReadFS reads name from fsys, at most MaxSize bytes.
func ReadFS(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return read(f, name)
}

// ReadIn reads name (slash-separated, relative) inside the folder dir, at most MaxSize
// bytes. A symlink that leads out of dir is refused: what a repo holds cannot make
// nassella read a file outside it.
func ReadIn(dir, name string) ([]byte, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return read(f, name)
}

// IsTooLarge says whether err is, or wraps, a TooLargeError.
func IsTooLarge(err error) bool {
	var t *TooLargeError
	return errors.As(err, &t)
}

// read reads r to its end or one byte past the cap; named in messages as name. A file
// reports its size up front, so a huge one is refused without reading it.
func read(r io.Reader, name string) ([]byte, error) {
	if st, ok := r.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if fi, err := st.Stat(); err == nil {
			if fi.IsDir() {
				return nil, fmt.Errorf("%s is a folder, not a file", name)
			}
			if fi.Mode().IsRegular() && fi.Size() > MaxSize {
				return nil, &TooLargeError{File: name, Size: fi.Size(), Limit: MaxSize}
			}
		}
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(data) > MaxSize {
		return nil, &TooLargeError{File: name, Size: -1, Limit: MaxSize}
	}
	return data, nil
}
