package codec

import (
	"encoding/binary"
	"fmt"
	"image"
	"runtime"
	"unsafe"

	"imagebeam/internal/human"
)

// This file estimates, from an image's header and before any pixel is
// decoded, what each step of a preparation will allocate: the decoder
// behind each format, the conversion to the working copy, orientation,
// fitting and encoding. The Budget admits a preparation by these figures.
//
// A step's allocations are added up, not overlapped: the decoder's own
// image or coefficient buffers are garbage once the working copy is made,
// but the garbage collector may not have reclaimed them by then, so the
// sum is what the heap can grow by. Loops (the byte budget's bisection
// and shrinking) are counted by the most they hold at once; their garbage
// is left to the collector, which GOMEMLIMIT keeps prompt.

// overhead covers a decoder's or encoder's small allocations: Huffman and
// zlib tables, read buffers, goroutine scanlines.
const overhead = 1 << 20

// decodeCost is what decode(s) allocates, the working copy included.
func (im *Image) decodeCost(s int) int64 {
	raw := im.rawSize()
	w, h := raw.X, raw.Y
	px := int64(w) * int64(h)
	n := int64(overhead) + 64*int64(w+h)
	switch im.info.Format {
	case FormatJPEG:
		return n + jpegCost(im.hdr, w, h, s, len(im.data))
	case FormatPNG:
		p := parsePNGInfo(im.data)
		n += px*int64(p.bytesPerPixel()) + 16*int64(w) + 2
		if p.interlaced {
			n += px * int64(p.bytesPerPixel()) // the seven passes, merged after
		}
		if !p.nrgba() {
			n += 4 * px // flattened into a new NRGBA
		}
		return n
	case FormatGIF:
		// The frame's palette indices, a copy to undo interlacing, and the
		// NRGBA it is drawn onto.
		return n + 6*px
	case FormatBMP:
		bpp := bmpBitsPerPixel(im.data)
		switch {
		case bpp <= 8:
			return n + px + 4*px
		case bpp == 32:
			return n + 4*px // NRGBA, flattened in place
		}
		return n + 8*px // RGBA, then a new NRGBA
	case FormatTIFF:
		return n + tiffCost(im.data, w, h)
	case FormatWebP:
		// image.Decode hands the decoder a bufio.Reader: chunks are copied.
		n += int64(len(im.data))
		switch webpKind(im.data) {
		case "VP8L":
			// The pixels, and as much again to undo a colour-index transform;
			// the NRGBA is flattened in place.
			return n + 8*px
		case "VP8 ":
			mb := int64((w+15)/16) * int64((h+15)/16)
			return n + 384*mb + 4*px // 4:2:0 YCbCr in whole macroblocks, then NRGBA
		}
		// VP8X: YCbCr with an alpha plane that may itself be a lossless
		// image, then NRGBA.
		mb := int64((w+15)/16) * int64((h+15)/16)
		return n + 384*mb + px + 8*px + 4*px
	}
	return n + 8*px
}

// describe names the image for messages: "this 10000×10000 progressive JPEG".
func (im *Image) describe() string {
	raw := im.rawSize()
	kind := string(im.info.Format)
	switch im.info.Format {
	case FormatJPEG:
		switch {
		case im.hdr == nil:
		case len(im.hdr.comps) == 4:
			kind = "CMYK JPEG"
		case im.hdr.sof == mSOF2:
			kind = "progressive JPEG"
		}
	case FormatPNG:
		kind = parsePNGInfo(im.data).String()
	}
	return fmt.Sprintf("this %d×%d %s", raw.X, raw.Y, kind)
}

// jpegCost is what decoding a w×h JPEG at 1/s allocates: through the
// scaled decoder when it takes the file, else through image/jpeg at full
// size (h is nil when the header parser gave up and image/jpeg decides).
func jpegCost(h *jpegHeader, w, hgt, s, size int) int64 {
	if h != nil && h.fastPathOK() {
		return jpegScaledCost(h, s)
	}
	return jpegStdCost(h, w, hgt, s, size)
}

