package codec

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"testing"

	"imagebeam/codec/internal/testimg"
)

// photo returns a w×h opaque image that compresses like a photograph.
func photo(w, h int, seed uint64) *image.RGBA { return testimg.Photo(w, h, seed) }

// encodeStdJPEG encodes with image/jpeg (baseline, 4:2:0 for colour).
func encodeStdJPEG(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withEXIFOrientation inserts an APP1 EXIF segment holding only the
// orientation tag right after the SOI marker of a JPEG.
func withEXIFOrientation(jpg []byte, o int, bigEndian bool) []byte {
	tiff := exifTIFF(o, bigEndian)
	seg := append([]byte("Exif\x00\x00"), tiff...)
	n := len(seg) + 2
	out := append([]byte{}, jpg[:2]...)
	out = append(out, 0xFF, 0xE1, byte(n>>8), byte(n))
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// exifTIFF is a TIFF header with one IFD holding one entry: Orientation.
func exifTIFF(o int, bigEndian bool) []byte {
	put16 := func(b []byte, v uint16) {
		if bigEndian {
			b[0], b[1] = byte(v>>8), byte(v)
		} else {
			b[0], b[1] = byte(v), byte(v>>8)
		}
	}
	put32 := func(b []byte, v uint32) {
		if bigEndian {
			b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
		} else {
			b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		}
	}
	b := make([]byte, 8+2+12+4)
	if bigEndian {
		copy(b, "MM\x00*")
	} else {
		copy(b, "II*\x00")
	}
	put32(b[4:], 8)
	put16(b[8:], 1)
	put16(b[10:], 0x0112) // tag
	put16(b[12:], 3)      // SHORT
	put32(b[14:], 1)      // count
	put16(b[18:], uint16(o))
	return b
}

// sofMarkers lists the SOFn markers of a JPEG by walking its segments.
func sofMarkers(t testing.TB, data []byte) []byte {
	t.Helper()
	var sofs []byte
	for p := 2; p+4 <= len(data); {
		if data[p] != 0xFF {
			t.Fatalf("no marker at %d", p)
		}
		m := data[p+1]
		if m == mSOS {
			break
		}
		n := int(data[p+2])<<8 | int(data[p+3])
		if m >= 0xC0 && m <= 0xCF && m != mDHT && m != 0xC8 && m != 0xCC {
			sofs = append(sofs, m)
		}
		p += 2 + n
	}
	return sofs
}

// decodeOut decodes an output JPEG with image/jpeg, failing the test on error.
func decodeOut(t testing.TB, data []byte) image.Image {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("output does not decode: %v", err)
	}
	return img
}

// near reports whether two colours differ by at most tol in each channel.
func near(a, b color.Color, tol int) bool {
	r1, g1, b1, _ := a.RGBA()
	r2, g2, b2, _ := b.RGBA()
	d := func(x, y uint32) bool { return abs(int(x>>8)-int(y>>8)) <= tol }
	return d(r1, r2) && d(g1, g2) && d(b1, b2)
}

// psnr compares two images of the same size in RGB.
func psnr(t testing.TB, a, b image.Image) float64 {
	t.Helper()
	if a.Bounds().Size() != b.Bounds().Size() {
		t.Fatalf("sizes differ: %v vs %v", a.Bounds(), b.Bounds())
	}
	var se float64
	ab, bb := a.Bounds(), b.Bounds()
	for y := 0; y < ab.Dy(); y++ {
		for x := 0; x < ab.Dx(); x++ {
			r1, g1, b1, _ := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			for _, d := range []float64{float64(r1>>8) - float64(r2>>8), float64(g1>>8) - float64(g2>>8), float64(b1>>8) - float64(b2>>8)} {
				se += d * d
			}
		}
	}
	mse := se / float64(3*ab.Dx()*ab.Dy())
	if mse == 0 {
		return 99
	}
	return 10 * math.Log10(255*255/mse)
}
