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
	"strings"
	"testing"

	"imagebeam/internal/bombs"
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

// Both scaled decoders stop on a cancelled context: the streaming one
// (a baseline JPEG) and the one that walks every scan (a progressive one).
func TestScaledDecodeStopsOnCancel(t *testing.T) {
	for name, data := range map[string][]byte{
		"baseline":    encodeStdJPEG(t, photo(512, 512, 9), 90),
		"prog-sa.jpg": readTestdata(t, "prog-sa.jpg"),
	} {
		h, err := parseJPEGHeader(data)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := decodeScaled(ctx, h, data, 4); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: got %v, want context.Canceled", name, err)
		}
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

// sampled3 is a 96×64 JPEG whose luma has horizontal sampling factor 3
// (allowed by T.81, refused by image/jpeg), with blue-tinted chroma.
func sampled3(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	err := bombs.JPEG{Width: 96, Height: 64, Components: []bombs.Sampling{{H: 3, V: 1}, {H: 1, V: 1}, {H: 1, V: 1}},
		DC: func(c, bx, by int) int {
			if c == 1 {
				return 300
			}
			return 8 * bx
		}}.Write(&b)
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The scaled decoder has inverse DCTs for 1, 2, 4 and 8 pixels a block
// only; a factor of 3 would need 3 or 6, so it must leave such a file to
// image/jpeg, whose refusal the user then gets, at every scale.
func TestScaledDecodeLeavesSamplingFactor3ToImageJPEG(t *testing.T) {
	data := sampled3(t)
	_, stdErr := jpeg.Decode(bytes.NewReader(data))
	if stdErr == nil {
		t.Fatal("image/jpeg decoded a sampling factor of 3; the test file is wrong")
	}
	h, err := parseJPEGHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []int{1, 2, 4, 8} {
		img, err := decodeJPEG(context.Background(), h, data, s, &lease{})
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "subsampling") {
			t.Errorf("1/%d: got %v (image %v), want ErrUnsupported naming the subsampling", s, err, img != nil)
		}
	}
}

// image/jpeg treats "\xff\x00" between segments as junk, so the header
// parser must too: otherwise it reads a length there, jumps over the frame
// header image/jpeg reads, and decodes another one hidden behind it, past
// the checks made on image/jpeg's.
func TestHeaderParserSkipsStuffedZeroLikeImageJPEG(t *testing.T) {
	visible := encodeStdJPEG(t, photo(64, 48, 3), 90)
	hidden := sampled3(t)
	if visible[2] != 0xFF || visible[3] != mDQT {
		t.Fatalf("the visible JPEG does not start with DQT: % x", visible[:4])
	}
	// After SOI and FF 00 comes the visible file's DQT marker, FF DB,
	// which a parser that wants a length there reads as 0xFFDB bytes to
	// skip: the hidden file's segments start where that skip ends.
	data := []byte{0xFF, 0xD8, 0xFF, 0x00}
	data = append(data, visible[2:]...)
	data = append(data, make([]byte, 4+0xFFDB-len(data))...)
	data = append(data, hidden[2:]...)
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width != 64 {
		t.Fatalf("image/jpeg sees %+v, %v; want the visible 64×48 frame", cfg, err)
	}
	if h, err := parseJPEGHeader(data); err == nil && h.width != 64 {
		t.Errorf("the header parser found a %d×%d frame where image/jpeg sees 64×48", h.width, h.height)
	}
	im, err := LoadBytes(context.Background(), data, LoadOptions{Target: &Options{Width: 8, Height: 6}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := im.Encode(context.Background(), Options{Reencode: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Width != 64 || res.Height != 48 {
		t.Fatalf("encoded %d×%d, want the 64×48 image image/jpeg sees", res.Width, res.Height)
	}
	want, err := jpeg.Decode(bytes.NewReader(visible))
	if err != nil {
		t.Fatal(err)
	}
	if p := psnr(t, decodeOut(t, res.JPEG), want); p < 30 {
		t.Errorf("the output is not the picture image/jpeg sees (PSNR %.1f dB)", p)
	}
}
