package codec

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"math/bits"
	"sync"
)

// This file decodes, at 1/1, 1/2, 1/4 or 1/8 of the full size, the JPEGs
// whose first scan does not hold the whole image: progressive ones (T.81
// Annex G: spectral selection and successive approximation) and
// sequential ones coded one component a scan. A progressive image is only
// complete after its last scan, so its coefficients are kept until then,
// but only those the scale needs: a block giving n×n pixels keeps its
// top-left n×n coefficients (DC alone at 1/8), as libjpeg's scaled IDCT
// does, and a scan whose coefficients are all dropped is not decoded at
// all. That is what lets a 24 MP progressive photo, which image/jpeg
// holds in 140 MB of coefficients, be decoded in a few.

// maxScans bounds the scans of one image. Each scan visits every block,
// so a few bytes a scan (one end-of-band run covers 32767 blocks) could
// otherwise keep the decoder busy for hours; T.81 allows hundreds of
// scans in theory, encoders write about ten.
const maxScans = 1000

var (
	// errFallback marks a JPEG that is valid or not, but that this decoder
	// leaves to image/jpeg, whose answer (image or error) the user gets.
	errFallback     = fmt.Errorf("%w: the JPEG needs the standard decoder", ErrCorrupt)
	errTooManyScans = fmt.Errorf("%w: the JPEG has more than %d scans", ErrUnsupported, maxScans)
	errCoefRange    = fmt.Errorf("%w: a coefficient is out of range", ErrCorrupt)
)

// scanInfo is one scan and where the tables in force for it are.
type scanInfo struct {
	scanParams
	start   int // offset of the entropy-coded data
	restart int
	// tables says where each Huffman table (DC 0–3, then AC 0–3) was last
	// defined before the scan: built again as the scan is decoded, so a
	// file of a thousand DHT segments costs no more memory than one.
	tables [8]tableDef
	// Sequential scans dequantise as they decode, with the tables then.
	qt    *[4][64]int32
	qtSet [4]bool
	need  bool // false: no coefficient it carries is used
}

// tableDef is where a Huffman table was defined: the frame header's
// (seg = 0), or the n-th table of the DHT segment data[seg:end].
type tableDef struct{ seg, end, n int }

// huffTables builds the Huffman tables a scan uses into t (DC 0–3, then
// AC 0–3); a table no segment defined stays absent.
func (sc *scanInfo) huffTables(h *jpegHeader, data []byte, t *[8]huffTable) error {
	var other huffTable
	for i, d := range sc.tables {
		switch {
		case d.seg == 0 && i < 4:
			t[i] = h.dc[i]
		case d.seg == 0:
			t[i] = h.ac[i-4]
		default:
			k := 0
			err := parseDHT(data[d.seg:d.end], func(tc, th int) *huffTable {
				k++
				if k-1 == d.n {
					return &t[i]
				}
				return &other // another table of the segment
			})
			if err != nil {
				return errFallback
			}
		}
	}
	return nil
}

// scanEnd returns the offset of the marker that ends the entropy-coded data
// starting at pos (stuffed zeros, fill bytes and RST markers belong to the
// data), or -1 when the data runs out first.
func scanEnd(data []byte, pos int) int {
	for pos < len(data) {
		i := bytes.IndexByte(data[pos:], 0xFF)
		if i < 0 || pos+i+1 >= len(data) {
			return -1
		}
		pos += i
		switch m := data[pos+1]; {
		case m == 0x00 || m >= mRST0 && m <= mRST7:
			pos += 2
		case m == 0xFF:
			pos++
		default:
			return pos
		}
	}
	return -1
}

