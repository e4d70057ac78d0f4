package codec

import (
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"math"
)

// This file is a JPEG decoder for the common case (baseline or extended
// sequential, Huffman coded, 8-bit, one interleaved scan, grey or YCbCr)
// that decodes straight to 1/1, 1/2, 1/4 or 1/8 of the full size: each
// 8×8 block is inverse-transformed directly to (8/s)×(8/s) pixels, so a
// 24 MP photo never exists at full size in memory. It was written from
// ITU-T T.81; every other JPEG goes to image/jpeg (see decodeJPEG).

// scaledBasis[s][x*8+u] is the DCT basis function u averaged over the s
// full-size pixels that make output pixel x, including the 1/2·C(u) factor
// of the IDCT. With it, the scaled IDCT gives exactly the box-filtered
// full-size block (up to rounding).
var scaledBasis = func() (t [9][64]float32) {
	for _, s := range []int{1, 2, 4, 8} {
		n := 8 / s
		for x := 0; x < n; x++ {
			for u := 0; u < 8; u++ {
				cu := 1.0
				if u == 0 {
					cu = 1 / math.Sqrt2
				}
				sum := 0.0
				for i := 0; i < s; i++ {
					sum += math.Cos(float64(2*(x*s+i)+1) * float64(u) * math.Pi / 16)
				}
				t[s][x*8+u] = float32(cu / 2 * sum / float64(s))
			}
		}
	}
	return t
}()

// fastPathOK reports whether the scaled decoders handle this JPEG: the
// streaming one (decodeStreaming) for a sequential JPEG whose first scan
// holds every component, the one that walks every scan (decodeScans)
// otherwise. Both take what image/jpeg takes, in the same colours.
func (h *jpegHeader) fastPathOK() bool {
	if h.sof != mSOF0 && h.sof != mSOF1 && h.sof != mSOF2 || h.precision != 8 || h.height == 0 {
		return false
	}
	if !h.samplingOK() || len(h.comps) == 4 && !h.adobe {
		// image/jpeg refuses these ("unknown color model" for CMYK
		// without an Adobe segment): the user gets its error.
		return false
	}
	for _, sc := range h.scan {
		if !h.qtSet[h.comps[sc.comp].tq] {
			return false
		}
		if h.sof == mSOF2 {
			continue // its scans are checked as they come (walkScans)
		}
		if sc.td > 3 || sc.ta > 3 || !h.dc[sc.td].present || !h.ac[sc.ta].present {
			return false
		}
	}
	return true
}

// streaming reports whether decodeStreaming takes the JPEG: sequential,
// with one scan that holds every component.
func (h *jpegHeader) streaming() bool {
	return h.sof != mSOF2 && len(h.scan) == len(h.comps)
}

// samplingOK reports whether image/jpeg accepts the components' number,
// identifiers and sampling factors (reader.go's processSOF).
func (h *jpegHeader) samplingOK() bool {
	cs := h.comps
	for i, c := range cs {
		for _, p := range cs[:i] {
			if p.id == c.id {
				return false
			}
		}
		// T.81 allows a sampling factor of 3, but a block then needs an
		// inverse DCT to 3 or 6 pixels, for which scaledBasis has no
		// table; image/jpeg refuses such files with a clear error.
		if c.h == 3 || c.v == 3 {
			return false
		}
	}
	switch len(cs) {
	case 1:
		return true
	case 3:
		// Y carries the largest factors, Cb and Cr share theirs.
		return cs[0].v != 4 && cs[0].h%cs[1].h == 0 && cs[0].v%cs[1].v == 0 && cs[1].h == cs[2].h && cs[1].v == cs[2].v
	case 4:
		// 1x1 everywhere, or C/Y and K at 2x2 over 1x1.
		hv := func(c jpegComponent) int { return c.h<<4 | c.v }
		return (hv(cs[0]) == 0x11 || hv(cs[0]) == 0x22) && hv(cs[1]) == 0x11 && hv(cs[2]) == 0x11 && hv(cs[3]) == hv(cs[0])
	}
	return false
}

