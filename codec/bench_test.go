package codec

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"sync"
	"testing"

	"imagebeam/codec/internal/jpegw"
	"imagebeam/codec/internal/testimg"
)

var (
	bigJPEGOnce               sync.Once
	bigJPEG, bigProg, bigCMYK []byte
	bigProgOnce, bigCMYKOnce  sync.Once
	bigPhotoOnce              sync.Once
	bigPhoto                  *image.RGBA
)

// photo24MPImage is a 6000×4000 photo: a 1200×800 photo() tiled 5×5.
func photo24MPImage() *image.RGBA {
	bigPhotoOnce.Do(func() { bigPhoto = testimg.Tiled(photo(1200, 800, 1), 6000, 4000) })
	return bigPhoto
}

// photo24MP is photo24MPImage as a q92 baseline 4:2:0 JPEG (about 8.7 MB)
// from image/jpeg, made once per test binary.
func photo24MP(b testing.TB) []byte {
	bigJPEGOnce.Do(func() { bigJPEG = encodeStdJPEG(b, photo24MPImage(), 92) })
	return bigJPEG
}

// photo24MPProgressive is the same photo as jpegtran -progressive writes
// it (4:2:0, libjpeg's script), from jpegw.
func photo24MPProgressive(b testing.TB) []byte {
	bigProgOnce.Do(func() {
		bigProg = jpegwFile(b, photo24MPImage(), jpegw.Options{Quality: 92, Comps: ycc420, Adobe: -1, Scans: jpegw.SimpleProgression(3)})
	})
	return bigProg
}

// photo24MPCMYK is the same photo as an Adobe CMYK JPEG (4:4:4:4,
// baseline, the kind print workflows write), from jpegw.
func photo24MPCMYK(b testing.TB) []byte {
	bigCMYKOnce.Do(func() { bigCMYK = jpegwFile(b, photo24MPImage(), jpegw.Options{Quality: 92, Comps: cmyk, Adobe: 0}) })
	return bigCMYK
}

// photoKinds are the three kinds of 24 MP photo the benchmarks compare.
var photoKinds = []struct {
	name string
	data func(testing.TB) []byte
}{
	{"baseline", photo24MP},
	{"progressive", photo24MPProgressive},
	{"CMYK", photo24MPCMYK},
}

func BenchmarkConvert24MPJPEGCover800x480(b *testing.B) {
	for _, k := range photoKinds {
		b.Run(k.name, func(b *testing.B) {
			data := k.data(b)
			b.Logf("input %d bytes", len(data))
			b.SetBytes(int64(len(data)))
			benchConvert(b, data, Options{Width: 800, Height: 480, Fit: FitCover, Quality: 85})
		})
	}
}

// BenchmarkPreview24MP is what the window does when a photo is dropped
// (gui/preview.go): Load from a file with the device's options as the
// target and the window's budget, Encode for the device, Render the
// source thumbnail. A progressive or CMYK photo should appear as fast as a
// baseline one.
func BenchmarkPreview24MP(b *testing.B) {
	opts := Options{Width: 800, Height: 480, Fit: FitCover, Quality: 85}
	for _, k := range photoKinds {
		b.Run(k.name, func(b *testing.B) {
			path := writeTemp(b, "photo.jpg", k.data(b))
			budget := NewBudget(1<<30, "")
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				im, err := Load(ctx, path, LoadOptions{Target: &opts, Budget: budget})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := im.Encode(ctx, opts); err != nil {
					b.Fatal(err)
				}
				if _, err := im.Render(ctx, Options{Width: 640}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
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

// BenchmarkDecodeScaled24MP is the JPEG decoders alone at 1/4 (what an
// 800×480 cover needs) and 1/8.
func BenchmarkDecodeScaled24MP(b *testing.B) {
	for _, k := range photoKinds {
		for _, s := range []int{4, 8} {
			b.Run(fmt.Sprintf("%s/1:%d", k.name, s), func(b *testing.B) {
				data := k.data(b)
				h, err := parseJPEGHeader(data)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(data)))
				b.ResetTimer()
				for b.Loop() {
					if _, err := decodeScaled(context.Background(), h, data, s); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkDecodeStd24MP is image/jpeg at full size, what progressive and
// CMYK photos took before the scaled decoders read them.
func BenchmarkDecodeStd24MP(b *testing.B) {
	for _, k := range photoKinds[1:] {
		b.Run(k.name, func(b *testing.B) {
			data := k.data(b)
			b.ResetTimer()
			for b.Loop() {
				if _, err := decodeStd(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
