package holdings

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestMain doubles as the other process of TestTwoProcessesWriteAtOnce.
func TestMain(m *testing.M) {
	if dir := os.Getenv("HOLDINGS_WRITER_DIR"); dir != "" {
		os.Exit(writer(dir, os.Getenv("HOLDINGS_WRITER_NAME")))
	}
	os.Exit(m.Run())
}

// writer records 50 images for a key of its own and for a key every
// writer shares.
func writer(dir, name string) int {
	s, err := Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for i := range 50 {
		img := []byte(fmt.Sprintf("%s image %d", name, i))
		for _, key := range []string{"own " + name, "shared"} {
			if _, err := s.Put(key, name, img, time.Now()); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
	}
	return 0
}

func TestPutThenGetAndImage(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Get("k"); ok || err != nil {
		t.Fatalf("empty store: ok=%v err=%v", ok, err)
	}
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	img := []byte("\xff\xd8 a jpeg")
	rec, err := s.Put("k", "Bench 1", img, at)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(img)
	if rec.SHA256 != hex.EncodeToString(sum[:]) || rec.Bytes != len(img) || !rec.Time.Equal(at) || rec.Device != "Bench 1" {
		t.Fatalf("record %+v", rec)
	}
	// A second Store on the folder, as another process would open it.
	other, err := Open(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	data, got, ok, err := other.Image("k")
	if err != nil || !ok || !bytes.Equal(data, img) || got != rec {
		t.Fatalf("Image = %q %+v %v %v", data, got, ok, err)
	}
}

func TestReplacedImageIsRemovedUnlessAnotherDeviceHoldsIt(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	first, second := []byte("first"), []byte("second")
	r1, _ := s.Put("a", "A", first, time.Now())
	if _, err := s.Put("b", "B", first, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put("a", "A", second, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.imagePath(r1.SHA256)); err != nil {
		t.Fatalf("B still holds the first image, but it is gone: %v", err)
	}
	if _, err := s.Put("b", "B", second, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.imagePath(r1.SHA256)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("nobody holds the first image, yet it is kept (%v)", err)
	}
	imgs, _ := os.ReadDir(filepath.Join(s.Dir(), "images"))
	if len(imgs) != 1 {
		t.Fatalf("%d images stored, want 1 (both devices hold the same)", len(imgs))
	}
}

func TestDamagedRecordIsOneSentenceAndReplaceable(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.recordPath("k"), []byte("{half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get("k"); !errors.Is(err, ErrStore) {
		t.Fatalf("err = %v, want ErrStore", err)
	}
	if _, err := s.Put("k", "K", []byte("new"), time.Now()); err != nil {
		t.Fatalf("a damaged record must be replaceable: %v", err)
	}
	if _, ok, err := s.Get("k"); !ok || err != nil {
		t.Fatalf("after Put: ok=%v err=%v", ok, err)
	}
}

// TestTwoProcessesWriteAtOnce: two processes and this one's goroutines
// record at once; every record is whole and names an image that exists
// with its SHA-256, and no temporary file is left.
func TestTwoProcessesWriteAtOnce(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var cmds []*exec.Cmd
	for i := range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "HOLDINGS_WRITER_DIR="+dir, "HOLDINGS_WRITER_NAME=p"+strconv.Itoa(i))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code := writer(dir, "g"+strconv.Itoa(g)); code != 0 {
				t.Errorf("goroutine writer %d failed", g)
			}
		}()
	}
	wg.Wait()
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("writer process: %v", err)
		}
	}
	recs, err := s.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 6 { // five own keys and the shared one
		t.Fatalf("%d records, want 6", len(recs))
	}
	for _, r := range recs {
		data, _, ok, err := s.Image(r.Key)
		if err != nil || !ok {
			t.Fatalf("%s: %v", r.Key, err)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != r.SHA256 || !bytes.HasSuffix(data, []byte(" image 49")) {
			t.Fatalf("%s holds %q, record %+v", r.Key, data, r)
		}
	}
	for _, sub := range []string{"records", "images"} {
		left, _ := filepath.Glob(filepath.Join(dir, sub, ".*"))
		if len(left) > 0 {
			t.Fatalf("temporary files left: %v", left)
		}
	}
	imgs, _ := os.ReadDir(filepath.Join(dir, "images"))
	if len(imgs) > 6 {
		t.Fatalf("%d images kept for 6 records: replaced ones are not removed", len(imgs))
	}
}
