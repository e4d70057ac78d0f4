package codec

import (
	"bytes"
	"context"
	"errors"
	"image"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"imagebeam/codec/internal/jpegw"
	"imagebeam/internal/bombs"
	"imagebeam/internal/human"
)

// allocated returns the bytes the heap handed out while f ran, in every
// goroutine (these tests do not run in parallel with others).
func allocated(f func()) int64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	before := m.TotalAlloc
	f()
	runtime.ReadMemStats(&m)
	return int64(m.TotalAlloc - before)
}

func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// written returns what a bombs writer writes.
func written(t testing.TB, write func(*bytes.Buffer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func progressiveJPEG(t testing.TB, w, h int, comps int) []byte {
	s := []bombs.Sampling{{H: 1, V: 1}, {H: 1, V: 1}, {H: 1, V: 1}, {H: 1, V: 1}}[:comps]
	return written(t, func(b *bytes.Buffer) error {
		return bombs.JPEG{Width: w, Height: h, Components: s, Progressive: true,
			DC: func(c, bx, by int) int { return (bx*7 + by*3 + c*100) % 800 }}.Write(b)
	})
}

func pngBomb(t testing.TB, p bombs.PNG) []byte {
	return written(t, func(b *bytes.Buffer) error { return p.Write(b) })
}

// Converting within the budget allocates no more than the budget reserved
// for it (the estimate made from the header), plus a small margin: the
// estimate bounds what the heap can grow by, whatever the collector does.
func TestConvertAllocatesNoMoreThanItReserved(t *testing.T) {
	progPhoto := jpegwFile(t, photo(1600, 1200, 5), jpegw.Options{Quality: 90, Comps: ycc420, Adobe: -1, Scans: jpegw.SimpleProgression(3)})
	cmykPhoto := jpegwFile(t, photo(800, 600, 6), jpegw.Options{Quality: 90, Comps: cmyk, Adobe: 0})
	progCMYK := jpegwFile(t, photo(800, 600, 7), jpegw.Options{Quality: 90, Comps: cmyk, Adobe: 0, Scans: jpegw.SimpleProgression(4)})
	photo := encodeStdJPEG(t, photo(1600, 1200, 4), 90)
	var bmpData, tiffData bytes.Buffer
	if err := bmp.Encode(&bmpData, photo400x300(t)); err != nil {
		t.Fatal(err)
	}
	if err := tiff.Encode(&tiffData, photo400x300(t), &tiff.Options{Compression: tiff.Deflate}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		data []byte
		opts Options
	}{
		{"progressive JPEG, full size", progressiveJPEG(t, 1200, 900, 3), Options{}},
		{"progressive JPEG, fitted", progressiveJPEG(t, 1200, 900, 3), Options{Width: 300, Height: 200}},
		{"progressive grey JPEG", progressiveJPEG(t, 1000, 800, 1), Options{Width: 500}},
		{"CMYK JPEG", written(t, func(b *bytes.Buffer) error {
			return bombs.JPEG{Width: 800, Height: 600, Components: []bombs.Sampling{{H: 1, V: 1}, {H: 1, V: 1}, {H: 1, V: 1}, {H: 1, V: 1}}}.Write(b)
		}), Options{Width: 400, Height: 400, Fit: FitCover}},
		{"4:2:0 JPEG through the scaled decoder", photo, Options{Width: 400, Height: 300, Fit: FitCover}},
		{"progressive 4:2:0 photo at 1/4", progPhoto, Options{Width: 400, Height: 300, Fit: FitCover}},
		{"progressive 4:2:0 photo at 1/8", progPhoto, Options{Width: 200, Height: 150}},
		{"progressive 4:2:0 photo at full size", progPhoto, Options{Reencode: true}},
		{"CMYK photo at 1/2", cmykPhoto, Options{Width: 400}},
		{"progressive CMYK photo at 1/4", progCMYK, Options{Width: 200}},
		{"4:2:0 JPEG at full size", photo, Options{Reencode: true}},
		{"JPEG turned by EXIF, letterboxed, grey", withEXIFOrientation(photo, 6, false), Options{Width: 500, Height: 500, Grayscale: true}},
		{"16-bit RGBA PNG", pngBomb(t, bombs.PNG{Width: 800, Height: 600, Depth: 16, ColorType: 6}), Options{}},
		{"interlaced 8-bit RGBA PNG", pngBomb(t, bombs.PNG{Width: 800, Height: 600, Depth: 8, ColorType: 6, Interlaced: true}), Options{Width: 200}},
		{"8-bit RGB PNG, rotated", pngBomb(t, bombs.PNG{Width: 800, Height: 600, Depth: 8, ColorType: 2}), Options{Rotate: 90}},
		{"16-bit grey PNG, upscaled", pngBomb(t, bombs.PNG{Width: 300, Height: 200, Depth: 16, ColorType: 0}), Options{Width: 900, Height: 600, Upscale: true}},
		{"GIF", written(t, func(b *bytes.Buffer) error { return bombs.GIF{Width: 600, Height: 400}.Write(b) }), Options{Width: 300}},
		{"BMP", bmpData.Bytes(), Options{Width: 200}},
		{"TIFF", tiffData.Bytes(), Options{Width: 200}},
		{"lossy WebP", readTestdata(t, "photo.webp"), Options{Width: 100}},
		{"lossless WebP", readTestdata(t, "alpha-lossless.webp"), Options{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeTemp(t, "in", c.data)
			b := NewBudget(4<<30, "")
			var res *Result
			var err error
			got := allocated(func() {
				res, err = Convert(context.Background(), path, LoadOptions{Budget: b}, c.opts)
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Bytes == 0 {
				t.Fatal("no JPEG")
			}
			reserved := b.work.peak + b.input.peak
			t.Logf("allocated %s, reserved %s (%.2f)", human.Bytes(got), human.Bytes(reserved), float64(got)/float64(reserved))
			if margin := int64(256<<10) + reserved/50; got > reserved+margin {
				t.Errorf("allocated %d bytes, more than the %d reserved (+%d)", got, reserved, margin)
			}
			if u := b.work.inUse() + b.input.inUse(); u != 0 || b.work.holders != 0 || b.input.holders != 0 {
				t.Errorf("%d bytes and %d+%d holders still reserved after Convert returned", u, b.work.holders, b.input.holders)
			}
		})
	}
}

func photo400x300(t testing.TB) image.Image { return photo(400, 300, 2) }

// Hostile images that would take gigabytes are refused from their header,
// before anything big is allocated, with one sentence naming their size
// and the budget.
func TestBombsAreRefusedBeforeDecoding(t *testing.T) {
	const side = 10000
	cases := []struct {
		name string
		data []byte
		want error
		kind string
	}{
		{"progressive JPEG", progressiveJPEG(t, side, side, 3), ErrMemoryBudget, "progressive JPEG"},
		{"16-bit RGBA PNG", pngBomb(t, bombs.PNG{Width: side, Height: side, Depth: 16, ColorType: 6, HeaderOnly: true}), ErrMemoryBudget, "16-bit RGBA PNG"},
		{"interlaced PNG", pngBomb(t, bombs.PNG{Width: side, Height: side, Depth: 8, ColorType: 6, Interlaced: true, HeaderOnly: true}), ErrMemoryBudget, "interlaced 8-bit RGBA PNG"},
		{"TIFF", bombs.TIFF(side, side), ErrMemoryBudget, "TIFF"},
		{"GIF", written(t, func(b *bytes.Buffer) error { return bombs.GIF{Width: side, Height: side, HeaderOnly: true}.Write(b) }), ErrMemoryBudget, "GIF"},
		{"WebP", bombs.WebP(side, side), ErrMemoryBudget, "WebP"},
		{"BMP without its pixels", bombs.BMP(side, side), ErrTruncated, "BMP"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeTemp(t, "bomb", c.data)
			b := NewBudget(1<<30, "--max-memory")
			var err error
			got := allocated(func() {
				_, err = Convert(context.Background(), path, LoadOptions{Budget: b}, Options{})
			})
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.HasPrefix(msg, "codec: ") || strings.Contains(msg, "\n") || !strings.Contains(msg, "10000×10000 "+c.kind) {
				t.Errorf("message %q is not one codec: sentence naming the 10000×10000 %s", msg, c.kind)
			}
			if c.want == ErrMemoryBudget && (!strings.Contains(msg, "1 GiB memory budget (--max-memory)") || !strings.Contains(msg, "needs about ")) {
				t.Errorf("message %q does not name the estimate and the budget", msg)
			}
			if limit := int64(len(c.data))*2 + 4<<20; got > limit {
				t.Errorf("refusing allocated %s (limit %s): it decoded first", human.Bytes(got), human.Bytes(limit))
			}
			if b.work.peak != 0 {
				t.Errorf("%d bytes were reserved for an image that can never fit", b.work.peak)
			}
		})
	}
}

// Without a budget nothing changes: the same files still fail as they
// always did, or convert.
func TestNoBudgetAdmitsEverything(t *testing.T) {
	data := progressiveJPEG(t, 256, 256, 3)
	res, err := ConvertBytes(context.Background(), data, LoadOptions{}, Options{Width: 64})
	if err != nil || res.Width != 64 {
		t.Fatalf("got %+v, %v", res, err)
	}
}

// Preparations that each fit but not together take turns: what is
// reserved at once never exceeds the budget, and both succeed.
func TestConcurrentConversionsStayWithinTheBudget(t *testing.T) {
	data := progressiveJPEG(t, 1000, 1000, 3)
	probe := NewBudget(4<<30, "")
	if _, err := ConvertBytes(context.Background(), data, LoadOptions{Budget: probe}, Options{}); err != nil {
		t.Fatal(err)
	}
	one := probe.work.peak
	b := NewBudget((one*3/2)*4/3, "") // room for one and a half
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			_, err := ConvertBytes(context.Background(), data, LoadOptions{Budget: b}, Options{})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if b.work.peak > b.WorkLimit() || b.work.peak != one {
		t.Errorf("peak reservation %d with a work limit of %d; one conversion reserves %d", b.work.peak, b.WorkLimit(), one)
	}
}

// Encode on a loaded image reserves for itself, and a target that could
// never fit is refused without touching the image.
func TestEncodeReservesItsOwnMemory(t *testing.T) {
	b := NewBudget(64<<20, "")
	im, err := LoadBytes(context.Background(), pngBomb(t, bombs.PNG{Width: 400, Height: 300, Depth: 8, ColorType: 6}), LoadOptions{Budget: b})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := im.Encode(context.Background(), Options{Width: 16384, Height: 16384, Upscale: true}); !errors.Is(err, ErrMemoryBudget) {
		t.Fatalf("a 16384×16384 upscale within a 64 MiB budget: %v", err)
	}
	res, err := im.Encode(context.Background(), Options{Width: 200})
	if err != nil || res.Width != 200 {
		t.Fatalf("got %+v, %v", res, err)
	}
	if b.work.inUse() != 0 || b.work.peak == 0 {
		t.Errorf("in use %d, peak %d", b.work.inUse(), b.work.peak)
	}
}