// Colour models, as image/jpeg reads them.
const (
	colorGray  = iota
	colorYCbCr // the default for three components
	colorRGB   // three components: Adobe transform 0, or ids R, G, B, and no JFIF
	colorCMYK  // four: Adobe transform 0, stored inverted
	colorYCCK  // four: any other Adobe transform
)

// colorModel follows image/jpeg's isRGB and applyBlack.
func (h *jpegHeader) colorModel() int {
	switch len(h.comps) {
	case 1:
		return colorGray
	case 4:
		if h.adobeXform == 0 {
			return colorCMYK
		}
		return colorYCCK
	}
	if !h.jfif && (h.adobe && h.adobeXform == 0 || h.comps[0].id == 'R' && h.comps[1].id == 'G' && h.comps[2].id == 'B') {
		return colorRGB
	}
	return colorYCbCr
}

// bitReader reads entropy-coded bits MSB first, removing stuffed zero bytes.
// Past a marker or the end of the data it supplies zero bits; eofPad counts
// those supplied past the end so truncation can be told from a clean end.
type bitReader struct {
	data   []byte
	pos    int
	acc    uint64 // valid bits are the top n bits
	n      uint
	marker bool
	eofPad uint
}

func (br *bitReader) fill() {
	// Fast path: the next 8 bytes hold no 0xFF (no stuffing, no marker),
	// so as many whole bytes as fit go in at once.
	if !br.marker && br.pos+8 <= len(br.data) {
		w := binary.BigEndian.Uint64(br.data[br.pos:])
		if x := ^w; (x-0x0101010101010101)&^x&0x8080808080808080 == 0 {
			k := (64 - br.n) / 8
			br.acc |= w >> (64 - 8*k) << (64 - br.n - 8*k)
			br.n += 8 * k
			br.pos += int(k)
			return
		}
	}
	for br.n <= 56 {
		var b byte
		switch {
		case br.marker:
		case br.pos >= len(br.data):
			br.eofPad += 8
		case br.data[br.pos] != 0xFF:
			b = br.data[br.pos]
			br.pos++
		case br.pos+1 >= len(br.data):
			br.pos = len(br.data)
			br.eofPad += 8
		case br.data[br.pos+1] == 0x00:
			b = 0xFF
			br.pos += 2
		default:
			br.marker = true
		}
		br.acc |= uint64(b) << (56 - br.n)
		br.n += 8
	}
}

// truncated reports whether bits past the end of the data were consumed.
func (br *bitReader) truncated() bool { return br.eofPad > br.n }

// slowDecode decodes a Huffman code longer than lookBits; br.n ≥ 16.
func (br *bitReader) slowDecode(t *huffTable) (byte, bool) {
	for l := lookBits + 1; l <= 16; l++ {
		code := int32(br.acc >> (64 - uint(l)))
		if code <= t.maxcode[l] {
			br.acc <<= uint(l)
			br.n -= uint(l)
			return t.vals[(t.valptr[l]+code-t.mincode[l])&255], true
		}
	}
	return 0, false
}

// decode reads one Huffman-coded symbol.
func (br *bitReader) decode(t *huffTable) (byte, bool) {
	if br.n < 16 {
		br.fill()
	}
	if e := t.lookup[br.acc>>(64-lookBits)]; e != 0 {
		l := uint(e >> 8)
		br.acc <<= l
		br.n -= l
		return byte(e), true
	}
	return br.slowDecode(t)
}

// receive reads s bits (1 ≤ s ≤ 16) and sign-extends them (T.81 F.2.2.1).
func (br *bitReader) receive(s uint) int32 {
	if br.n < s {
		br.fill()
	}
	v := int32(br.acc >> (64 - s))
	br.acc <<= s
	br.n -= s
	if v < 1<<(s-1) {
		v += -1<<s + 1
	}
	return v
}