// walkScans reads every scan header and the tables between scans, from
// the first SOS (which h holds) to EOI, without decoding any scan. What
// image/jpeg would read differently or refuse gives errFallback; a file
// that ends first gives ErrTruncated, as image/jpeg does.
func walkScans(h *jpegHeader, data []byte) (scans []scanInfo, qt [4][64]int32, qtSet [4]bool, err error) {
	var tables [8]tableDef
	var qtNow *[4][64]int32 // qt as sequential scans since the last DQT share it
	restart := h.restart
	qt, qtSet = h.qt, h.qtSet
	sp := scanParams{comps: h.scan, ss: h.ss, se: h.se, ah: h.ah, al: h.al}
	start := h.scanStart
	fail := func(err error) ([]scanInfo, [4][64]int32, [4]bool, error) { return nil, qt, qtSet, err }
	for {
		if len(scans) == maxScans {
			return fail(errTooManyScans)
		}
		if !h.scanOK(sp) {
			return fail(errFallback)
		}
		sc := scanInfo{scanParams: sp, start: start, restart: restart, tables: tables, qtSet: qtSet}
		if h.sof != mSOF2 {
			if qtNow == nil {
				q := qt
				qtNow = &q
			}
			sc.qt = qtNow
		}
		scans = append(scans, sc)
		pos := scanEnd(data, start)
		if pos < 0 {
			return fail(errTruncatedScan)
		}
		for next := false; !next; {
			// Junk between segments is skipped, as image/jpeg does.
			for pos < len(data) && data[pos] != 0xFF {
				pos++
			}
			for pos < len(data) && data[pos] == 0xFF {
				pos++
			}
			if pos >= len(data) {
				return fail(errTruncatedScan)
			}
			marker := data[pos]
			pos++
			switch {
			case marker == mEOI:
				return scans, qt, qtSet, nil
			case marker == 0x00 || marker >= mRST0 && marker <= mRST7:
				continue // stray, ignored by image/jpeg
			}
			if pos+2 > len(data) {
				return fail(errTruncatedScan)
			}
			n := int(data[pos])<<8 | int(data[pos+1])
			if n < 2 {
				return fail(errFallback)
			}
			if pos+n > len(data) {
				return fail(errTruncatedScan)
			}
			seg := data[pos+2 : pos+n]
			switch {
			case marker == mDHT:
				var scratch huffTable
				k := 0
				err = parseDHT(seg, func(tc, th int) *huffTable {
					tables[tc*4+th] = tableDef{seg: pos + 2, end: pos + n, n: k}
					k++
					return &scratch
				})
			case marker == mDQT:
				err = parseDQT(seg, &qt, &qtSet)
				qtNow = nil
			case marker == mDRI:
				if len(seg) != 2 {
					return fail(errFallback)
				}
				restart = int(seg[0])<<8 | int(seg[1])
			case marker == mSOS:
				sp, err = h.parseScan(seg)
				start, next = pos+n, true
			case marker >= 0xE1 && marker <= 0xEF && marker != mAP14 || marker == 0xFE:
				// APPn and COM: skipped. image/jpeg reads APP0 and APP14
				// wherever they come, so those go to it.
			default:
				return fail(errFallback)
			}
			if err != nil {
				return fail(errFallback)
			}
			pos += n
		}
	}
}

// scanOK reports whether image/jpeg reads the scan as T.81 means it
// (reader.go's processSOS); the decoder below relies on every check.
func (h *jpegHeader) scanOK(sp scanParams) bool {
	hv := 0
	for _, sc := range sp.comps {
		c := h.comps[sc.comp]
		hv += c.h * c.v
		if sc.td > 3 || sc.ta > 3 || h.sof == mSOF0 && (sc.td > 1 || sc.ta > 1) {
			return false
		}
	}
	if len(h.comps) > 1 && hv > 10 {
		return false
	}
	if h.sof != mSOF2 {
		return true // image/jpeg ignores Ss, Se, Ah and Al in sequential scans
	}
	if sp.ss == 0 && sp.se != 0 || sp.ss > sp.se || sp.se > 63 || sp.ss != 0 && len(sp.comps) != 1 {
		return false
	}
	// Al ≤ 13 (T.81 G.1.1.1.2) keeps every value an int16.
	return (sp.ah == 0 || sp.ah == sp.al+1) && sp.al <= 13
}

