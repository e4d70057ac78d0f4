package codec

import (
	"fmt"
)

// This file reads the marker segments of a JPEG up to its first scan:
// enough to know its dimensions, whether it is baseline, its EXIF
// orientation and quantisation tables, and the tables the scaled decoder
// in jpegdec.go needs. Written from ITU-T T.81 (Annexes B and C).

// JPEG marker codes used below.
const (
	mSOF0 = 0xC0 // baseline DCT
	mSOF1 = 0xC1 // extended sequential DCT, Huffman
	mSOF2 = 0xC2 // progressive DCT, Huffman
	mDHT  = 0xC4
	mRST0 = 0xD0
	mRST7 = 0xD7
	mSOI  = 0xD8
	mEOI  = 0xD9
	mSOS  = 0xDA
	mDQT  = 0xDB
	mDNL  = 0xDC
	mDRI  = 0xDD
	mAPP0 = 0xE0
	mAPP1 = 0xE1
	mAP14 = 0xEE
)

// zigzag[k] is the natural (row-major) index of the k-th coefficient in
// zig-zag order.
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

type jpegComponent struct {
	id   byte
	h, v int // sampling factors
	tq   int // quantisation table
}

type scanComponent struct {
	comp   int // index into jpegHeader.comps
	td, ta int // DC and AC Huffman tables
}

// lookBits is the width of the fast Huffman lookup table.
const lookBits = 9

type huffTable struct {
	present bool
	// lookup maps the next lookBits bits to length<<8 | symbol, or 0 when
	// the code is longer than lookBits.
	lookup  [1 << lookBits]uint16
	maxcode [17]int32 // largest code of each length, -1 if none
	mincode [17]int32
	valptr  [17]int32
	vals    [256]byte
	// fast decodes an AC code and its value bits together when both fit
	// in acBits; length 0 means use lookup.
	fast [1 << acBits]acEntry
}

// acBits is the width of the combined AC code-and-value table.
const acBits = 10

type acEntry struct {
	val    int16
	run    uint8
	length uint8 // code + value bits
}

type jpegHeader struct {
	sof           int // the SOFn marker; 0 if none was seen
	width, height int
	precision     int
	comps         []jpegComponent
	qt            [4][64]int32 // natural order
	qtSet         [4]bool
	dc, ac        [4]huffTable
	restart       int
	adobe         bool
	adobeXform    byte
	jfif          bool // an APP0 JFIF segment: image/jpeg then never reads RGB
	orientation   int  // EXIF orientation, 0 when absent
	// The first scan.
	scan           []scanComponent
	ss, se, ah, al int
	scanStart      int // offset of the entropy-coded data
	hmax, vmax     int
}

func (h *jpegHeader) baseline() bool { return h.sof == mSOF0 }

