package codec

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"imagebeam/internal/human"
)

// Budget bounds the memory that image preparations hold at once, across
// every goroutine that shares it (one per process: the server, the
// window, a command). Before decoding, a preparation estimates from the
// image's header what decoding, fitting and re-encoding will allocate, and
// waits (first come, first served) until that much of the budget is free;
// one that could never fit is refused at once with ErrMemoryBudget. The
// encoded input being read or held waits the same way for its own share.
//
// The budget is split in two pools: a quarter for encoded inputs (a
// download or an upload is held before its header can be read) and the
// rest for decoding and encoding. A preparation takes its input share
// first and its decoding share once the input is read; decoding shares
// never wait for anything, so a preparation that holds an input and waits
// to decode always gets its turn. With one pool, uploads holding their
// bytes and each waiting for room to decode could fill it and wait for
// ever.
//
// At most GOMAXPROCS conversions hold the decoding pool at once: each is
// CPU-bound, and bounding them here rather than with a semaphore of their
// own keeps one order for everything a preparation waits for (input, then
// decoding): a caller that waited for a CPU slot before its download got
// memory could otherwise hold the slot that an upload holding memory
// waits for.
//
// A reservation lasts for one call (a Load, an Encode, a Convert): the
// working copy an Image keeps between calls is outside the budget. A nil
// *Budget admits everything.
type Budget struct {
	limit int64
	how   string
	input pool
	work  pool
	// freeing is set while memory is being returned to the OS; released
	// counts the bytes given back since it last was.
	freeing  atomic.Bool
	released atomic.Int64
}

// NewBudget returns a budget of limit bytes. how says how a user raises
// it (a flag name such as "--max-memory"), for messages; "" for none.
func NewBudget(limit int64, how string) *Budget {
	limit = max(limit, 0)
	b := &Budget{limit: limit, how: how}
	b.input.size = limit / 4
	b.work.size = limit - b.input.size
	b.work.maxHolders = max(1, runtime.GOMAXPROCS(0))
	return b
}

// Limit is the whole budget in bytes.
func (b *Budget) Limit() int64 { return b.limit }

// WorkLimit is the most one preparation may use to decode and encode.
func (b *Budget) WorkLimit() int64 { return b.work.size }

// InputLimit is the most the encoded inputs being read may hold together.
func (b *Budget) InputLimit() int64 { return b.input.size }

// Acquire waits until n bytes of the decoding pool are free and fewer
// than GOMAXPROCS conversions hold it, in the order the calls came, or
// until ctx ends. n over WorkLimit fails at once with ErrMemoryBudget.
// Release gives back what one Acquire took.
func (b *Budget) Acquire(ctx context.Context, n int64) error {
	if n > b.work.size {
		return fmt.Errorf("%w: %s is more than the %s that one image may use of the %s",
			ErrMemoryBudget, human.Bytes(n), human.Bytes(b.work.size), b.name())
	}
	return b.work.acquire(ctx, n)
}

// Release returns the n bytes one Acquire took.
func (b *Budget) Release(n int64) {
	b.work.release(n)
	b.afterRelease(n)
}

// AcquireInput waits until n bytes of the input pool are free, in the
// order the calls came, or until ctx ends. n over InputLimit fails at once
// with ErrMemoryBudget. ReleaseInput gives them back.
func (b *Budget) AcquireInput(ctx context.Context, n int64) error {
	if n > b.input.size {
		return fmt.Errorf("%w: an input of %s is more than the %s of the %s kept for reading inputs",
			ErrMemoryBudget, human.Bytes(n), human.Bytes(b.input.size), b.name())
	}
	return b.input.acquire(ctx, n)
}

// ReleaseInput returns n bytes taken with AcquireInput.
func (b *Budget) ReleaseInput(n int64) {
	b.input.release(n)
	b.afterRelease(n)
}

// name is the budget as messages name it: "the 1 GiB memory budget (--max-memory)".
func (b *Budget) name() string {
	s := human.Bytes(b.limit) + " memory budget"
	if b.how != "" {
		s += " (" + b.how + ")"
	}
	return s
}

// returnThreshold is how much must have been released before memory is
// handed back to the OS: the Go runtime keeps freed pages for minutes
// otherwise (measured: a server stayed at 780–870 MiB after its requests
// ended), while a forced collection costs a few milliseconds.
const returnThreshold = 64 << 20

// afterRelease returns freed memory to the OS once returnThreshold bytes
// have been released and no preparation is decoding (one would only take
// the pages again), in the background and one at a time.
func (b *Budget) afterRelease(n int64) {
	if b.released.Add(n) < returnThreshold || b.work.inUse() != 0 || !b.freeing.CompareAndSwap(false, true) {
		return
	}
	b.released.Store(0)
	go func() {
		defer b.freeing.Store(false)
		debug.FreeOSMemory()
	}()
}

