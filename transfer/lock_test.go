package transfer

import (
	"context"
	"errors"
	"testing"

	"github.com/gofrs/flock"
)

// TestCancelledLockLeavesTheFileFree: when ctx ends just as the file lock
// is taken, LockDevice fails and must leave the lock free for the next
// process, not held by an open file until the garbage collector runs.
func TestCancelledLockLeavesTheFileFree(t *testing.T) {
	key := DeviceKey("tcp://127.0.0.1:1883", "lock/to", "lock/from")
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the file lock is still taken (TryLock does not look at ctx), then ctx is seen
	if _, err := LockDevice(ctx, key, false); !errors.Is(err, ErrCanceled) {
		t.Fatalf("err = %v, want ErrCanceled", err)
	}
	path, err := lockPath(key)
	if err != nil {
		t.Fatal(err)
	}
	other := flock.New(path) // another open file: flock locks conflict even in one process
	ok, err := other.TryLock()
	if err != nil || !ok {
		t.Fatalf("the device's lock file is still locked after a cancelled LockDevice (ok=%v, err=%v)", ok, err)
	}
	_ = other.Unlock()
	// And the device can be locked again in this process.
	unlock, err := LockDevice(context.Background(), key, false)
	if err != nil {
		t.Fatalf("after a cancelled lock: %v", err)
	}
	unlock()
}
