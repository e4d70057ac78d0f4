package codec

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"strings"

	"imagebeam/internal/human"
)

// Result is what the device gets, and what a preview shows about it.
type Result struct {
	// JPEG is the baseline JPEG to send. When sent as is, it is the input's
	// own slice: treat it as read-only.
	JPEG []byte
	// SourceFormat, SourceWidth and SourceHeight describe the input (size as
	// displayed, after the EXIF orientation).
	SourceFormat              Format
	SourceWidth, SourceHeight int
	// Width and Height of the output.
	Width, Height int
	// Quality used; for an input sent as is, its estimated quality.
	Quality int
	// Bytes is len(JPEG).
	Bytes int
	// Packets is the number of ChunkSize packets the JPEG takes.
	Packets   int
	ChunkSize int
	// SHA256 is the hex SHA-256 of JPEG.
	SHA256 string
	// Reencoded is false when the input's own bytes are sent as is.
	Reencoded bool
	// Shrunk is true when the byte budget made the image smaller than the
	// Options asked for.
	Shrunk bool
	// Notes say what was done that the user may not expect, in words.
	Notes []string
}

// Summary is the one-line report of `imagebeam convert`, e.g.
// "800×480 JPEG, q85, 61.2 KiB, 45 packets (from 6000×4000 JPEG, re-encoded; EXIF orientation 6 applied)".
func (r *Result) Summary() string {
	how := "re-encoded"
	if !r.Reencoded {
		how = "sent as is"
	}
	s := fmt.Sprintf("%d×%d JPEG, q%d, %s, %s (from %d×%d %s, %s", r.Width, r.Height, r.Quality,
		human.Bytes(int64(r.Bytes)), human.Count(r.Packets, "packet", "packets"), r.SourceWidth, r.SourceHeight, r.SourceFormat, how)
	if len(r.Notes) > 0 {
		s += "; " + strings.Join(r.Notes, "; ")
	}
	return s + ")"
}

// geomKey identifies a rendered (oriented, fitted) image in the cache.
type geomKey struct {
	o    orientation
	l    layout
	bg   color.NRGBA
	gray bool
}

// Encode produces the JPEG for opts from the working copy. Calling it
// again with other Options does not decode the input again unless they
// need more resolution than the working copy has; calling it with only a
// new Quality or MaxBytes does not resize again either.
//
// With a LoadOptions.Budget, Encode first waits for the memory it will
// need (see Budget), or fails with ErrMemoryBudget when that can never fit.
func (im *Image) Encode(ctx context.Context, opts Options) (*Result, error) {
	var res *Result
	err := im.withLease(ctx, opts, func(o Options, l *lease) (err error) {
		res, err = im.encode(ctx, o, l)
		return err
	})
	return res, err
}

// Render returns the image Encode would make a JPEG of for opts (oriented,
// fitted, maybe grey), without the JPEG: for a preview of the source, which
// has no reason to show compression artefacts. It holds the same share of
// the memory budget as Encode while it works. The caller must not change
// the image: it is the one Image keeps for its next Encode.
func (im *Image) Render(ctx context.Context, opts Options) (image.Image, error) {
	var img image.Image
	err := im.withLease(ctx, opts, func(o Options, l *lease) error {
		orient, lay, _, _ := im.layout(o)
		if s := im.scaleFor(o); s < im.scale {
			if err := im.decode(ctx, s, l); err != nil {
				return err
			}
		}
		img = im.rendered(orient, lay, o)
		return nil
	})
	return img, err
}

// withLease runs f for opts with the Image locked and the memory an encoding
// of opts needs held from the budget.
func (im *Image) withLease(ctx context.Context, opts Options, f func(Options, *lease) error) error {
	o, err := opts.normalized()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	l := lease{b: im.budget}
	defer l.release()
	orient := compose(im.info.Orientation, o.Rotate)
	oriented := im.orient.img != nil && im.orient.key == orient
	if err := l.acquireWork(ctx, im.encodeCost(o, im.scale, oriented), im.describe()); err != nil {
		return err
	}
	return f(o, &l)
}

// layout is the orientation and the fit of the image for o, and the
// image's size once rotated by o.Rotate.
func (im *Image) layout(o Options) (orient orientation, l layout, w, h int) {
	orient = compose(im.info.Orientation, o.Rotate)
	w, h = im.info.Width, im.info.Height
	if o.Rotate == 90 || o.Rotate == 270 {
		w, h = h, w
	}
	return orient, computeLayout(w, h, o), w, h
}

