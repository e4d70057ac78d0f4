package codec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"strings"
	"testing"

	"imagebeam/codec/internal/jpegw"
	"imagebeam/internal/bombs"
)

// multiScanFiles are the progressive, multi-scan, CMYK, YCCK and RGB
// files of testdata (see its README) that image/jpeg reads.
var multiScanFiles = []string{
	"photo-progressive.jpg", "prog-444.jpg", "prog-422.jpg", "prog-440.jpg", "prog-411.jpg",
	"prog-gray.jpg", "prog-sa.jpg", "prog-spectral.jpg", "prog-37x23.jpg", "seq-scans.jpg",
	"cmyk.jpg", "prog-cmyk.jpg", "photo-cmyk.jpg", "ycck-2x2.jpg", "prog-ycck-2x2.jpg",
	"rgb.jpg", "prog-rgb.jpg",
}

// The scaled decoders against image/jpeg at full size and the same box
// filter. Measured on these files: ≥ 55.8 dB at 1/1 (float against
// integer IDCT), ≥ 45.8 dB scaled (a progressive block keeps only the
// coefficients its pixels need, where the reference averages every one).
// The issue asks 40 dB of CMYK; every kind is held to 44 here.
func TestMultiScanAndCMYKMatchFullDecodeShrunk(t *testing.T) {
	for _, f := range multiScanFiles {
		data := readTestdata(t, f)
		h, err := parseJPEGHeader(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !h.fastPathOK() {
			t.Fatalf("%s: the scaled decoders should take it", f)
		}
		for _, s := range []int{1, 2, 4, 8} {
			got, err := decodeScaled(context.Background(), h, data, s)
			if err != nil {
				t.Fatalf("%s 1/%d: %v", f, s, err)
			}
			minPSNR := 44.0
			if s == 1 {
				minPSNR = 50
			}
			if p := psnr(t, got, boxShrinkRef(t, data, s)); p < minPSNR {
				t.Errorf("%s at 1/%d: PSNR %.1f dB against image/jpeg + box filter, want ≥ %.0f", f, s, p, minPSNR)
			}
		}
	}
}

// jpegtran rewrites a JPEG's scans without touching its coefficients, so a
// progressive file and the baseline file it was made from must decode to
// the same pixels at 1/1, and scaled must come as close to the baseline's
// reference as the others do. This also checks prog-restart.jpg, whose
// restart intervals in one-component scans image/jpeg miscounts (it
// fails with "missing 0xff00 sequence"; libjpeg reads it).
func TestMultiScanDecodesLikeItsBaselineTwin(t *testing.T) {
	twins := []struct{ multi, baseline string }{
		{"prog-444.jpg", "photo-444.jpg"},
		{"prog-422.jpg", "photo-422.jpg"},
		{"prog-440.jpg", "photo-440.jpg"},
		{"prog-411.jpg", "photo-411.jpg"},
		{"prog-gray.jpg", "photo-gray.jpg"},
		{"prog-restart.jpg", "photo-restart.jpg"},
		{"prog-sa.jpg", "photo-restart.jpg"},
		{"prog-spectral.jpg", "photo-422.jpg"},
		{"seq-scans.jpg", "photo-440.jpg"},
		{"prog-cmyk.jpg", "cmyk.jpg"},
		{"prog-ycck-2x2.jpg", "ycck-2x2.jpg"},
		{"prog-rgb.jpg", "rgb.jpg"},
	}
	for _, tw := range twins {
		multi, base := readTestdata(t, tw.multi), readTestdata(t, tw.baseline)
		hm, err := parseJPEGHeader(multi)
		if err != nil {
			t.Fatal(err)
		}
		hb, err := parseJPEGHeader(base)
		if err != nil {
			t.Fatal(err)
		}
		if hm.streaming() || !hb.streaming() {
			t.Fatalf("%s should take decodeScans and %s decodeStreaming", tw.multi, tw.baseline)
		}
		for _, s := range []int{1, 2, 4, 8} {
			got, err := decodeScaled(context.Background(), hm, multi, s)
			if err != nil {
				t.Fatalf("%s 1/%d: %v", tw.multi, s, err)
			}
			if s == 1 {
				want, err := decodeScaled(context.Background(), hb, base, 1)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Pix, want.Pix) {
					t.Errorf("%s at 1/1 differs from %s (PSNR %.1f dB): same coefficients, other pixels", tw.multi, tw.baseline, psnr(t, got, want))
				}
				continue
			}
			if p := psnr(t, got, boxShrinkRef(t, base, s)); p < 44 {
				t.Errorf("%s at 1/%d: PSNR %.1f dB against %s's reference, want ≥ 44", tw.multi, s, p, tw.baseline)
			}
		}
	}
}

