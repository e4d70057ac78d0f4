// Command gentestdata writes the small test inputs under codec/testdata
// that Go itself can make (run by `go generate ./codec/`). The JPEG
// sampling variants and WebP files there were made once with ImageMagick
// and cwebp; see codec/testdata/README.md.
package main

import (
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

	"imagebeam/codec/internal/testimg"
)

func main() {
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
