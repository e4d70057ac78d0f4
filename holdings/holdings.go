// Package holdings records, for each device, the last image it
// acknowledged whole: its exact bytes, SHA-256 and when, kept across
// restarts and shared by the window, send and serve, which may write it
// at the same moment from different processes.
//
// A device is keyed by transfer.DeviceKey (broker and topics), not by its
// name: two saved names for one device share what it holds, and a renamed
// device keeps it. The store lives in a folder of its own beside the
// settings file (DefaultDir), not in the settings file: it is written
// after every transfer by machines, holds binary images, and must never
// put the settings a person edits at risk.
package holdings

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"imagebeam/config"
	"imagebeam/internal/atomicfile"
)

// ErrStore means the store could not be read or written.
var ErrStore = errors.New("holdings: the record of what devices hold is unusable")

// Record is what one device holds: the last image it acknowledged whole.
type Record struct {
	Key    string    `json:"key"`    // transfer.DeviceKey: broker and topics
	Device string    `json:"device"` // the name it was last sent under
	SHA256 string    `json:"sha256"` // of the image bytes, hex
	Bytes  int       `json:"bytes"`
	Time   time.Time `json:"time"` // when the device acknowledged it
}

// Store is the folder of records. It is safe for concurrent use, also
// across processes: writes take a lock file and replace files atomically,
// reads take the lock shared.
//
//	records/<hash of key>.json   one Record per device
//	images/<sha256>.jpg          each image once, whatever number of devices hold it
type Store struct {
	dir string
	mu  sync.RWMutex // the lock file is per open file; this orders this process's goroutines
}

// DefaultDir is the store's folder: "holdings" beside the settings file
// (so IMAGEBEAM_CONFIG moves both).
func DefaultDir() (string, error) {
	p, err := config.Path()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(p), "holdings"), nil
}

// Open returns the store in dir, making the folder (readable by the user
// only) when it is missing.
func Open(dir string) (*Store, error) {
	for _, d := range []string{dir, filepath.Join(dir, "records"), filepath.Join(dir, "images")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("%w: cannot create %s: %v", ErrStore, d, err)
		}
	}
	return &Store{dir: dir}, nil
}

// OpenDefault opens the store in DefaultDir.
func OpenDefault() (*Store, error) {
	dir, err := DefaultDir()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStore, err)
	}
	return Open(dir)
}

// Dir is the store's folder.
func (s *Store) Dir() string { return s.dir }

func (s *Store) recordPath(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(s.dir, "records", hex.EncodeToString(sum[:12])+".json")
}

func (s *Store) imagePath(sha string) string {
	return filepath.Join(s.dir, "images", sha+".jpg")
}

// lockTimeout bounds the wait for another process's write (a write is a
// few milliseconds; a process stuck holding the lock must not hang us).
const lockTimeout = 10 * time.Second

// lock takes the store's lock file, shared or exclusive, and returns its
// release.
func (s *Store) lock(shared bool) (func(), error) {
	if shared {
		s.mu.RLock()
	} else {
		s.mu.Lock()
	}
	unlockMu := func() {
		if shared {
			s.mu.RUnlock()
		} else {
			s.mu.Unlock()
		}
	}
	fl := flock.New(filepath.Join(s.dir, ".lock"))
	ctx, cancel := context.WithTimeout(context.Background(), lockTimeout)
	defer cancel()
	var ok bool
	var err error
	if shared {
		ok, err = fl.TryRLockContext(ctx, 10*time.Millisecond)
	} else {
		ok, err = fl.TryLockContext(ctx, 10*time.Millisecond)
	}
	if err != nil || !ok {
		_ = fl.Close()
		unlockMu()
		if err == nil {
			err = errors.New("another ImageBeam process holds the lock")
		}
		return nil, fmt.Errorf("%w: cannot lock %s: %v", ErrStore, s.dir, err)
	}
	return func() {
		_ = fl.Close()
		unlockMu()
	}, nil
}

// Put records that the device key (named device) acknowledged image whole
// at time at, replacing what it held. The image is written once per
// content; one that no device holds any more is removed.
func (s *Store) Put(key, device string, image []byte, at time.Time) (Record, error) {
	sum := sha256.Sum256(image)
	rec := Record{Key: key, Device: device, SHA256: hex.EncodeToString(sum[:]), Bytes: len(image), Time: at.UTC()}
	release, err := s.lock(false)
	if err != nil {
		return Record{}, err
	}
	defer release()
	old, hadOld, _ := s.read(key) // a damaged record is simply replaced
	img := s.imagePath(rec.SHA256)
	if _, err := os.Stat(img); err != nil {
		if err := atomicfile.Write(img, image, 0o600); err != nil {
			return Record{}, fmt.Errorf("%w: cannot write %s: %v", ErrStore, img, err)
		}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return Record{}, err
	}
	if err := atomicfile.Write(s.recordPath(key), append(b, '\n'), 0o600); err != nil {
		return Record{}, fmt.Errorf("%w: cannot write the record of %s: %v", ErrStore, device, err)
	}
	if hadOld && old.SHA256 != rec.SHA256 {
		s.dropUnheld(old.SHA256)
	}
	return rec, nil
}

