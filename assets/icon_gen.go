//go:build ignore

// icon_gen draws ImageBeam's app icon: an orange beam (arrow) shooting into a
// display that shows a picture, on a blue tile. The shapes are drawn from
// geometry at the size asked for, so the small sizes are rendered, not
// scaled down, and the beam, the frame and the picture stay apart at 32 px
// (a halo in the tile's colour cuts the beam out of the frame).
//
//	go run assets/icon_gen.go > assets/icon.png               # 512×512, embedded in the binary
//	go run assets/icon_gen.go -size 32 > icon-32.png            # one size (the .deb's hicolor icons)
//	go run assets/icon_gen.go -ico > ImageBeam.ico              # Windows icon: 16 to 256 px
//
// The output depends only on this file, so every build makes the same bytes.
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
)

// design is the coordinate space of the shapes below.
const design = 512

type shape func(x, y float64) bool

// paint gives a layer's colour at a point (the tile has a gradient).
type paint func(x, y float64) color.NRGBA

func solid(c color.NRGBA) paint { return func(x, y float64) color.NRGBA { return c } }

func roundRect(x0, y0, x1, y1, r float64) shape {
	return func(x, y float64) bool {
		if x < x0 || x > x1 || y < y0 || y > y1 {
			return false
		}
		cx := math.Max(x0+r, math.Min(x, x1-r))
		cy := math.Max(y0+r, math.Min(y, y1-r))
		return math.Hypot(x-cx, y-cy) <= r
	}
}

func circle(cx, cy, r float64) shape {
	return func(x, y float64) bool { return math.Hypot(x-cx, y-cy) <= r }
}

// segDist is the distance from (x, y) to the segment a–b.
func segDist(ax, ay, bx, by, x, y float64) float64 {
	dx, dy := bx-ax, by-ay
	t := ((x-ax)*dx + (y-ay)*dy) / (dx*dx + dy*dy)
	t = math.Max(0, math.Min(1, t))
	return math.Hypot(x-(ax+t*dx), y-(ay+t*dy))
}

// stroke is a segment with round ends, w wide.
func stroke(ax, ay, bx, by, w float64) shape {
	return func(x, y float64) bool { return segDist(ax, ay, bx, by, x, y) <= w/2 }
}

// triangle is the triangle a–b–c grown by grow on every side (0: exact).
func triangle(ax, ay, bx, by, cx, cy, grow float64) shape {
	side := func(px, py, qx, qy, x, y float64) float64 { return (qx-px)*(y-py) - (qy-py)*(x-px) }
	return func(x, y float64) bool {
		d1, d2, d3 := side(ax, ay, bx, by, x, y), side(bx, by, cx, cy, x, y), side(cx, cy, ax, ay, x, y)
		if !((d1 < 0 || d2 < 0 || d3 < 0) && (d1 > 0 || d2 > 0 || d3 > 0)) {
			return true
		}
		return grow > 0 && (segDist(ax, ay, bx, by, x, y) <= grow ||
			segDist(bx, by, cx, cy, x, y) <= grow || segDist(cx, cy, ax, ay, x, y) <= grow)
	}
}

func intersect(a, b shape) shape { return func(x, y float64) bool { return a(x, y) && b(x, y) } }

func union(ss ...shape) shape {
	return func(x, y float64) bool {
		for _, s := range ss {
			if s(x, y) {
				return true
			}
		}
		return false
	}
}

type layer struct {
	s shape
	p paint
}

