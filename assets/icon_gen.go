//go:build ignore

// icon_gen draws the placeholder app icon: a beam (arrow) shooting into a
// device screen. Run: go run assets/icon_gen.go > assets/icon.png
package main

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
)

const size = 512

type shape func(x, y float64) bool

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

func segment(ax, ay, bx, by, w float64) shape {
	return func(x, y float64) bool {
		dx, dy := bx-ax, by-ay
		t := ((x-ax)*dx + (y-ay)*dy) / (dx*dx + dy*dy)
		t = math.Max(0, math.Min(1, t))
		return math.Hypot(x-(ax+t*dx), y-(ay+t*dy)) <= w/2
	}
}

func triangle(ax, ay, bx, by, cx, cy float64) shape {
	side := func(px, py, qx, qy, x, y float64) float64 { return (qx-px)*(y-py) - (qy-py)*(x-px) }
	return func(x, y float64) bool {
		d1, d2, d3 := side(ax, ay, bx, by, x, y), side(bx, by, cx, cy, x, y), side(cx, cy, ax, ay, x, y)
		neg := d1 < 0 || d2 < 0 || d3 < 0
		pos := d1 > 0 || d2 > 0 || d3 > 0
		return !(neg && pos)
	}
}

func main() {
	layers := []struct {
		s shape
		c color.NRGBA
	}{
		{roundRect(16, 16, 496, 496, 96), color.NRGBA{0x1f, 0x4e, 0x8c, 0xff}},        // tile
		{roundRect(196, 176, 472, 420, 28), color.NRGBA{0xf2, 0xf5, 0xfa, 0xff}},      // device body
		{roundRect(222, 202, 446, 364, 10), color.NRGBA{0x26, 0x32, 0x45, 0xff}},      // screen
		{roundRect(236, 216, 432, 350, 6), color.NRGBA{0x4f, 0xc3, 0xf7, 0xff}},       // image on screen
		{triangle(236, 350, 300, 270, 350, 350), color.NRGBA{0x2e, 0x7d, 0x32, 0xff}}, // mountain
		{triangle(300, 350, 370, 250, 432, 350), color.NRGBA{0x1b, 0x5e, 0x20, 0xff}},
		{roundRect(310, 384, 358, 398, 7), color.NRGBA{0x9a, 0xa5, 0xb4, 0xff}},       // button
		{segment(60, 92, 250, 240, 44), color.NRGBA{0xff, 0xa7, 0x26, 0xff}},          // beam
		{triangle(300, 280, 196, 246, 262, 160), color.NRGBA{0xff, 0xa7, 0x26, 0xff}}, // arrow head
	}
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	const ss = 4 // supersampling per axis
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			var r, g, b, a float64
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					px, py := float64(x)+(float64(sx)+0.5)/ss, float64(y)+(float64(sy)+0.5)/ss
					var c color.NRGBA
					for _, l := range layers {
						if l.s(px, py) {
							c = l.c
						}
					}
					fa := float64(c.A) / 255
					r, g, b, a = r+float64(c.R)*fa, g+float64(c.G)*fa, b+float64(c.B)*fa, a+fa
				}
			}
			if a == 0 {
				continue
			}
			img.SetNRGBA(x, y, color.NRGBA{uint8(r / a), uint8(g / a), uint8(b / a), uint8(255 * a / (ss * ss))})
		}
	}
	if err := png.Encode(os.Stdout, img); err != nil {
		os.Exit(1)
	}
}
