// Package testimg draws the test pictures that codec's tests check and
// that cmd/gentestdata writes into codec/testdata, so both agree on them.
package testimg

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
)

// QuadColours are the quadrants' colours: top-left red, top-right green,
// bottom-left blue, bottom-right yellow.
var QuadColours = [4]color.NRGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {255, 255, 0, 255}}

// Quadrants is a w×h picture of four flat quadrants in QuadColours, which
// makes orientation, cropping and letterboxing easy to check.
func Quadrants(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := 0
			if x >= w/2 {
				i++
			}
			if y >= h/2 {
				i += 2
			}
			img.SetNRGBA(x, y, QuadColours[i])
		}
	}
	return img
}

// Photo returns a w×h opaque image that compresses like a photograph:
// smooth colour gradients, edges, fine texture and sensor-like noise.
func Photo(w, h int, seed uint64) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(seed, 7))
	for y := 0; y < h; y++ {
		fy := float64(y) / float64(h)
		row := img.Pix[y*img.Stride:]
		for x := 0; x < w; x++ {
			fx := float64(x) / float64(w)
			tex := 18 * math.Sin(float64(x)*0.21+3*math.Sin(float64(y)*0.05)) * math.Cos(float64(y)*0.17)
			n := rng.NormFloat64() * 6
			edge := 0.0
			if (x/97+y/89)%3 == 0 {
				edge = 40
			}
			r := 40 + 170*fx + tex + n + edge
			g := 60 + 120*fy + 0.5*tex + n
			b := 200 - 150*fx*fy + n - edge/2
			row[4*x] = clamp8(r)
			row[4*x+1] = clamp8(g)
			row[4*x+2] = clamp8(b)
			row[4*x+3] = 255
		}
	}
	return img
}

func clamp8(v float64) uint8 { return uint8(math.Max(0, math.Min(255, math.Round(v)))) }

// Tiled returns a w×h image covered by tile, every other row of tiles
// mirrored top to bottom so the seams do not repeat exactly: a big photo
// made in a fraction of the time Photo would take.
func Tiled(tile *image.RGBA, w, h int) *image.RGBA {
	tw, th := tile.Bounds().Dx(), tile.Bounds().Dy()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		ty := y % th
		if (y/th)%2 == 1 {
			ty = th - 1 - ty
		}
		src := tile.Pix[ty*tile.Stride : ty*tile.Stride+4*tw]
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := 0; x < w; x += tw {
			copy(row[4*x:], src)
		}
	}
	return img
}
