package gui

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"imagebeam/simdevice"
	"imagebeam/transfer"
)

// soakSample is the window's footprint after a number of sends.
type soakSample struct {
	sends      int
	heapMiB    float64 // live heap after a GC
	goroutines int
	fds        int // open files; -1 where /proc is missing
	history    int // entries the history keeps
	cards      int // transfer cards shown
}

func takeSoakSample(h *harness, sends int) soakSample {
	// A paint lets Fyne drop what it caches for objects no longer shown
	// (renderers, text sizes), as every frame does in the app. Its cache
	// keeps them for FYNE_CACHE (a minute by default; the soak script sets
	// a second) and cleans at most every 10 s.
	h.g.win.Canvas().Capture()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	fds := -1
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		fds = len(ents)
	}
	return soakSample{sends, float64(m.HeapAlloc) / (1 << 20), runtime.NumGoroutine(), fds, len(h.g.history.entries), len(h.g.xfers.views)}
}

// TestWindowSoak sends image after image to the simulated device through
// the window, as a technician would, and checks that what the window
// keeps is bounded and that its heap, goroutines and open files stay flat
// after warm-up. It sends 20 images; IMAGEBEAM_SOAK_SENDS asks for more
// and IMAGEBEAM_SOAK_CSV writes the samples (scripts/soak-window.sh does
// both and plots them).
func TestWindowSoak(t *testing.T) {
	n := 20
	if v := os.Getenv("IMAGEBEAM_SOAK_SENDS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 20 {
			t.Fatalf("IMAGEBEAM_SOAK_SENDS=%q: want a number of sends, at least 20", v)
		}
	}
	every := max(n/30, 5)
	h := newHarness(t, nil)
	complete := 0
	h.g.onSimReceived = func(r simdevice.Received) {
		if r.Complete {
			complete++
		}
	}
	h.waitSim()
	var samples []soakSample
	for i := 1; i <= n; i++ {
		// Each image differs from the one before, so no send asks first.
		h.load(writeJPEG(t, h.dir, "soak.jpg", 320+i%64, 200))
		if v := h.sendAndWait(); v.snap.Phase != transfer.PhaseDone {
			t.Fatalf("send %d ended %q: %v", i, v.snap.Phase, v.snap.Err)
		}
		if i%every == 0 {
			samples = append(samples, takeSoakSample(h, i))
		}
	}
	h.waitFor("every image at the device", func() bool { return complete == n })
	if out := os.Getenv("IMAGEBEAM_SOAK_CSV"); out != "" {
		var b strings.Builder
		b.WriteString("sends,heap_mib,goroutines,fds,history,cards\n")
		for _, s := range samples {
			fmt.Fprintf(&b, "%d,%.2f,%d,%d,%d,%d\n", s.sends, s.heapMiB, s.goroutines, s.fds, s.history, s.cards)
		}
		if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	warm, last := samples[min(1, len(samples)-1)], samples[len(samples)-1]
	t.Logf("after %d sends: %+v; after %d: %+v", warm.sends, warm, last.sends, last)
	if last.history > historyMaxEntries || last.cards > maxCards {
		t.Errorf("the window keeps %d history entries and %d cards, bounds %d and %d", last.history, last.cards, historyMaxEntries, maxCards)
	}
	if last.goroutines > warm.goroutines+5 || (warm.fds >= 0 && last.fds > warm.fds+5) {
		t.Errorf("goroutines %d → %d, open files %d → %d from send %d to %d", warm.goroutines, last.goroutines, warm.fds, last.fds, warm.sends, last.sends)
	}
	// The heap is a saw (Fyne's cache empties every 10 s at most): compare
	// its lows, after warm-up, in the first and the second half.
	after := samples[min(1, len(samples)-1):]
	low := func(ss []soakSample) float64 {
		m := ss[0].heapMiB
		for _, s := range ss {
			m = min(m, s.heapMiB)
		}
		return m
	}
	first, second := low(after[:(len(after)+1)/2]), low(after[len(after)/2:])
	if second > first+8 {
		t.Errorf("the heap's low rose from %.1f MiB to %.1f MiB between the first and the second half of %d sends", first, second, n)
	}
}
