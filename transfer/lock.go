package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// ErrDeviceBusy means another transfer, in this process or another
// ImageBeam process on this computer, is sending to the same device.
var ErrDeviceBusy = errors.New("transfer: device busy")

// LockDir is where the per-device lock files live. Tests point it at a
// temporary directory; empty means <user cache dir>/imagebeam/locks.
var LockDir = ""

// in-process locks, so waiting goroutines hand over without polling.
var (
	localMu    sync.Mutex
	localLocks = map[string]chan struct{}{}
)

// DeviceKey names one device on one broker: the protocol has no transfer
// id, so only one transfer may use a broker + topic pair at a time.
func DeviceKey(brokerURL, toDevice, fromDevice string) string {
	return normalizeBroker(brokerURL) + " " + toDevice + " " + fromDevice
}

func normalizeBroker(raw string) string {
	if raw == "" {
		raw = DefaultBrokerURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	scheme := u.Scheme
	switch scheme {
	case "mqtt":
		scheme = "tcp"
	case "tls", "mqtts":
		scheme = "ssl"
	}
	host := u.Hostname()
	if host == "localhost" || host == "::1" {
		host = "127.0.0.1"
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"tcp": "1883", "ssl": "8883", "ws": "80", "wss": "443"}[scheme]
	}
	return scheme + "://" + host + ":" + port + u.Path
}

// LockDevice takes the device's lock. With wait it waits for the holder to
// finish (or ctx); without, it fails at once with ErrDeviceBusy. The
// returned function releases the lock.
func LockDevice(ctx context.Context, key string, wait bool) (unlock func(), err error) {
	release, err := lockInProcess(ctx, key, wait)
	if err != nil {
		return nil, err
	}
	path, err := lockPath(key)
	if err != nil {
		// No cache directory (a locked-down account): keep the in-process
		// lock, which is what matters most, rather than refuse to send.
		return release, nil
	}
	return lockFile(ctx, path, key, wait, release)
}

// lockInProcess takes the lock that transfers of this process hand over
// without polling.
func lockInProcess(ctx context.Context, key string, wait bool) (release func(), err error) {
	localMu.Lock()
	ch, ok := localLocks[key]
	if !ok {
		ch = make(chan struct{}, 1)
		localLocks[key] = ch
	}
	localMu.Unlock()

	select {
	case ch <- struct{}{}:
	default:
		if !wait {
			return nil, fmt.Errorf("%w: another transfer in this program is sending to %s", ErrDeviceBusy, key)
		}
		select {
		case ch <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w while waiting for %s", ErrCanceled, key)
		}
	}
	return func() { <-ch }, nil
}

// lockFile takes the lock file at path, which other ImageBeam processes
// share, on top of the in-process lock: it returns an unlock for both, or
// gives the in-process lock back (release) when it fails.
func lockFile(ctx context.Context, path, key string, wait bool, release func()) (unlock func(), err error) {
	fl := flock.New(path)
	var locked bool
	if wait {
		locked, err = fl.TryLockContext(ctx, 50*time.Millisecond)
	} else {
		locked, err = fl.TryLock()
	}
	// Every way out that does not keep the lock closes the file: an open
	// descriptor holds the flock (when it was taken just as ctx ended) until
	// the garbage collector closes it, which may be never.
	switch {
	case ctx.Err() != nil:
		_ = fl.Close() // also unlocks
		release()
		return nil, fmt.Errorf("%w while waiting for %s", ErrCanceled, key)
	case err != nil:
		_ = fl.Close()
		return release, nil // the lock file is unusable; same reasoning as in LockDevice
	case !locked:
		_ = fl.Close()
		release()
		return nil, fmt.Errorf("%w: another ImageBeam process is sending to %s", ErrDeviceBusy, key)
	}
	return func() {
		_ = fl.Close() // unlocks and closes the file
		release()
	}, nil
}

func lockPath(key string) (string, error) {
	dir := LockDir
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(cache, "imagebeam", "locks")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(dir, hex.EncodeToString(sum[:8])+".lock"), nil
}