// coefComp is one component's part of the decoding.
type coefComp struct {
	nx, ny int    // pixels a block gives across and down
	k      int    // coefficients kept a block: nx·ny
	keep   uint64 // bit z set when zig-zag coefficient z is kept
	slot   [64]uint8
	bw, bh int // blocks stored across and down, in whole MCUs
	cw, ch int // blocks of a scan of this component alone (T.81 A.2.2)
	coef   []int16
	// nz has bit z set for every coefficient that is not zero, kept or
	// not: refining a band needs to know which are (G.1.2.3), and a
	// dropped coefficient has no value to ask. nil when no AC band is
	// refined.
	nz []uint64
}

const dropped = 0xFF

// bandMask has bits ss…se set.
func bandMask(ss, se int) uint64 {
	return (^uint64(0) >> (63 - uint(se-ss))) << uint(ss)
}

// newCoefComps lays out the components at 1/s: the pixels a block gives,
// the coefficients it keeps and where they are stored. A subsampled
// component gets a larger inverse DCT (up to 8×8) so it comes out at the
// output's resolution where it can, as libjpeg does: 4:2:0 chroma at 1/8
// gives 2×2 pixels a block, not 1×1 stretched.
func newCoefComps(h *jpegHeader, s int) []coefComp {
	n := 8 / s
	mcusX, mcusY := h.mcus()
	comps := make([]coefComp, len(h.comps))
	for i, c := range h.comps {
		cc := &comps[i]
		cc.nx, cc.ny = min(8, n*h.hmax/c.h), min(8, n*h.vmax/c.v)
		cc.k = cc.nx * cc.ny
		for z := range cc.slot {
			cc.slot[z] = dropped
			if u, v := zigzag[z]%8, zigzag[z]/8; u < cc.nx && v < cc.ny {
				cc.slot[z] = uint8(v*cc.nx + u)
				cc.keep |= 1 << uint(z)
			}
		}
		cc.bw, cc.bh = mcusX*c.h, mcusY*c.v
		cw := (h.width*c.h + h.hmax - 1) / h.hmax
		ch := (h.height*c.v + h.vmax - 1) / h.vmax
		cc.cw, cc.ch = (cw+7)/8, (ch+7)/8
	}
	return comps
}

// coefBytes is what a progressive decode at 1/s stores per block of each
// component at most: the kept coefficients, and the non-zero mask when a
// block keeps more than its DC (with the DC alone no AC scan is decoded).
func (c *coefComp) coefBytes() int64 {
	n := int64(2 * c.k)
	if c.k > 1 {
		n += 8
	}
	return n
}

// plan marks the scans worth decoding at this scale and allocates what
// they fill. A scan is needed when it carries a kept coefficient, or when
// a later needed refinement of the same component needs to know which of
// its coefficients are non-zero.
func plan(h *jpegHeader, scans []scanInfo, comps []coefComp) error {
	progressive := h.sof == mSOF2
	var history [4]uint64 // bands a later needed refinement reads, per component
	var masks [4]bool
	for i := len(scans) - 1; i >= 0; i-- {
		sc := &scans[i]
		if !progressive || sc.ss == 0 {
			sc.need = true
			continue
		}
		c := sc.comps[0].comp
		band := bandMask(sc.ss, sc.se)
		sc.need = band&(comps[c].keep|history[c]) != 0
		if sc.need && sc.ah != 0 {
			history[c] |= band
			masks[c] = true
		}
	}
	covered := make([]bool, len(comps))
	for _, sc := range scans {
		for _, x := range sc.comps {
			if !progressive || sc.ss == 0 && sc.ah == 0 {
				covered[x.comp] = true
			}
		}
	}
	for i := range comps {
		if !covered[i] {
			// image/jpeg leaves such a component at zero; let it.
			return errFallback
		}
		if progressive {
			comps[i].coef = make([]int16, comps[i].bw*comps[i].bh*comps[i].k)
			if masks[i] {
				comps[i].nz = make([]uint64, comps[i].bw*comps[i].bh)
			}
		}
	}
	return nil
}