func (im *Image) encode(ctx context.Context, o Options, ls *lease) (*Result, error) {
	orient, l, w, h := im.layout(o)
	res := &Result{
		SourceFormat: im.info.Format, SourceWidth: im.info.Width, SourceHeight: im.info.Height,
		ChunkSize: o.ChunkSize, Notes: append([]string(nil), im.notes...),
	}
	if im.sendableAsIs(o, orient, l, w, h) {
		res.JPEG, res.Quality = im.data, im.info.Quality
		res.Width, res.Height = im.info.Width, im.info.Height
		res.Notes = append(res.Notes, "already a baseline JPEG within every limit, so its bytes are unchanged")
		res.finish()
		return res, nil
	}
	res.Reencoded = true
	res.Notes = append(res.Notes, im.changeNotes(o, l)...)
	if s := im.scaleFor(o); s < im.scale {
		if err := im.decode(ctx, s, ls); err != nil {
			return nil, err
		}
	}
	img := im.rendered(orient, l, o)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, q, size, err := encodeBest(ctx, img, o)
	if err != nil {
		return nil, err
	}
	if o.MaxBytes > 0 && size > o.MaxBytes {
		// Even the lowest quality does not fit: shrink step by step.
		data, q, img, err = im.shrinkToFit(ctx, orient, l, o, size)
		if err != nil {
			return nil, err
		}
		b := img.Bounds()
		res.Shrunk = true
		res.Notes = append(res.Notes, fmt.Sprintf("shrunk to %d×%d to fit the %d-byte budget (quality %d at %d×%d did not fit)",
			b.Dx(), b.Dy(), o.MaxBytes, o.MinQuality, l.ow, l.oh))
	} else if q < o.Quality {
		res.Notes = append(res.Notes, fmt.Sprintf("quality lowered from %d to %d to fit the %d-byte budget", o.Quality, q, o.MaxBytes))
	}
	res.JPEG, res.Quality = data, q
	res.Width, res.Height = img.Bounds().Dx(), img.Bounds().Dy()
	res.finish()
	return res, nil
}

func (r *Result) finish() {
	r.Bytes = len(r.JPEG)
	r.Packets = (r.Bytes + r.ChunkSize - 1) / r.ChunkSize
	sum := sha256.Sum256(r.JPEG)
	r.SHA256 = hex.EncodeToString(sum[:])
}

// sendableAsIs reports whether the input's own bytes meet every constraint.
func (im *Image) sendableAsIs(o Options, orient orientation, l layout, w, h int) bool {
	hd := im.hdr
	return !o.Reencode && hd != nil && hd.baseline() && hd.precision == 8 &&
		(len(hd.comps) == 1 || len(hd.comps) == 3 && !(hd.adobe && hd.adobeXform == 0)) &&
		orient == orientation{} && l.identity(w, h) &&
		(!o.Grayscale || len(hd.comps) == 1) &&
		im.info.Quality <= o.Quality &&
		(o.MaxBytes == 0 || len(im.data) <= o.MaxBytes)
}

// changeNotes explains a re-encode the user might not expect.
func (im *Image) changeNotes(o Options, l layout) []string {
	var notes []string
	if im.info.Orientation > 1 {
		notes = append(notes, fmt.Sprintf("EXIF orientation %d applied", im.info.Orientation))
	}
	if o.Rotate != 0 {
		notes = append(notes, fmt.Sprintf("rotated %d° clockwise", o.Rotate))
	}
	if im.info.Transparent {
		notes = append(notes, "transparency flattened onto white")
	}
	if l.notUpscaled {
		notes = append(notes, fmt.Sprintf("kept at %d×%d: smaller than the target, and upscaling is off", l.cw, l.ch))
	}
	if im.hdr != nil && !im.hdr.baseline() {
		notes = append(notes, "the input was not a baseline JPEG")
	}
	return notes
}

// scaleFor returns the coarsest JPEG DCT scale (8, 4, 2 or 1) whose
// decoded image still has the resolution o needs.
func (im *Image) scaleFor(o Options) int {
	if im.info.Format != FormatJPEG {
		return 1
	}
	orient, l, _, _ := im.layout(o)
	raw := im.rawSize()
	for _, s := range []int{8, 4, 2} {
		sw, sh := (raw.X+s-1)/s, (raw.Y+s-1)/s
		if orient.swaps() {
			sw, sh = sh, sw
		}
		if sw >= l.cw && sh >= l.ch {
			return s
		}
	}
	return 1
}

// rendered returns the oriented, fitted (and maybe grey) image, cached.
func (im *Image) rendered(orient orientation, l layout, o Options) image.Image {
	key := geomKey{o: orient, l: l, bg: color.NRGBAModel.Convert(o.Background).(color.NRGBA), gray: o.Grayscale}
	if im.geom.img != nil && im.geom.key == key {
		return im.geom.img
	}
	if im.orient.img == nil || im.orient.key != orient {
		im.orient.img, im.orient.key = orient.apply(im.work), orient
	}
	var out image.Image = render(im.orient.img, l, o.Background)
	if o.Grayscale {
		out = toGray(out.(*image.NRGBA))
	}
	im.geom.img, im.geom.key = out, key
	return out
}