// restart consumes an RSTn marker and resets the bit reader.
func (br *bitReader) restart() bool {
	br.acc, br.n, br.marker, br.eofPad = 0, 0, false, 0
	for br.pos+1 < len(br.data) {
		if br.data[br.pos] == 0xFF {
			m := br.data[br.pos+1]
			if m >= mRST0 && m <= mRST7 {
				br.pos += 2
				return true
			}
			if m != 0x00 && m != 0xFF {
				return false
			}
		}
		br.pos++
	}
	return false
}

// decodeBlock reads one block's coefficients into blk (natural order,
// dequantised; blk must be zero on entry) and returns a mask of the rows
// that hold a non-zero coefficient, or 0 when only the DC term is set.
// The AC loop keeps the bit buffer in locals so it stays in registers.
func (br *bitReader) decodeBlock(blk *[64]int32, dcT, acT *huffTable, q *[64]int32, pred *int32) (uint8, error) {
	t, ok := br.decode(dcT)
	if !ok || t > 16 {
		return 0, errBadHuffman
	}
	if t > 0 {
		*pred += br.receive(uint(t))
	}
	blk[0] = *pred * q[0]
	var rows uint8
	acc, n := br.acc, br.n
	for k := 1; k < 64; k++ {
		if n < 32 {
			br.acc, br.n = acc, n
			br.fill()
			acc, n = br.acc, br.n
		}
		// Most coefficients: code and value bits in one table look-up.
		if e := acT.fast[acc>>(64-acBits)]; e.length != 0 {
			acc <<= e.length
			n -= uint(e.length)
			k += int(e.run)
			if uint(k) > 63 {
				return 0, errBadHuffman
			}
			z := zigzag[k] & 63
			blk[z] = int32(e.val) * q[z]
			rows |= 1 << (z >> 3)
			continue
		}
		var rs byte
		if e := acT.lookup[acc>>(64-lookBits)]; e != 0 {
			l := uint(e >> 8)
			acc <<= l
			n -= l
			rs = byte(e)
		} else {
			br.acc, br.n = acc, n
			if rs, ok = br.slowDecode(acT); !ok {
				return 0, errBadHuffman
			}
			acc, n = br.acc, br.n
		}
		r, sz := int(rs>>4), uint(rs&15)
		if sz == 0 {
			if r != 15 {
				break
			}
			k += 15
			continue
		}
		k += r
		if uint(k) > 63 {
			return 0, errBadHuffman
		}
		// n ≥ 32 - 16 here, and sz ≤ 15.
		v := int32(acc >> (64 - sz))
		acc <<= sz
		n -= sz
		if v < 1<<(sz-1) {
			v += -1<<sz + 1
		}
		z := zigzag[k] & 63
		blk[z] = v * q[z]
		rows |= 1 << (z >> 3)
	}
	br.acc, br.n = acc, n
	if rows != 0 {
		rows |= 1
	}
	return rows, nil
}

type plane struct {
	pix    []byte
	stride int
	nx, ny int // pixels a block gives across and down
}

// blockRef says where a decoded block's pixels go: block column bx and
// row by of component comp.
type blockRef struct {
	comp, bx, by int
	rows         uint8
}

// mcuRow is one row of MCUs passed from the entropy decoder to the
// inverse-DCT goroutine, so the two run on two cores.
type mcuRow struct {
	coef []int32 // 64 per block
	refs []blockRef
}

// decodeScaled decodes a JPEG accepted by fastPathOK at 1/s of its size
// (s = 1, 2, 4 or 8) into an opaque NRGBA image.
func decodeScaled(ctx context.Context, h *jpegHeader, data []byte, s int) (*image.NRGBA, error) {
	if h.streaming() {
		return decodeStreaming(ctx, h, data, s)
	}
	return decodeScans(ctx, h, data, s)
}

// newPlanes makes one plane per component as newCoefComps laid them out:
// in whole MCUs, nx×ny pixels a block.
func newPlanes(comps []coefComp) []plane {
	planes := make([]plane, len(comps))
	for i, c := range comps {
		w := c.bw * c.nx
		planes[i] = plane{pix: make([]byte, w*c.bh*c.ny), stride: w, nx: c.nx, ny: c.ny}
	}
	return planes
}

