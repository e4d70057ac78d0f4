package codec

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
)

// A progressive JPEG's scans come one after another, but a later scan of
// a component only needs the earlier ones to have reached the block row
// it is working on. So two scans run at once on two cores, the later one
// following the earlier row by row, like a wavefront: for libjpeg's
// script, whose last three luma scans refine what the ones before them
// wrote, that is the only parallelism there is.

// scanWorkers is how many scans decode at once.
const scanWorkers = 8

// wavefront orders the rows of concurrently decoded scans.
type wavefront struct {
	h     *jpegHeader
	scans []scanInfo
	// deps[i][c] is the scan that scan i must follow on component c
	// (−1 for none): the last earlier scan that writes what i writes.
	deps [][4]int
	// rows[i] counts the rows scan i has finished (MCU rows when it holds
	// several components, block rows otherwise); scanFinished once done.
	rows []atomic.Int64
	mu   sync.Mutex
	cond sync.Cond
	// failed is the first scan that failed (math.MaxInt64 while none):
	// the scans after it give up, the ones before go on, so the error is
	// the one decoding scan by scan would give.
	failed atomic.Int64
}

const scanFinished = 1 << 40

// Kinds of scan, for conflicts: two scans of a component conflict unless
// one carries DC and the other AC coefficients (different coefficients,
// and only AC scans write the non-zero masks).
const (
	kindDC = iota
	kindAC
	kindAll // sequential: the whole block, into the planes
)

func (sc *scanInfo) kind(h *jpegHeader) int {
	switch {
	case h.sof != mSOF2:
		return kindAll
	case sc.ss == 0:
		return kindDC
	}
	return kindAC
}

func newWavefront(h *jpegHeader, scans []scanInfo) *wavefront {
	w := &wavefront{h: h, scans: scans, deps: make([][4]int, len(scans)), rows: make([]atomic.Int64, len(scans))}
	w.cond.L = &w.mu
	w.failed.Store(math.MaxInt64)
	var last [4][3]int // per component and kind, the last needed scan
	for c := range last {
		last[c] = [3]int{-1, -1, -1}
	}
	for i := range scans {
		sc := &scans[i]
		w.deps[i] = [4]int{-1, -1, -1, -1}
		if !sc.need {
			w.rows[i].Store(scanFinished)
			continue
		}
		k := sc.kind(h)
		for _, x := range sc.comps {
			for other, j := range last[x.comp] {
				if other == k || other == kindAll || k == kindAll {
					w.deps[i][x.comp] = max(w.deps[i][x.comp], j)
				}
			}
			last[x.comp][k] = i
		}
	}
	return w
}

// doneFor is how many block rows of component c scan i has finished.
func (w *wavefront) doneFor(i, c int) int64 {
	n := w.rows[i].Load()
	if len(w.scans[i].comps) > 1 {
		n *= int64(w.h.comps[c].v)
	}
	return n
}

// wait blocks until the scans that scan i follows have finished what row
// y of scan i needs; false when an earlier scan failed.
func (w *wavefront) wait(i, y int) bool {
	sc := &w.scans[i]
	for _, x := range sc.comps {
		d := w.deps[i][x.comp]
		if d < 0 {
			continue
		}
		need := int64(y + 1)
		if len(sc.comps) > 1 {
			need *= int64(w.h.comps[x.comp].v)
		}
		if w.doneFor(d, x.comp) >= need {
			continue
		}
		w.mu.Lock()
		for w.doneFor(d, x.comp) < need && w.failed.Load() > int64(i) {
			w.cond.Wait()
		}
		w.mu.Unlock()
	}
	return w.failed.Load() > int64(i)
}

// finished records that scan i has done n rows (scanFinished: all).
func (w *wavefront) finished(i int, n int64) {
	w.rows[i].Store(n)
	w.mu.Lock()
	w.cond.Broadcast()
	w.mu.Unlock()
}

// fail records that scan i failed, and wakes the scans after it.
func (w *wavefront) fail(i int) {
	for {
		f := w.failed.Load()
		if f <= int64(i) || w.failed.CompareAndSwap(f, int64(i)) {
			break
		}
	}
	w.mu.Lock()
	w.cond.Broadcast()
	w.mu.Unlock()
}

// errStopped ends a scan after an earlier one failed.
var errStopped = errors.New("codec: stopped after an earlier scan failed")

// decodeAllScans decodes the needed scans, scanWorkers at a time, each
// worker taking the next scan in file order. The earliest scan running
// never waits (everything before it is done), so the workers never wait
// for each other in a circle. The error is the earliest scan's.
func decodeAllScans(ctx context.Context, h *jpegHeader, data []byte, scans []scanInfo, comps []coefComp, planes []plane) error {
	w := newWavefront(h, scans)
	errs := make([]error, len(scans))
	var next atomic.Int64
	var wg sync.WaitGroup
	workers := scanWorkers
	for range workers {
		wg.Go(func() {
			var tables [8]huffTable
			for {
				i := int(next.Add(1) - 1)
				if i >= len(scans) || int64(i) > w.failed.Load() {
					return
				}
				if !scans[i].need {
					continue
				}
				if errs[i] = decodeScanSafe(ctx, h, data, i, w, comps, planes, &tables); errs[i] != nil {
					w.fail(i)
					return
				}
				w.finished(i, scanFinished)
			}
		})
	}
	wg.Wait()
	if f := w.failed.Load(); f != math.MaxInt64 {
		return errs[f]
	}
	return nil
}