// dropUnheld removes the image sha when no record names it; the
// exclusive lock is held.
func (s *Store) dropUnheld(sha string) {
	held := false
	err := s.each(func(r Record) bool {
		held = r.SHA256 == sha
		return !held
	})
	if err != nil || held {
		return // an error keeps the image rather than guess
	}
	_ = os.Remove(s.imagePath(sha))
}

// Get returns what the device key holds; ok is false when nothing is
// recorded for it.
func (s *Store) Get(key string) (rec Record, ok bool, err error) {
	release, err := s.lock(true)
	if err != nil {
		return Record{}, false, err
	}
	defer release()
	return s.read(key)
}

func (s *Store) read(key string) (Record, bool, error) {
	b, err := readCapped(s.recordPath(key), maxRecordBytes)
	if errors.Is(err, os.ErrNotExist) {
		return Record{}, false, nil
	}
	if err != nil && !errors.Is(err, errTooLarge) {
		return Record{}, false, fmt.Errorf("%w: %v", ErrStore, err)
	}
	rec, ok := parseRecord(b)
	if err != nil || !ok || rec.Key != key {
		return Record{}, false, fmt.Errorf("%w: the record %s is damaged; the next image sent to the device replaces it", ErrStore, s.recordPath(key))
	}
	return rec, true, nil
}

// The store's files may have been edited or replaced by anyone who can
// write the folder: a record is read only up to maxRecordBytes and must
// name its image by a SHA-256 (never a path), and an image is read only
// up to the size its record gives and must have that SHA-256.
const maxRecordBytes = 64 << 10

var errTooLarge = errors.New("larger than it may be")

// parseRecord decodes a record file; ok is false when it is not one.
func parseRecord(b []byte) (Record, bool) {
	var rec Record
	if json.Unmarshal(b, &rec) != nil || rec.Key == "" || rec.Bytes < 0 || len(rec.SHA256) != 64 {
		return Record{}, false
	}
	if _, err := hex.DecodeString(rec.SHA256); err != nil {
		return Record{}, false
	}
	return rec, true
}

// readCapped reads the regular file at path, refusing one of more than
// max bytes (errTooLarge) after reading at most max+1 of them, and
// anything else in its place (a FIFO would block, a device never end).
func readCapped(path string, max int64) ([]byte, error) {
	if fi, err := os.Lstat(path); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is %w (%d bytes)", path, errTooLarge, max)
	}
	return b, nil
}

// Image returns the bytes of what the device key holds, with its record;
// ok is false when nothing is recorded.
func (s *Store) Image(key string) (data []byte, rec Record, ok bool, err error) {
	release, err := s.lock(true)
	if err != nil {
		return nil, Record{}, false, err
	}
	defer release()
	rec, ok, err = s.read(key)
	if err != nil || !ok {
		return nil, rec, ok, err
	}
	data, err = readCapped(s.imagePath(rec.SHA256), int64(rec.Bytes))
	if err != nil {
		return nil, rec, false, fmt.Errorf("%w: the image of %s is missing: %v", ErrStore, rec.Device, err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != rec.SHA256 {
		return nil, rec, false, fmt.Errorf("%w: the image of %s is damaged (its SHA-256 differs); the next image sent to the device replaces it", ErrStore, rec.Device)
	}
	return data, rec, true, nil
}

// All returns every record, newest first.
func (s *Store) All() ([]Record, error) {
	release, err := s.lock(true)
	if err != nil {
		return nil, err
	}
	defer release()
	return s.all()
}

func (s *Store) all() ([]Record, error) {
	var out []Record
	if err := s.each(func(r Record) bool { out = append(out, r); return true }); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	return out, nil
}

// each calls fn with every readable record, in no order, until fn
// returns false; the lock is held.
func (s *Store) each(fn func(Record) bool) error {
	dir := filepath.Join(s.dir, "records")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrStore, err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := readCapped(filepath.Join(dir, e.Name()), maxRecordBytes)
		if err != nil {
			continue
		}
		if rec, ok := parseRecord(b); ok && !fn(rec) {
			return nil
		}
	}
	return nil
}
