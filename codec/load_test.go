package codec

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"imagebeam/codec/internal/testimg"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var quadColours = testimg.QuadColours

// checkQuadrants checks the centre of each quadrant of img.
func checkQuadrants(t *testing.T, name string, img image.Image, tol int) {
	t.Helper()
	b := img.Bounds()
	pts := []image.Point{{b.Dx() / 4, b.Dy() / 4}, {3 * b.Dx() / 4, b.Dy() / 4}, {b.Dx() / 4, 3 * b.Dy() / 4}, {3 * b.Dx() / 4, 3 * b.Dy() / 4}}
	for i, p := range pts {
		if got := img.At(b.Min.X+p.X, b.Min.Y+p.Y); !near(got, quadColours[i], tol) {
			t.Errorf("%s: quadrant %d is %v, want %v", name, i, got, quadColours[i])
		}
	}
}

func TestLoadEveryFormat(t *testing.T) {
	tests := []struct {
		file   string
		format Format
		w, h   int
		quads  bool
	}{
		{"quadrants.jpg", FormatJPEG, 64, 48, true},
		{"quadrants.png", FormatPNG, 64, 48, true},
		{"quadrants.gif", FormatGIF, 64, 48, true},
		{"quadrants.bmp", FormatBMP, 64, 48, true},
		{"quadrants.tiff", FormatTIFF, 64, 48, true},
		{"photo.webp", FormatWebP, 203, 131, false},
		{"alpha-lossless.webp", FormatWebP, 64, 48, false},
		{"photo-progressive.jpg", FormatJPEG, 203, 131, false},
		{"photo-cmyk.jpg", FormatJPEG, 203, 131, false},
		{"photo-gray.jpg", FormatJPEG, 203, 131, false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			im, err := LoadFile(context.Background(), filepath.Join("testdata", tt.file), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			info := im.Info()
			if info.Format != tt.format || info.Width != tt.w || info.Height != tt.h {
				t.Fatalf("info %+v, want %s %d×%d", info, tt.format, tt.w, tt.h)
			}
			res, err := im.Encode(context.Background(), Options{Reencode: true})
			if err != nil {
				t.Fatal(err)
			}
			out := decodeOut(t, res.JPEG)
			if out.Bounds().Dx() != tt.w || out.Bounds().Dy() != tt.h {
				t.Fatalf("output %v, want %d×%d", out.Bounds(), tt.w, tt.h)
			}
			if tt.quads {
				checkQuadrants(t, tt.file, out, 12)
			}
		})
	}
}

