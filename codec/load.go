package codec

import (
	"context"
	"errors"
	"fmt"
	"image"
	"net/http"
	"strings"
	"sync"
	"time"

	"imagebeam/internal/human"
)

// Defaults used when a LoadOptions field is left at its zero value.
const (
	DefaultMaxPixels      = 100_000_000
	DefaultMaxInputBytes  = 64 << 20
	DefaultConnectTimeout = 10 * time.Second
	DefaultFetchTimeout   = 60 * time.Second
	DefaultMaxRedirects   = 5
	// DefaultWorkingSize is the box (in pixels, either orientation) that a
	// JPEG's working copy covers when LoadOptions.Target is nil.
	DefaultWorkingSize = 2048
)

// ErrOpen means a file could not be read; it wraps the fs error too.
var ErrOpen = errors.New("codec: the file could not be read")

// LoadOptions bound what Load accepts and say how much resolution to keep.
// The zero value is valid.
type LoadOptions struct {
	// MaxPixels is the largest width × height accepted, checked before
	// decoding; 0 means DefaultMaxPixels (100 MP).
	MaxPixels int64
	// MaxInputBytes caps the size of a file or download; 0 means
	// DefaultMaxInputBytes (64 MiB).
	MaxInputBytes int64
	// Target is the Options the image will most likely be encoded with. A
	// JPEG is decoded at the smallest DCT scale (1/1, 1/2, 1/4, 1/8) that
	// still gives them full resolution, which is what makes big photos
	// fast. nil keeps enough for a DefaultWorkingSize box. Encode re-decodes
	// by itself when later Options need more resolution than was kept.
	Target *Options
	// HTTPClient fetches URLs; nil builds one from the fields below
	// (proxy from the environment). A client given here bypasses
	// FetchPolicy, which only the built one can enforce.
	HTTPClient *http.Client
	// FetchPolicy decides which addresses URL fetches may reach; nil means
	// the default policy (see FetchPolicy).
	FetchPolicy *FetchPolicy
	// ConnectTimeout bounds connecting (TCP and TLS); 0 means 10 s.
	ConnectTimeout time.Duration
	// FetchTimeout bounds a whole fetch, body included; 0 means 60 s.
	FetchTimeout time.Duration
	// MaxRedirects bounds the redirects followed; 0 means 5, -1 means none.
	MaxRedirects int
	// Budget, when set, bounds the memory that loading and encoding hold
	// at once across every call sharing it (see Budget); the Image keeps
	// it for its Encode calls. nil means no bound but the pixel and size
	// caps.
	Budget *Budget
}

func (lo LoadOptions) normalized() LoadOptions {
	if lo.MaxPixels <= 0 {
		lo.MaxPixels = DefaultMaxPixels
	}
	if lo.MaxInputBytes <= 0 {
		lo.MaxInputBytes = DefaultMaxInputBytes
	}
	if lo.ConnectTimeout <= 0 {
		lo.ConnectTimeout = DefaultConnectTimeout
	}
	if lo.FetchTimeout <= 0 {
		lo.FetchTimeout = DefaultFetchTimeout
	}
	if lo.MaxRedirects == 0 {
		lo.MaxRedirects = DefaultMaxRedirects
	}
	return lo
}

// Info describes a loaded image.
type Info struct {
	// Source is the path or URL it came from ("" for bytes).
	Source string
	// Format is the format detected from the content.
	Format Format
	// Width and Height are as displayed, after the EXIF orientation.
	Width, Height int
	// Orientation is the EXIF orientation 1–8 (1 when there is none).
	Orientation int
	// Bytes is the size of the encoded input.
	Bytes int
	// Baseline is true for a baseline (SOF0) JPEG.
	Baseline bool
	// Quality is the JPEG quality estimated from the quantisation tables
	// (0 for other formats).
	Quality int
	// Animated is true for a GIF with more than one frame.
	Animated bool
	// Transparent is true when the image has transparent pixels.
	Transparent bool
}

// Image is a decoded image kept for re-encoding: Load decodes once, and
// Encode can then be called again and again with new Options (a preview
// following a slider) without decoding again. It is safe for concurrent use.
type Image struct {
	info   Info
	data   []byte
	hdr    *jpegHeader // JPEG only
	notes  []string
	budget *Budget

	mu     sync.Mutex
	work   *image.NRGBA // stored orientation, at 1/scale of the full size
	scale  int
	orient struct {
		key orientation
		img *image.NRGBA
	}
	geom struct {
		key geomKey
		img image.Image // *image.NRGBA or *image.Gray
	}
}

// Info returns what is known about the loaded image.
func (im *Image) Info() Info { return im.info }