// At 1/8 a 4:4:4 block keeps its DC alone, so no AC scan is decoded: the
// decoder jumps over their data. Garbling every AC scan's data proves it:
// 1/8 still gives the intact file's pixels, 1/1 does not.
func TestScaledDecodeSkipsScansOutsideItsCoefficients(t *testing.T) {
	data := readTestdata(t, "prog-444.jpg")
	h, err := parseJPEGHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	scans, _, _, err := walkScans(h, data)
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[int]int{8: 2, 4: 10, 1: 10} {
		comps := newCoefComps(h, s)
		sc := append([]scanInfo(nil), scans...)
		if err := plan(h, sc, comps); err != nil {
			t.Fatal(err)
		}
		need := 0
		for _, x := range sc {
			if x.need {
				need++
			}
		}
		// jpegtran's script: DC first and refine, then eight AC scans,
		// every one of which a later refinement of 1–63 needs at 1/4.
		if need != want || len(sc) != 10 {
			t.Errorf("1/%d: %d of %d scans to decode, want %d of 10", s, need, len(sc), want)
		}
	}
	garbled := append([]byte(nil), data...)
	for _, sc := range scans {
		if sc.ss > 0 {
			end := scanEnd(garbled, sc.start)
			for i := sc.start; i < end; i++ {
				garbled[i] = 0x5A // no 0xFF: still no marker inside
			}
		}
	}
	intact, err := decodeScaled(context.Background(), h, data, 8)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeScaled(context.Background(), h, garbled, 8)
	if err != nil {
		t.Fatalf("1/8 of a file with garbled AC scans: %v", err)
	}
	if !bytes.Equal(got.Pix, intact.Pix) {
		t.Errorf("1/8 changed with the AC scans' data: they were decoded")
	}
	full, err := decodeScaled(context.Background(), h, garbled, 1)
	if want, _ := decodeScaled(context.Background(), h, data, 1); err == nil && bytes.Equal(full.Pix, want.Pix) {
		t.Errorf("1/1 did not change with the AC scans' data: the test garbles nothing")
	}
	// So such a file loads for a small target, and a later Encode that
	// needs the AC scans says the file is corrupt, as image/jpeg does,
	// rather than showing garbage.
	if _, err := jpeg.Decode(bytes.NewReader(garbled)); err == nil {
		t.Fatal("image/jpeg reads the garbled file")
	}
	im, err := LoadBytes(context.Background(), garbled, LoadOptions{Target: &Options{Width: 20, Height: 12}})
	if err != nil {
		t.Fatalf("loading for a 20×12 target: %v", err)
	}
	if _, err := im.Encode(context.Background(), Options{Width: 200}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("encoding at 200 wide: got %v, want ErrCorrupt", err)
	}
}

