// Package testimg draws the test pictures that codec's tests check and
// that cmd/gentestdata writes into codec/testdata, so both agree on them.
package testimg

import (
	"image"
	"image/color"
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
