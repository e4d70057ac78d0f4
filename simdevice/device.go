// Package simdevice simulates the BASE device: it answers the image
// protocol's frames as PROTOCOL.md prescribes, reassembles and saves the
// images, and can inject faults from a seed so that runs repeat.
package simdevice

import (
	"bytes"
	"errors"

	"imagebeam/transfer"
)

// Image is what the device holds when it answers the first FINISH after a
// BEGIN.
type Image struct {
	Name      string // the file name BEGIN announced
	Announced int    // the size BEGIN announced
	Received  int    // image bytes stored, each chunk counted once
	Complete  bool   // every chunk arrived and Received == Announced
	// Data is the reassembled image when Complete; otherwise the image's
	// leading bytes that arrived without a gap (chunks after a gap are
	// dropped rather than padded with zeros, so an incomplete image never
	// costs more memory than the data that came).
	Data []byte
}

// Device is the device side of the protocol as a pure state machine: bytes
// in, answer out, no clock and no I/O. The zero value learns the chunk size
// from each image's DATA 0 and accepts images up to the protocol's limit.
// A Device is not safe for concurrent use.
//
// Where PROTOCOL.md is silent, it decides so:
//   - A frame with a negative package number is malformed: no answer, like
//     a wrong magic (the device cannot echo a number it cannot hold).
//   - BEGIN whose data is not "name;size", or whose size is above MaxSize,
//     is answered (1,0,0) and changes nothing.
//   - DATA is answered with status 0 and not stored when no image is open,
//     when the chunk size is still unknown and it is not DATA 0, or when it
//     does not fit the image: empty, longer than the chunk, reaching past
//     the announced size, or shorter than the chunk without being the last.
//   - After FINISH the image is closed: a repeated DATA i that was stored is
//     still answered (2,i,1), any other DATA gets status 0.
//   - FINISH with no image open and none finished is answered (3,0,0).
//   - The package number of BEGIN and FINISH is echoed but not checked, and
//     data after FINISH's header is ignored: the firmware is lenient there.
type Device struct {
	// Chunk is the chunk size in bytes; 0 learns it from each image's
	// DATA 0 (a single-chunk image's DATA 0 is shorter than the sender's
	// chunk, so learning per image is what keeps later images right).
	Chunk int
	// MaxSize lowers the largest image BEGIN may announce below the
	// protocol's limit, 32768 chunks of Chunk bytes (of the largest
	// possible chunk while learning); 0, or a larger value, means that
	// limit, since a bigger image could never arrive whole.
	MaxSize int

	cur *image // nil before the first BEGIN
}

// image is one transfer, from BEGIN to the next BEGIN.
type image struct {
	begin    []byte // BEGIN data, to recognise a resent BEGIN
	name     string
	size     int
	chunk    int // 0 until configured or learned
	got      map[int]bool
	received int
	// buf is the image's leading chunks without a gap. It grows with the
	// data, never ahead of it: BEGIN's size is only a claim, and a BEGIN
	// of 1 GiB followed by the last chunk must cost one chunk, not 1 GiB.
	buf []byte
	// ahead holds chunks that came before one in front of them (a
	// configured chunk size places them by index) until the gap closes.
	ahead    map[int][]byte
	finished bool
	verdict  transfer.Status // the answer to FINISH once finished
}

// Handle processes one payload from the to-device topic. reply is the
// feedback to publish, nil when the frame gets no answer; img is set once
// per image, on the first FINISH after its BEGIN.
func (d *Device) Handle(payload []byte) (reply []byte, img *Image) {
	f, ok := decode(payload)
	if !ok {
		return nil, nil
	}
	status := transfer.StatusIncomplete
	if f.whole {
		switch f.Function {
		case transfer.FuncBegin:
			status = d.begin(f.Data)
		case transfer.FuncData:
			status = d.data(f.Number, f.Data)
		case transfer.FuncFinish:
			status, img = d.finish()
		}
	}
	return feedback(f.Frame, status), img
}