// jpegScaledCost mirrors decodeScaled: one plane per component at its
// scaled resolution and the NRGBA, plus, for decodeStreaming, three rows
// of coefficients in flight, and for decodeScans the coefficients a
// progressive JPEG keeps at this scale (2 bytes each, and an 8-byte mask
// a block when some of its coefficients are dropped): 2 bytes a block at
// 1/8, where image/jpeg keeps 256.
func jpegScaledCost(h *jpegHeader, s int) int64 {
	var planes, perRow, coefs int64
	for i, c := range newCoefComps(h, s) {
		blocks := int64(c.bw) * int64(c.bh)
		planes += blocks * int64(c.k)
		perRow += int64(c.bw * h.comps[i].v)
		if h.sof == mSOF2 {
			coefs += blocks * c.coefBytes()
		}
	}
	ow, oh := int64((h.width+s-1)/s), int64((h.height+s-1)/s)
	n64 := planes + 4*ow*oh + 4*ow*int64(len(h.comps))
	if h.streaming() {
		return n64 + 3*perRow*(256+32)
	}
	// The scan list (maxScans entries at most, each with its quantisation
	// tables when sequential), the Huffman tables of the scans being
	// decoded and the wavefront's state.
	perScan := int64(unsafe.Sizeof(scanInfo{}) + 4*unsafe.Sizeof(scanComponent{}))
	if h.sof != mSOF2 {
		perScan += int64(unsafe.Sizeof([4][64]int32{}))
	}
	perScan += 8 + 4*8 + 8 + 16 // wavefront: deps, rows, errs
	return n64 + coefs + maxScans*perScan + scanWorkers*8*int64(unsafe.Sizeof(huffTable{}))
}

// jpegStdCost mirrors image/jpeg (Go 1.26) and decodeJPEG's conversion
// after it: the image in whole MCUs, a 256-byte coefficient block per 8×8
// block of every component for a progressive file, CMYK or RGB
// conversions, and the NRGBA working copy.
func jpegStdCost(h *jpegHeader, w, hgt, s, size int) int64 {
	px := int64(w) * int64(hgt)
	out := 4 * int64((w+s-1)/s) * int64((hgt+s-1)/s)
	if h == nil {
		// Unknown layout: assume the worst image/jpeg reads, a progressive
		// 4:4:4:4 CMYK file (16 bytes of coefficients, 4 planes and a CMYK
		// image per pixel), flattened at full size.
		return int64(size) + 16*px + 4*px + 4*px + 4*px + out
	}
	comps := h.comps
	hmax, vmax := h.hmax, h.vmax
	if len(comps) == 1 {
		// image/jpeg reads one component as 1×1, whatever its factors.
		comps, hmax, vmax = []jpegComponent{{h: 1, v: 1}}, 1, 1
	}
	mxx, myy := int64((w+8*hmax-1)/(8*hmax)), int64((hgt+8*vmax-1)/(8*vmax))
	var blocks int64
	for _, c := range comps {
		blocks += mxx * int64(c.h) * myy * int64(c.v)
	}
	n := 64 * blocks // the planes, in whole MCUs
	if h.sof == mSOF2 {
		n += 256 * blocks
	}
	ycbcr := len(comps) == 3
	switch {
	case len(comps) == 4:
		n += 4 * px // CMYK
		ycbcr = false
	case ycbcr && (h.adobe && h.adobeXform == 0 || comps[0].id == 'R' && comps[1].id == 'G' && comps[2].id == 'B'):
		n += 4 * px // RGB
		ycbcr = false
	}
	switch {
	case ycbcr && s > 1:
		n += out // box-filtered straight from YCbCr
	case ycbcr:
		n += 4 * px
	default:
		n += 4 * px // flattened at full size first
		if s > 1 {
			n += out
		}
	}
	return n
}

// encodeCost is what encode(o) allocates from a working copy at 1/scale
// (re-decoding first when o needs more resolution), with the orientation
// cache already holding the oriented image when oriented is true.
func (im *Image) encodeCost(o Options, scale int, oriented bool) int64 {
	orient, l, w, h := im.layout(o)
	if im.sendableAsIs(o, orient, l, w, h) {
		return 0
	}
	n := int64(overhead)
	if s := im.scaleFor(o); s < scale {
		n += im.decodeCost(s)
		scale, oriented = s, false
	}
	raw := im.rawSize()
	ww, wh := (raw.X+scale-1)/scale, (raw.Y+scale-1)/scale
	if orient != (orientation{}) && !oriented {
		n += 4 * int64(ww) * int64(wh)
	}
	if orient.swaps() {
		ww, wh = wh, ww
	}
	r := renderCost(image.Rect(0, 0, ww, wh), l, o.Grayscale)
	n += r
	px := int64(l.ow) * int64(l.oh)
	limit := jpegLimit(px, o.Quality)
	if o.MaxBytes == 0 {
		return n + 2*limit // the chunks, then one slice holding them
	}
	// With a byte budget an encoding keeps at most MaxBytes bytes and the
	// bisection holds three at once; shrinking renders again, smaller.
	keep := min(limit, int64(o.MaxBytes)+1)
	return n + r + 3*2*keep
}

