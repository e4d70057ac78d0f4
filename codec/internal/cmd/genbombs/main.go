// Command genbombs writes hostile images into a folder, for
// scripts/bench-serve-memory.sh and for trying `imagebeam convert` by hand:
//
//	go run ./codec/internal/cmd/genbombs DIR
//
// Each is small on disk and large in memory. Those of 10000×10000 are
// beyond a 1 GiB budget (refused from their header); the smaller ones fit
// and are decoded, so a run shows both the refusals and the budget taking
// turns. Making them takes a few seconds (the PNGs deflate 800 MB of
// zeros) and never holds their pixels, except the GIF's 49 MB.
package main

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"io"
	"log"
	"os"
	"path/filepath"

	"imagebeam/internal/bombs"
)

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: genbombs DIR")
	}
	dir := os.Args[1]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatal(err)
	}
	ycc := []bombs.Sampling{{H: 1, V: 1}, {H: 1, V: 1}, {H: 1, V: 1}}
	write := func(name string, f func(io.Writer) error) {
		file, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			log.Fatal(err)
		}
		w := bufio.NewWriter(file)
		if err := f(w); err != nil {
			log.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			log.Fatal(err)
		}
		st, _ := file.Stat()
		file.Close()
		fmt.Printf("%-32s %9d bytes\n", name, st.Size())
	}
	bytesOf := func(b []byte) func(io.Writer) error {
		return func(w io.Writer) error { _, err := w.Write(b); return err }
	}
	write("progressive-10000x10000.jpg", bombs.JPEG{Width: 10000, Height: 10000, Components: ycc, Progressive: true}.Write)
	write("rgba16-10000x10000.png", func(w io.Writer) error {
		return bombs.PNG{Width: 10000, Height: 10000, Depth: 16, ColorType: 6}.Write(w)
	})
	write("interlaced-10000x10000.png", func(w io.Writer) error {
		return bombs.PNG{Width: 10000, Height: 10000, Depth: 8, ColorType: 6, Interlaced: true}.Write(w)
	})
	write("rgb-10000x10000.tiff", bytesOf(bombs.TIFF(10000, 10000)))
	write("rgb-10000x10000.bmp", bytesOf(bombs.BMP(10000, 10000)))
	write("lossless-10000x10000.webp", bytesOf(bombs.WebP(10000, 10000)))
	// These fit a 1 GiB budget, one or two at a time.
	write("progressive-5000x5000.jpg", bombs.JPEG{Width: 5000, Height: 5000, Components: ycc, Progressive: true,
		DC: func(c, bx, by int) int { return (bx + by) % 512 }}.Write)
	write("rgba16-5000x5000.png", func(w io.Writer) error {
		return bombs.PNG{Width: 5000, Height: 5000, Depth: 16, ColorType: 6}.Write(w)
	})
	write("flat-7000x7000.gif", func(w io.Writer) error {
		img := image.NewPaletted(image.Rect(0, 0, 7000, 7000), color.Palette{color.Black, color.White})
		return gif.Encode(w, img, nil)
	})
}
