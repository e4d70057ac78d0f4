package codec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"imagebeam/codec/internal/jpegw"
)

// FuzzLoadBytes feeds arbitrary bytes to the decode entry point: it must
// return an image or one of the package's errors, never panic or hang.
// Run with: go test -run XXX -fuzz FuzzLoadBytes -fuzztime 60s ./codec/
func FuzzLoadBytes(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	// Small progressive and CMYK files with restart intervals, which the
	// tool-made ones in testdata have few of.
	for _, o := range []jpegw.Options{
		{Quality: 80, Comps: ycc420, Adobe: -1, Scans: jpegw.SimpleProgression(3)},
		{Quality: 80, Comps: ycc444, Adobe: -1, Scans: jpegw.SimpleProgression(3), Restart: 2},
		{Quality: 80, Comps: cmyk, Adobe: 0, Scans: jpegw.SimpleProgression(4), Restart: 1},
		{Quality: 80, Comps: cmyk, Adobe: 2, Restart: 3},
	} {
		f.Add(jpegwFile(f, photo(40, 24, 3), o))
	}
	sentinels := []error{ErrEmpty, ErrNotImage, ErrUnsupported, ErrHEIC, ErrTruncated, ErrCorrupt, ErrTooManyPixels, ErrTooLarge}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Small limits keep each run fast whatever the header claims. The
		// target picks the JPEG scale: 1/1 for a 2048 box (the inputs are
		// small), 1/2 or 1/4 for 64, 1/8 for 4.
		side := []int{2048, 64, 4}[len(data)%3]
		lo := LoadOptions{MaxPixels: 4 << 20, Target: &Options{Width: side, Height: side}}
		im, err := LoadBytes(context.Background(), data, lo)
		if err != nil {
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		o := Options{Width: 32, Height: 32, MaxBytes: 4000}
		n, err := o.normalized()
		if err != nil {
			t.Fatal(err)
		}
		// A progressive JPEG loaded at 1/8 skipped its AC scans; encoding
		// at a finer scale decodes them, and may find them corrupt.
		redecode := im.scaleFor(n) < im.scale
		if _, err := im.Encode(context.Background(), o); err != nil && !errors.Is(err, ErrBudget) {
			if !redecode {
				t.Fatalf("encode of a loaded image failed: %v", err)
			}
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("error wraps no sentinel: %v", err)
		}
	})
}
