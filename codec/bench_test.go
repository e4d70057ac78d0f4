package codec

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"sync"
	"testing"
)

var (
	bigJPEGOnce sync.Once
	bigJPEG     []byte
)

// photo24MP is a 6000×4000 q92 JPEG (about 8.7 MB), made once per test
// binary: a 1200×800 photo() tiled 5×5 (rows mirrored every other tile).
func photo24MP(b testing.TB) []byte {
	bigJPEGOnce.Do(func() {
		tile := photo(1200, 800, 1)
		img := image.NewRGBA(image.Rect(0, 0, 6000, 4000))
		for y := 0; y < 4000; y++ {
			ty := y % 800
			if (y/800)%2 == 1 {
				ty = 799 - ty
			}
			src := tile.Pix[ty*tile.Stride : ty*tile.Stride+tile.Stride]
			row := img.Pix[y*img.Stride : y*img.Stride+img.Stride]
			for tx := 0; tx < 5; tx++ {
				copy(row[tx*tile.Stride:], src)
			}
		}
		bigJPEG = encodeStdJPEG(b, img, 92)
	})
	return bigJPEG
}

func BenchmarkConvert24MPJPEGCover800x480(b *testing.B) {
	data := photo24MP(b)
	b.Logf("input %d bytes", len(data))
	b.SetBytes(int64(len(data)))
	benchConvert(b, data, Options{Width: 800, Height: 480, Fit: FitCover, Quality: 85})
}

// benchConvert times the whole pipeline, decode included, as convert runs it.
func benchConvert(b *testing.B, data []byte, opts Options) {
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		im, err := LoadBytes(ctx, data, LoadOptions{Target: &opts})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := im.Encode(ctx, opts); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkConvert12MPPNGAlpha800x480(b *testing.B) {
	src := image.NewNRGBA(image.Rect(0, 0, 4000, 3000))
	p := photo(4000, 3000, 2)
	copy(src.Pix, p.Pix)
	for y := 0; y < 3000; y++ {
		for x := 0; x < 4000; x++ {
			src.Pix[y*src.Stride+4*x+3] = uint8((x + y) % 256)
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, src); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	benchConvert(b, data, Options{Width: 800, Height: 480, Fit: FitCover})
}

// BenchmarkReencodeNewQuality is the preview slider: the working copy is
// kept, only the quality changes.
func BenchmarkReencodeNewQuality(b *testing.B) {
	data := encodeStdJPEG(b, photo(1600, 960, 3), 90)
	ctx := context.Background()
	opts := Options{Width: 800, Height: 480, Fit: FitCover}
	im, err := LoadBytes(ctx, data, LoadOptions{Target: &opts})
	if err != nil {
		b.Fatal(err)
	}
	q := 40
	for b.Loop() {
		opts.Quality = q
		if _, err := im.Encode(ctx, opts); err != nil {
			b.Fatal(err)
		}
		q = 40 + (q-39)%50
	}
}

// BenchmarkReencodeNewSize changes the fit, so the working copy is resized again.
func BenchmarkReencodeNewSize(b *testing.B) {
	data := photo24MP(b)
	ctx := context.Background()
	opts := Options{Width: 800, Height: 480, Fit: FitCover}
	im, err := LoadBytes(ctx, data, LoadOptions{Target: &opts})
	if err != nil {
		b.Fatal(err)
	}
	fits := []Fit{FitContain, FitCover}
	i := 0
	b.ResetTimer()
	for b.Loop() {
		opts.Fit = fits[i%2]
		i++
		if _, err := im.Encode(ctx, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeScaled24MP is the JPEG decoder alone at 1/4.
func BenchmarkDecodeScaled24MP(b *testing.B) {
	data := photo24MP(b)
	h, err := parseJPEGHeader(data)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := decodeScaled(context.Background(), h, data, 4); err != nil {
			b.Fatal(err)
		}
	}
}