// A progressive file cut anywhere fails, as in image/jpeg, and with
// ErrTruncated, as the baseline decoder says (image/jpeg's "short Huffman
// data" read as ErrCorrupt), even cut just before its EOI: until then a
// scan may still come, and the image would be missing detail. (A
// baseline file missing only its EOI still decodes, as before: its one
// scan is whole.)
func TestTruncatedMultiScanIsErrTruncated(t *testing.T) {
	for _, f := range []string{"prog-sa.jpg", "prog-ycck-2x2.jpg", "seq-scans.jpg", "cmyk.jpg"} {
		data := readTestdata(t, f)
		h, err := parseJPEGHeader(data)
		if err != nil {
			t.Fatal(err)
		}
		cuts := []int{len(data) - 2, len(data) - 1}
		for c := h.scanStart + 1; c < len(data)-2; c += 211 {
			cuts = append(cuts, c)
		}
		// Every marker after the first scan: just before it, just after
		// it, and after its segment, where the file ends between segments.
		for p := h.scanStart; p+3 < len(data)-2; p++ {
			if m := data[p+1]; data[p] == 0xFF && m != 0 && m != 0xFF && (m < mRST0 || m > mRST7) {
				cuts = append(cuts, p, p+2, p+2+(int(data[p+2])<<8|int(data[p+3])))
			}
		}
		for _, c := range cuts {
			cut := data[:c]
			if h.streaming() && c >= len(data)-2 {
				continue
			}
			if _, err := jpeg.Decode(bytes.NewReader(cut)); err == nil {
				t.Fatalf("%s cut at %d: image/jpeg reads it; the test expects it to fail", f, c)
			}
			_, err := LoadBytes(context.Background(), cut, LoadOptions{Target: &Options{Width: 50, Height: 50}})
			if !errors.Is(err, ErrTruncated) {
				t.Errorf("%s cut at %d of %d: got %v, want ErrTruncated", f, c, len(data), err)
			}
		}
	}
}

// What image/jpeg refuses or reads otherwise goes to it, and its error
// is the user's: four components without an Adobe segment, a scan that
// breaks T.81's progression rules.
func TestMultiScanLeavesWhatImageJPEGRefusesToIt(t *testing.T) {
	noAdobe := bytes.Replace(readTestdata(t, "cmyk.jpg"), []byte("Adobe"), []byte("Adobx"), 1)
	badAh := readTestdata(t, "prog-sa.jpg")
	h, err := parseJPEGHeader(badAh)
	if err != nil {
		t.Fatal(err)
	}
	scans, _, _, err := walkScans(h, badAh)
	if err != nil {
		t.Fatal(err)
	}
	badAh = append([]byte(nil), badAh...)
	last := scans[len(scans)-1]
	badAh[last.start-1] = 0x20 // Ah 2, Al 0: Ah must be Al + 1
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"CMYK without Adobe", noAdobe, ErrUnsupported},
		{"Ah is not Al + 1", badAh, ErrCorrupt},
	}
	for _, c := range cases {
		_, stdErr := jpeg.Decode(bytes.NewReader(c.data))
		if stdErr == nil {
			t.Fatalf("%s: image/jpeg reads it; the test file is wrong", c.name)
		}
		h, err := parseJPEGHeader(c.data)
		if err != nil {
			t.Fatal(err)
		}
		img, err := decodeJPEG(context.Background(), h, c.data, 4, &lease{})
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), stdErr.Error()) {
			t.Errorf("%s: got %v (image %v), want image/jpeg's %q as %v", c.name, err, img != nil, stdErr, c.want)
		}
	}
}

// progressiveWithScans is a 64×8 grey progressive JPEG with n DC scans:
// the first, then n−1 refinements of a bit each (Al is left at 0 after the
// first, which T.81 does not forbid image/jpeg from reading).
func progressiveWithScans(t *testing.T, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	err := bombs.JPEG{Width: 64, Height: 8, Components: []bombs.Sampling{{H: 1, V: 1}}, Progressive: true,
		DC: func(c, bx, by int) int { return 64 * bx }}.Write(&b)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.TrimSuffix(b.Bytes(), []byte{0xFF, 0xD9})
	for range n - 1 {
		// SOS: one component (id 1), Ss 0, Se 0, Ah 1, Al 0; then one bit
		// for each of the 8 blocks.
		data = append(data, 0xFF, 0xDA, 0, 8, 1, 1, 0x00, 0, 0, 0x10, 0x55)
	}
	return append(data, 0xFF, 0xD9)
}