// mcus is the number of MCUs across and down.
func (h *jpegHeader) mcus() (int, int) {
	return (h.width + 8*h.hmax - 1) / (8 * h.hmax), (h.height + 8*h.vmax - 1) / (8 * h.vmax)
}

// decodeStreaming decodes a JPEG whose one scan holds every component,
// passing rows of MCUs from the entropy decoder to the inverse DCT.
func decodeStreaming(ctx context.Context, h *jpegHeader, data []byte, s int) (*image.NRGBA, error) {
	mcusX, mcusY := h.mcus()
	planes := newPlanes(newCoefComps(h, s))
	// The block grid: for a single-component scan, its blocks cover the
	// component only, row by row (T.81 A.2.2); otherwise MCUs.
	single := len(h.scan) == 1
	rowsTotal, perRow := mcusY, 0
	if single {
		c := h.comps[h.scan[0].comp]
		cw := (h.width*c.h + h.hmax - 1) / h.hmax
		ch := (h.height*c.v + h.vmax - 1) / h.vmax
		rowsTotal, perRow = (ch+7)/8, (cw+7)/8
	} else {
		for _, sc := range h.scan {
			perRow += h.comps[sc.comp].h * h.comps[sc.comp].v
		}
		perRow *= mcusX
	}

	free := make(chan *mcuRow, 3)
	full := make(chan *mcuRow, 3)
	for range 3 {
		free <- &mcuRow{coef: make([]int32, 64*perRow), refs: make([]blockRef, 0, perRow)}
	}
	done := make(chan struct{})
	var idctErr error
	go func() {
		defer close(done)
		for r := range full {
			if idctErr == nil {
				idctErr = idctRow(r, planes)
			}
			r.refs = r.refs[:0]
			free <- r // keep the entropy decoder going even after an error
		}
	}()
	err := decodeEntropySafe(ctx, h, data, single, rowsTotal, perRow, mcusX, free, full)
	close(full)
	<-done
	if err == nil {
		err = idctErr
	}
	if err != nil {
		return nil, err
	}
	return toRGB(h, planes, s), nil
}

// idctRow turns one row of coefficient blocks into pixels. A bug here
// must not crash the program or stall the pipeline: a panic becomes an error.
func idctRow(r *mcuRow, planes []plane) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: the JPEG decoder failed (%v)", ErrCorrupt, v)
		}
	}()
	for i, ref := range r.refs {
		idctBlock((*[64]int32)(r.coef[64*i:64*i+64]), ref.rows, &planes[ref.comp], ref.bx, ref.by)
	}
	return nil
}

// decodeEntropySafe is decodeEntropy with a panic turned into an error.
func decodeEntropySafe(ctx context.Context, h *jpegHeader, data []byte, single bool, rowsTotal, perRow, mcusX int,
	free, full chan *mcuRow) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: the JPEG decoder failed (%v)", ErrCorrupt, v)
		}
	}()
	return decodeEntropy(ctx, h, data, single, rowsTotal, perRow, mcusX, free, full)
}

// decodeEntropy runs the Huffman decoding of the first scan and sends the
// coefficients row by row on full.
func decodeEntropy(ctx context.Context, h *jpegHeader, data []byte, single bool, rowsTotal, perRow, mcusX int,
	free, full chan *mcuRow) error {
	br := &bitReader{data: data, pos: h.scanStart}
	var pred [4]int32
	restartLeft := h.restart
	units := mcusX // restart interval units per row
	if single {
		units = perRow
	}
	for y := 0; y < rowsTotal; y++ {
		if y%16 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		r := <-free
		bi := 0
		for x := 0; x < units; x++ {
			if h.restart != 0 {
				if restartLeft == 0 {
					if br.truncated() {
						return errTruncatedScan
					}
					if !br.restart() {
						return errBadRestart
					}
					pred = [4]int32{}
					restartLeft = h.restart
				}
				restartLeft--
			}
			for _, sc := range h.scan {
				c := h.comps[sc.comp]
				q := &h.qt[c.tq]
				dcT, acT := &h.dc[sc.td], &h.ac[sc.ta]
				bh, bv := c.h, c.v
				if single {
					bh, bv = 1, 1
				}
				for v := 0; v < bv; v++ {
					for u := 0; u < bh; u++ {
						blk := (*[64]int32)(r.coef[64*bi : 64*bi+64])
						rows, err := br.decodeBlock(blk, dcT, acT, q, &pred[sc.comp])
						if err != nil {
							return err
						}
						r.refs = append(r.refs, blockRef{comp: sc.comp, bx: x*bh + u, by: y*bv + v, rows: rows})
						bi++
					}
				}
			}
		}
		if br.truncated() {
			return errTruncatedScan
		}
		full <- r
	}
	return nil
}

