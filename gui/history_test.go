package gui

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"os"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"imagebeam/transfer"
)

func shaOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// historyWindow shows the History tab in a window of its own and returns
// its rows by the source they name.
func historyWindow(t *testing.T, hv *historyView) map[string]*historyRow {
	t.Helper()
	hv.object().Show() // the tab is not the selected one
	w := test.NewTempWindow(t, hv.object())
	w.Resize(fyne.NewSize(500, 400))
	rows := map[string]*historyRow{}
	for _, r := range shown[*historyRow](w.Content()) {
		for _, src := range []string{"photo.jpg", "notes.txt"} {
			if strings.Contains(r.details.Text, src) {
				rows[src] = r
			}
		}
	}
	if len(rows) != 2 {
		t.Fatalf("the History tab shows %d of the 2 entries", len(rows))
	}
	return rows
}

// Drawing a history row does not read its thumbnail: the row shows it
// once it has been decoded in the background, and drawing it again takes
// it from the cache.
func TestHistoryRowShowsItsThumbnailOnceRead(t *testing.T) {
	h := newHarness(t, nil)
	hv := h.g.history
	photo, err := os.ReadFile(writeJPEG(t, h.dir, "photo.jpg", 300, 200))
	if err != nil {
		t.Fatal(err)
	}
	notes := []byte("not an image, so it has no thumbnail")
	now := time.Now()
	hv.store.add(historyEntry{Time: now, Device: simName, Source: "photo.jpg", Bytes: len(photo), SHA256: shaOf(photo), Result: transfer.PhaseDone}, photo)
	hv.store.add(historyEntry{Time: now, Device: simName, Source: "notes.txt", Bytes: len(notes), SHA256: shaOf(notes), Result: transfer.PhaseFailed}, notes)
	hv.refresh()

	rows := historyWindow(t, hv)
	if rows["photo.jpg"].thumb.Image != nil {
		t.Fatal("the thumbnail was read while the row was drawn, on the UI goroutine")
	}
	h.waitFor("the thumbnails to be read", func() bool { return len(hv.thumbs.reading) == 0 })
	if img := rows["photo.jpg"].thumb.Image; img == nil || img.Bounds().Dx() != thumbSide {
		t.Fatalf("the photo's row shows %v, want its %d-pixel thumbnail", img, thumbSide)
	}
	if img := rows["notes.txt"].thumb.Image; img != nil {
		t.Errorf("an entry without a thumbnail shows %v", img.Bounds())
	}

	hv.list.Refresh()
	if len(hv.thumbs.reading) != 0 || rows["photo.jpg"].thumb.Image == nil {
		t.Errorf("drawn again, the rows read their thumbnails again (%d reading)", len(hv.thumbs.reading))
	}
}

// The cache keeps the thumbnails of the images the history lists, and no
// others, so it never holds more than historyMaxEntries.
func TestThumbnailsOfEntriesNoLongerListedAreForgotten(t *testing.T) {
	h := newHarness(t, nil)
	c := h.g.history.thumbs
	c.images["gone"] = image.NewGray(image.Rect(0, 0, 4, 4))
	c.reading["going"] = true
	h.g.history.refresh()
	if len(c.images) != 0 || len(c.reading) != 0 {
		t.Fatalf("after the entries went the cache holds %d thumbnails and reads %d", len(c.images), len(c.reading))
	}
	c.store("going", image.NewGray(image.Rect(0, 0, 4, 4))) // its read ends after its entry went
	if _, ok := c.images["going"]; ok {
		t.Error("a thumbnail read after its entry went was kept")
	}
}

// Resend reads the stored image off the UI goroutine: its transfer starts
// when the bytes come back through the UI queue, and a stored image that
// has gone is an error in words that starts nothing.
func TestResendReadsTheStoredImageInTheBackground(t *testing.T) {
	h := newHarness(t, nil)
	hv := h.g.history
	img := []byte("the exact bytes that were sent")
	hv.store.add(historyEntry{Time: time.Now(), Device: simName, Bytes: len(img), SHA256: shaOf(img), Result: transfer.PhaseDone}, img)
	hv.refresh()
	e := hv.entries[0]

	hv.resend(e, "")
	if len(h.g.xfers.views) != 0 {
		t.Fatal("the resend started before its image was read in the background")
	}
	h.waitFor("the resend to start", func() bool { return len(h.g.xfers.views) == 1 })
	if v := h.g.xfers.views[0]; !bytes.Equal(v.image, img) || !v.resend {
		t.Errorf("the resend sends %q (resend %v), want the stored bytes", v.image, v.resend)
	}

	if err := os.Remove(hv.store.imagePath(e.SHA256)); err != nil {
		t.Fatal(err)
	}
	hv.resend(e, "")
	h.waitFor("the error", func() bool { return h.g.win.Canvas().Overlays().Top() != nil })
	if text := allText(h.g.win.Canvas().Overlays().Top()); !strings.Contains(text, "no longer stored") {
		t.Errorf("the error says %q", text)
	}
	if len(h.g.xfers.views) != 1 {
		t.Error("a resend without its image started a transfer")
	}
}