// IsURL reports whether Load takes source as an http(s) URL rather than a
// file path.
func IsURL(source string) bool {
	l := strings.ToLower(source)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// Load reads an image from an http(s) URL or a file path.
func Load(ctx context.Context, source string, lo LoadOptions) (*Image, error) {
	if IsURL(source) {
		return LoadURL(ctx, source, lo)
	}
	return LoadFile(ctx, source, lo)
}

// LoadFile reads an image from a file. Reading stops at
// LoadOptions.MaxInputBytes whatever size the file claims (a device, a
// FIFO, /dev/zero).
func LoadFile(ctx context.Context, path string, lo LoadOptions) (*Image, error) {
	lo = lo.normalized()
	l := lease{b: lo.Budget}
	defer l.release()
	data, err := readFile(ctx, path, lo, &l)
	if err != nil {
		return nil, err
	}
	return loadNamed(ctx, data, path, lo, &l, nil)
}

// loadNamed is load for data read from source (a path or URL), which
// names the source in an empty file's error and in Info.
func loadNamed(ctx context.Context, data []byte, source string, lo LoadOptions, l *lease, target *Options) (*Image, error) {
	im, err := load(ctx, data, lo, l, target)
	if err != nil {
		if errors.Is(err, ErrEmpty) && !IsURL(source) {
			return nil, fmt.Errorf("%w: %s", err, source)
		}
		return nil, err
	}
	im.info.Source = source
	return im, nil
}

// LoadURL fetches an image over http or https.
func LoadURL(ctx context.Context, url string, lo LoadOptions) (*Image, error) {
	lo = lo.normalized()
	l := lease{b: lo.Budget}
	defer l.release()
	data, err := fetch(ctx, url, lo, &l)
	if err != nil {
		return nil, err
	}
	return loadNamed(ctx, data, url, lo, &l, nil)
}

// LoadBytes decodes an image already in memory (a drop, an upload). The
// slice is kept (for sending as is) and must not be changed afterwards.
// Its bytes are the caller's to count against a Budget (AcquireInput).
func LoadBytes(ctx context.Context, data []byte, lo LoadOptions) (*Image, error) {
	lo = lo.normalized()
	if int64(len(data)) > lo.MaxInputBytes {
		return nil, fmt.Errorf("%w: %s is over the %s limit", ErrTooLarge, human.Bytes(int64(len(data))), human.Bytes(lo.MaxInputBytes))
	}
	l := lease{b: lo.Budget}
	defer l.release()
	return load(ctx, data, lo, &l, nil)
}

// Convert loads source (a URL or a path) and encodes it with opts, decoding
// only at the resolution opts need: the one call behind `imagebeam convert`.
// With a Budget it reserves, before decoding, what decoding and encoding
// together will need, and holds it to the end.
func Convert(ctx context.Context, source string, lo LoadOptions, opts Options) (*Result, error) {
	o, err := opts.normalized()
	if err != nil {
		return nil, err
	}
	lo = lo.normalized()
	lo.Target = &opts
	l := lease{b: lo.Budget}
	defer l.release()
	var data []byte
	if IsURL(source) {
		data, err = fetch(ctx, source, lo, &l)
	} else {
		data, err = readFile(ctx, source, lo, &l)
	}
	if err != nil {
		return nil, err
	}
	im, err := loadNamed(ctx, data, source, lo, &l, &o)
	if err != nil {
		return nil, err
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.encode(ctx, o, &l)
}

// ConvertBytes is Convert for an image already in memory (an upload); as
// with LoadBytes, counting data itself against the Budget is the caller's.
func ConvertBytes(ctx context.Context, data []byte, lo LoadOptions, opts Options) (*Result, error) {
	o, err := opts.normalized()
	if err != nil {
		return nil, err
	}
	lo = lo.normalized()
	if int64(len(data)) > lo.MaxInputBytes {
		return nil, fmt.Errorf("%w: %s is over the %s limit", ErrTooLarge, human.Bytes(int64(len(data))), human.Bytes(lo.MaxInputBytes))
	}
	lo.Target = &opts
	l := lease{b: lo.Budget}
	defer l.release()
	im, err := load(ctx, data, lo, &l, &o)
	if err != nil {
		return nil, err
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.encode(ctx, o, &l)
}

// load checks and decodes data; lo is normalised. Before decoding it
// reserves in l what decoding will allocate, and what encoding with
// target (normalised) will when target is set. Whatever the bytes, it
// returns an error rather than panic.
func load(ctx context.Context, data []byte, lo LoadOptions, l *lease, target *Options) (im *Image, err error) {
	defer func() {
		if v := recover(); v != nil {
			im, err = nil, fmt.Errorf("%w: reading the image failed (%v)", ErrCorrupt, v)
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := sniff(data)
	if err != nil {
		return nil, err
	}
	cfg, err := decodeConfig(data)
	if err != nil {
		return nil, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%w: the image claims to be %d×%d pixels", ErrCorrupt, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > lo.MaxPixels {
		return nil, fmt.Errorf("%w: it is %d×%d (%s), over the limit of %s; scale it down first or raise the pixel limit",
			ErrTooManyPixels, cfg.Width, cfg.Height, megapixels(px), megapixels(lo.MaxPixels))
	}
	if f == FormatBMP {
		if err := checkBMPSize(data, cfg.Width, cfg.Height); err != nil {
			return nil, err
		}
	}
	im = &Image{data: data, budget: lo.Budget, info: Info{Format: f, Width: cfg.Width, Height: cfg.Height, Bytes: len(data), Orientation: 1}}
	o := exifOrientation(f, data)
	if f == FormatJPEG {
		h, err := parseJPEGHeader(data)
		switch {
		case err == nil && (h.width != cfg.Width || h.height != cfg.Height):
			// The checks above were made on image/jpeg's frame header; never
			// decode another one.
			return nil, fmt.Errorf("%w: the JPEG has two frame headers (%d×%d and %d×%d)", ErrCorrupt, cfg.Width, cfg.Height, h.width, h.height)
		case err == nil:
			im.hdr = h
			im.info.Baseline = h.baseline()
			im.info.Quality = h.estimateQuality()
			o = h.orientation
		case errors.Is(err, ErrTruncated):
			return nil, err
		}
		// Otherwise image/jpeg, more lenient, decides (never sent as is).
	}
	im.info.Orientation = max(o, 1)
	if im.info.Orientation >= 5 {
		im.info.Width, im.info.Height = cfg.Height, cfg.Width
	}
	if f == FormatGIF && gifFrames(data) > 1 {
		im.info.Animated = true
		im.notes = append(im.notes, "animated GIF: only the first frame is used")
	}
	s := 1
	if f == FormatJPEG {
		t := Options{Width: DefaultWorkingSize, Height: DefaultWorkingSize}
		if lo.Target != nil {
			t = *lo.Target
		}
		if t, err := t.normalized(); err == nil {
			s = im.scaleFor(t)
		}
	}
	need := im.decodeCost(s)
	if target != nil {
		need += im.encodeCost(*target, s, false)
	}
	if err := l.acquireWork(ctx, need, im.describe()); err != nil {
		return nil, err
	}
	if err := im.decode(ctx, s, l); err != nil {
		return nil, err
	}
	return im, nil
}

// decode (re)builds the working copy at 1/s of the full size. l holds
// what decodeCost(s) said it would take; a JPEG the scaled decoder finds
// corrupt is handed to image/jpeg only if l can grow to what that takes.
func (im *Image) decode(ctx context.Context, s int, l *lease) error {
	var work *image.NRGBA
	if im.info.Format == FormatJPEG {
		img, err := decodeJPEG(ctx, im.hdr, im.data, s, l)
		if err != nil {
			return err
		}
		work = img
	} else {
		img, err := decodeStd(im.data)
		if err != nil {
			return err
		}
		if im.info.Format == FormatGIF {
			img = onCanvas(img, im.rawSize())
		}
		if hasAlpha(img) {
			im.info.Transparent = true
		}
		work = flatten(img)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	im.work, im.scale = work, s
	im.orient.img, im.geom.img = nil, nil
	return nil
}

// rawSize is the stored size, before orientation.
func (im *Image) rawSize() image.Point {
	if im.info.Orientation >= 5 {
		return image.Pt(im.info.Height, im.info.Width)
	}
	return image.Pt(im.info.Width, im.info.Height)
}

// onCanvas places a frame on a transparent canvas of the logical size (a
// GIF frame may be smaller than the screen it belongs to).
func onCanvas(img image.Image, size image.Point) image.Image {
	if img.Bounds() == image.Rect(0, 0, size.X, size.Y) {
		return img
	}
	c := image.NewNRGBA(image.Rect(0, 0, size.X, size.Y))
	drawOver(c, img)
	return c
}

// gifFrames counts image descriptors in a GIF, stopping at two.
func gifFrames(d []byte) int {
	if len(d) < 13 {
		return 0
	}
	p := 13
	if d[10]&0x80 != 0 {
		p += 3 << (d[10]&7 + 1)
	}
	skipBlocks := func() bool {
		for p < len(d) {
			n := int(d[p])
			p++
			if n == 0 {
				return true
			}
			p += n
		}
		return false
	}
	frames := 0
	for p < len(d) && frames < 2 {
		switch d[p] {
		case 0x21: // extension: label, then sub-blocks
			p += 2
			if !skipBlocks() {
				return frames
			}
		case 0x2C: // image descriptor
			if p+10 > len(d) {
				return frames
			}
			flags := d[p+9]
			p += 10
			if flags&0x80 != 0 {
				p += 3 << (flags&7 + 1)
			}
			p++ // LZW minimum code size
			if !skipBlocks() {
				return frames + 1
			}
			frames++
		default: // trailer or junk
			return frames
		}
	}
	return frames
}

func megapixels(px int64) string {
	return fmt.Sprintf("%.4g MP", float64(px)/1e6)
}