func TestLoadWebPAlphaFlattenedOnWhite(t *testing.T) {
	im, err := LoadFile(context.Background(), "testdata/alpha-lossless.webp", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := im.Encode(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := decodeOut(t, res.JPEG)
	// Left: red at 50 % over white; right: opaque blue.
	if c := out.At(8, 24); !near(c, color.RGBA{255, 128, 128, 255}, 10) {
		t.Errorf("half-transparent red gave %v, want pink (on white)", c)
	}
	if c := out.At(56, 24); !near(c, color.RGBA{0, 0, 255, 255}, 10) {
		t.Errorf("blue gave %v", c)
	}
}

// pngHeader returns the signature and IHDR chunk of a w×h RGBA PNG, with no
// pixel data: enough for DecodeConfig.
func pngHeader(w, h uint32) []byte {
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr[:]...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	// A short IDAT so a decoder that ignored the limit would fail late.
	b.Write([]byte{0, 0, 0, 0, 'I', 'D', 'A', 'T', 0x35, 0xaf, 0x06, 0x1e})
	return b.Bytes()
}

// corruptPNG is quadrants.png with one byte of its image data changed.
func corruptPNG(t *testing.T) []byte {
	data := bytes.Clone(readTestdata(t, "quadrants.png"))
	i := bytes.Index(data, []byte("IDAT"))
	data[i+8] ^= 0x55
	return data
}

func TestLoadBadInput(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		lo      LoadOptions
		want    error
		mention []string // words the message must contain
	}{
		{"zero-byte file", readTestdata(t, "empty.jpg"), LoadOptions{}, ErrEmpty, []string{"empty"}},
		{"text named .jpg", readTestdata(t, "text.jpg"), LoadOptions{}, ErrNotImage, []string{"text/plain"}},
		{"html page", readTestdata(t, "page.html"), LoadOptions{}, ErrNotImage, []string{"text/html"}},
		{"truncated JPEG", readTestdata(t, "truncated.jpg"), LoadOptions{}, ErrTruncated, []string{"truncated"}},
		{"HEIC photo", readTestdata(t, "sample.heic"), LoadOptions{}, ErrHEIC, []string{"not supported", "JPEG", "Most Compatible"}},
		{"AVIF", []byte("\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf"), LoadOptions{}, ErrUnsupported, []string{"AVIF"}},
		{"SVG", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>`), LoadOptions{}, ErrUnsupported, []string{"SVG"}},
		{"100000×100000 PNG", pngHeader(100000, 100000), LoadOptions{}, ErrTooManyPixels, []string{"100000×100000", "100 MP"}},
		{"over a custom pixel limit", readTestdata(t, "quadrants.png"), LoadOptions{MaxPixels: 1000}, ErrTooManyPixels, []string{"64×48", "0.001 MP"}},
		{"over the size cap", readTestdata(t, "quadrants.bmp"), LoadOptions{MaxInputBytes: 1000}, ErrTooLarge, []string{"limit"}},
		{"JPEG header only", readTestdata(t, "quadrants.jpg")[:200], LoadOptions{}, ErrTruncated, nil},
		{"PNG with a damaged chunk", corruptPNG(t), LoadOptions{}, ErrCorrupt, []string{"corrupt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadBytes(context.Background(), tt.data, tt.lo)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "codec: ") || strings.Count(msg, "\n") > 0 {
				t.Errorf("message %q is not one codec: sentence", msg)
			}
			for _, m := range tt.mention {
				if !strings.Contains(msg, m) {
					t.Errorf("message %q does not mention %q", msg, m)
				}
			}
		})
	}
}

func TestLoadFileErrors(t *testing.T) {
	ctx := context.Background()
	_, err := LoadFile(ctx, "testdata/does-not-exist.jpg", LoadOptions{})
	if !errors.Is(err, ErrOpen) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	_, err = LoadFile(ctx, "testdata", LoadOptions{})
	if !errors.Is(err, ErrOpen) {
		t.Errorf("folder: %v", err)
	}
	_, err = Load(ctx, "testdata/empty.jpg", LoadOptions{})
	if !errors.Is(err, ErrEmpty) || !strings.Contains(err.Error(), "empty.jpg") {
		t.Errorf("empty file: %v (should name the file)", err)
	}
}

func TestLoadAnimatedGIFUsesFirstFrame(t *testing.T) {
	im, err := LoadFile(context.Background(), "testdata/animated.gif", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !im.Info().Animated {
		t.Error("Info().Animated is false")
	}
	res, err := im.Encode(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := decodeOut(t, res.JPEG).At(16, 16); !near(c, color.RGBA{255, 0, 0, 255}, 12) {
		t.Errorf("colour %v, want the red first frame", c)
	}
	if !strings.Contains(strings.Join(res.Notes, ";"), "first frame") {
		t.Errorf("notes %q do not mention the first frame", res.Notes)
	}
	// A still GIF gets no such note.
	still, err := LoadFile(context.Background(), "testdata/quadrants.gif", LoadOptions{})
	if err != nil || still.Info().Animated {
		t.Errorf("still GIF: animated=%v err=%v", still != nil && still.Info().Animated, err)
	}
}

func TestLoadHonoursCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := LoadBytes(ctx, readTestdata(t, "quadrants.png"), LoadOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestLoad24MPJPEGKeepsASmallWorkingCopy(t *testing.T) {
	data := photo24MP(t)
	opts := Options{Width: 800, Height: 480, Fit: FitCover}
	im, err := LoadBytes(context.Background(), data, LoadOptions{Target: &opts})
	if err != nil {
		t.Fatal(err)
	}
	if im.scale != 4 || im.work.Bounds().Dx() != 1500 {
		t.Errorf("working copy at 1/%d, %v; want 1/4, 1500×1000", im.scale, im.work.Bounds())
	}
	res, err := im.Encode(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Width != 800 || res.Height != 480 || res.SourceWidth != 6000 || res.SourceHeight != 4000 {
		t.Errorf("result %d×%d from %d×%d", res.Width, res.Height, res.SourceWidth, res.SourceHeight)
	}
}
