package codec

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/draw"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

// boxShrinkRef is the reference for the scaled decoder: decode at full
// size with image/jpeg, convert to RGBA, average s×s boxes.
func boxShrinkRef(t *testing.T, data []byte, s int) *image.RGBA {
	t.Helper()
	full, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b := full.Bounds()
	rgba := image.NewRGBA(b)
	draw.Draw(rgba, b, full, b.Min, draw.Src)
	w, h := (b.Dx()+s-1)/s, (b.Dy()+s-1)/s
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for oy := 0; oy < h; oy++ {
		for ox := 0; ox < w; ox++ {
			var sum [3]int
			cnt := 0
			for y := oy * s; y < min(oy*s+s, b.Dy()); y++ {
				for x := ox * s; x < min(ox*s+s, b.Dx()); x++ {
					for c := 0; c < 3; c++ {
						sum[c] += int(rgba.Pix[y*rgba.Stride+4*x+c])
					}
					cnt++
				}
			}
			for c := 0; c < 3; c++ {
				out.Pix[oy*out.Stride+4*ox+c] = uint8((sum[c] + cnt/2) / cnt)
			}
			out.Pix[oy*out.Stride+4*ox+3] = 255
		}
	}
	return out
}

func TestScaledDecodeMatchesFullDecodeShrunk(t *testing.T) {
	inputs := map[string][]byte{
		"go-420-q90": encodeStdJPEG(t, photo(203, 131, 5), 90),
		"go-gray":    encodeStdJPEG(t, toGray(flatten(photo(203, 131, 6))), 80),
	}
	for _, f := range []string{"photo-444.jpg", "photo-422.jpg", "photo-440.jpg", "photo-411.jpg", "photo-restart.jpg", "photo-gray.jpg"} {
		data, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		inputs[f] = data
	}
	for name, data := range inputs {
		h, err := parseJPEGHeader(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !h.fastPathOK() {
			t.Fatalf("%s: the scaled decoder should handle it", name)
		}
		for _, s := range []int{1, 2, 4, 8} {
			got, err := decodeScaled(context.Background(), h, data, s)
			if err != nil {
				t.Fatalf("%s 1/%d: %v", name, s, err)
			}
			want := boxShrinkRef(t, data, s)
			// Measured: ≥ 49 dB scaled (the reference rounds at full
			// size), ≥ 56 dB at 1/1 (float against integer IDCT).
			minPSNR := 45.0
			if s == 1 {
				minPSNR = 50
			}
			if p := psnr(t, got, want); p < minPSNR {
				t.Errorf("%s at 1/%d: PSNR %.1f dB against image/jpeg + box filter, want ≥ %.0f", name, s, p, minPSNR)
			}
		}
	}
}

func TestScaledDecodeRejectsUnsupportedVariants(t *testing.T) {
	for _, f := range []string{"photo-progressive.jpg", "photo-cmyk.jpg"} {
		data, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		h, err := parseJPEGHeader(data)
		if err != nil {
			t.Fatal(err)
		}
		if h.fastPathOK() {
			t.Errorf("%s: fast path accepted a JPEG it cannot decode", f)
		}
		// decodeJPEG falls back to image/jpeg and still shrinks.
		img, err := decodeJPEG(context.Background(), h, data, 2)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if got := img.Bounds().Size(); got != image.Pt(102, 66) {
			t.Errorf("%s at 1/2: size %v, want 102×66", f, got)
		}
		if p := psnr(t, img, boxShrinkRef(t, data, 2)); p < 30 {
			t.Errorf("%s: PSNR %.1f against the reference", f, p)
		}
	}
}

func TestScaledDecodeTruncatedScan(t *testing.T) {
	data := encodeStdJPEG(t, photo(256, 256, 9), 90)
	h, err := parseJPEGHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	cut := data[:h.scanStart+(len(data)-h.scanStart)/2]
	for _, s := range []int{1, 8} {
		_, err := decodeScaled(context.Background(), h, cut, s)
		if !errors.Is(err, ErrTruncated) {
			t.Errorf("1/%d: got %v, want ErrTruncated", s, err)
		}
	}
	// The full file decodes without complaint, even without its EOI.
	if _, err := decodeScaled(context.Background(), h, data[:len(data)-2], 4); err != nil {
		t.Errorf("a file missing only its EOI marker: %v", err)
	}
}

func TestScaledDecodeStopsOnCancel(t *testing.T) {
	data := encodeStdJPEG(t, photo(512, 512, 9), 90)
	h, err := parseJPEGHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := decodeScaled(ctx, h, data, 4); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestEstimateQuality(t *testing.T) {
	for _, q := range []int{20, 50, 75, 85, 95, 100} {
		h, err := parseJPEGHeader(encodeStdJPEG(t, photo(16, 16, 1), q))
		if err != nil {
			t.Fatal(err)
		}
		if got := h.estimateQuality(); got != q {
			t.Errorf("quality %d estimated as %d", q, got)
		}
	}
}
