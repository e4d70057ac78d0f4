package codec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
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
	sentinels := []error{ErrEmpty, ErrNotImage, ErrUnsupported, ErrHEIC, ErrTruncated, ErrCorrupt, ErrTooManyPixels, ErrTooLarge}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Small limits keep each run fast whatever the header claims.
		lo := LoadOptions{MaxPixels: 4 << 20, Target: &Options{Width: 64, Height: 64}}
		im, err := LoadBytes(context.Background(), data, lo)
		if err != nil {
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		if _, err := im.Encode(context.Background(), Options{Width: 32, Height: 32, MaxBytes: 4000}); err != nil && !errors.Is(err, ErrBudget) {
			t.Fatalf("encode of a loaded image failed: %v", err)
		}
	})
}
