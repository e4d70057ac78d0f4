// Package jpegw writes the JPEGs that image/jpeg cannot: progressive ones
// with any scan script, CMYK and YCCK ones with an Adobe segment, any
// sampling factors and restart intervals. codec's tests, benchmarks and
// cmd/gentestdata make their inputs with it, so none of them needs libjpeg
// or ImageMagick; the files those tools made (codec/testdata) check that
// this writer and codec's decoder do not share a misreading of T.81.
//
// It is written for tests: a float DCT, optimal Huffman tables built per
// scan (T.81 Annex K.2), libjpeg's progressive coding (jcphuff.c).
package jpegw

import (
	"bufio"
	"errors"
	"image"
	"image/color"
	"io"
	"math"
	"math/bits"
	"sort"
)

// Component is one component of the frame.
type Component struct {
	H, V int // sampling factors, 1, 2 or 4
	Tq   int // quantisation table: 0 (luma) or 1 (chroma)
}

// Scan is one scan of a progressive JPEG: component indices, spectral
// band Ss…Se and successive approximation bits Ah, Al (T.81 G.1.1).
type Scan struct {
	Comps          []int
	Ss, Se, Ah, Al int
}

// Options say how to write the JPEG.
type Options struct {
	Quality int // 1–100, IJG scaling of the Annex K tables
	Comps   []Component
	// Adobe is the transform of an Adobe APP14 segment (0: none, CMYK or
	// RGB; 1: YCbCr; 2: YCCK), or −1 for no segment.
	Adobe int
	// Scans, when set, make a progressive JPEG (SOF2); nil makes a
	// baseline one with one interleaved scan.
	Scans []Scan
	// Restart is the restart interval in MCUs (0: none).
	Restart int
}

// SimpleProgression is libjpeg's jpeg_simple_progression script for n
// components (the one `jpegtran -progressive` writes).
func SimpleProgression(n int) []Scan {
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	if n == 3 {
		return []Scan{
			{all, 0, 0, 0, 1}, {[]int{0}, 1, 5, 0, 2}, {[]int{2}, 1, 63, 0, 1}, {[]int{1}, 1, 63, 0, 1},
			{[]int{0}, 6, 63, 0, 2}, {[]int{0}, 1, 63, 2, 1}, {all, 0, 0, 1, 0},
			{[]int{2}, 1, 63, 1, 0}, {[]int{1}, 1, 63, 1, 0}, {[]int{0}, 1, 63, 1, 0},
		}
	}
	s := []Scan{{all, 0, 0, 0, 1}}
	for _, band := range [][4]int{{1, 5, 0, 2}, {6, 63, 0, 2}, {1, 63, 2, 1}} {
		for c := range n {
			s = append(s, Scan{[]int{c}, band[0], band[1], band[2], band[3]})
		}
	}
	s = append(s, Scan{all, 0, 0, 1, 0})
	for c := range n {
		s = append(s, Scan{[]int{c}, 1, 63, 1, 0})
	}
	return s
}

// rgb calls f with each pixel's 8-bit red, green and blue, row by row.
func rgb(img image.Image, f func(i int, r, g, b uint32)) {
	b := img.Bounds()
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		if m, ok := img.(*image.RGBA); ok { // opaque in every use here
			row := m.Pix[m.PixOffset(b.Min.X, y):m.PixOffset(b.Max.X, y)]
			for x := 0; x < len(row); x += 4 {
				f(i, uint32(row[x]), uint32(row[x+1]), uint32(row[x+2]))
				i++
			}
			continue
		}
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, _ := img.At(x, y).RGBA()
			f(i, r>>8, g>>8, bb>>8)
			i++
		}
	}
}

// YCbCr returns img's Y, Cb and Cr planes at full size.
func YCbCr(img image.Image) [][]byte {
	n := img.Bounds().Dx() * img.Bounds().Dy()
	p := [][]byte{make([]byte, n), make([]byte, n), make([]byte, n)}
	rgb(img, func(i int, r, g, b uint32) {
		p[0][i], p[1][i], p[2][i] = color.RGBToYCbCr(uint8(r), uint8(g), uint8(b))
	})
	return p
}