// renderCost mirrors render (and toGray): resizing through imaging (a
// horizontal pass, then a vertical one), the clone or the canvas.
func renderCost(sb image.Rectangle, l layout, gray bool) int64 {
	vis, crop := l.visible(sb)
	var n int64
	resized := crop.Dx() != vis.Dx() || crop.Dy() != vis.Dy()
	if resized {
		vw, vh := int64(vis.Dx()), int64(vis.Dy())
		if crop.Dx() != vis.Dx() && crop.Dy() != vis.Dy() {
			n += 4 * vw * int64(crop.Dy())
		}
		n += 4 * vw * vh
		// Filter weights (CatmullRom, 16 bytes a tap), the row channel and
		// each worker's scanline.
		n += 128*int64(crop.Dx()+crop.Dy()) + 96*(vw+vh) + 8*int64(crop.Dy())
		n += int64(runtime.GOMAXPROCS(0)) * 4 * int64(crop.Dx()+crop.Dy())
	}
	ow, oh := int64(l.ow), int64(l.oh)
	if l.ow == vis.Dx() && l.oh == vis.Dy() {
		if !resized && crop != sb {
			n += 4 * ow * oh // a clone of the visible part (the whole is used as it is)
		}
	} else {
		n += 4 * ow * oh // the canvas
	}
	if gray {
		n += ow * oh
	}
	return n
}

// jpegLimit is the most an encoding of px pixels at quality q may take:
// above what random black-and-white pixels, the least compressible
// picture, need at that quality (measured with image/jpeg: 0.95 bytes a
// pixel at 85, 1.4 at 95, 2.3 at 100), plus the headers.
func jpegLimit(px int64, q int) int64 {
	perMille := int64(300)
	switch {
	case q <= 50:
		perMille += int64(q) * 8 // 0.7 at 50
	case q <= 85:
		perMille += 400 + int64(q-50)*12 // 1.12 at 85
	case q <= 95:
		perMille += 820 + int64(q-85)*45 // 1.57 at 95
	default:
		perMille += 1270 + int64(q-95)*190 // 2.52 at 100
	}
	return px*perMille/1000 + 64<<10
}

// pngInfo is what the PNG decoder's allocations depend on.
type pngInfo struct {
	depth, colorType int
	interlaced, trns bool
}

// parsePNGInfo reads IHDR and looks for tRNS before the image data. A
// header it cannot read gives the costliest reading (16-bit RGBA).
func parsePNGInfo(d []byte) pngInfo {
	p := pngInfo{depth: 16, colorType: 6}
	if len(d) < 33 || string(d[12:16]) != "IHDR" {
		return p
	}
	p.depth, p.colorType, p.interlaced = int(d[24]), int(d[25]), d[28] == 1
	for i := 33; i+8 <= len(d); {
		n := int(binary.BigEndian.Uint32(d[i:]))
		typ := string(d[i+4 : i+8])
		if typ == "IDAT" || n < 0 || n > len(d) {
			break
		}
		if typ == "tRNS" {
			p.trns = true
		}
		i += 12 + n
	}
	return p
}

// bytesPerPixel is the size of a pixel in the image image/png makes.
func (p pngInfo) bytesPerPixel() int {
	switch {
	case p.colorType == 3:
		return 1 // paletted
	case p.depth == 16 && (p.colorType != 0 || p.trns):
		return 8 // NRGBA64 or RGBA64
	case p.depth == 16:
		return 2 // Gray16
	case p.colorType == 0 && !p.trns:
		return 1 // Gray
	}
	return 4
}

// nrgba reports whether image/png makes an *image.NRGBA, which flatten
// composites in place.
func (p pngInfo) nrgba() bool {
	switch {
	case p.depth > 8 || p.colorType == 3:
		return false
	case p.colorType == 4 || p.colorType == 6:
		return true
	}
	return p.trns // grey or RGB with a transparent colour
}

func (p pngInfo) String() string {
	kinds := map[int]string{0: "grey", 2: "RGB", 3: "palette", 4: "grey+alpha", 6: "RGBA"}
	s := fmt.Sprintf("%d-bit %s PNG", p.depth, kinds[p.colorType])
	if p.interlaced {
		s = "interlaced " + s
	}
	return s
}

