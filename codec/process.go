package codec

import (
	"image"
	"image/color"
	"image/draw"
	"math"

	"github.com/disintegration/imaging"
)

// orientation is a flip about the vertical axis followed by a clockwise
// rotation: the eight EXIF orientations, and an extra rotation, compose
// into one of these.
type orientation struct {
	flip bool
	rot  int // 0, 90, 180, 270 clockwise
}

// exifToOrientation maps EXIF orientations 1–8 (index) to the transform
// that displays the stored pixels upright.
var exifToOrientation = [9]orientation{
	{}, {}, {flip: true}, {rot: 180}, {flip: true, rot: 180},
	{flip: true, rot: 270}, {rot: 90}, {flip: true, rot: 90}, {rot: 270},
}

func compose(exif, rotate int) orientation {
	o := exifToOrientation[max(min(exif, 8), 0)]
	o.rot = (o.rot + rotate) % 360
	return o
}

func (o orientation) swaps() bool { return o.rot == 90 || o.rot == 270 }

// apply transforms img (never modified) by o.
func (o orientation) apply(img *image.NRGBA) *image.NRGBA {
	switch o {
	case orientation{}:
		return img
	case orientation{flip: true}:
		return imaging.FlipH(img)
	case orientation{rot: 180}:
		return imaging.Rotate180(img)
	case orientation{flip: true, rot: 180}:
		return imaging.FlipV(img)
	case orientation{flip: true, rot: 270}:
		return imaging.Transpose(img)
	case orientation{rot: 90}:
		return imaging.Rotate270(img) // imaging rotates counter-clockwise
	case orientation{flip: true, rot: 90}:
		return imaging.Transverse(img)
	default: // {rot: 270}
		return imaging.Rotate90(img)
	}
}

// layout is where the (oriented) image goes in the output: it is scaled
// to cw × ch and centred on an ow × oh canvas at (ox, oy), which may be
// negative when the canvas crops it.
type layout struct {
	cw, ch, ow, oh, ox, oy int
	// notUpscaled is set when the target wanted the image bigger and
	// Upscale was off.
	notUpscaled bool
}

// computeLayout fits a w × h image (as displayed) according to o.
func computeLayout(w, h int, o Options) layout {
	tw, th := o.Width, o.Height
	fw, fh := float64(w), float64(h)
	var cw, ch, ow, oh int
	refused := false
	switch o.Fit {
	case FitNone:
		cw, ch = w, h
		ow, oh = orKeep(tw, w), orKeep(th, h)
	case FitStretch:
		cw, ch = orKeep(tw, w), orKeep(th, h)
		if !o.Upscale && (cw > w || ch > h) {
			cw, ch, refused = min(cw, w), min(ch, h), true
		}
		ow, oh = cw, ch
	default: // contain, cover
		var k float64
		switch {
		case tw == 0 && th == 0:
			k = 1
		case tw == 0:
			k = float64(th) / fh
		case th == 0:
			k = float64(tw) / fw
		case o.Fit == FitCover:
			k = math.Max(float64(tw)/fw, float64(th)/fh)
		default:
			k = math.Min(float64(tw)/fw, float64(th)/fh)
		}
		if !o.Upscale && k > 1 {
			k, refused = 1, true
		}
		cw, ch = scaleSide(w, k), scaleSide(h, k)
		// Snap to the target where rounding left a one-pixel sliver.
		if tw > 0 && abs(cw-tw) <= 1 && (o.Upscale || tw <= w) {
			cw = tw
		}
		if th > 0 && abs(ch-th) <= 1 && (o.Upscale || th <= h) {
			ch = th
		}
		ow, oh = cw, ch
		if tw > 0 && th > 0 {
			if o.Fit == FitCover {
				ow, oh = min(tw, cw), min(th, ch)
			} else {
				ow, oh = tw, th
			}
		}
	}
	return layout{cw: cw, ch: ch, ow: ow, oh: oh, ox: (ow - cw) / 2, oy: (oh - ch) / 2, notUpscaled: refused}
}

