package codec

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"regexp"
	"strings"
	"sync"
	"testing"

	"imagebeam/codec/internal/testimg"
)

func pngBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func mustLoad(t testing.TB, data []byte) *Image {
	t.Helper()
	im, err := LoadBytes(context.Background(), data, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func mustEncode(t testing.TB, im *Image, o Options) *Result {
	t.Helper()
	res, err := im.Encode(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if sofs := sofMarkers(t, res.JPEG); len(sofs) != 1 || sofs[0] != mSOF0 {
		t.Fatalf("output frame markers %x, want one SOF0 (baseline)", sofs)
	}
	return res
}

var (
	red    = color.RGBA{255, 0, 0, 255}
	green  = color.RGBA{0, 255, 0, 255}
	blue   = color.RGBA{0, 0, 255, 255}
	yellow = color.RGBA{255, 255, 0, 255}
	white  = color.RGBA{255, 255, 255, 255}
)

type probe struct {
	x, y int
	c    color.Color
}

func TestFitModes(t *testing.T) {
	src := pngBytes(t, testimg.Quadrants(400, 200))
	magenta := color.RGBA{255, 0, 255, 255}
	tests := []struct {
		name   string
		opts   Options
		w, h   int
		probes []probe
	}{
		{"contain letterboxes on white", Options{Width: 100, Height: 100}, 100, 100,
			[]probe{{50, 10, white}, {50, 90, white}, {25, 35, red}, {75, 35, green}, {25, 65, blue}, {75, 65, yellow}}},
		{"contain on a chosen background", Options{Width: 100, Height: 100, Background: magenta}, 100, 100,
			[]probe{{50, 10, magenta}, {25, 35, red}}},
		{"cover crops the sides", Options{Width: 100, Height: 100, Fit: FitCover}, 100, 100,
			[]probe{{10, 10, red}, {90, 10, green}, {10, 90, blue}, {90, 90, yellow}}},
		{"stretch ignores the aspect", Options{Width: 100, Height: 100, Fit: FitStretch}, 100, 100,
			[]probe{{10, 10, red}, {90, 10, green}, {10, 90, blue}, {90, 90, yellow}}},
		{"none crops the centre", Options{Width: 100, Height: 100, Fit: FitNone}, 100, 100,
			[]probe{{10, 10, red}, {90, 10, green}, {10, 90, blue}, {90, 90, yellow}}},
		{"none letterboxes a small image", Options{Width: 600, Height: 300, Fit: FitNone}, 600, 300,
			[]probe{{50, 150, white}, {550, 150, white}, {300, 20, white}, {150, 100, red}, {450, 200, yellow}}},
		{"width only keeps the aspect", Options{Width: 200}, 200, 100, []probe{{50, 25, red}}},
		{"height only keeps the aspect", Options{Height: 50, Fit: FitCover}, 100, 50, []probe{{75, 40, yellow}}},
		{"zero size keeps the image", Options{}, 400, 200, nil},
		{"contain does not upscale", Options{Width: 800, Height: 800}, 800, 800,
			[]probe{{100, 350, white}, {250, 350, red}, {550, 450, yellow}, {400, 200, white}}},
		{"contain upscales when asked", Options{Width: 800, Height: 800, Upscale: true}, 800, 800,
			[]probe{{100, 250, red}, {700, 550, yellow}, {400, 100, white}}},
		{"cover does not upscale", Options{Width: 800, Height: 800, Fit: FitCover}, 400, 200, nil},
		{"cover upscales when asked", Options{Width: 800, Height: 800, Fit: FitCover, Upscale: true}, 800, 800,
			[]probe{{100, 100, red}, {700, 700, yellow}}},
		{"stretch does not upscale", Options{Width: 800, Height: 100, Fit: FitStretch}, 400, 100, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Reencode = true
			res := mustEncode(t, mustLoad(t, src), tt.opts)
			out := decodeOut(t, res.JPEG)
			if res.Width != tt.w || res.Height != tt.h || out.Bounds().Dx() != tt.w || out.Bounds().Dy() != tt.h {
				t.Fatalf("got %d×%d (decoded %v), want %d×%d", res.Width, res.Height, out.Bounds(), tt.w, tt.h)
			}
			for _, p := range tt.probes {
				if c := out.At(p.x, p.y); !near(c, p.c, 16) {
					t.Errorf("pixel (%d,%d) is %v, want %v", p.x, p.y, c, p.c)
				}
			}
		})
	}
}

func TestNotUpscaledSaysSo(t *testing.T) {
	im := mustLoad(t, pngBytes(t, testimg.Quadrants(400, 200)))
	for _, tt := range []struct {
		opts Options
		note bool
	}{
		{Options{Width: 800, Height: 480}, true},
		{Options{Width: 800, Height: 100, Fit: FitStretch}, true},
		{Options{Width: 800, Height: 480, Upscale: true}, false},
		{Options{Width: 100, Height: 300}, false}, // taller target, but the image shrinks
		{Options{Width: 800, Height: 480, Fit: FitNone}, false},
	} {
		res := mustEncode(t, im, tt.opts)
		if got := strings.Contains(strings.Join(res.Notes, ";"), "upscaling is off"); got != tt.note {
			t.Errorf("%+v: notes %q", tt.opts, res.Notes)
		}
	}
}

// storedFor returns the pixels a camera stores for display image d under
// EXIF orientation o, from the Orientation tag's definition (TIFF 6.0: for
// each value, which visual side row 0 and column 0 are on).
func storedFor(d *image.NRGBA, o int) *image.NRGBA {
	dw, dh := d.Bounds().Dx(), d.Bounds().Dy()
	sw, sh := dw, dh
	if o >= 5 {
		sw, sh = dh, dw
	}
	s := image.NewNRGBA(image.Rect(0, 0, sw, sh))
	for dy := 0; dy < dh; dy++ {
		for dx := 0; dx < dw; dx++ {
			var sx, sy int
			switch o {
			case 1: // row 0 top, column 0 left
				sx, sy = dx, dy
			case 2: // row 0 top, column 0 right
				sx, sy = dw-1-dx, dy
			case 3: // row 0 bottom, column 0 right
				sx, sy = dw-1-dx, dh-1-dy
			case 4: // row 0 bottom, column 0 left
				sx, sy = dx, dh-1-dy
			case 5: // row 0 left, column 0 top
				sx, sy = dy, dx
			case 6: // row 0 right, column 0 top
				sx, sy = dy, dw-1-dx
			case 7: // row 0 right, column 0 bottom
				sx, sy = dh-1-dy, dw-1-dx
			case 8: // row 0 left, column 0 bottom
				sx, sy = dh-1-dy, dx
			}
			s.Set(sx, sy, d.At(dx, dy))
		}
	}
	return s
}

func TestEXIFOrientations(t *testing.T) {
	display := testimg.Quadrants(64, 48)
	for o := 1; o <= 8; o++ {
		for _, big := range []bool{false, true} {
			t.Run(fmt.Sprintf("orientation %d big-endian %v", o, big), func(t *testing.T) {
				data := withEXIFOrientation(encodeStdJPEG(t, storedFor(display, o), 95), o, big)
				im := mustLoad(t, data)
				if info := im.Info(); info.Orientation != o || info.Width != 64 || info.Height != 48 {
					t.Fatalf("info %+v, want orientation %d, 64×48", info, o)
				}
				res := mustEncode(t, im, Options{Reencode: true})
				out := decodeOut(t, res.JPEG)
				if out.Bounds().Dx() != 64 || out.Bounds().Dy() != 48 {
					t.Fatalf("output %v", out.Bounds())
				}
				checkQuadrants(t, "output", out, 16)
				if o > 1 && !strings.Contains(strings.Join(res.Notes, ";"), fmt.Sprintf("orientation %d applied", o)) {
					t.Errorf("notes %q", res.Notes)
				}
			})
		}
	}
}

// withPNGEXIF inserts an eXIf chunk holding orientation o after IHDR.
func withPNGEXIF(p []byte, o int) []byte {
	body := exifTIFF(o, true)
	var c bytes.Buffer
	binary.Write(&c, binary.BigEndian, uint32(len(body)))
	typed := append([]byte("eXIf"), body...)
	c.Write(typed)
	binary.Write(&c, binary.BigEndian, crc32.ChecksumIEEE(typed))
	end := 8 + 8 + 13 + 4 // signature, IHDR
	return append(append(append([]byte{}, p[:end]...), c.Bytes()...), p[end:]...)
}

func TestEXIFOrientationInPNG(t *testing.T) {
	data := withPNGEXIF(pngBytes(t, storedFor(testimg.Quadrants(64, 48), 6)), 6)
	res := mustEncode(t, mustLoad(t, data), Options{})
	checkQuadrants(t, "PNG with orientation 6", decodeOut(t, res.JPEG), 16)
}

func TestExtraRotation(t *testing.T) {
	im := mustLoad(t, pngBytes(t, testimg.Quadrants(64, 48)))
	tests := []struct {
		deg     int
		w, h    int
		topLeft color.Color
	}{
		{90, 48, 64, blue}, {180, 64, 48, yellow}, {270, 48, 64, green}, {-90, 48, 64, green}, {360, 64, 48, red},
	}
	for _, tt := range tests {
		res := mustEncode(t, im, Options{Rotate: tt.deg})
		out := decodeOut(t, res.JPEG)
		if out.Bounds().Dx() != tt.w || out.Bounds().Dy() != tt.h {
			t.Errorf("rotate %d: %v, want %d×%d", tt.deg, out.Bounds(), tt.w, tt.h)
		}
		if c := out.At(5, 5); !near(c, tt.topLeft, 16) {
			t.Errorf("rotate %d: top-left %v, want %v", tt.deg, c, tt.topLeft)
		}
	}
}

func TestGrayscaleWritesOneComponent(t *testing.T) {
	res := mustEncode(t, mustLoad(t, pngBytes(t, testimg.Quadrants(64, 48))), Options{Grayscale: true})
	out := decodeOut(t, res.JPEG)
	g, ok := out.(*image.Gray)
	if !ok {
		t.Fatalf("decoded as %T, want *image.Gray", out)
	}
	// Red is luma 76, green 150 (BT.601).
	if v := g.GrayAt(10, 10).Y; abs(int(v)-76) > 4 {
		t.Errorf("red became %d, want 76", v)
	}
	if v := g.GrayAt(50, 10).Y; abs(int(v)-150) > 4 {
		t.Errorf("green became %d, want 150", v)
	}
}

func TestAlphaFlattenedOnWhite(t *testing.T) {
	im := mustLoad(t, readTestdata(t, "alpha.png"))
	if !im.Info().Transparent {
		t.Error("Info().Transparent is false")
	}
	res := mustEncode(t, im, Options{})
	out := decodeOut(t, res.JPEG)
	if c := out.At(10, 24); !near(c, color.RGBA{255, 127, 127, 255}, 8) {
		t.Errorf("50%% red is %v, want pink: red over white", c)
	}
	if c := out.At(50, 24); !near(c, white, 4) {
		t.Errorf("transparent is %v, want white", c)
	}
	if !strings.Contains(strings.Join(res.Notes, ";"), "white") {
		t.Errorf("notes %q", res.Notes)
	}
}

func TestProgressiveInputGivesBaselineOutput(t *testing.T) {
	im := mustLoad(t, readTestdata(t, "photo-progressive.jpg"))
	if im.Info().Baseline {
		t.Fatal("progressive input reported as baseline")
	}
	res := mustEncode(t, im, Options{}) // mustEncode checks SOF0
	if !res.Reencoded {
		t.Error("a progressive JPEG was sent as is")
	}
}

func TestByteBudget(t *testing.T) {
	im := mustLoad(t, encodeStdJPEG(t, photo(800, 480, 11), 95))
	full := mustEncode(t, im, Options{Quality: 90, Reencode: true})
	for _, budget := range []int{full.Bytes / 2, full.Bytes / 4, full.Bytes - 1} {
		t.Run(fmt.Sprint(budget), func(t *testing.T) {
			res := mustEncode(t, im, Options{Quality: 90, MaxBytes: budget})
			if res.Bytes > budget || len(res.JPEG) != res.Bytes {
				t.Fatalf("%d bytes over the %d budget", res.Bytes, budget)
			}
			if res.Shrunk || res.Width != 800 {
				t.Fatalf("shrunk to %d×%d although a quality fits", res.Width, res.Height)
			}
			// Maximal within ±1: two steps up no longer fits.
			if up := res.Quality + 2; up <= 90 {
				over := mustEncode(t, im, Options{Quality: up, Reencode: true})
				if over.Bytes <= budget {
					t.Errorf("quality %d chosen but %d fits (%d ≤ %d)", res.Quality, up, over.Bytes, budget)
				}
			}
			if !strings.Contains(strings.Join(res.Notes, ";"), "quality lowered") {
				t.Errorf("notes %q", res.Notes)
			}
		})
	}
}

func TestByteBudgetShrinksWhenNoQualityFits(t *testing.T) {
	im := mustLoad(t, encodeStdJPEG(t, photo(800, 480, 12), 95))
	minQ := mustEncode(t, im, Options{Width: 800, Height: 480, Quality: 10, Reencode: true})
	budget := minQ.Bytes / 3
	res := mustEncode(t, im, Options{Width: 800, Height: 480, MaxBytes: budget})
	if res.Bytes > budget {
		t.Fatalf("%d bytes over the %d budget", res.Bytes, budget)
	}
	if !res.Shrunk || res.Width >= 800 || res.Height >= 480 {
		t.Fatalf("not shrunk: %d×%d", res.Width, res.Height)
	}
	if !strings.Contains(strings.Join(res.Notes, ";"), "shrunk to") {
		t.Errorf("notes %q", res.Notes)
	}
	if r := float64(res.Width) / float64(res.Height); r < 1.6 || r > 1.73 {
		t.Errorf("aspect %.2f, want about 5:3", r)
	}
}

func TestByteBudgetTooSmall(t *testing.T) {
	im := mustLoad(t, pngBytes(t, testimg.Quadrants(64, 48)))
	_, err := im.Encode(context.Background(), Options{MaxBytes: 100})
	if !errors.Is(err, ErrBudget) {
		t.Errorf("got %v, want ErrBudget", err)
	}
}

func TestSendAsIs(t *testing.T) {
	baseline := encodeStdJPEG(t, photo(320, 240, 13), 80)
	rotated := withEXIFOrientation(baseline, 6, false)
	tests := []struct {
		name string
		data []byte
		opts Options
		asIs bool
	}{
		{"baseline within every limit", baseline, Options{}, true},
		{"target equal to its size", baseline, Options{Width: 320, Height: 240, Fit: FitCover}, true},
		{"larger target, no upscaling, no letterbox", baseline, Options{Width: 640}, true},
		{"within the byte budget", baseline, Options{MaxBytes: len(baseline)}, true},
		{"forced re-encode", baseline, Options{Reencode: true}, false},
		{"needs resizing", baseline, Options{Width: 160}, false},
		{"needs a letterbox", baseline, Options{Width: 320, Height: 320}, false},
		{"lower quality asked", baseline, Options{Quality: 50}, false},
		{"over the byte budget", baseline, Options{MaxBytes: len(baseline) - 1}, false},
		{"rotation asked", baseline, Options{Rotate: 180}, false},
		{"grey asked of a colour JPEG", baseline, Options{Grayscale: true}, false},
		{"EXIF orientation to apply", rotated, Options{}, false},
		{"progressive", readTestdata(t, "photo-progressive.jpg"), Options{Quality: 100}, false},
		{"PNG", pngBytes(t, testimg.Quadrants(64, 48)), Options{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustEncode(t, mustLoad(t, tt.data), tt.opts)
			same := bytes.Equal(res.JPEG, tt.data)
			if same != tt.asIs || res.Reencoded == tt.asIs {
				t.Fatalf("bytes unchanged %v, Reencoded %v; want as is = %v", same, res.Reencoded, tt.asIs)
			}
			if tt.asIs && (res.Quality != 80 || !strings.Contains(res.Summary(), "sent as is")) {
				t.Errorf("quality %d, summary %q", res.Quality, res.Summary())
			}
		})
	}
}

func TestResultFields(t *testing.T) {
	im := mustLoad(t, encodeStdJPEG(t, photo(640, 480, 14), 90))
	res := mustEncode(t, im, Options{Width: 320, Height: 240, ChunkSize: 500, Quality: 70})
	sum := sha256.Sum256(res.JPEG)
	if res.SHA256 != hex.EncodeToString(sum[:]) {
		t.Error("SHA256 does not match the bytes")
	}
	if want := (len(res.JPEG) + 499) / 500; res.Packets != want || res.ChunkSize != 500 {
		t.Errorf("packets %d at %d, want %d", res.Packets, res.ChunkSize, want)
	}
	if res.Quality != 70 || !res.Reencoded || res.SourceFormat != FormatJPEG || res.SourceWidth != 640 || res.SourceHeight != 480 {
		t.Errorf("result %+v", res)
	}
	def := mustEncode(t, im, Options{Width: 320, Height: 240})
	if def.ChunkSize != 1400 || def.Packets != (def.Bytes+1399)/1400 || def.Quality != 85 {
		t.Errorf("defaults: chunk %d, packets %d, quality %d", def.ChunkSize, def.Packets, def.Quality)
	}
}

func TestSummary(t *testing.T) {
	data := withEXIFOrientation(encodeStdJPEG(t, photo(480, 800, 15), 90), 6, false)
	res := mustEncode(t, mustLoad(t, data), Options{Width: 400, Height: 240, Fit: FitCover})
	re := regexp.MustCompile(`^400×240 JPEG, q85, \d+(\.\d+)? KiB, \d+ packets \(from 800×480 JPEG, re-encoded; EXIF orientation 6 applied\)$`)
	if s := res.Summary(); !re.MatchString(s) {
		t.Errorf("summary %q", s)
	}
}

func TestReencodeNeedingMoreResolutionDecodesAgain(t *testing.T) {
	data := encodeStdJPEG(t, photo(800, 600, 16), 90)
	small := Options{Width: 60, Height: 60}
	im, err := LoadBytes(context.Background(), data, LoadOptions{Target: &small})
	if err != nil {
		t.Fatal(err)
	}
	if im.scale != 8 {
		t.Fatalf("working copy at 1/%d, want 1/8", im.scale)
	}
	mustEncode(t, im, small)
	big := mustEncode(t, im, Options{Width: 600, Height: 450, Reencode: true})
	if im.scale != 1 {
		t.Errorf("working copy at 1/%d after a 600×450 request, want 1/1", im.scale)
	}
	ref := mustEncode(t, mustLoad(t, data), Options{Width: 600, Height: 450, Reencode: true})
	if p := psnr(t, decodeOut(t, big.JPEG), decodeOut(t, ref.JPEG)); p < 45 {
		t.Errorf("re-decoded result differs from a fresh one: %.1f dB", p)
	}
	// Without a target, a JPEG keeps enough for a DefaultWorkingSize box.
	if def := mustLoad(t, data); def.scale != 1 {
		t.Errorf("800×600 without a target decoded at 1/%d", def.scale)
	}
}

func TestBadOptions(t *testing.T) {
	im := mustLoad(t, pngBytes(t, testimg.Quadrants(8, 8)))
	for _, o := range []Options{
		{Quality: 101}, {Quality: -1}, {Rotate: 45}, {Fit: "zoom"}, {Width: -1},
		{Width: 100000}, {Quality: 50, MinQuality: 60}, {MaxBytes: -5}, {ChunkSize: -1},
	} {
		if _, err := im.Encode(context.Background(), o); !errors.Is(err, ErrBadOptions) {
			t.Errorf("%+v: got %v, want ErrBadOptions", o, err)
		}
	}
	if f, err := ParseFit(" Cover "); f != FitCover || err != nil {
		t.Errorf("ParseFit: %q %v", f, err)
	}
}

func TestEncodeConcurrently(t *testing.T) {
	im := mustLoad(t, encodeStdJPEG(t, photo(400, 300, 17), 90))
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := im.Encode(context.Background(), Options{Width: 100 + 50*i, Quality: 50 + i})
			if err != nil || res.Width != 100+50*i {
				t.Errorf("goroutine %d: %v, %v", i, err, res)
			}
		}()
	}
	wg.Wait()
}

