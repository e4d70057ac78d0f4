// Command gentestdata writes the small test inputs under codec/testdata
// that Go itself can make (run by `go generate ./codec/`). The JPEG
// sampling variants, progressive and CMYK files and WebP files there were
// made once with ImageMagick, libjpeg's tools and cwebp; see
// codec/testdata/README.md.
//
// With -big DIR it writes instead the large photos that
// scripts/bench-codec.sh times, none of which is kept in git:
// photo-24mp-{baseline,progressive,cmyk}.jpg (6000×4000, quality 92: 4:2:0
// from image/jpeg, the same as libjpeg's default progressive script, and
// Adobe CMYK 4:4:4:4) and progressive-10000.jpg (10000×10000, 4:2:0,
// quality 85), all of the same kind of picture.
package main

import (
	"bufio"
	"bytes"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"log"
	"os"
	"path/filepath"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"imagebeam/codec/internal/jpegw"
	"imagebeam/codec/internal/testimg"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "-big" {
		writeBig(os.Args[2])
		return
	}
	dir := "testdata"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	enc := func(f func(*bytes.Buffer) error) []byte {
		var b bytes.Buffer
		if err := f(&b); err != nil {
			log.Fatal(err)
		}
		return b.Bytes()
	}
	q := testimg.Quadrants(64, 48)
	write("quadrants.png", enc(func(b *bytes.Buffer) error { return png.Encode(b, q) }))
	write("quadrants.bmp", enc(func(b *bytes.Buffer) error { return bmp.Encode(b, q) }))
	write("quadrants.tiff", enc(func(b *bytes.Buffer) error { return tiff.Encode(b, q, &tiff.Options{Compression: tiff.Deflate}) }))
	write("quadrants.gif", enc(func(b *bytes.Buffer) error { return gif.Encode(b, q, nil) }))
	jpg := enc(func(b *bytes.Buffer) error { return jpeg.Encode(b, q, &jpeg.Options{Quality: 90}) })
	write("quadrants.jpg", jpg)
	write("truncated.jpg", jpg[:len(jpg)*6/10])

	// Half-transparent red on the left, fully transparent on the right.
	a := image.NewNRGBA(image.Rect(0, 0, 64, 48))
	for y := 0; y < 48; y++ {
		for x := 0; x < 32; x++ {
			a.SetNRGBA(x, y, color.NRGBA{255, 0, 0, 128})
		}
	}
	write("alpha.png", enc(func(b *bytes.Buffer) error { return png.Encode(b, a) }))

	// Two frames: red, then blue.
	anim := &gif.GIF{}
	for _, c := range []color.Color{color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}} {
		f := image.NewPaletted(image.Rect(0, 0, 32, 32), palette.Plan9)
		for i := range f.Pix {
			f.Pix[i] = uint8(f.Palette.Index(c))
		}
		anim.Image = append(anim.Image, f)
		anim.Delay = append(anim.Delay, 50)
	}
	write("animated.gif", enc(func(b *bytes.Buffer) error { return gif.EncodeAll(b, anim) }))

	write("empty.jpg", nil)
	write("text.jpg", []byte("This is a text file that someone named .jpg by mistake.\n"))
	// The start of an iPhone HEIC: an ftyp box (major brand heic,
	// compatible mif1, heic) followed by the header of a meta box.
	heic := []byte{0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c', 0, 0, 0, 0,
		'm', 'i', 'f', '1', 'h', 'e', 'i', 'c',
		0, 0, 0, 0x22, 'm', 'e', 't', 'a', 0, 0, 0, 0}
	write("sample.heic", heic)
	write("page.html", []byte("<!DOCTYPE html>\n<html><head><title>Not found</title></head><body>Sorry</body></html>\n"))
}

// writeBig writes the benchmark photos into dir.
func writeBig(dir string) {
	write := func(name string, f func(*bufio.Writer) error) {
		out, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			log.Fatal(err)
		}
		w := bufio.NewWriter(out)
		if err := f(w); err != nil {
			log.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			log.Fatal(err)
		}
		if err := out.Close(); err != nil {
			log.Fatal(err)
		}
	}
	ycc := []jpegw.Component{{H: 2, V: 2}, {H: 1, V: 1, Tq: 1}, {H: 1, V: 1, Tq: 1}}
	cmyk := []jpegw.Component{{H: 1, V: 1}, {H: 1, V: 1}, {H: 1, V: 1}, {H: 1, V: 1}}
	// A 1200×800 photo tiled, as codec's benchmarks do: Photo takes
	// seconds a megapixel.
	img := testimg.Tiled(testimg.Photo(1200, 800, 1), 6000, 4000)
	write("photo-24mp-baseline.jpg", func(w *bufio.Writer) error { return jpeg.Encode(w, img, &jpeg.Options{Quality: 92}) })
	planes := jpegw.YCbCr(img)
	write("photo-24mp-progressive.jpg", func(w *bufio.Writer) error {
		return jpegw.Encode(w, 6000, 4000, planes, jpegw.Options{Quality: 92, Comps: ycc, Adobe: -1, Scans: jpegw.SimpleProgression(3)})
	})
	planes = jpegw.AdobeCMYK(img)
	write("photo-24mp-cmyk.jpg", func(w *bufio.Writer) error {
		return jpegw.Encode(w, 6000, 4000, planes, jpegw.Options{Quality: 92, Comps: cmyk, Adobe: 0})
	})
	img, planes = nil, nil
	big := testimg.Tiled(testimg.Photo(1200, 800, 2), 10000, 10000)
	planes = jpegw.YCbCr(big)
	big = nil
	write("progressive-10000.jpg", func(w *bufio.Writer) error {
		return jpegw.Encode(w, 10000, 10000, planes, jpegw.Options{Quality: 85, Comps: ycc, Adobe: -1, Scans: jpegw.SimpleProgression(3)})
	})
}
