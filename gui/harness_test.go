package gui

import (
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"

	"imagebeam/config"
	"imagebeam/internal/testbroker"
	"imagebeam/simdevice"
)

func TestMain(m *testing.M) { testbroker.RunWithTempLocks(m) }

// simName is the simulated device's name on a first start in English.
const simName = "Simulated device"

// testTheme is Fyne's test theme with the window's fonts: the Chinese
// markup masters depend on the font ImageBeam ships, never on the
// machine's (make test-nofonts hides the system's fonts).
func testTheme() fyne.Theme { return withCJK(test.Theme()) }

// newTestApp is a test app that draws with testTheme.
func newTestApp(t *testing.T) fyne.App {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(testTheme())
	return a
}

// inEachLanguage runs f once in each of the window's languages, as a
// subtest named for the language.
func inEachLanguage(t *testing.T, f func(t *testing.T, lang string)) {
	for _, l := range languageTags() {
		t.Run(l, func(t *testing.T) { f(t, l) })
	}
}

// assertMarkup compares c with the master testdata/LANG/NAME.
func assertMarkup(t *testing.T, lang, name string, c fyne.Canvas) {
	t.Helper()
	test.AssertRendersToMarkup(t, lang+"/"+name, c)
}

// inLanguage has the window speak lang until the test ends.
func inLanguage(t *testing.T, lang string) {
	useLanguage(lang)
	t.Cleanup(func() { useLanguage(langEnglish) })
}

// uiQueue stands in for Fyne's main loop: goroutines queue work with do,
// and the test goroutine runs it in waitFor, so widgets are only ever
// touched from the test goroutine, as in the app they are only touched
// from the main one.
type uiQueue struct {
	mu   sync.Mutex
	fs   []func()
	wake chan struct{}
}

func newUIQueue() *uiQueue { return &uiQueue{wake: make(chan struct{}, 1)} }

func (q *uiQueue) do(f func()) {
	q.mu.Lock()
	q.fs = append(q.fs, f)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *uiQueue) runPending() {
	q.mu.Lock()
	fs := q.fs
	q.fs = nil
	q.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

type harness struct {
	t   *testing.T
	g   *GUI
	q   *uiQueue
	dir string
}

// newHarness opens the window on the test driver, in English, with its
// own settings file and history, the built-in broker on a free loopback
// port and a simulated device without faults. setup may write a settings
// file first.
func newHarness(t *testing.T, setup func(cfgPath string)) *harness {
	t.Helper()
	return newHarnessIn(t, langEnglish, setup)
}

// newHarnessIn is newHarness with the window speaking lang.
func newHarnessIn(t *testing.T, lang string, setup func(cfgPath string)) *harness {
	t.Helper()
	h := &harness{t: t, q: newUIQueue(), dir: t.TempDir()}
	cfg := filepath.Join(h.dir, "settings.json")
	if setup != nil {
		setup(cfg)
	}
	t.Cleanup(func() { useLanguage(langEnglish) })
	h.g = New(newTestApp(t), Options{
		ConfigPath:    cfg,
		DataDir:       filepath.Join(h.dir, "data"),
		Do:            h.q.do,
		BuiltinListen: "127.0.0.1:0",
		SimFaults:     &simdevice.Faults{},
		Language:      lang,
	})
	h.g.win.Resize(fyne.NewSize(1100, 700))
	t.Cleanup(h.g.Shutdown)
	return h
}

// waitFor runs queued UI work until cond holds.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		h.q.runPending()
		if cond() {
			return
		}
		select {
		case <-h.q.wake:
		case <-deadline.C:
			h.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// waitSim waits until the simulated device listens and the indicator is up.
func (h *harness) waitSim() {
	h.t.Helper()
	// simUp is closed by the simulator's goroutine, not through the UI
	// queue, so it wakes no waitFor: wait on it directly first.
	select {
	case <-h.g.backend.simUp:
	case <-time.After(30 * time.Second):
		h.t.Fatal("timed out waiting for the simulated device")
	}
	h.waitFor("the broker connection", func() bool { return h.g.conn.state == connUp })
}

// load drops path on the window and waits for the preview.
func (h *harness) load(path string) {
	h.t.Helper()
	before := h.g.preview.result
	h.g.OnDropped(fyne.Position{}, []fyne.URI{storage.NewFileURI(path)})
	h.waitFor("the preview of "+path, func() bool { return h.g.preview.result != nil && h.g.preview.result != before })
}

// sendAndWait taps Send and waits for the transfer's end.
func (h *harness) sendAndWait() *transferView {
	h.t.Helper()
	var ended *transferView
	h.g.onTransferEnd = func(v *transferView) { ended = v }
	test.Tap(h.g.preview.send)
	h.waitFor("the transfer to end", func() bool { return ended != nil })
	h.g.onTransferEnd = nil
	return ended
}

// writeJPEG writes a w×h test picture (a smooth gradient) and returns its path.
func writeJPEG(t *testing.T, dir, name string, w, h int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x + y) % 256), 255})
		}
	}
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return p
}

// addDevice saves a device through the device list, as the form does.
func (h *harness) addDevice(d config.Device) {
	h.t.Helper()
	if err := h.g.devices.saveDevice(-1, d); err != nil {
		h.t.Fatal(err)
	}
}

// shown returns the objects of type T that o draws, at any depth of
// containers and widgets, in drawing order: the rows a list has made.
func shown[T fyne.CanvasObject](o fyne.CanvasObject) []T {
	var out []T
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if t, ok := o.(T); ok {
			out = append(out, t)
		}
		switch x := o.(type) {
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(x).Objects() {
				walk(c)
			}
		}
	}
	walk(o)
	return out
}