// decodeScans decodes a JPEG accepted by fastPathOK that decodeStreaming
// does not take, at 1/s of its size.
func decodeScans(ctx context.Context, h *jpegHeader, data []byte, s int) (*image.NRGBA, error) {
	scans, qt, qtSet, err := walkScans(h, data)
	if err != nil {
		return nil, err
	}
	comps := newCoefComps(h, s)
	if err := plan(h, scans, comps); err != nil {
		return nil, err
	}
	planes := newPlanes(comps)
	if err := decodeAllScans(ctx, h, data, scans, comps, planes); err != nil {
		return nil, err
	}
	if h.sof == mSOF2 {
		for _, c := range h.comps {
			if !qtSet[c.tq] {
				return nil, errFallback
			}
		}
		// Two halves of every component on two cores.
		var wg sync.WaitGroup
		for half := range 2 {
			wg.Go(func() {
				for i, c := range h.comps {
					bh := comps[i].bh
					reconstruct(&comps[i], &qt[c.tq], &planes[i], half*bh/2, (half+1)*bh/2)
				}
			})
		}
		wg.Wait()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return toRGB(h, planes, s), nil
}

// decodeScanSafe is decodeScan with a panic turned into an error: a bug
// must not take the program down, and image/jpeg may still read the file.
func decodeScanSafe(ctx context.Context, h *jpegHeader, data []byte, i int, w *wavefront, comps []coefComp, planes []plane, t *[8]huffTable) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: the JPEG decoder failed (%v)", ErrCorrupt, v)
		}
	}()
	return decodeScan(ctx, h, data, i, w, comps, planes, t)
}

// scanRun is the state of one scan's decoding.
type scanRun struct {
	br      bitReader
	restart int // blocks or MCUs between RST markers; 0 for none
	left    int // until the next one
	eobrun  int // blocks left in an end-of-band run (G.1.2.2)
	pred    [4]int32
	al      uint
}

// unit counts one restart interval unit (an MCU, or a block of a scan of
// one component), reading the RST marker and resetting the decoder
// state when the interval is over.
func (r *scanRun) unit() error {
	if r.restart == 0 {
		return nil
	}
	if r.left == 0 {
		if r.br.truncated() {
			return errTruncatedScan
		}
		if !r.br.restart() {
			return errBadRestart
		}
		r.pred, r.eobrun, r.left = [4]int32{}, 0, r.restart
	}
	r.left--
	return nil
}