var (
	errBadHuffman    = fmt.Errorf("%w: invalid Huffman code in the image data", ErrCorrupt)
	errBadRestart    = fmt.Errorf("%w: missing restart marker", ErrCorrupt)
	errTruncatedScan = fmt.Errorf("%w (an incomplete file or download?)", ErrTruncated)
)

func clampByte(v float32) byte {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return byte(v)
}

// zeroBasisRows[n] has bit v set when basis function v averages to zero
// over every group of 8/n pixels, so coefficients in row (or column) v do
// not change an n-pixel output.
var zeroBasisRows = func() (m [9]uint8) {
	for _, s := range []int{1, 2, 4, 8} {
		n := 8 / s
		for v := 1; v < 8; v++ {
			zero := true
			for x := 0; x < n; x++ {
				if math.Abs(float64(scaledBasis[s][x*8+v])) > 1e-6 {
					zero = false
				}
			}
			if zero {
				m[n] |= 1 << v
			}
		}
	}
	return m
}()

// idctScaled writes the nx×ny box-filtered inverse DCT of blk (natural
// order, dequantised) to dst, and clears blk. rows has bit v set when row
// v of blk may be non-zero. bx and by are the scaledBasis tables for nx and
// ny. The basis is even in u for even u and odd for odd u about the block
// centre, so each pass computes the two halves from one even and one odd sum.
func idctScaled(blk *[64]int32, rows uint8, bx *[64]float32, nx int, by *[64]float32, ny int, dst []byte, stride int) {
	var tmp [8][8]float32 // tmp[v][x]
	for v := 0; v < 8; v++ {
		if rows&(1<<v) == 0 {
			continue
		}
		r := blk[v*8 : v*8+8]
		f0, f1, f2, f3 := float32(r[0]), float32(r[1]), float32(r[2]), float32(r[3])
		f4, f5, f6, f7 := float32(r[4]), float32(r[5]), float32(r[6]), float32(r[7])
		clear(r)
		if zeroBasisRows[ny]&(1<<v) != 0 {
			// Row v does not reach the output (its vertical basis
			// averages to zero over every output row): skip it.
			rows &^= 1 << v
			continue
		}
		t := &tmp[v]
		switch nx {
		case 1:
			t[0] = f0 * bx[0]
			continue
		case 2: // even u > 0 average to zero over 4 pixels
			e := f0 * bx[0]
			o := f1*bx[1] + f3*bx[3] + f5*bx[5] + f7*bx[7]
			t[0], t[1] = e+o, e-o
			continue
		}
		for x := 0; x < nx/2; x++ {
			b := bx[x*8 : x*8+8]
			e := f0*b[0] + f2*b[2] + f4*b[4] + f6*b[6]
			o := f1*b[1] + f3*b[3] + f5*b[5] + f7*b[7]
			t[x], t[nx-1-x] = e+o, e-o
		}
	}
	for y := 0; y < (ny+1)/2; y++ {
		b := by[y*8 : y*8+8]
		top := dst[y*stride : y*stride+nx]
		bot := dst[(ny-1-y)*stride : (ny-1-y)*stride+nx]
		for x := range top {
			e, o := float32(128.5), float32(0)
			for v := 0; v < 8; v += 2 {
				if rows&(1<<v) != 0 {
					e += b[v] * tmp[v][x]
				}
				if rows&(2<<v) != 0 {
					o += b[v+1] * tmp[v+1][x]
				}
			}
			bot[x] = clampByte(e - o) // for ny = 1 bot is top, and o is 0
			top[x] = clampByte(e + o)
		}
	}
}

