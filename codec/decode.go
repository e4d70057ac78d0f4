package codec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"
	"strings"

	// Decoders registered with package image, picked by content.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// decodeConfig reads the dimensions without decoding the pixels.
func decodeConfig(data []byte) (cfg image.Config, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: the decoder failed (%v)", ErrCorrupt, r)
		}
	}()
	cfg, _, err = image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return cfg, classify(err)
	}
	return cfg, nil
}

// decodeStd decodes with the registered decoders, recovering from panics.
func decodeStd(data []byte) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("%w: the decoder failed (%v)", ErrCorrupt, r)
		}
	}()
	img, _, err = image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, classify(err)
	}
	return img, nil
}

// classify maps a third-party decoder error onto a sentinel.
func classify(err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Errorf("%w (an incomplete file or download?)", ErrTruncated)
	case strings.Contains(msg, "unsupported"):
		return fmt.Errorf("%w (%s)", ErrUnsupported, msg)
	case errors.Is(err, image.ErrFormat):
		return fmt.Errorf("%w (%s)", ErrNotImage, msg)
	}
	return fmt.Errorf("%w (%s)", ErrCorrupt, msg)
}

// decodeJPEG decodes at 1/s of the full size (s = 1, 2, 4 or 8), with the
// scaled decoder when it handles the file and image/jpeg otherwise. l
// holds what jpegCost said; the fallback below needs more.
func decodeJPEG(ctx context.Context, h *jpegHeader, data []byte, s int, l *lease) (*image.NRGBA, error) {
	if h != nil && h.fastPathOK() {
		img, err := decodeScaled(ctx, h, data, s)
		if err == nil || !errors.Is(err, ErrCorrupt) {
			return img, err
		}
		// A file the fast path finds corrupt may still be read by
		// image/jpeg, which is more lenient about some details; try it,
		// if the memory that takes at full size is free right now.
		if !l.tryGrow(jpegStdCost(h, h.width, h.height, s, len(data))) {
			return nil, err
		}
	}
	img, err := decodeStd(data)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, ok := img.(*image.YCbCr); ok || s == 1 {
		return shrinkBox(img, s), nil
	}
	return shrinkBox(flatten(img), s), nil
}

// shrinkBox returns img flattened onto white and shrunk by the integer
// factor s with a box filter (s = 1 only flattens).
func shrinkBox(img image.Image, s int) *image.NRGBA {
	if s == 1 {
		return flatten(img)
	}
	b := img.Bounds()
	w, h := (b.Dx()+s-1)/s, (b.Dy()+s-1)/s
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	yc, isYCbCr := img.(*image.YCbCr)
	var src *image.NRGBA
	if !isYCbCr {
		src = flatten(img)
	}
	for oy := 0; oy < h; oy++ {
		for ox := 0; ox < w; ox++ {
			var s0, s1, s2, cnt int
			for y := b.Min.Y + oy*s; y < min(b.Min.Y+oy*s+s, b.Max.Y); y++ {
				for x := b.Min.X + ox*s; x < min(b.Min.X+ox*s+s, b.Max.X); x++ {
					if isYCbCr {
						s0 += int(yc.Y[yc.YOffset(x, y)])
						ci := yc.COffset(x, y)
						s1 += int(yc.Cb[ci])
						s2 += int(yc.Cr[ci])
					} else {
						p := src.Pix[(y-b.Min.Y)*src.Stride+4*(x-b.Min.X):]
						s0, s1, s2 = s0+int(p[0]), s1+int(p[1]), s2+int(p[2])
					}
					cnt++
				}
			}
			r, g, bb := uint8((s0+cnt/2)/cnt), uint8((s1+cnt/2)/cnt), uint8((s2+cnt/2)/cnt)
			if isYCbCr {
				r, g, bb = color.YCbCrToRGB(r, g, bb)
			}
			i := oy*out.Stride + 4*ox
			out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = r, g, bb, 255
		}
	}
	return out
}

// flatten returns img as an opaque NRGBA image with its top-left corner
// at (0, 0), composited onto white where it is transparent. An NRGBA input
// is flattened in place (it is always one this package decoded), which
// keeps a 100 MP PNG from needing twice its memory.
func flatten(img image.Image) *image.NRGBA {
	b := img.Bounds()
	if n, ok := img.(*image.NRGBA); ok && b.Min == (image.Point{}) {
		if n.Opaque() {
			return n
		}
		out := n
		for y := 0; y < b.Dy(); y++ {
			src := n.Pix[y*n.Stride : y*n.Stride+4*b.Dx()]
			dst := out.Pix[y*out.Stride : y*out.Stride+4*b.Dx()]
			for i := 0; i < len(src); i += 4 {
				a := uint32(src[i+3])
				bg := 255 * (255 - a)
				dst[i] = uint8((uint32(src[i])*a + bg + 127) / 255)
				dst[i+1] = uint8((uint32(src[i+1])*a + bg + 127) / 255)
				dst[i+2] = uint8((uint32(src[i+2])*a + bg + 127) / 255)
				dst[i+3] = 255
			}
		}
		return out
	}
	// An RGBA view of the output shares its pixels: once every pixel is
	// opaque, premultiplied and non-premultiplied bytes are the same, and
	// image/draw has fast paths for an *image.RGBA destination.
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	view := &image.RGBA{Pix: out.Pix, Stride: out.Stride, Rect: out.Rect}
	if o, ok := img.(interface{ Opaque() bool }); ok && o.Opaque() {
		draw.Draw(view, view.Rect, img, b.Min, draw.Src)
		return out
	}
	draw.Draw(view, view.Rect, image.White, image.Point{}, draw.Src)
	draw.Draw(view, view.Rect, img, b.Min, draw.Over)
	return out
}

// hasAlpha reports whether img has any pixel that is not opaque.
func hasAlpha(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return !o.Opaque()
	}
	return true
}