// AdobeCMYK returns img as the four planes of an Adobe CMYK JPEG
// (transform 0), which stores each channel inverted: a reader shows the
// stored C times the stored K (over 255) as red, and so on.
func AdobeCMYK(img image.Image) [][]byte {
	n := img.Bounds().Dx() * img.Bounds().Dy()
	p := [][]byte{make([]byte, n), make([]byte, n), make([]byte, n), make([]byte, n)}
	rgb(img, func(i int, r, g, b uint32) {
		k := max(r, g, b)
		p[3][i] = uint8(k)
		if k > 0 {
			p[0][i] = uint8((r*255 + k/2) / k)
			p[1][i] = uint8((g*255 + k/2) / k)
			p[2][i] = uint8((b*255 + k/2) / k)
		}
	})
	return p
}

// Encode writes a width×height JPEG of the full-size planes (one byte a
// sample, width×height each, one per component of o.Comps).
func Encode(w io.Writer, width, height int, planes [][]byte, o Options) error {
	if len(planes) != len(o.Comps) || len(planes) < 1 || len(planes) > 4 || width < 1 || height < 1 || width > 65535 || height > 65535 {
		return errors.New("jpegw: bad size or components")
	}
	e := &encoder{w: bufio.NewWriterSize(w, 1<<16), width: width, height: height, o: o}
	e.hmax, e.vmax = 1, 1
	for _, c := range o.Comps {
		e.hmax, e.vmax = max(e.hmax, c.H), max(e.vmax, c.V)
	}
	e.quantTables()
	for i, c := range o.Comps {
		e.comps = append(e.comps, e.transform(planes[i], c))
	}
	e.headers()
	scans := o.Scans
	if scans == nil {
		all := make([]int, len(o.Comps))
		for i := range all {
			all[i] = i
		}
		scans = []Scan{{Comps: all, Se: 63}}
	}
	for _, sc := range scans {
		e.scan(sc)
	}
	e.w.Write([]byte{0xFF, 0xD9})
	return e.w.Flush()
}

type comp struct {
	Component
	bw, bh int     // blocks stored, in whole MCUs
	cw, ch int     // blocks of a one-component scan
	coef   []int16 // 64 a block, zig-zag order, quantised
}

type encoder struct {
	w             *bufio.Writer
	width, height int
	o             Options
	hmax, vmax    int
	qt            [2][64]int // zig-zag order
	comps         []comp
}

var zigzag = func() (z [64]int) {
	k := 0
	for s := 0; s <= 14; s++ {
		lo, hi := max(0, s-7), min(s, 7)
		if s%2 == 1 {
			for r := lo; r <= hi; r++ {
				z[k] = r*8 + (s - r)
				k++
			}
		} else {
			for r := hi; r >= lo; r-- {
				z[k] = r*8 + (s - r)
				k++
			}
		}
	}
	return z
}()

// The example tables of T.81 Annex K, natural order.
var stdQuant = [2][64]int{{
	16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
	14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
	18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
	49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
}, {
	17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
	24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
	99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
	99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
}}

func (e *encoder) quantTables() {
	q := min(max(e.o.Quality, 1), 100)
	scale := 200 - 2*q
	if q < 50 {
		scale = 5000 / q
	}
	for t := range 2 {
		for z := range 64 {
			e.qt[t][z] = min(max((stdQuant[t][zigzag[z]]*scale+50)/100, 1), 255)
		}
	}
}

// dctBasis[u][x] is C(u)/2·cos((2x+1)uπ/16).
var dctBasis = func() (t [8][8]float64) {
	for u := range 8 {
		c := 0.5
		if u == 0 {
			c = 0.5 / math.Sqrt2
		}
		for x := range 8 {
			t[u][x] = c * math.Cos(float64(2*x+1)*float64(u)*math.Pi/16)
		}
	}
	return t
}()

