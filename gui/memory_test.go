package gui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"

	"imagebeam/internal/bombs"
)

// A dropped bomb (0.6 MB on disk, about 2 GiB to decode) is refused from
// its header with the pipeline's sentence, and the image shown stays.
func TestDroppedBombIsRefusedAndKeepsPrevious(t *testing.T) {
	h := newHarness(t, nil)
	good := writeJPEG(t, h.dir, "good.jpg", 640, 480)
	h.load(good)
	kept := h.g.preview.result

	bomb := filepath.Join(h.dir, "bomb.jpg")
	f, err := os.Create(bomb)
	if err != nil {
		t.Fatal(err)
	}
	err = bombs.JPEG{Width: 10000, Height: 10000, Progressive: true,
		Components: []bombs.Sampling{{H: 1, V: 1}, {H: 1, V: 1}, {H: 1, V: 1}}}.Write(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var loadErr error
	h.g.onLoadError = func(err error) { loadErr = err }
	h.g.OnDropped(fyne.Position{}, []fyne.URI{storage.NewFileURI(bomb)})
	h.waitFor("the load error", func() bool { return loadErr != nil })

	p := h.g.preview
	if !strings.Contains(p.errText.Text, "bomb.jpg") || !strings.Contains(p.errText.Text, "10000×10000 progressive JPEG needs about") {
		t.Errorf("error shown = %q", p.errText.Text)
	}
	if p.result != kept || p.source != good {
		t.Error("the previous image was not kept")
	}
}