// parseJPEGHeader reads markers from SOI up to and including the first SOS.
func parseJPEGHeader(data []byte) (*jpegHeader, error) {
	if len(data) < 2 || data[0] != 0xFF || data[1] != mSOI {
		return nil, fmt.Errorf("%w: it does not start with a JPEG SOI marker", ErrCorrupt)
	}
	h := &jpegHeader{}
	pos := 2
	for {
		// Find the next marker, skipping fill bytes.
		if pos >= len(data) {
			return nil, fmt.Errorf("%w: the file ends before the image data starts", ErrTruncated)
		}
		// Some writers leave junk between segments; skip to the next 0xFF
		// as image/jpeg does.
		for pos < len(data) && data[pos] != 0xFF {
			pos++
		}
		for pos < len(data) && data[pos] == 0xFF {
			pos++
		}
		if pos >= len(data) {
			return nil, fmt.Errorf("%w: the file ends inside a marker", ErrTruncated)
		}
		marker := int(data[pos])
		pos++
		if marker == mEOI {
			return nil, fmt.Errorf("%w: the file has no image data", ErrCorrupt)
		}
		if marker >= mRST0 && marker <= mRST7 || marker == 0x01 {
			continue // markers without a length
		}
		if marker == 0x00 {
			// A stuffed zero is junk here, as image/jpeg takes it: reading a
			// length from it would skip the frame header image/jpeg checked.
			continue
		}
		if pos+2 > len(data) {
			return nil, fmt.Errorf("%w: the file ends inside a marker segment", ErrTruncated)
		}
		n := int(data[pos])<<8 | int(data[pos+1])
		if n < 2 {
			return nil, fmt.Errorf("%w: bad marker segment length", ErrCorrupt)
		}
		if pos+n > len(data) {
			return nil, fmt.Errorf("%w: the file ends inside a marker segment", ErrTruncated)
		}
		seg := data[pos+2 : pos+n]
		pos += n
		var err error
		switch {
		case marker == mDQT:
			err = h.parseDQT(seg)
		case marker == mDHT:
			err = h.parseDHT(seg)
		case marker == mDRI:
			if len(seg) != 2 {
				err = fmt.Errorf("%w: bad DRI segment", ErrCorrupt)
			} else {
				h.restart = int(seg[0])<<8 | int(seg[1])
			}
		case marker == mAPP0:
			// image/jpeg keeps what the last APP0 says.
			h.jfif = len(seg) >= 5 && string(seg[:5]) == "JFIF\x00"
		case marker == mAPP1:
			if len(seg) > 6 && string(seg[:6]) == "Exif\x00\x00" && h.orientation == 0 {
				h.orientation = tiffOrientation(seg[6:])
			}
		case marker == mAP14:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				h.adobe, h.adobeXform = true, seg[11]
			}
		case marker >= 0xC0 && marker <= 0xCF && marker != mDHT && marker != 0xC8 && marker != 0xCC:
			if h.sof != 0 {
				return nil, fmt.Errorf("%w: more than one frame header", ErrCorrupt)
			}
			h.sof = marker
			err = h.parseSOF(seg)
		case marker == mSOS:
			if h.sof == 0 {
				return nil, fmt.Errorf("%w: image data before the frame header", ErrCorrupt)
			}
			if err := h.parseSOS(seg); err != nil {
				return nil, err
			}
			h.scanStart = pos
			return h, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (h *jpegHeader) parseSOF(seg []byte) error {
	if len(seg) < 6 {
		return fmt.Errorf("%w: short frame header", ErrCorrupt)
	}
	h.precision = int(seg[0])
	h.height = int(seg[1])<<8 | int(seg[2])
	h.width = int(seg[3])<<8 | int(seg[4])
	nc := int(seg[5])
	if nc < 1 || nc > 4 || len(seg) != 6+3*nc {
		return fmt.Errorf("%w: bad frame header (%d components)", ErrCorrupt, nc)
	}
	if h.width == 0 {
		return fmt.Errorf("%w: the image has zero width", ErrCorrupt)
	}
	h.hmax, h.vmax = 1, 1
	for i := 0; i < nc; i++ {
		c := jpegComponent{id: seg[6+3*i], h: int(seg[7+3*i] >> 4), v: int(seg[7+3*i] & 15), tq: int(seg[8+3*i])}
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 || c.tq > 3 {
			return fmt.Errorf("%w: bad sampling factors or table in the frame header", ErrCorrupt)
		}
		h.hmax, h.vmax = max(h.hmax, c.h), max(h.vmax, c.v)
		h.comps = append(h.comps, c)
	}
	return nil
}

func (h *jpegHeader) parseDQT(seg []byte) error { return parseDQT(seg, &h.qt, &h.qtSet) }

// parseDQT reads the tables of a DQT segment into qt (natural order),
// marking each one read in set.
func parseDQT(seg []byte, qt *[4][64]int32, set *[4]bool) error {
	for len(seg) > 0 {
		pq, tq := int(seg[0]>>4), int(seg[0]&15)
		if tq > 3 || pq > 1 {
			return fmt.Errorf("%w: bad quantisation table", ErrCorrupt)
		}
		size := 64 << pq
		if len(seg) < 1+size {
			return fmt.Errorf("%w: short quantisation table", ErrCorrupt)
		}
		for k := 0; k < 64; k++ {
			var q int32
			if pq == 0 {
				q = int32(seg[1+k])
			} else {
				q = int32(seg[1+2*k])<<8 | int32(seg[2+2*k])
			}
			qt[tq][zigzag[k]] = q
		}
		set[tq] = true
		seg = seg[1+size:]
	}
	return nil
}

func (h *jpegHeader) parseDHT(seg []byte) error {
	return parseDHT(seg, func(tc, th int) *huffTable {
		if tc == 1 {
			return &h.ac[th]
		}
		return &h.dc[th]
	})
}

// parseDHT builds each table of a DHT segment into the table that
// table(class, number) gives.
func parseDHT(seg []byte, table func(tc, th int) *huffTable) error {
	for len(seg) > 0 {
		if len(seg) < 17 {
			return fmt.Errorf("%w: short Huffman table", ErrCorrupt)
		}
		tc, th := int(seg[0]>>4), int(seg[0]&15)
		if tc > 1 || th > 3 {
			return fmt.Errorf("%w: bad Huffman table class or number", ErrCorrupt)
		}
		var counts [17]int
		total := 0
		for l := 1; l <= 16; l++ {
			counts[l] = int(seg[l])
			total += counts[l]
		}
		if total > 256 || len(seg) < 17+total {
			return fmt.Errorf("%w: bad Huffman table size", ErrCorrupt)
		}
		if err := table(tc, th).build(counts, seg[17:17+total]); err != nil {
			return err
		}
		seg = seg[17+total:]
	}
	return nil
}

// build derives the decoding tables from the code-length counts and the
// symbols (T.81 Annex C and F.2.2.3).
func (t *huffTable) build(counts [17]int, vals []byte) error {
	*t = huffTable{present: true}
	copy(t.vals[:], vals)
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		t.valptr[l] = k
		t.mincode[l] = code
		if counts[l] == 0 {
			t.maxcode[l] = -1
		}
		for i := 0; i < counts[l]; i++ {
			if code >= 1<<l {
				return fmt.Errorf("%w: overfull Huffman table", ErrCorrupt)
			}
			if l <= lookBits {
				shift := uint(lookBits - l)
				start := int(code) << shift
				for j := 0; j < 1<<shift; j++ {
					t.lookup[start+j] = uint16(l)<<8 | uint16(vals[k])
				}
			}
			if rs := vals[k]; rs&15 != 0 && l+int(rs&15) <= acBits {
				size := int(rs & 15)
				shift := uint(acBits - l)
				start := int(code) << shift
				for j := 0; j < 1<<shift; j++ {
					v := int32(j >> (shift - uint(size)))
					if v < 1<<(size-1) {
						v += -1<<size + 1
					}
					t.fast[start+j] = acEntry{val: int16(v), run: rs >> 4, length: uint8(l + size)}
				}
			}
			code++
			k++
		}
		if counts[l] > 0 {
			t.maxcode[l] = code - 1
		}
		code <<= 1
	}
	return nil
}

func (h *jpegHeader) parseSOS(seg []byte) error {
	sc, err := h.parseScan(seg)
	if err != nil {
		return err
	}
	h.scan, h.ss, h.se, h.ah, h.al = sc.comps, sc.ss, sc.se, sc.ah, sc.al
	return nil
}

// scanParams is what an SOS segment says.
type scanParams struct {
	comps          []scanComponent
	ss, se, ah, al int
}

// parseScan reads an SOS segment against the frame header.
func (h *jpegHeader) parseScan(seg []byte) (scanParams, error) {
	var sc scanParams
	if len(seg) < 1 {
		return sc, fmt.Errorf("%w: short scan header", ErrCorrupt)
	}
	ns := int(seg[0])
	if ns < 1 || ns > 4 || len(seg) != 4+2*ns {
		return sc, fmt.Errorf("%w: bad scan header", ErrCorrupt)
	}
	for i := 0; i < ns; i++ {
		id := seg[1+2*i]
		ci := -1
		for j, c := range h.comps {
			if c.id == id {
				ci = j
			}
		}
		if ci < 0 {
			return sc, fmt.Errorf("%w: the scan names an unknown component", ErrCorrupt)
		}
		for _, prev := range sc.comps {
			if prev.comp == ci {
				return sc, fmt.Errorf("%w: the scan names a component twice", ErrCorrupt)
			}
		}
		sc.comps = append(sc.comps, scanComponent{comp: ci, td: int(seg[2+2*i] >> 4), ta: int(seg[2+2*i] & 15)})
	}
	p := 1 + 2*ns
	sc.ss, sc.se, sc.ah, sc.al = int(seg[p]), int(seg[p+1]), int(seg[p+2]>>4), int(seg[p+2]&15)
	return sc, nil
}

// ijgLuma is the example luminance table of T.81 Annex K (natural order),
// which most encoders scale by the IJG quality formula.
var ijgLuma = [64]int32{
	16, 11, 10, 16, 24, 40, 51, 61,
	12, 12, 14, 19, 26, 58, 60, 55,
	14, 13, 16, 24, 40, 57, 69, 56,
	14, 17, 22, 29, 51, 87, 80, 62,
	18, 22, 37, 56, 68, 109, 103, 77,
	24, 35, 55, 64, 81, 104, 113, 92,
	49, 64, 78, 87, 103, 121, 120, 101,
	72, 92, 95, 98, 112, 100, 103, 99,
}

// estimateQuality returns the IJG quality (1–100) whose luminance table is
// closest to the image's first table, or 0 when there is none.
func (h *jpegHeader) estimateQuality() int {
	if len(h.comps) == 0 || !h.qtSet[h.comps[0].tq] {
		return 0
	}
	q := &h.qt[h.comps[0].tq]
	best, bestErr := 0, int64(-1)
	for quality := 1; quality <= 100; quality++ {
		scale := int32(200 - 2*quality)
		if quality < 50 {
			scale = int32(5000 / quality)
		}
		var e int64
		for i, b := range ijgLuma {
			v := min(max((b*scale+50)/100, 1), 255)
			d := int64(v - q[i])
			e += d * d
		}
		if bestErr < 0 || e < bestErr {
			best, bestErr = quality, e
		}
	}
	return best
}