// toRGB converts the component planes to an opaque NRGBA image of
// ceil(width/s) × ceil(height/s). Output pixel x maps to x·h·nx/(hmax·n) of
// a component's plane: the same x when the plane came out at full
// resolution, x/2 (replicated) when it is subsampled at 1/1.
func toRGB(h *jpegHeader, planes []plane, s int) *image.NRGBA {
	n := 8 / s
	w, hh := (h.width+s-1)/s, (h.height+s-1)/s
	img := image.NewNRGBA(image.Rect(0, 0, w, hh))
	// Column index tables per component.
	cols := make([][]int32, len(planes))
	for i, c := range h.comps {
		cols[i] = make([]int32, w)
		for x := range cols[i] {
			cols[i][x] = int32(x * c.h * planes[i].nx / (h.hmax * n))
		}
	}
	rowOf := func(i, y int) []byte {
		c, p := h.comps[i], planes[i]
		return p.pix[(y*c.v*p.ny/(h.vmax*n))*p.stride:]
	}
	if len(planes) == 1 {
		for y := 0; y < hh; y++ {
			src := rowOf(0, y)
			dst := img.Pix[y*img.Stride : y*img.Stride+4*w]
			for x, cx := range cols[0] {
				v := src[cx]
				dst[4*x], dst[4*x+1], dst[4*x+2], dst[4*x+3] = v, v, v, 255
			}
		}
		return img
	}
	model := h.colorModel()
	for y := 0; y < hh; y++ {
		r0, r1, r2 := rowOf(0, y), rowOf(1, y), rowOf(2, y)
		var r3 []byte
		if len(planes) == 4 {
			r3 = rowOf(3, y)
		}
		dst := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := 0; x < w; x++ {
			a, b, c := r0[cols[0][x]], r1[cols[1][x]], r2[cols[2][x]]
			d := dst[4*x : 4*x+4 : 4*x+4]
			switch model {
			case colorRGB:
				d[0], d[1], d[2] = a, b, c
			case colorCMYK:
				// image/jpeg returns 255 − each channel as image.CMYK, whose
				// RGBA() is then (255 − C)·(255 − K) in 16 bits: the stored
				// channel times the stored black, computed here exactly as
				// that conversion does.
				k := uint32(r3[cols[3][x]])
				d[0], d[1], d[2] = cmykChannel(a, k), cmykChannel(b, k), cmykChannel(c, k)
			default:
				yy := int32(a) << 16
				cb := int32(b) - 128
				cr := int32(c) - 128
				d[0] = clamp16(yy + 91881*cr + 1<<15)
				d[1] = clamp16(yy - 22554*cb - 46802*cr + 1<<15)
				d[2] = clamp16(yy + 116130*cb + 1<<15)
				if model == colorYCCK {
					// image/jpeg puts the YCbCr image's RGB in the C, M and Y
					// channels of an image.CMYK as they are, and 255 − K in K.
					k := uint32(r3[cols[3][x]])
					d[0], d[1], d[2] = cmykChannel(255-d[0], k), cmykChannel(255-d[1], k), cmykChannel(255-d[2], k)
				}
			}
			d[3] = 255
		}
	}
	return img
}

// cmykChannel is what color.CMYK.RGBA gives, in 8 bits, for a channel of
// 255 − v and a black of 255 − k.
func cmykChannel(v byte, k uint32) byte {
	return byte(uint32(v) * 0x101 * (k * 0x101) / 0xffff >> 8)
}

// clamp16 clamps a 16.16 fixed-point value to a byte.
func clamp16(v int32) byte {
	v >>= 16
	switch {
	case v < 0:
		return 0
	case v > 255:
		return 255
	}
	return byte(v)
}