func orKeep(t, keep int) int {
	if t == 0 {
		return keep
	}
	return t
}

func scaleSide(n int, k float64) int { return max(1, int(math.Round(float64(n)*k))) }

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// identity reports whether l leaves a w × h image as it is.
func (l layout) identity(w, h int) bool {
	return l.cw == w && l.ch == h && l.ow == w && l.oh == h
}

// shrunk scales the whole layout by f (0 < f < 1), for the byte budget.
func (l layout) shrunk(f float64) layout {
	n := layout{cw: scaleSide(l.cw, f), ch: scaleSide(l.ch, f), ow: scaleSide(l.ow, f), oh: scaleSide(l.oh, f)}
	n.ox, n.oy = (n.ow-n.cw)/2, (n.oh-n.ch)/2
	return n
}

// render draws src (the oriented working copy, at any resolution)
// according to l onto a new opaque image.
func render(src *image.NRGBA, l layout, bg color.Color) *image.NRGBA {
	sb := src.Bounds()
	vis, crop := l.visible(sb)
	var part *image.NRGBA
	if crop.Dx() == vis.Dx() && crop.Dy() == vis.Dy() {
		part = src.SubImage(crop).(*image.NRGBA)
	} else {
		part = imaging.Resize(src.SubImage(crop), vis.Dx(), vis.Dy(), imaging.CatmullRom)
	}
	if l.ow == vis.Dx() && l.oh == vis.Dy() {
		if part.Rect.Min == (image.Point{}) && part.Stride == 4*part.Rect.Dx() {
			return part
		}
		return imaging.Clone(part)
	}
	canvas := image.NewNRGBA(image.Rect(0, 0, l.ow, l.oh))
	r, g, b, _ := color.NRGBAModel.Convert(bg).RGBA()
	fill := color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}
	view := &image.RGBA{Pix: canvas.Pix, Stride: canvas.Stride, Rect: canvas.Rect}
	draw.Draw(view, view.Rect, image.NewUniform(fill), image.Point{}, draw.Src)
	at := vis.Min.Add(image.Pt(l.ox, l.oy))
	draw.Draw(view, image.Rectangle{Min: at, Max: at.Add(vis.Size())}, part, part.Rect.Min, draw.Src)
	return canvas
}

// visible returns the part of the scaled image that the canvas shows, and
// the same part in the pixels of a working copy with bounds sb.
func (l layout) visible(sb image.Rectangle) (vis, crop image.Rectangle) {
	vis = image.Rect(0, 0, l.cw, l.ch).Intersect(image.Rect(-l.ox, -l.oy, l.ow-l.ox, l.oh-l.oy))
	fx, fy := float64(sb.Dx())/float64(l.cw), float64(sb.Dy())/float64(l.ch)
	crop = image.Rect(
		int(math.Floor(float64(vis.Min.X)*fx)), int(math.Floor(float64(vis.Min.Y)*fy)),
		int(math.Ceil(float64(vis.Max.X)*fx)), int(math.Ceil(float64(vis.Max.Y)*fy)),
	).Intersect(sb)
	return vis, crop
}

// drawOver composites src over dst, both placed at their own bounds.
func drawOver(dst *image.NRGBA, src image.Image) {
	draw.Draw(dst, src.Bounds(), src, src.Bounds().Min, draw.Over)
}

// toGray converts an opaque image to grey with the BT.601 luma weights
// (those JPEG's YCbCr uses).
func toGray(src *image.NRGBA) *image.Gray {
	b := src.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		s := src.Pix[(y)*src.Stride:]
		d := g.Pix[y*g.Stride : y*g.Stride+b.Dx()]
		for x := range d {
			p := s[4*x : 4*x+3 : 4*x+3]
			d[x] = uint8((19595*uint32(p[0]) + 38470*uint32(p[1]) + 7471*uint32(p[2]) + 1<<15) >> 16)
		}
	}
	return g
}