// Each scan visits every block, so scans cost time whatever their size:
// past maxScans the file is refused, with no decoding and no fallback.
func TestTooManyScansAreRefused(t *testing.T) {
	for n, want := range map[int]error{maxScans: nil, maxScans + 1: ErrUnsupported} {
		data := progressiveWithScans(t, n)
		_, err := LoadBytes(context.Background(), data, LoadOptions{})
		if want == nil && err != nil || want != nil && (!errors.Is(err, want) || !strings.Contains(err.Error(), "scans")) {
			t.Errorf("%d scans: got %v, want %v", n, err, want)
		}
	}
}

// Through Load, a progressive or CMYK photo is decoded at the scale the
// target needs, not at full size and shrunk: the working copy is small.
func TestLoadDecodesProgressiveAndCMYKScaled(t *testing.T) {
	for _, f := range []string{"prog-sa.jpg", "cmyk.jpg", "prog-ycck-2x2.jpg"} {
		data := readTestdata(t, f)
		im, err := LoadBytes(context.Background(), data, LoadOptions{Target: &Options{Width: 20, Height: 12}})
		if err != nil {
			t.Fatal(err)
		}
		if im.scale < 4 || im.work.Bounds().Dx() != (im.info.Width+im.scale-1)/im.scale {
			t.Errorf("%s: working copy %v at 1/%d, want 1/4 or less of %d×%d", f, im.work.Bounds().Size(), im.scale, im.info.Width, im.info.Height)
		}
		if !im.work.Opaque() || im.work.Bounds().Min != (image.Point{}) {
			t.Errorf("%s: working copy not an opaque image at the origin", f)
		}
	}
}