func layers() []layer {
	// Tile: blue, lighter at the top.
	tile := func(x, y float64) color.NRGBA {
		t := y / design
		mix := func(a, b uint8) uint8 { return uint8(float64(a) + (float64(b)-float64(a))*t) }
		return color.NRGBA{mix(0x2b, 0x17), mix(0x6c, 0x43), mix(0xb8, 0x80), 0xff}
	}
	light := solid(color.NRGBA{0xf1, 0xf4, 0xf9, 0xff})
	orange := solid(color.NRGBA{0xff, 0xa7, 0x26, 0xff})

	// The picture on the display, clipped to the screen.
	picture := roundRect(186, 214, 438, 370, 10)
	// The beam: a thick shaft from the top-left corner and a wide head whose
	// tip lands on the screen. Directions are along the diagonal.
	const (
		shaftFrom, shaftTo = 78.0, 188.0 // shaft ends on the diagonal
		headBase, headTip  = 176.0, 272.0
		headHalf           = 74.0 // half the head's width, across the diagonal
		halo               = 18.0 // the tile colour around the beam
	)
	h := headHalf / math.Sqrt2
	head := func(grow float64) shape {
		return triangle(headBase+h, headBase-h, headTip, headTip, headBase-h, headBase+h, grow)
	}
	shaft := func(grow float64) shape { return stroke(shaftFrom, shaftFrom, shaftTo, shaftTo, 62+2*grow) }

	return []layer{
		{roundRect(16, 16, 496, 496, 100), tile},
		// The display: frame, stand, screen and the picture on it.
		{roundRect(146, 182, 478, 402, 36), light},
		{roundRect(282, 398, 342, 438, 0), light},
		{roundRect(228, 428, 396, 458, 15), light},
		{roundRect(172, 200, 452, 384, 18), solid(color.NRGBA{0x1c, 0x28, 0x3a, 0xff})},
		{picture, solid(color.NRGBA{0x64, 0xc3, 0xf9, 0xff})},
		{intersect(picture, circle(392, 258, 24)), solid(color.NRGBA{0xff, 0xe0, 0x82, 0xff})},
		{intersect(picture, triangle(186, 370, 272, 282, 358, 370, 0)), solid(color.NRGBA{0x2e, 0x8b, 0x3a, 0xff})},
		{intersect(picture, triangle(268, 370, 356, 268, 444, 370, 0)), solid(color.NRGBA{0x1b, 0x5e, 0x20, 0xff})},
		// The beam, cut out of whatever lies under it by a halo of tile.
		{intersect(roundRect(16, 16, 496, 496, 100), union(shaft(halo), head(halo))), tile},
		{union(shaft(0), head(0)), orange},
	}
}

// render draws the icon size×size pixels, 4×4 samples a pixel.
func render(size int) *image.NRGBA {
	ls := layers()
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	const ss = 4
	scale := float64(design) / float64(size)
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			var r, g, b, a float64
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					px := (float64(x) + (float64(sx)+0.5)/ss) * scale
					py := (float64(y) + (float64(sy)+0.5)/ss) * scale
					var c color.NRGBA
					for _, l := range ls {
						if l.s(px, py) {
							c = l.p(px, py)
						}
					}
					fa := float64(c.A) / 255
					r, g, b, a = r+float64(c.R)*fa, g+float64(c.G)*fa, b+float64(c.B)*fa, a+fa
				}
			}
			if a == 0 {
				continue
			}
			img.SetNRGBA(x, y, color.NRGBA{uint8(r/a + 0.5), uint8(g/a + 0.5), uint8(b/a + 0.5), uint8(255*a/(ss*ss) + 0.5)})
		}
	}
	return img
}

// writeICO writes a Windows icon holding one PNG image per size (Windows
// Vista and later read PNG icon images).
func writeICO(w *bytes.Buffer, sizes []int) error {
	var images [][]byte
	for _, s := range sizes {
		var b bytes.Buffer
		if err := png.Encode(&b, render(s)); err != nil {
			return err
		}
		images = append(images, b.Bytes())
	}
	le := binary.LittleEndian
	_ = binary.Write(w, le, [3]uint16{0, 1, uint16(len(sizes))}) // reserved, type icon, count
	offset := 6 + 16*len(sizes)
	for i, s := range sizes {
		dim := uint8(s)
		if s >= 256 {
			dim = 0 // 0 means 256
		}
		_ = binary.Write(w, le, struct {
			W, H, Colors, Reserved uint8
			Planes, Bits           uint16
			Size, Offset           uint32
		}{dim, dim, 0, 0, 1, 32, uint32(len(images[i])), uint32(offset)})
		offset += len(images[i])
	}
	for _, b := range images {
		w.Write(b)
	}
	return nil
}

func main() {
	size := flag.Int("size", design, "width and height in pixels")
	ico := flag.Bool("ico", false, "write a Windows .ico (16 to 256 px) instead of a PNG")
	flag.Parse()
	var out bytes.Buffer
	var err error
	if *ico {
		err = writeICO(&out, []int{16, 20, 24, 32, 40, 48, 64, 256})
	} else {
		err = png.Encode(&out, render(*size))
	}
	if err == nil {
		_, err = os.Stdout.Write(out.Bytes())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "icon_gen:", err)
		os.Exit(1)
	}
}