// encodeJPEG writes img as a baseline JPEG at quality q and returns it with
// its size. With keep > 0 an encoding longer than keep bytes is only
// measured: its bytes are dropped (nil) as they come.
func encodeJPEG(img image.Image, q, keep int) ([]byte, int, error) {
	if n, ok := img.(*image.NRGBA); ok {
		// Opaque: the same bytes read as premultiplied RGBA, which
		// image/jpeg encodes without a per-pixel interface call.
		img = &image.RGBA{Pix: n.Pix, Stride: n.Stride, Rect: n.Rect}
	}
	b := img.Bounds()
	px := int64(b.Dx()) * int64(b.Dy())
	w := &jpegWriter{limit: jpegLimit(px, q), first: px/4 + 1024}
	if keep > 0 {
		w.limit = min(w.limit, int64(keep))
		w.measure = true
	}
	if err := jpeg.Encode(w, img, &jpeg.Options{Quality: q}); err != nil {
		if errors.Is(err, errJPEGTooLong) {
			return nil, 0, fmt.Errorf("%w: the %d×%d JPEG at quality %d came out over %s, more than any picture should take",
				ErrMemoryBudget, b.Dx(), b.Dy(), q, human.Bytes(w.limit))
		}
		return nil, 0, fmt.Errorf("codec: encoding the JPEG failed: %w", err)
	}
	return w.bytes(), int(w.n), nil
}

var errJPEGTooLong = errors.New("JPEG longer than its limit")

// jpegWriter holds an encoding in chunks, so a long one is never copied
// into a buffer twice its size as bytes.Buffer would, and never exceeds
// limit bytes: the estimate (encodeCost) counts on both.
type jpegWriter struct {
	chunks  [][]byte
	held    int64 // capacity of the chunks
	n       int64 // bytes written
	first   int64 // the first chunk's size: enough for most pictures
	limit   int64
	measure bool // past limit, count instead of failing
}

func (w *jpegWriter) Write(p []byte) (int, error) {
	written := len(p)
	w.n += int64(written)
	if w.n > w.limit {
		if w.measure {
			w.chunks, w.held = nil, 0
			return written, nil
		}
		return 0, errJPEGTooLong
	}
	for len(p) > 0 {
		if k := len(w.chunks); k > 0 && len(w.chunks[k-1]) < cap(w.chunks[k-1]) {
			c := w.chunks[k-1]
			m := copy(c[len(c):cap(c)], p)
			w.chunks[k-1] = c[:len(c)+m]
			p = p[m:]
			continue
		}
		size := w.first
		if w.held > 0 {
			size = max(64<<10, w.held) // double what is held
		}
		size = max(min(size, w.limit-w.held), 1)
		w.chunks = append(w.chunks, make([]byte, 0, size))
		w.held += size
	}
	return written, nil
}

// bytes returns the encoding in one slice (nil when it was only measured).
func (w *jpegWriter) bytes() []byte {
	switch {
	case w.n > w.limit:
		return nil
	case len(w.chunks) == 1:
		return w.chunks[0]
	}
	out := make([]byte, 0, w.n)
	for _, c := range w.chunks {
		out = append(out, c...)
	}
	return out
}

// encodeBest encodes at o.Quality, or with a budget at the highest quality
// between o.MinQuality and o.Quality that fits, found by bisection. When
// nothing fits it returns no bytes and the size of the MinQuality
// encoding; otherwise size is len(data).
func encodeBest(ctx context.Context, img image.Image, o Options) (data []byte, q, size int, err error) {
	keep := 0
	if o.MaxBytes > 0 {
		keep = o.MaxBytes
	}
	data, size, err = encodeJPEG(img, o.Quality, keep)
	if err != nil || o.MaxBytes == 0 || size <= o.MaxBytes {
		return data, o.Quality, size, err
	}
	lo, hi := o.MinQuality, o.Quality // hi never fits; lo is tested next
	loData, loSize, err := encodeJPEG(img, lo, keep)
	if err != nil || loSize > o.MaxBytes {
		return nil, lo, loSize, err
	}
	for hi-lo > 1 {
		if err := ctx.Err(); err != nil {
			return nil, 0, 0, err
		}
		mid := (lo + hi) / 2
		d, n, err := encodeJPEG(img, mid, keep)
		if err != nil {
			return nil, 0, 0, err
		}
		if n <= o.MaxBytes {
			lo, loData, loSize = mid, d, n
		} else {
			hi = mid
		}
	}
	return loData, lo, loSize, nil
}

// shrinkToFit scales the layout down step by step (10 % a step, after a
// first guess from the size ratio) until the MinQuality encoding fits,
// then picks the best quality at that size.
func (im *Image) shrinkToFit(ctx context.Context, orient orientation, l layout, o Options, size int) ([]byte, int, image.Image, error) {
	f := math.Min(0.9, math.Sqrt(float64(o.MaxBytes)/float64(size)))
	for {
		if err := ctx.Err(); err != nil {
			return nil, 0, nil, err
		}
		nl := l.shrunk(f)
		if nl.ow < minSide || nl.oh < minSide {
			return nil, 0, nil, fmt.Errorf("%w: even %d×%d at quality %d is more than %d bytes", ErrBudget, nl.ow, nl.oh, o.MinQuality, o.MaxBytes)
		}
		img := im.rendered(orient, nl, o)
		data, q, n, err := encodeBest(ctx, img, o)
		if err != nil {
			return nil, 0, nil, err
		}
		if n <= o.MaxBytes {
			return data, q, img, nil
		}
		f *= 0.9
	}
}

// minSide is the smallest output side the byte budget shrinks to.
const minSide = 8
