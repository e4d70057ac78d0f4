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

// A dropped bomb (a 10000×10000 16-bit RGBA PNG, about 1.2 GiB to decode
// at any scale: PNG has no scaled decode) is refused from its header with
// the pipeline's sentence, and the image shown stays. (A progressive JPEG
// of that size is no bomb for the window: it decodes at 1/8 scale.)
func TestDroppedBombIsRefusedAndKeepsPrevious(t *testing.T) {
	h := newHarness(t, nil)
	good := writeJPEG(t, h.dir, "good.jpg", 640, 480)
	h.load(good)
	kept := h.g.preview.result

	bomb := filepath.Join(h.dir, "bomb.png")
	f, err := os.Create(bomb)
	if err != nil {
		t.Fatal(err)
	}
	err = bombs.PNG{Width: 10000, Height: 10000, Depth: 16, ColorType: 6, HeaderOnly: true}.Write(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var loadErr error
	h.g.onLoadError = func(err error) { loadErr = err }
	h.g.OnDropped(fyne.Position{}, []fyne.URI{storage.NewFileURI(bomb)})
	h.waitFor("the load error", func() bool { return loadErr != nil })

	p := h.g.preview
	if !strings.Contains(p.errText.Text, "bomb.png") || !strings.Contains(p.errText.Text, "10000×10000 16-bit RGBA PNG needs about") {
		t.Errorf("error shown = %q", p.errText.Text)
	}
	if p.result != kept || p.source != good {
		t.Error("the previous image was not kept")
	}
}