// decodeScan decodes scan i of w into comps (progressive) or planes
// (sequential), each row once the scans it follows are past it.
func decodeScan(ctx context.Context, h *jpegHeader, data []byte, i int, w *wavefront, comps []coefComp, planes []plane, t *[8]huffTable) error {
	sc := &w.scans[i]
	r := &scanRun{br: bitReader{data: data, pos: sc.start}, restart: sc.restart, left: sc.restart, al: uint(sc.al)}
	if err := sc.huffTables(h, data, t); err != nil {
		return err
	}
	dcT, acT := t[:4], t[4:]
	sequential := h.sof != mSOF2
	for _, x := range sc.comps {
		needDC := sequential || sc.ss == 0 && sc.ah == 0
		needAC := sequential || sc.ss > 0
		if needDC && !dcT[x.td].present || needAC && !acT[x.ta].present {
			return errFallback // image/jpeg: "uninitialized Huffman table"
		}
		if sequential && !sc.qtSet[h.comps[x.comp].tq] {
			return errFallback
		}
	}
	// The block grid: a scan of one component covers that component's
	// blocks row by row (T.81 A.2.2); otherwise MCUs.
	mcusX, mcusY := h.mcus()
	rows, perRow := mcusY, mcusX
	if len(sc.comps) == 1 {
		c := &comps[sc.comps[0].comp]
		rows, perRow = c.ch, c.cw
	}
	if !sequential && sc.ss > 0 {
		return r.decodeAC(ctx, i, w, &comps[sc.comps[0].comp], &acT[sc.comps[0].ta], rows, perRow)
	}
	var blk [64]int32
	return r.eachRow(ctx, i, w, rows, func(y int) error {
		for x := 0; x < perRow; x++ {
			if err := r.unit(); err != nil {
				return err
			}
			for _, sx := range sc.comps {
				c := &comps[sx.comp]
				bh, bv := h.comps[sx.comp].h, h.comps[sx.comp].v
				if len(sc.comps) == 1 {
					bh, bv = 1, 1
				}
				for v := 0; v < bv; v++ {
					for u := 0; u < bh; u++ {
						bx, by := x*bh+u, y*bv+v
						var err error
						switch {
						case sequential:
							q := &sc.qt[h.comps[sx.comp].tq]
							var rows uint8
							rows, err = r.br.decodeBlock(&blk, &dcT[sx.td], &acT[sx.ta], q, &r.pred[sx.comp])
							if err == nil {
								idctBlock(&blk, rows, &planes[sx.comp], bx, by)
							}
						case sc.ah == 0: // progressive DC scans only: AC ones went to decodeAC
							err = r.dcFirst(c, by*c.bw+bx, &dcT[sx.td], sx.comp)
						default:
							if r.br.take(1) != 0 {
								c.coef[(by*c.bw+bx)*c.k] |= 1 << r.al
							}
						}
						if err != nil {
							return err
						}
					}
				}
			}
		}
		return nil
	})
}