// frame is a decoded frame the device answers; whole is false when its
// length field disagrees with its data.
type frame struct {
	transfer.Frame
	whole bool
}

// decode reports whether the device answers payload at all. Faults apply
// to exactly these frames.
func decode(payload []byte) (frame, bool) {
	f, err := transfer.DecodeFrame(payload)
	switch {
	case err == nil:
		return frame{f, true}, true
	case errors.Is(err, transfer.ErrLengthMismatch):
		return frame{f, false}, true
	}
	return frame{}, false
}

func feedback(f transfer.Frame, s transfer.Status) []byte {
	return transfer.EncodeFeedback(transfer.Feedback{Function: f.Function, Number: f.Number, Status: s})
}

func (d *Device) maxSize() int {
	limit := transfer.MaxImageSize(transfer.MaxChunk)
	if d.Chunk > 0 {
		limit = transfer.MaxImageSize(d.Chunk)
	}
	if d.MaxSize > 0 {
		return min(d.MaxSize, limit)
	}
	return limit
}

func (d *Device) begin(data []byte) transfer.Status {
	if c := d.cur; c != nil && !c.finished && c.received == 0 && len(c.got) == 0 && bytes.Equal(c.begin, data) {
		return transfer.StatusWhole // the sender missed our ack: nothing resets
	}
	name, size, err := transfer.ParseBegin(data)
	if err != nil || size > d.maxSize() {
		return transfer.StatusIncomplete
	}
	d.cur = &image{
		begin: bytes.Clone(data),
		name:  name,
		size:  size,
		chunk: d.Chunk,
		got:   make(map[int]bool),
	}
	return transfer.StatusWhole
}

func (d *Device) data(i int, b []byte) transfer.Status {
	c := d.cur
	if c == nil {
		return transfer.StatusIncomplete
	}
	if c.got[i] {
		return transfer.StatusWhole // stored once, acknowledged every time
	}
	if c.finished {
		return transfer.StatusIncomplete
	}
	chunk := c.chunk
	if chunk == 0 {
		if i != 0 {
			return transfer.StatusIncomplete
		}
		chunk = len(b)
		if transfer.ChunkCount(c.size, max(chunk, 1)) > transfer.MaxChunks {
			return transfer.StatusIncomplete
		}
	}
	start := i * chunk
	end := start + len(b)
	if len(b) == 0 || len(b) > chunk || end > c.size || (len(b) < chunk && end != c.size) {
		return transfer.StatusIncomplete
	}
	c.chunk = chunk
	c.got[i] = true
	c.received += len(b)
	if start > len(c.buf) { // a gap in front: keep the chunk aside
		if c.ahead == nil {
			c.ahead = make(map[int][]byte)
		}
		c.ahead[i] = bytes.Clone(b)
		return transfer.StatusWhole
	}
	c.buf = append(c.buf, b...)
	for next := i + 1; c.ahead[next] != nil; next++ {
		c.buf = append(c.buf, c.ahead[next]...)
		delete(c.ahead, next)
	}
	return transfer.StatusWhole
}

func (d *Device) finish() (transfer.Status, *Image) {
	c := d.cur
	if c == nil {
		return transfer.StatusIncomplete, nil
	}
	if c.finished {
		return c.verdict, nil // same answer, reported once
	}
	complete := c.received == c.size && (c.size == 0 || len(c.got) == transfer.ChunkCount(c.size, c.chunk))
	c.finished = true
	c.verdict = transfer.StatusIncomplete
	if complete {
		c.verdict = transfer.StatusWhole
	}
	img := &Image{Name: c.name, Announced: c.size, Received: c.received, Complete: complete, Data: c.buf}
	if img.Data == nil {
		img.Data = []byte{}
	}
	c.buf, c.ahead = nil, nil // the Image owns buf now; chunks after a gap go
	return c.verdict, img
}