// jpegwFile encodes img with jpegw.
func jpegwFile(t testing.TB, img image.Image, o jpegw.Options) []byte {
	t.Helper()
	planes := jpegw.YCbCr(img)
	switch len(o.Comps) {
	case 1:
		planes = planes[:1]
	case 4:
		planes = jpegw.AdobeCMYK(img)
	}
	var b bytes.Buffer
	b.Grow(img.Bounds().Dx() * img.Bounds().Dy())
	if err := jpegw.Encode(&b, img.Bounds().Dx(), img.Bounds().Dy(), planes, o); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var (
	ycc420 = []jpegw.Component{{H: 2, V: 2}, {H: 1, V: 1, Tq: 1}, {H: 1, V: 1, Tq: 1}}
	ycc444 = []jpegw.Component{{H: 1, V: 1}, {H: 1, V: 1, Tq: 1}, {H: 1, V: 1, Tq: 1}}
	cmyk   = []jpegw.Component{{H: 1, V: 1}, {H: 1, V: 1}, {H: 1, V: 1}, {H: 1, V: 1}}
)

// Files written by jpegw from photo() (noise, edges, texture: harder to
// shrink than the plasma of testdata) in sizes that leave partial MCUs
// and blocks, every sampling image/jpeg takes, and restart intervals,
// against image/jpeg + the box filter. Measured: ≥ 57 dB at 1/1, ≥ 46.8 dB
// at 1/4 and 1/8, ≥ 42.6 dB at 1/2, where a block keeps 4×4 of its
// coefficients and the reference averages pairs of noisy pixels. (Tiny
// pictures such as 7×9 are left out: there the partial blocks' padding,
// which any DCT-domain scaling averages in, is most of the picture.)
func TestGeneratedVariantsMatchFullDecodeShrunk(t *testing.T) {
	samplings := map[string][]jpegw.Component{
		"444": ycc444, "420": ycc420,
		"422":      {{H: 2, V: 1}, {H: 1, V: 1, Tq: 1}, {H: 1, V: 1, Tq: 1}},
		"440":      {{H: 1, V: 2}, {H: 1, V: 1, Tq: 1}, {H: 1, V: 1, Tq: 1}},
		"411":      {{H: 4, V: 1}, {H: 1, V: 1, Tq: 1}, {H: 1, V: 1, Tq: 1}},
		"410":      {{H: 4, V: 2}, {H: 1, V: 1, Tq: 1}, {H: 1, V: 1, Tq: 1}},
		"grey":     {{H: 1, V: 1}},
		"cmyk":     cmyk,
		"cmyk 2x2": {{H: 2, V: 2}, {H: 1, V: 1}, {H: 1, V: 1}, {H: 2, V: 2}},
	}
	sizes := []image.Point{{1, 1}, {33, 17}, {97, 61}, {61, 97}}
	for name, comps := range samplings {
		for _, size := range sizes {
			for _, restart := range []int{0, 1, 3} {
				adobe := -1
				if len(comps) == 4 {
					adobe = 0
				}
				for _, progressive := range []bool{false, true} {
					// image/jpeg miscounts restart intervals in one-component
					// scans of subsampled files (see the twin test): keep
					// restarts where it reads them.
					if progressive && restart > 0 && comps[0].H*comps[0].V > 1 {
						continue
					}
					o := jpegw.Options{Quality: 90, Comps: comps, Adobe: adobe, Restart: restart}
					if progressive {
						o.Scans = jpegw.SimpleProgression(len(comps))
					}
					data := jpegwFile(t, photo(size.X, size.Y, uint64(size.X)), o)
					what := fmt.Sprintf("%s %v restart %d progressive %v", name, size, restart, progressive)
					h, err := parseJPEGHeader(data)
					if err != nil || !h.fastPathOK() {
						t.Fatalf("%s: %v, or the scaled decoders refuse it", what, err)
					}
					for _, s := range []int{1, 2, 4, 8} {
						got, err := decodeScaled(context.Background(), h, data, s)
						if err != nil {
							t.Fatalf("%s 1/%d: %v", what, s, err)
						}
						minPSNR := 40.0
						if s == 1 {
							minPSNR = 50
						}
						if p := psnr(t, got, boxShrinkRef(t, data, s)); p < minPSNR {
							t.Errorf("%s at 1/%d: PSNR %.1f dB, want ≥ %.0f", what, s, p, minPSNR)
						}
					}
				}
			}
		}
	}
}

// jpegw quantises a picture the same way whatever the scans, so its
// progressive and baseline files of one photo hold the same coefficients.
// Big enough that scans overlap on two cores (each takes milliseconds), the
// progressive file must still decode to exactly the baseline's pixels:
// a later scan never ran ahead of the one it follows.
func TestConcurrentScansDecodeLikeOneAtATime(t *testing.T) {
	img := photo(1280, 960, 11)
	for _, comps := range [][]jpegw.Component{ycc420, ycc444} {
		base := jpegwFile(t, img, jpegw.Options{Quality: 95, Comps: comps, Adobe: -1})
		prog := jpegwFile(t, img, jpegw.Options{Quality: 95, Comps: comps, Adobe: -1, Scans: jpegw.SimpleProgression(3)})
		hb, err := parseJPEGHeader(base)
		if err != nil {
			t.Fatal(err)
		}
		hp, err := parseJPEGHeader(prog)
		if err != nil {
			t.Fatal(err)
		}
		want, err := decodeScaled(context.Background(), hb, base, 1)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			got, err := decodeScaled(context.Background(), hp, prog, 1)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Pix, want.Pix) {
				t.Fatalf("%d:%d progressive differs from baseline (PSNR %.1f dB)", comps[0].H, comps[0].V, psnr(t, got, want))
			}
		}
	}
}
