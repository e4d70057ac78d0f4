package gui

import (
	"context"
	"image"
	"path/filepath"
	"time"

	"imagebeam/codec"
	"imagebeam/config"
	"imagebeam/holdings"
	"imagebeam/transfer"
)

// heldSide is the longer side, in pixels, of the pictures of what devices
// hold: the device list's thumbnails and the selected device's larger one
// are drawn from the same decode.
const heldSide = 240

// heldReload is how often the window rereads the holdings store, which
// `imagebeam send` and `serve` write too.
const heldReload = 10 * time.Second

// heldImages is what the window knows of what each device holds: the
// holdings store's records (the last image each device acknowledged
// whole, shared with send and serve, kept across restarts) and their
// pictures. Its fields belong to the UI goroutine; the store is read and
// written, and pictures decoded, in goroutines that report through do.
type heldImages struct {
	g       *GUI
	store   *holdings.Store            // nil when it cannot be opened (err says why)
	err     error                      // why the store is unusable, nil when it is fine
	records map[string]holdings.Record // by transfer.DeviceKey
	pics    *thumbCache                // by SHA-256
}

// newHeldImages opens the store beside the settings file (where
// holdings.DefaultDir puts it for the settings file of send and serve).
func newHeldImages(g *GUI) *heldImages {
	h := &heldImages{g: g, records: map[string]holdings.Record{}}
	h.pics = newThumbCache(g.ctx, g.do, func(string) { g.devices.refresh() })
	h.store, h.err = holdings.Open(filepath.Join(filepath.Dir(g.cfgPath), "holdings"))
	return h
}

// keyOf is d's key in the store: its broker and topics.
func (h *heldImages) keyOf(d config.Device) string {
	if h.g.backend == nil {
		return "" // no broker yet: nothing is held anywhere
	}
	return transfer.DeviceKey(h.g.backend.cfg.URL, d.ToDevice, d.FromDevice)
}

// of returns what d holds, if anything is recorded.
func (h *heldImages) of(d config.Device) (holdings.Record, bool) {
	r, ok := h.records[h.keyOf(d)]
	return r, ok
}

// picture returns the picture of r's image, or nil while it is decoded
// (the device list refreshes when it is ready) or when it cannot be.
func (h *heldImages) picture(r holdings.Record) image.Image {
	if h.store == nil {
		return nil
	}
	store, ctx := h.store, h.g.ctx
	return h.pics.get(r.SHA256, func() image.Image { return decodeHeld(ctx, store, r.Key) })
}

// decodeHeld is a heldSide picture of what key holds, nil when there is
// none or it does not decode.
func decodeHeld(ctx context.Context, store *holdings.Store, key string) image.Image {
	data, _, ok, err := store.Image(key)
	if err != nil || !ok {
		return nil
	}
	im, err := codec.LoadBytes(ctx, data, codec.LoadOptions{Target: &codec.Options{Width: heldSide, Height: heldSide}, Budget: imageBudget})
	if err != nil {
		return nil
	}
	o := codec.Options{Width: heldSide} // the longer side only: no letterbox
	if info := im.Info(); info.Height > info.Width {
		o = codec.Options{Height: heldSide}
	}
	img, err := im.Render(ctx, o)
	if err != nil {
		return nil
	}
	return img
}

// watch rereads the store now and every heldReload until the window
// closes.
func (h *heldImages) watch() {
	if h.store == nil {
		return
	}
	h.g.consumers.Add(1)
	go func() {
		defer h.g.consumers.Done()
		t := time.NewTicker(heldReload)
		defer t.Stop()
		for {
			h.reload()
			select {
			case <-h.g.ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// reload reads the store and applies it on the UI goroutine; it runs off
// the UI goroutine.
func (h *heldImages) reload() {
	recs, err := h.store.All()
	if h.g.ctx.Err() != nil {
		return
	}
	h.g.do(func() { h.apply(recs, err) })
}

// apply takes a fresh read of the store, keeping the pictures of the
// images still held.
func (h *heldImages) apply(recs []holdings.Record, err error) {
	h.err = err
	if err != nil {
		return // keep what was shown: the next read may work
	}
	changed := len(recs) != len(h.records)
	held := map[string]bool{} // the SHA-256s still held
	records := make(map[string]holdings.Record, len(recs))
	for _, r := range recs {
		records[r.Key] = r
		held[r.SHA256] = true
		if old, ok := h.records[r.Key]; !ok || old != r {
			changed = true
		}
	}
	h.records = records
	h.pics.keep(held)
	if changed {
		h.g.devices.refresh()
	}
}

// record stores that d acknowledged image whole at time at. It runs off
// the UI goroutine (a transfer's consumer) and reports through do.
func (h *heldImages) record(d config.Device, key string, image []byte, at time.Time) {
	if h.store == nil {
		return
	}
	rec, err := h.store.Put(key, d.Name, image, at)
	h.g.do(func() {
		if err != nil {
			h.err = err
			h.g.devices.refresh()
			return
		}
		h.err = nil
		h.records[rec.Key] = rec
		h.g.devices.refresh()
	})
}

// newest is the most recent record among devs, if any holds an image.
func (h *heldImages) newest(devs []config.Device) (holdings.Record, bool) {
	var best holdings.Record
	found := false
	for _, d := range devs {
		if r, ok := h.of(d); ok && (!found || r.Time.After(best.Time)) {
			best, found = r, true
		}
	}
	return best, found
}

// resend sends the image record r names to every device of devs,
// byte for byte: what a device held, to one device or a whole group.
func (h *heldImages) resend(r holdings.Record, devs []config.Device) {
	store, ctx := h.store, h.g.ctx
	go func() {
		data, rec, ok, err := store.Image(r.Key)
		if ctx.Err() != nil {
			return
		}
		h.g.do(func() {
			switch {
			case ctx.Err() != nil:
			case err != nil:
				h.g.showError(err)
			case !ok || rec.SHA256 != r.SHA256:
				h.g.showError(newError("held.error.gone", args{"Device": r.Device}))
			default:
				for _, d := range devs {
					h.g.startTransfer(d, data, tr("held.source", args{"Device": r.Device}), true)
				}
			}
		})
	}()
}
