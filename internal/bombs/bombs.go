// Package bombs writes hostile images: small files that declare (and often
// hold) far more pixels than their size suggests, such as a 10000×10000
// progressive JPEG of 0.6 MB. Tests make them in memory or t.TempDir(),
// scripts/bench-serve-memory.sh with cmd/genbombs; none is kept in git.
//
// Every writer streams: making a 10000×10000 bomb never holds its pixels.
package bombs

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"io"
)

// Sampling is a JPEG component's sampling factors (H, V), each 1–4.
type Sampling struct{ H, V int }

// JPEG describes a JPEG whose blocks carry only a DC coefficient, which
// makes it tiny on disk whatever its size: one or two bits a block.
type JPEG struct {
	Width, Height int
	// Components are the sampling factors: one component is grey, three
	// YCbCr, four CMYK (written with an Adobe marker, transform 0).
	Components []Sampling
	// Progressive writes SOF2 and one DC scan: image/jpeg then keeps a
	// coefficient buffer of 256 bytes per block besides the image.
	Progressive bool
	// DC gives the DC value (−1024…1023, 0 is mid grey) of the block at
	// column bx, row by of component c; nil means 0 everywhere.
	DC func(c, bx, by int) int
}

// Write writes the JPEG to w.
func (j JPEG) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	nc := len(j.Components)
	hmax, vmax := 1, 1
	for _, c := range j.Components {
		hmax, vmax = max(hmax, c.H), max(vmax, c.V)
	}
	seg := func(marker byte, body []byte) {
		bw.Write([]byte{0xFF, marker, byte((len(body) + 2) >> 8), byte(len(body) + 2)})
		bw.Write(body)
	}
	bw.Write([]byte{0xFF, 0xD8})
	if nc == 4 {
		seg(0xEE, []byte("Adobe\x00\x64\x00\x00\x00\x00\x00")) // transform 0: CMYK
	}
	q := make([]byte, 65) // table 0, all ones
	for i := 1; i < 65; i++ {
		q[i] = 1
	}
	seg(0xDB, q)
	sof := []byte{8, byte(j.Height >> 8), byte(j.Height), byte(j.Width >> 8), byte(j.Width), byte(nc)}
	for i, c := range j.Components {
		sof = append(sof, byte(i+1), byte(c.H<<4|c.V), 0)
	}
	marker := byte(0xC0)
	if j.Progressive {
		marker = 0xC2
	}
	seg(marker, sof)
	// DC table 0: category k has a (k+1)-bit code, so category 0 (no
	// change from the previous block) costs one bit.
	dht := []byte{0x00}
	for l := 1; l <= 16; l++ {
		if l <= 12 {
			dht = append(dht, 1)
		} else {
			dht = append(dht, 0)
		}
	}
	for k := 0; k < 12; k++ {
		dht = append(dht, byte(k))
	}
	if !j.Progressive {
		// AC table 0: only end-of-block, one bit.
		dht = append(dht, 0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00)
	}
	seg(0xC4, dht)
	sos := []byte{byte(nc)}
	for i := range j.Components {
		sos = append(sos, byte(i+1), 0x00)
	}
	if j.Progressive {
		sos = append(sos, 0, 0, 0) // DC only, first pass
	} else {
		sos = append(sos, 0, 63, 0)
	}
	seg(0xDA, sos)

	e := &bitWriter{w: bw}
	pred := make([]int, nc)
	block := func(c, bx, by int) {
		dc := 0
		if j.DC != nil {
			dc = j.DC(c, bx, by)
		}
		d := dc - pred[c]
		pred[c] = dc
		k, v := 0, d
		for a := abs(d); a > 0; a >>= 1 {
			k++
		}
		if d < 0 {
			v = d + 1<<k - 1
		}
		e.put(1<<(k+1)-2, k+1) // k ones then a zero: the code of category k
		if k > 0 {
			e.put(v, k)
		}
		if !j.Progressive {
			e.put(0, 1) // end of block
		}
	}
	if nc == 1 {
		for by := 0; by < (j.Height+7)/8; by++ {
			for bx := 0; bx < (j.Width+7)/8; bx++ {
				block(0, bx, by)
			}
		}
	} else {
		mx, my := (j.Width+8*hmax-1)/(8*hmax), (j.Height+8*vmax-1)/(8*vmax)
		for y := 0; y < my; y++ {
			for x := 0; x < mx; x++ {
				for c, s := range j.Components {
					for v := 0; v < s.V; v++ {
						for u := 0; u < s.H; u++ {
							block(c, x*s.H+u, y*s.V+v)
						}
					}
				}
			}
		}
	}
	e.flush()
	bw.Write([]byte{0xFF, 0xD9})
	return bw.Flush()
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// bitWriter writes entropy-coded bits MSB first, stuffing a zero after 0xFF.
type bitWriter struct {
	w    *bufio.Writer
	acc  uint32
	nacc int
}