// decodeAC decodes a progressive AC scan, whose one component's blocks
// come row by row: decodeScan's block loop without what AC scans never
// need.
func (r *scanRun) decodeAC(ctx context.Context, i int, w *wavefront, c *coefComp, t *huffTable, rows, perRow int) error {
	sc := &w.scans[i]
	return r.eachRow(ctx, i, w, rows, func(y int) error {
		bi := y * c.bw
		for x := 0; x < perRow; x++ {
			if err := r.unit(); err != nil {
				return err
			}
			var err error
			if sc.ah == 0 {
				err = r.acFirst(c, bi+x, t, sc.ss, sc.se)
			} else {
				err = r.acRefine(c, bi+x, t, sc.ss, sc.se)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// eachRow runs row for rows 0…rows−1 of scan i, each once the scans it
// follows are past it, then marks it finished; it checks ctx every 16 rows
// and, after each row, that the data did not run out.
func (r *scanRun) eachRow(ctx context.Context, i int, w *wavefront, rows int, row func(y int) error) error {
	for y := 0; y < rows; y++ {
		if y%16 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if !w.wait(i, y) {
			return errStopped
		}
		if err := row(y); err != nil {
			return err
		}
		if r.br.truncated() {
			return errTruncatedScan
		}
		w.finished(i, int64(y+1))
	}
	return nil
}

// dcFirst decodes the first bits of a block's DC coefficient (G.1.2.1).
func (r *scanRun) dcFirst(c *coefComp, bi int, t *huffTable, comp int) error {
	s, ok := r.br.decode(t)
	if !ok || s > 16 {
		return errBadHuffman
	}
	if s > 0 {
		r.pred[comp] += r.br.receive(uint(s))
	}
	v := r.pred[comp] << r.al
	if int32(int16(v)) != v {
		return errCoefRange
	}
	c.coef[bi*c.k] = int16(v)
	return nil
}

// acFirst decodes the first bits of band ss…se of a block (G.1.2.2),
// keeping the coefficients c keeps.
func (r *scanRun) acFirst(c *coefComp, bi int, t *huffTable, ss, se int) error {
	if r.eobrun > 0 {
		r.eobrun--
		return nil
	}
	br := &r.br
	blk := c.coef[bi*c.k : bi*c.k+c.k]
	var nz uint64
	for k := ss; k <= se; k++ {
		rs, ok := br.decode(t)
		if !ok {
			return errBadHuffman
		}
		run, size := int(rs>>4), uint(rs&15)
		if size == 0 {
			if run < 15 {
				// An end-of-band run: this block and 2^run−1+bits more.
				r.eobrun = 1<<run - 1
				if run > 0 {
					r.eobrun += int(br.take(uint(run)))
				}
				break
			}
			k += 15
			continue
		}
		k += run
		if k > se {
			return errBadHuffman
		}
		v := br.receive(size) << r.al
		if int32(int16(v)) != v {
			return errCoefRange
		}
		if sl := c.slot[k&63]; sl != dropped {
			blk[sl] = int16(v)
		}
		nz |= 1 << uint(k)
	}
	if c.nz != nil {
		c.nz[bi] |= nz
	}
	return nil
}

// acRefine decodes one more bit of band ss…se of a block (G.1.2.3): new
// coefficients of ±1 in the bit's place, and a correction bit for each
// coefficient already non-zero, which c.nz says. It keeps the bit buffer
// in locals, as decodeBlock does, so that it stays in registers.
func (r *scanRun) acRefine(c *coefComp, bi int, t *huffTable, ss, se int) error {
	br := &r.br
	blk := c.coef[bi*c.k : bi*c.k+c.k]
	band := bandMask(ss, se)
	nz := c.nz[bi] & band
	keep := c.keep
	p1 := int32(1) << r.al
	k := ss
	acc, n := br.acc, br.n
	for r.eobrun == 0 && k <= se {
		if n < 32 {
			br.acc, br.n = acc, n
			br.fill()
			acc, n = br.acc, br.n
		}
		// A new coefficient: its code and sign bit in one look-up.
		var run int
		var v int32
		if e := t.fast[acc>>(64-acBits)]; e.length != 0 {
			if e.val != 1 && e.val != -1 {
				return errBadHuffman // image/jpeg: "unexpected Huffman code"
			}
			acc <<= e.length
			n -= uint(e.length)
			run, v = int(e.run), int32(e.val)*p1
		} else {
			var rs byte
			if e := t.lookup[acc>>(64-lookBits)]; e != 0 {
				l := uint(e >> 8)
				acc <<= l
				n -= l
				rs = byte(e)
			} else {
				br.acc, br.n = acc, n
				var ok bool
				if rs, ok = br.slowDecode(t); !ok {
					return errBadHuffman
				}
				acc, n = br.acc, br.n
			}
			run = int(rs >> 4)
			switch rs & 15 {
			case 0:
				if run < 15 {
					// End of band, here and in 2^run−1+bits more blocks.
					r.eobrun = 1 << run
					if run > 0 {
						r.eobrun += int(acc >> (64 - uint(run)))
						acc <<= uint(run)
						n -= uint(run)
					}
					continue
				}
			case 1:
				v = -p1
				if acc>>63 != 0 {
					v = p1
				}
				acc <<= 1
				n--
			default:
				return errBadHuffman
			}
		}
		// Skip run zero coefficients, correcting the non-zero ones
		// passed: the next zero after them is where v goes (or, for ZRL,
		// the 16th zero, which is skipped too).
		from := ^uint64(0) << uint(k)
		at := k + run
		if m := nz & from &^ (^uint64(0) << uint(at+1)); m != 0 || at > se {
			// Some are non-zero already (or the band ends first).
			zeros := band &^ nz & from
			for range run {
				zeros &= zeros - 1
			}
			at = bits.TrailingZeros64(zeros) // 64 when there are too few
			if at > se {
				return errBadHuffman // image/jpeg: "too many coefficients"
			}
			if m := nz & from &^ (^uint64(0) << uint(at)); m != 0 {
				br.acc, br.n = acc, n
				if err := r.correct(c, blk, m, keep, p1); err != nil {
					return err
				}
				acc, n = br.acc, br.n
			}
		}
		if v != 0 {
			nz |= 1 << uint(at)
			if sl := c.slot[at]; sl != dropped {
				blk[sl] = int16(v)
			}
		}
		k = at + 1
	}
	br.acc, br.n = acc, n
	if r.eobrun > 0 {
		if m := nz & (^uint64(0) << uint(k)); k <= se && m != 0 {
			if err := r.correct(c, blk, m, keep, p1); err != nil {
				return err
			}
		}
		r.eobrun--
	}
	c.nz[bi] |= nz
	return nil
}

// correct reads the correction bits of the non-zero coefficients in m, in
// zig-zag order, and adds p1 to the magnitude of each kept one whose bit
// is set: the bits are read at once, and only the kept ones looked at.
func (r *scanRun) correct(c *coefComp, blk []int16, m, keep uint64, p1 int32) error {
	n := uint(bits.OnesCount64(m))
	var got uint64 // the first coefficient's bit highest
	if n <= 56 {
		got = r.br.take(n)
	} else {
		got = r.br.take(32) << (n - 32)
		got |= r.br.take(n - 32)
	}
	for kept := m & keep; kept != 0; kept &= kept - 1 {
		z := bits.TrailingZeros64(kept)
		before := uint(bits.OnesCount64(m & (1<<uint(z) - 1)))
		if got>>(n-1-before)&1 == 0 {
			continue
		}
		sl := c.slot[z]
		v := int32(blk[sl])
		if v >= 0 {
			v += p1
		} else {
			v -= p1
		}
		if int32(int16(v)) != v {
			return errCoefRange
		}
		blk[sl] = int16(v)
	}
	return nil
}

// take reads n (0 ≤ n ≤ 56) bits.
func (br *bitReader) take(n uint) uint64 {
	if br.n < n {
		br.fill()
	}
	v := br.acc >> (64 - n) // 0 for n = 0
	br.acc <<= n
	br.n -= n
	return v
}

// reconstruct turns block rows y0…y1 of a component's kept coefficients
// into pixels, dequantising with q (natural order).
func reconstruct(c *coefComp, q *[64]int32, p *plane, y0, y1 int) {
	var blk [64]int32
	for by := y0; by < y1; by++ {
		for bx := 0; bx < c.bw; bx++ {
			coef := c.coef[(by*c.bw+bx)*c.k : (by*c.bw+bx+1)*c.k]
			var rows uint8
			for v := 0; v < c.ny; v++ {
				for u := 0; u < c.nx; u++ {
					if x := int32(coef[v*c.nx+u]); x != 0 {
						blk[v*8+u] = x * q[v*8+u]
						rows |= 1 << uint(v)
					}
				}
			}
			if rows == 1 && blk[1]|blk[2]|blk[3]|blk[4]|blk[5]|blk[6]|blk[7] == 0 {
				rows = 0 // DC only
			}
			idctBlock(&blk, rows, p, bx, by)
		}
	}
}

// idctBlock writes a block's pixels to block column bx, row by of p and
// clears blk. rows is as decodeBlock returns it: 0 for a DC-only block.
func idctBlock(blk *[64]int32, rows uint8, p *plane, bx, by int) {
	off := by*p.ny*p.stride + bx*p.nx
	if rows == 0 {
		v := clampByte(float32(blk[0])/8 + 128.5)
		for y := 0; y < p.ny; y++ {
			row := p.pix[off+y*p.stride : off+y*p.stride+p.nx]
			for x := range row {
				row[x] = v
			}
		}
		blk[0] = 0
		return
	}
	idctScaled(blk, rows, &scaledBasis[8/p.nx], p.nx, &scaledBasis[8/p.ny], p.ny, p.pix[off:], p.stride)
}
