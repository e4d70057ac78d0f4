package cli

import (
	"io"
	"sync"
	"time"

	"imagebeam/transfer"
)

// lineBuffer collects --json lines and writes them at most every 100 ms,
// in one write, and at once for the events a reader waits for (see
// urgent). Three events a packet, each its own write to a pipe, cost more
// CPU than sending the packet.
type lineBuffer struct {
	mu    sync.Mutex
	w     io.Writer
	buf   []byte
	timer *time.Timer // pending flush
}

// flushAfter is how long a line may wait in the buffer.
const flushAfter = 100 * time.Millisecond

func newLineBuffer(w io.Writer) *lineBuffer { return &lineBuffer{w: w} }

// add appends line; now writes it (and what waited) at once.
func (b *lineBuffer) add(line []byte, now bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, line...)
	if now || len(b.buf) >= 32<<10 {
		b.flushLocked()
		return
	}
	if b.timer == nil {
		b.timer = time.AfterFunc(flushAfter, b.flush)
	}
}

// Write adds p as a line that may wait (json.Encoder writes one line a
// call).
func (b *lineBuffer) Write(p []byte) (int, error) {
	b.add(p, false)
	return len(p), nil
}

// flush writes what waits.
func (b *lineBuffer) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
}

func (b *lineBuffer) flushLocked() {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if len(b.buf) > 0 {
		_, _ = b.w.Write(b.buf)
		b.buf = b.buf[:0]
	}
}

// urgent reports whether a reader of the event stream should see e at
// once: a transfer waiting, connecting, losing the broker, resending or
// ending. The per-packet events (frame_sent, acked, progress) may wait.
func urgent(e transfer.Event) bool {
	switch e.(type) {
	case transfer.FrameSent, transfer.Acked, transfer.Progress:
		return false
	}
	return true
}