func (b *bitWriter) put(v, n int) {
	b.acc = b.acc<<uint(n) | uint32(v)&(1<<uint(n)-1)
	b.nacc += n
	for b.nacc >= 8 {
		c := byte(b.acc >> uint(b.nacc-8))
		b.w.WriteByte(c)
		if c == 0xFF {
			b.w.WriteByte(0)
		}
		b.nacc -= 8
	}
}

// flush pads the last byte with one bits, as T.81 asks.
func (b *bitWriter) flush() {
	if b.nacc > 0 {
		b.put(1<<(8-b.nacc)-1, 8-b.nacc)
	}
}

// PNG describes a PNG of transparent black (every sample zero), which
// deflate squeezes about a thousand to one.
type PNG struct {
	Width, Height int
	// Depth is the bit depth (8 or 16); ColorType the PNG colour type
	// (0 grey, 2 RGB, 4 grey+alpha, 6 RGBA).
	Depth, ColorType int
	Interlaced       bool
	// HeaderOnly stops after the first row of pixel data: a file that
	// declares the size but is truncated, for tests that must be refused
	// before any decoding.
	HeaderOnly bool
}

// Write writes the PNG to w.
func (p PNG) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("\x89PNG\r\n\x1a\n")
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(p.Width))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(p.Height))
	ihdr[8], ihdr[9] = byte(p.Depth), byte(p.ColorType)
	if p.Interlaced {
		ihdr[12] = 1
	}
	writeChunk(bw, "IHDR", ihdr[:])
	samples := map[int]int{0: 1, 2: 3, 4: 2, 6: 4}[p.ColorType]
	bpp := samples * p.Depth / 8
	iw := &idatWriter{w: bw}
	z, err := zlib.NewWriterLevel(iw, zlib.BestCompression)
	if err != nil {
		return err
	}
	type pass struct{ x0, y0, dx, dy int }
	passes := []pass{{0, 0, 1, 1}}
	if p.Interlaced {
		passes = []pass{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}
	}
	row := make([]byte, 1+bpp*p.Width)
	for _, ps := range passes {
		pw := (p.Width - ps.x0 + ps.dx - 1) / ps.dx
		ph := (p.Height - ps.y0 + ps.dy - 1) / ps.dy
		if pw <= 0 || ph <= 0 {
			continue
		}
		for y := 0; y < ph; y++ {
			if _, err := z.Write(row[:1+bpp*pw]); err != nil {
				return err
			}
			if p.HeaderOnly {
				z.Flush()
				iw.flush()
				return bw.Flush()
			}
		}
	}
	if err := z.Close(); err != nil {
		return err
	}
	iw.flush()
	writeChunk(bw, "IEND", nil)
	return bw.Flush()
}

// idatWriter cuts the zlib stream into IDAT chunks of up to 64 KiB.
type idatWriter struct {
	w   *bufio.Writer
	buf []byte
}

func (i *idatWriter) Write(b []byte) (int, error) {
	i.buf = append(i.buf, b...)
	for len(i.buf) >= 1<<16 {
		writeChunk(i.w, "IDAT", i.buf[:1<<16])
		i.buf = append(i.buf[:0], i.buf[1<<16:]...)
	}
	return len(b), nil
}

func (i *idatWriter) flush() {
	if len(i.buf) > 0 {
		writeChunk(i.w, "IDAT", i.buf)
		i.buf = i.buf[:0]
	}
}

func writeChunk(w *bufio.Writer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	w.Write(n[:])
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	w.WriteString(typ)
	w.Write(data)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	w.Write(n[:])
}

// BMP is the 54-byte header of an uncompressed 24-bit BMP that declares
// width × height pixels and holds none of them.
func BMP(width, height int) []byte {
	b := make([]byte, 54)
	copy(b, "BM")
	binary.LittleEndian.PutUint32(b[2:], 54)
	binary.LittleEndian.PutUint32(b[10:], 54)
	binary.LittleEndian.PutUint32(b[14:], 40)
	binary.LittleEndian.PutUint32(b[18:], uint32(width))
	binary.LittleEndian.PutUint32(b[22:], uint32(height))
	binary.LittleEndian.PutUint16(b[26:], 1)
	binary.LittleEndian.PutUint16(b[28:], 24)
	return b
}