// bmpBitsPerPixel reads a BMP's bits per pixel (32 when it cannot).
func bmpBitsPerPixel(d []byte) int {
	if len(d) < 30 {
		return 32
	}
	return int(binary.LittleEndian.Uint16(d[28:]))
}

// checkBMPSize refuses an uncompressed BMP (the only kind the decoder
// reads) that holds fewer bytes than its declared pixels take: the decoder
// would allocate the whole image before running out of data.
func checkBMPSize(d []byte, w, h int) error {
	if len(d) < 30 {
		return nil
	}
	offset := int64(binary.LittleEndian.Uint32(d[10:]))
	row := (int64(bmpBitsPerPixel(d))*int64(w) + 31) / 32 * 4
	if need := offset + row*int64(h); need > int64(len(d)) {
		return fmt.Errorf("%w: this %d×%d BMP needs %s of pixel data, and the file has %s",
			ErrTruncated, w, h, human.Bytes(need-offset), human.Bytes(int64(len(d))))
	}
	return nil
}

// tiffCost mirrors x/image/tiff: the whole file copied (image.Decode gives
// it a bufio.Reader, which is no io.ReaderAt), the image, one strip or
// tile decompressed at a time into a growing buffer that may reach 8
// bytes a pixel, and the NRGBA working copy.
func tiffCost(d []byte, w, h int) int64 {
	px := int64(w) * int64(h)
	t := parseTIFFInfo(d, w, h)
	n := 3 * int64(len(d))
	bpp := int64(8)
	switch t.photometric {
	case 0, 1:
		bpp = 1
		if t.bits == 16 {
			bpp = 2
		}
	case 3:
		bpp = 1
	case 2:
		bpp = 4
		if t.bits == 16 {
			bpp = 8
		}
	}
	n += bpp * px
	block := int64(t.blockW) * int64(t.blockH) * 8
	if t.compression <= 1 {
		n += 2*min(block, int64(len(d))) + 10<<20
	} else {
		n += 3 * block // bytes.Buffer doubling: the last buffer and the one before
	}
	nrgba := t.photometric == 2 && t.bits == 8 && t.extra == 2
	if !nrgba {
		n += 4 * px
	}
	return n
}

// tiffInfo is what x/image/tiff's allocations depend on.
type tiffInfo struct {
	photometric, bits, compression, extra int
	blockW, blockH                        int
}

// parseTIFFInfo reads the tags of the first IFD that matter; unknown or
// missing ones keep the costliest values (8 bytes a pixel, one strip).
func parseTIFFInfo(b []byte, w, h int) tiffInfo {
	t := tiffInfo{photometric: -1, bits: 16, compression: 8, blockW: w, blockH: h}
	if len(b) < 8 {
		return t
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if string(b[:2]) == "MM" {
		bo = binary.BigEndian
	}
	ifd := int64(bo.Uint32(b[4:8]))
	if ifd < 8 || ifd+2 > int64(len(b)) {
		return t
	}
	count := int64(bo.Uint16(b[ifd:]))
	tileW, tileH := 0, 0
	for i := int64(0); i < count; i++ {
		e := ifd + 2 + 12*i
		if e+12 > int64(len(b)) {
			break
		}
		typ, cnt := bo.Uint16(b[e+2:]), bo.Uint32(b[e+4:])
		var v int
		switch typ {
		case 3: // SHORT: the first value sits in the entry when it fits
			if cnt <= 2 {
				v = int(bo.Uint16(b[e+8:]))
			} else if off := int64(bo.Uint32(b[e+8:])); off+2 <= int64(len(b)) {
				v = int(bo.Uint16(b[off:]))
			}
		case 4:
			if cnt == 1 {
				v = int(bo.Uint32(b[e+8:]))
			}
		default:
			continue
		}
		switch bo.Uint16(b[e:]) {
		case 258:
			t.bits = v
		case 259:
			t.compression = v
		case 262:
			t.photometric = v
		case 278:
			if v > 0 && v < h {
				t.blockH = v
			}
		case 322:
			tileW = v
		case 323:
			tileH = v
		case 338:
			t.extra = v
		}
	}
	if tileW > 0 && tileH > 0 {
		t.blockW, t.blockH = tileW, tileH
	}
	return t
}

// webpKind is the first chunk of a WebP: "VP8 ", "VP8L" or "VP8X".
func webpKind(d []byte) string {
	if len(d) < 16 {
		return "VP8X"
	}
	return string(d[12:16])
}
