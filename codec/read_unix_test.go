//go:build unix

package codec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A device reports size 0 and never ends: reading stops at the cap.
func TestLoadFileStopsAtTheCapOnDevZero(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	for _, b := range []*Budget{nil, NewBudget(64<<20, "")} {
		_, err := LoadFile(context.Background(), "/dev/zero", LoadOptions{MaxInputBytes: 1 << 20, Budget: b})
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "reading /dev/zero stopped at the 1 MiB limit") {
			t.Errorf("budget %v: got %v", b != nil, err)
		}
		if b != nil && (b.input.inUse() != 0 || b.input.peak != 2<<20) {
			t.Errorf("input share in use %d, peak %d; want 0 and twice the cap", b.input.inUse(), b.input.peak)
		}
	}
}

// How the writer of a test FIFO behaves after writing its data once.
type fifoWriter int

const (
	fifoCloses  fifoWriter = iota // closes: the reader sees the end
	fifoEndless                   // writes it again, for ever
	fifoStalls                    // keeps the FIFO open, writing nothing
)

// mkfifo makes a FIFO and feeds it data from a goroutine.
func mkfifo(t *testing.T, data []byte, how fifoWriter) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(done)
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		if _, err := f.Write(data); err != nil {
			return
		}
		for how == fifoEndless {
			if _, err := f.Write(data); err != nil {
				return // the reader is gone
			}
		}
		if how == fifoStalls {
			<-stop
		}
	}()
	t.Cleanup(func() {
		close(stop)
		// Unblock a writer still waiting for a reader to open the FIFO.
		if r, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			r.Close()
		}
		<-done
	})
	return p
}

func TestLoadFileStopsAtTheCapOnAnEndlessFIFO(t *testing.T) {
	p := mkfifo(t, make([]byte, 64<<10), fifoEndless)
	_, err := LoadFile(context.Background(), p, LoadOptions{MaxInputBytes: 1 << 20})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "stopped at the 1 MiB limit") {
		t.Fatalf("got %v", err)
	}
}

// A FIFO whose writer stops writing without closing must not hang the
// load: it ends with the context.
func TestLoadFileFromAStalledFIFOEndsWithTheContext(t *testing.T) {
	p := mkfifo(t, readTestdata(t, "quadrants.png")[:20], fifoStalls)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := LoadFile(ctx, p, LoadOptions{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the context's deadline", err)
	}
}

// A FIFO that delivers a whole image and closes loads like a file.
func TestLoadFileFromAFIFO(t *testing.T) {
	p := mkfifo(t, readTestdata(t, "quadrants.png"), fifoCloses)
	im, err := LoadFile(context.Background(), p, LoadOptions{Budget: NewBudget(64<<20, "")})
	if err != nil || im.Info().Width != 64 {
		t.Fatalf("got %v", err)
	}
}
