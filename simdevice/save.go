package simdevice

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxNameBytes keeps "NNN_<name>" under the usual 255-byte file name limit.
const maxNameBytes = 200

// saver writes images as NNN_<name> in one directory, numbering on from
// the files already there and never replacing one.
type saver struct {
	dir  string
	next int
}

func newSaver(dir string) (*saver, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, errorf("cannot create the output directory: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, errorf("cannot read the output directory: %w", err)
	}
	s := &saver{dir: dir, next: 1}
	for _, e := range entries {
		if n, ok := fileNumber(e.Name()); ok && n >= s.next {
			s.next = n + 1
		}
	}
	return s, nil
}

// fileNumber reads the NNN of an "NNN_..." name.
func fileNumber(name string) (int, bool) {
	digits, _, ok := strings.Cut(name, "_")
	if !ok || len(digits) < 3 || len(digits) > 9 {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil && n >= 0 && digits[0] != '+' && digits[0] != '-'
}

// save writes data to a new file and returns its path. O_EXCL makes a
// file that appeared meanwhile (another simulator, a user) push the number
// on rather than be overwritten.
func (s *saver) save(name string, data []byte) (string, error) {
	base := sanitize(name)
	for range 10000 {
		n := strconv.Itoa(s.next)
		if len(n) < 3 {
			n = strings.Repeat("0", 3-len(n)) + n
		}
		s.next++
		path := filepath.Join(s.dir, n+"_"+base)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", errorf("cannot save %s: %w", name, err)
		}
		_, werr := f.Write(data)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			os.Remove(path)
			return "", errorf("cannot save %s: %w", name, werr)
		}
		return path, nil
	}
	return "", errorf("cannot save %s: no free file number in %s", name, s.dir)
}

// sanitize makes a BEGIN name safe as the tail of a file name on every
// system: BEGIN names already exclude '/', '\' and control characters, and
// this also replaces what Windows refuses, trims trailing dots and spaces,
// and caps the length.
func sanitize(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r == utf8.RuneError || unicode.IsControl(r) || strings.ContainsRune(`/\:*?"<>|;`, r) {
			r = '_'
		}
		if b.Len()+utf8.RuneLen(r) > maxNameBytes {
			break
		}
		b.WriteRune(r)
	}
	return finish(b.String())
}

func finish(s string) string {
	s = strings.TrimRight(s, ". ")
	if s == "" {
		return "image"
	}
	return s
}

func errorf(format string, args ...any) error { return fmt.Errorf("simdevice: "+format, args...) }
