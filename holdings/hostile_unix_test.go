//go:build unix

package holdings

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHostileFilesAreRefused: a record too large, one that names its
// image by a path, a FIFO in a record's place, an image larger than its
// record says or with another SHA-256: each is refused in one sentence,
// without reading more than the bound or blocking.
func TestHostileFilesAreRefused(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	put := func(key string) Record {
		rec, err := s.Put(key, key, []byte("image of "+key), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	write := func(path string, b []byte) {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(s.recordPath("big"), append([]byte(`{"key":"big",`), make([]byte, maxRecordBytes)...))
	write(s.recordPath("path"), []byte(`{"key":"path","sha256":"../../../../../../etc/passwd","bytes":1}`))
	if err := syscall.Mkfifo(s.recordPath("fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	grown := put("grown")
	write(s.imagePath(grown.SHA256), []byte("image of grown, and then much more than that"))
	other := put("other")
	write(s.imagePath(other.SHA256), []byte("imagE of other"))
	for _, key := range []string{"big", "path", "fifo", "grown", "other"} {
		_, _, ok, err := s.Image(key)
		if ok || !errors.Is(err, ErrStore) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: ok %v, err %v", key, ok, err)
		}
	}
	all, err := s.All()
	if err != nil || len(all) != 2 {
		t.Fatalf("All = %v, %v; want the two whole records", all, err)
	}
}