// pool is a weighted semaphore over bytes that serves waiters in FIFO
// order, so a big request is not starved by a stream of small ones. Each
// acquire of more than nothing also makes a holder, and with maxHolders
// set no more than that many hold it at once; release ends one.
type pool struct {
	mu         sync.Mutex
	size       int64
	used       int64
	peak       int64 // the most ever in use, for tests
	holders    int
	maxHolders int // 0: any number
	waiters    []*waiter
	// onWait, when set, is called (with mu held) as a request starts to
	// wait; tests use it instead of sleeping.
	onWait func()
}

type waiter struct {
	n     int64
	ready chan struct{}
}

func (p *pool) acquire(ctx context.Context, n int64) error {
	if n <= 0 {
		return ctx.Err()
	}
	p.mu.Lock()
	if len(p.waiters) == 0 && p.fits(n) {
		p.take(n)
		p.mu.Unlock()
		return nil
	}
	w := &waiter{n: n, ready: make(chan struct{})}
	p.waiters = append(p.waiters, w)
	if p.onWait != nil {
		p.onWait()
	}
	p.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-w.ready:
		// Granted while ctx ended: hand it on.
		p.used -= n
		p.holders--
	default:
		for i, x := range p.waiters {
			if x == w {
				p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
				break
			}
		}
	}
	// Whoever waited behind this request may fit now.
	p.grant()
	return ctx.Err()
}

// fits reports whether a new holder of n bytes fits now; mu is held.
func (p *pool) fits(n int64) bool {
	return p.used+n <= p.size && (p.maxHolders == 0 || p.holders < p.maxHolders)
}

func (p *pool) take(n int64) {
	p.used += n
	p.holders++
	p.peak = max(p.peak, p.used)
}

// release gives back what one holder took.
func (p *pool) release(n int64) {
	if n <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.used -= n
	p.holders--
	if p.used < 0 || p.holders < 0 {
		panic("codec: Budget released more than it holds")
	}
	p.grant()
}

// shrink gives back n bytes of a holder's share, which goes on holding the
// rest.
func (p *pool) shrink(n int64) {
	if n <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.used -= n
	if p.used < 0 {
		panic("codec: Budget released more than it holds")
	}
	p.grant()
}

// grow adds n bytes to a holder's share if they are free now, without
// waiting or jumping the queue.
func (p *pool) grow(n int64) bool {
	if n <= 0 {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.waiters) > 0 || p.used+n > p.size {
		return false
	}
	p.used += n
	p.peak = max(p.peak, p.used)
	return true
}

// grant wakes the waiters at the head of the queue that fit; mu is held.
func (p *pool) grant() {
	for len(p.waiters) > 0 {
		w := p.waiters[0]
		if !p.fits(w.n) {
			return
		}
		p.take(w.n)
		close(w.ready)
		p.waiters[0] = nil
		p.waiters = p.waiters[1:]
	}
}

func (p *pool) inUse() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.used
}

// lease is what one call holds of a Budget; with a nil budget it holds
// nothing and every request succeeds.
type lease struct {
	b           *Budget
	input, work int64
}

// acquireInput takes n more bytes of the input pool.
func (l *lease) acquireInput(ctx context.Context, n int64) error {
	if l.b == nil {
		return ctx.Err()
	}
	if err := l.b.AcquireInput(ctx, n); err != nil {
		return err
	}
	l.input += n
	return nil
}

// keepInput shrinks the input share to n bytes once the input is read
// (to one at least, so the share still ends with its release).
func (l *lease) keepInput(n int64) {
	n = max(n, 1)
	if l.b != nil && n < l.input {
		l.b.input.shrink(l.input - n)
		l.b.afterRelease(l.input - n)
		l.input = n
	}
}

// acquireWork takes n bytes of the decoding pool for the image described
// by what ("this 10000×10000 progressive JPEG"), refusing at once when
// they could never fit. A lease takes its decoding share once: waiting for
// more while holding some could wait for ever (see tryGrow).
func (l *lease) acquireWork(ctx context.Context, n int64, what string) error {
	if l.b == nil {
		return ctx.Err()
	}
	if l.work > 0 {
		panic("codec: a lease acquired its decoding share twice")
	}
	if n > l.b.work.size {
		return fmt.Errorf("%w: %s needs about %s to convert, more than the %s that one image may use of the %s",
			ErrMemoryBudget, what, human.Bytes(n), human.Bytes(l.b.work.size), l.b.name())
	}
	if err := l.b.work.acquire(ctx, n); err != nil {
		return err
	}
	l.work = n
	return nil
}

// tryGrow takes n more bytes of the decoding pool only if they are free
// now: a call that already holds a share must not wait for more, or two
// such calls could wait for each other.
func (l *lease) tryGrow(n int64) bool {
	if l.b == nil {
		return true
	}
	if l.work <= 0 || !l.b.work.grow(n) {
		return false // no share to grow: it would be a new holder
	}
	l.work += max(n, 0)
	return true
}

// release gives everything back.
func (l *lease) release() {
	if l.b == nil {
		return
	}
	l.b.ReleaseInput(l.input)
	l.b.Release(l.work)
	l.input, l.work = 0, 0
}