// transform subsamples a full-size plane for c (averaging), pads it to
// whole MCUs by repeating its edges, and quantises its DCT.
func (e *encoder) transform(full []byte, c Component) comp {
	mcusX, mcusY := (e.width+8*e.hmax-1)/(8*e.hmax), (e.height+8*e.vmax-1)/(8*e.vmax)
	fx, fy := e.hmax/c.H, e.vmax/c.V
	sw, sh := (e.width+fx-1)/fx, (e.height+fy-1)/fy
	cc := comp{Component: c, bw: mcusX * c.H, bh: mcusY * c.V, cw: (sw + 7) / 8, ch: (sh + 7) / 8}
	sample := make([]float32, sw*sh) // float32: a 100 MP plane in 400 MB
	for y := range sh {
		for x := range sw {
			sum, n := 0, 0
			for yy := y * fy; yy < min(y*fy+fy, e.height); yy++ {
				for xx := x * fx; xx < min(x*fx+fx, e.width); xx++ {
					sum += int(full[yy*e.width+xx])
					n++
				}
			}
			sample[y*sw+x] = float32(sum)/float32(n) - 128
		}
	}
	cc.coef = make([]int16, cc.bw*cc.bh*64)
	q := &e.qt[c.Tq]
	var blk, tmp [8][8]float64
	for by := range cc.bh {
		for bx := range cc.bw {
			for y := range 8 {
				sy := min(by*8+y, sh-1)
				for x := range 8 {
					blk[y][x] = float64(sample[sy*sw+min(bx*8+x, sw-1)])
				}
			}
			for y := range 8 { // rows
				for u := range 8 {
					s := 0.0
					for x := range 8 {
						s += dctBasis[u][x] * blk[y][x]
					}
					tmp[y][u] = s
				}
			}
			out := cc.coef[(by*cc.bw+bx)*64:]
			for z := range 64 {
				u, v := zigzag[z]%8, zigzag[z]/8
				s := 0.0
				for y := range 8 {
					s += dctBasis[v][y] * tmp[y][u]
				}
				out[z] = int16(math.Round(s / float64(q[z])))
			}
		}
	}
	return cc
}

func (e *encoder) segment(marker byte, body []byte) {
	e.w.Write([]byte{0xFF, marker, byte((len(body) + 2) >> 8), byte(len(body) + 2)})
	e.w.Write(body)
}