// TIFF is a little-endian 8-bit RGB TIFF that declares width × height
// pixels in one deflate-compressed strip which holds only a few rows, so
// the decoder allocates the whole image and then runs out of data.
func TIFF(width, height int) []byte {
	var strip bytes.Buffer
	z := zlib.NewWriter(&strip)
	z.Write(make([]byte, 3*width))
	z.Close()
	type entry struct {
		tag, typ uint16
		count    uint32
		value    uint32
	}
	const ifdAt = 8
	entries := []entry{
		{256, 4, 1, uint32(width)},  // ImageWidth
		{257, 4, 1, uint32(height)}, // ImageLength
		{258, 3, 3, 0},              // BitsPerSample: 8,8,8 (at bpsAt)
		{259, 3, 1, 8},              // Compression: deflate
		{262, 3, 1, 2},              // PhotometricInterpretation: RGB
		{273, 4, 1, 0},              // StripOffsets (at dataAt)
		{277, 3, 1, 3},              // SamplesPerPixel
		{278, 4, 1, uint32(height)}, // RowsPerStrip: one strip
		{279, 4, 1, uint32(strip.Len())},
	}
	bpsAt := ifdAt + 2 + 12*len(entries) + 4
	dataAt := bpsAt + 6
	entries[2].value = uint32(bpsAt)
	entries[5].value = uint32(dataAt)
	var b bytes.Buffer
	b.WriteString("II*\x00")
	binary.Write(&b, binary.LittleEndian, uint32(ifdAt))
	binary.Write(&b, binary.LittleEndian, uint16(len(entries)))
	for _, e := range entries {
		binary.Write(&b, binary.LittleEndian, e.tag)
		binary.Write(&b, binary.LittleEndian, e.typ)
		binary.Write(&b, binary.LittleEndian, e.count)
		if e.typ == 3 && e.count == 1 {
			binary.Write(&b, binary.LittleEndian, uint16(e.value))
			binary.Write(&b, binary.LittleEndian, uint16(0))
		} else {
			binary.Write(&b, binary.LittleEndian, e.value)
		}
	}
	binary.Write(&b, binary.LittleEndian, uint32(0)) // no next IFD
	binary.Write(&b, binary.LittleEndian, [3]uint16{8, 8, 8})
	b.Write(strip.Bytes())
	return b.Bytes()
}

// GIF is a GIF89a of width × height (at most 65535 each) with one frame
// covering it, every pixel colour 0, LZW-coded with the code table reset
// as often as the format allows (about 9 bits for every 8 pixels at first,
// then less); HeaderOnly stops after the first data block.
type GIF struct {
	Width, Height int
	HeaderOnly    bool
}

// Write writes the GIF to w. The LZW stream is the simplest valid one:
// literal codes of 9 bits with a clear code before the table would grow,
// so it never depends on the encoder's dictionary.
func (g GIF) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("GIF89a")
	binary.Write(bw, binary.LittleEndian, uint16(g.Width))
	binary.Write(bw, binary.LittleEndian, uint16(g.Height))
	bw.Write([]byte{0x80, 0, 0}) // global table of 2 colours
	bw.Write([]byte{0, 0, 0, 255, 255, 255})
	bw.WriteByte(0x2C)
	binary.Write(bw, binary.LittleEndian, [4]uint16{0, 0, uint16(g.Width), uint16(g.Height)})
	bw.WriteByte(0)
	bw.WriteByte(8) // LZW minimum code size 8: clear 256, end 257, 9-bit codes
	blocks := &gifBlocks{w: bw}
	var acc uint32
	var n uint
	put := func(code uint32) {
		acc |= code << n
		n += 9
		for n >= 8 {
			blocks.add(byte(acc))
			acc >>= 8
			n -= 8
		}
	}
	// Each literal after the first adds a table entry; 254 literals keep
	// the table below 512 entries, so codes stay 9 bits wide.
	total := g.Width * g.Height
	for i := 0; i < total; i++ {
		if i%254 == 0 {
			put(256)
		}
		put(0)
		if g.HeaderOnly && blocks.written > 0 {
			return bw.Flush()
		}
	}
	put(257)
	if n > 0 {
		blocks.add(byte(acc))
	}
	blocks.flush()
	bw.WriteByte(0)    // end of the frame's data
	bw.WriteByte(0x3B) // trailer
	return bw.Flush()
}

// gifBlocks packs bytes into GIF data sub-blocks of 255.
type gifBlocks struct {
	w       *bufio.Writer
	buf     []byte
	written int
}

func (g *gifBlocks) add(c byte) {
	g.buf = append(g.buf, c)
	if len(g.buf) == 255 {
		g.flush()
	}
}

func (g *gifBlocks) flush() {
	if len(g.buf) == 0 {
		return
	}
	g.w.WriteByte(byte(len(g.buf)))
	g.w.Write(g.buf)
	g.buf = g.buf[:0]
	g.written++
}

// WebP is the start of a lossless (VP8L) WebP that declares width × height
// (at most 16384 each) and ends right after its header.
func WebP(width, height int) []byte {
	hdr := []byte{0x2F, 0, 0, 0, 0}
	v := uint32(width-1) | uint32(height-1)<<14 | 1<<28 // alpha used, version 0
	binary.LittleEndian.PutUint32(hdr[1:], v)
	body := append(hdr, make([]byte, 16)...)
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(4+8+len(body)))
	b.WriteString("WEBPVP8L")
	binary.Write(&b, binary.LittleEndian, uint32(len(body)))
	b.Write(body)
	return b.Bytes()
}