func TestEncodeHonoursCancelledContext(t *testing.T) {
	im := mustLoad(t, pngBytes(t, testimg.Quadrants(8, 8)))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := im.Encode(ctx, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v", err)
	}
}

// TestRenderIsWhatEncodeEncodes: Render gives the image Encode turns into
// a JPEG (same size and orientation), without the JPEG.
func TestRenderIsWhatEncodeEncodes(t *testing.T) {
	data := withEXIFOrientation(encodeStdJPEG(t, photo(480, 800, 15), 90), 6, false)
	im := mustLoad(t, data)
	o := Options{Width: 320, Quality: 95, Reencode: true}
	img, err := im.Render(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	res := mustEncode(t, im, o)
	dec, err := jpeg.Decode(bytes.NewReader(res.JPEG))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds() != dec.Bounds() || img.Bounds().Dx() != 320 {
		t.Fatalf("Render %v, Encode %v", img.Bounds(), dec.Bounds())
	}
	if p := psnr(t, img, dec); p < 35 {
		t.Fatalf("Render and Encode differ: PSNR %.1f dB", p)
	}
	if _, err := im.Render(context.Background(), Options{Quality: 200}); !errors.Is(err, ErrBadOptions) {
		t.Fatalf("bad options: %v", err)
	}
}