func (e *encoder) headers() {
	e.w.Write([]byte{0xFF, 0xD8})
	if e.o.Adobe >= 0 {
		e.segment(0xEE, []byte{'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, byte(e.o.Adobe)})
	}
	for t := range 2 {
		body := []byte{byte(t)}
		for z := range 64 {
			body = append(body, byte(e.qt[t][z]))
		}
		e.segment(0xDB, body)
	}
	sof := []byte{8, byte(e.height >> 8), byte(e.height), byte(e.width >> 8), byte(e.width), byte(len(e.comps))}
	for i, c := range e.comps {
		sof = append(sof, byte(i+1), byte(c.H<<4|c.V), byte(c.Tq))
	}
	marker := byte(0xC0)
	if e.o.Scans != nil {
		marker = 0xC2
	}
	e.segment(marker, sof)
	if e.o.Restart > 0 {
		e.segment(0xDD, []byte{byte(e.o.Restart >> 8), byte(e.o.Restart)})
	}
}

// sink receives a scan's symbols and bits: counted in the first pass,
// written in the second.
type sink struct {
	count bool
	freq  [2][4][257]int // [dc/ac][table][symbol]
	code  [2][4][256]uint16
	size  [2][4][256]uint8
	w     *bufio.Writer
	acc   uint32
	n     uint
}

func (s *sink) symbol(class, table int, sym byte) {
	if s.count {
		s.freq[class][table][sym]++
		return
	}
	s.bits(uint32(s.code[class][table][sym]), uint(s.size[class][table][sym]))
}

func (s *sink) bits(v uint32, n uint) {
	if s.count || n == 0 {
		return
	}
	s.acc = s.acc<<n | v&(1<<n-1)
	s.n += n
	for s.n >= 8 {
		b := byte(s.acc >> (s.n - 8))
		s.w.WriteByte(b)
		if b == 0xFF {
			s.w.WriteByte(0)
		}
		s.n -= 8
	}
}

// flush pads the last byte with ones.
func (s *sink) flush() {
	if s.n > 0 {
		s.bits(1<<(8-s.n)-1, 8-s.n)
	}
	s.acc, s.n = 0, 0
}

// scan writes one scan: a pass to count symbols, the tables, a pass to
// write.
func (e *encoder) scan(sc Scan) {
	s := &sink{count: true, w: e.w}
	e.code(s, sc)
	var dht []byte
	for class := range 2 {
		for t := range 4 {
			f := &s.freq[class][t]
			used := false
			for _, n := range f[:256] {
				used = used || n > 0
			}
			if !used {
				continue
			}
			counts, syms := optimalTable(f)
			dht = append(dht, byte(class<<4|t))
			dht = append(dht, counts[1:]...)
			dht = append(dht, syms...)
			code, k := 0, 0
			for l := 1; l <= 16; l++ {
				for range counts[l] {
					s.code[class][t][syms[k]] = uint16(code)
					s.size[class][t][syms[k]] = uint8(l)
					code++
					k++
				}
				code <<= 1
			}
		}
	}
	if len(dht) > 0 {
		e.segment(0xC4, dht)
	}
	sos := []byte{byte(len(sc.Comps))}
	for _, c := range sc.Comps {
		t := min(c, 1)
		sos = append(sos, byte(c+1), byte(t<<4|t))
	}
	sos = append(sos, byte(sc.Ss), byte(sc.Se), byte(sc.Ah<<4|sc.Al))
	e.segment(0xDA, sos)
	s.count = false
	e.code(s, sc)
}

// code runs the scan's blocks through s, with restart markers.
func (e *encoder) code(s *sink, sc Scan) {
	st := &scanState{s: s, sc: sc, progressive: e.o.Scans != nil}
	mcusX, mcusY := (e.width+8*e.hmax-1)/(8*e.hmax), (e.height+8*e.vmax-1)/(8*e.vmax)
	var units [][][2]int // per MCU (or block): component, block index
	if len(sc.Comps) == 1 {
		c := &e.comps[sc.Comps[0]]
		for by := range c.ch {
			for bx := range c.cw {
				units = append(units, [][2]int{{sc.Comps[0], by*c.bw + bx}})
			}
		}
	} else {
		for my := range mcusY {
			for mx := range mcusX {
				var u [][2]int
				for _, ci := range sc.Comps {
					c := &e.comps[ci]
					for v := range c.V {
						for h := range c.H {
							u = append(u, [2]int{ci, (my*c.V+v)*c.bw + mx*c.H + h})
						}
					}
				}
				units = append(units, u)
			}
		}
	}
	rst := 0
	for i, u := range units {
		if e.o.Restart > 0 && i > 0 && i%e.o.Restart == 0 {
			st.endRun()
			s.flush()
			if !s.count {
				s.w.Write([]byte{0xFF, byte(0xD0 + rst)})
			}
			rst = (rst + 1) % 8
			st.pred = [4]int{}
		}
		for _, b := range u {
			c := &e.comps[b[0]]
			st.block(b[0], min(b[0], 1), c.coef[b[1]*64:b[1]*64+64])
		}
	}
	st.endRun()
	s.flush()
}

type scanState struct {
	s           *sink
	sc          Scan
	progressive bool
	pred        [4]int
	eobrun      int
	corr        []byte // correction bits held for the end-of-band run
}

func bitLen(v int) uint { return uint(bits.Len(uint(v))) }

// magnitude codes v in its category's bits (T.81 F.1.2.1).
func (st *scanState) value(v int) (uint32, uint) {
	a := v
	if a < 0 {
		a, v = -a, v-1
	}
	return uint32(v), bitLen(a)
}

// endRun writes a pending end-of-band run and its correction bits.
func (st *scanState) endRun() {
	if st.eobrun == 0 {
		return
	}
	n := bitLen(st.eobrun) - 1
	st.s.symbol(1, min(st.sc.Comps[0], 1), byte(n<<4))
	st.s.bits(uint32(st.eobrun), n)
	for _, b := range st.corr {
		st.s.bits(uint32(b), 1)
	}
	st.eobrun, st.corr = 0, st.corr[:0]
}

// block codes one block of component c with Huffman tables t.
func (st *scanState) block(c, t int, coef []int16) {
	s, sc := st.s, st.sc
	if !st.progressive {
		st.dc(c, t, int(coef[0]))
		r := 0
		for z := 1; z < 64; z++ {
			v := int(coef[z])
			if v == 0 {
				r++
				continue
			}
			for ; r > 15; r -= 16 {
				s.symbol(1, t, 0xF0)
			}
			bits, n := st.value(v)
			s.symbol(1, t, byte(r<<4)|byte(n))
			s.bits(bits, n)
			r = 0
		}
		if r > 0 {
			s.symbol(1, t, 0)
		}
		return
	}
	switch {
	case sc.Ss == 0 && sc.Ah == 0:
		st.dc(c, t, int(coef[0])>>sc.Al) // arithmetic shift, as libjpeg
	case sc.Ss == 0:
		s.bits(uint32(int(coef[0])>>sc.Al&1), 1)
	case sc.Ah == 0:
		st.acFirst(t, coef)
	default:
		st.acRefine(t, coef)
	}
}

func (st *scanState) dc(c, t, v int) {
	d := v - st.pred[c]
	st.pred[c] = v
	bits, n := st.value(d)
	st.s.symbol(0, t, byte(n))
	st.s.bits(bits, n)
}

// acFirst follows libjpeg's encode_mcu_AC_first.
func (st *scanState) acFirst(t int, coef []int16) {
	s, sc := st.s, st.sc
	r := 0
	for z := sc.Ss; z <= sc.Se; z++ {
		v := int(coef[z])
		a := v
		if a < 0 {
			a = -a
		}
		a >>= sc.Al
		if a == 0 {
			r++
			continue
		}
		if v < 0 {
			v = ^a
		} else {
			v = a
		}
		st.endRun()
		for ; r > 15; r -= 16 {
			s.symbol(1, t, 0xF0)
		}
		n := bitLen(a)
		s.symbol(1, t, byte(r<<4)|byte(n))
		s.bits(uint32(v), n)
		r = 0
	}
	if r > 0 {
		st.eobrun++
		if st.eobrun == 0x7FFF {
			st.endRun()
		}
	}
}

// acRefine follows libjpeg's encode_mcu_AC_refine.
func (st *scanState) acRefine(t int, coef []int16) {
	s, sc := st.s, st.sc
	var abs [64]int
	eob := 0
	for z := sc.Ss; z <= sc.Se; z++ {
		a := int(coef[z])
		if a < 0 {
			a = -a
		}
		abs[z] = a >> sc.Al
		if abs[z] == 1 {
			eob = z
		}
	}
	r := 0
	var held []byte
	for z := sc.Ss; z <= sc.Se; z++ {
		a := abs[z]
		if a == 0 {
			r++
			continue
		}
		for r > 15 && z <= eob {
			st.endRun()
			s.symbol(1, t, 0xF0)
			r -= 16
			for _, b := range held {
				s.bits(uint32(b), 1)
			}
			held = held[:0]
		}
		if a > 1 {
			held = append(held, byte(a&1))
			continue
		}
		st.endRun()
		s.symbol(1, t, byte(r<<4|1))
		sign := uint32(1)
		if coef[z] < 0 {
			sign = 0
		}
		s.bits(sign, 1)
		for _, b := range held {
			s.bits(uint32(b), 1)
		}
		held = held[:0]
		r = 0
	}
	if r > 0 || len(held) > 0 {
		st.eobrun++
		st.corr = append(st.corr, held...)
		if st.eobrun == 0x7FFF || len(st.corr) > 1000-64 {
			st.endRun()
		}
	}
}

// optimalTable builds code lengths (at most 16 bits, no code of all ones)
// from symbol frequencies, as T.81 Annex K.2 does; it returns the count of
// codes of each length and the symbols by length.
func optimalTable(freq *[257]int) ([17]byte, []byte) {
	var f [257]int
	copy(f[:], freq[:])
	f[256] = 1 // reserved: no real symbol gets the all-ones code
	var codesize [257]int
	var others [257]int
	for i := range others {
		others[i] = -1
	}
	for {
		c1, c2 := -1, -1
		for i := range f {
			if f[i] == 0 {
				continue
			}
			if c1 < 0 || f[i] <= f[c1] {
				c2, c1 = c1, i
			} else if c2 < 0 || f[i] <= f[c2] {
				c2 = i
			}
		}
		if c2 < 0 {
			break
		}
		f[c1] += f[c2]
		f[c2] = 0
		codesize[c1]++
		for others[c1] >= 0 {
			c1 = others[c1]
			codesize[c1]++
		}
		others[c1] = c2
		codesize[c2]++
		for others[c2] >= 0 {
			c2 = others[c2]
			codesize[c2]++
		}
	}
	var count [33]int
	for i := range codesize {
		if codesize[i] > 0 {
			count[codesize[i]]++
		}
	}
	for i := 32; i > 16; i-- {
		for count[i] > 0 {
			j := i - 2
			for count[j] == 0 {
				j--
			}
			count[i] -= 2
			count[i-1]++
			count[j+1] += 2
			count[j]--
		}
	}
	i := 16
	for count[i] == 0 {
		i--
	}
	count[i]-- // drop the reserved code
	var counts [17]byte
	for l := 1; l <= 16; l++ {
		counts[l] = byte(count[l])
	}
	var syms []int
	for s := range 256 {
		if codesize[s] > 0 {
			syms = append(syms, s)
		}
	}
	sort.SliceStable(syms, func(a, b int) bool { return codesize[syms[a]] < codesize[syms[b]] })
	out := make([]byte, 0, len(syms))
	for _, s := range syms {
		out = append(out, byte(s))
	}
	return counts, out
}
