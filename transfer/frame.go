package transfer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Wire constants of the BASE protocol (docs/PROTOCOL.md in this repo).
const (
	// FrameMagic starts every frame sent to the device (bytes EE EE FF FF).
	FrameMagic uint32 = 0xFFFFEEEE
	// FeedbackMagic starts every feedback message from the device (bytes FF FF EE EE).
	FeedbackMagic uint32 = 0xEEEEFFFF
	// HeaderSize is the size of a frame header: magic, function, number, length.
	HeaderSize = 9
	// FeedbackSize is the exact size of a feedback message.
	FeedbackSize = 8
	// MaxNumber is the largest package number an int16 carries.
	MaxNumber = 32767
	// MaxChunks is how many DATA frames one image may have.
	MaxChunks = MaxNumber + 1
	// MaxChunk is the largest chunk the int16 length field can describe.
	MaxChunk = 32767
	// DefaultChunk is the seed's chunk size.
	DefaultChunk = 1400
	// DefaultBeginName is the file name BEGIN announces by default.
	DefaultBeginName = "image.jpg"
)

// Function says what a frame does.
type Function int8

// The three frame functions.
const (
	FuncBegin  Function = 1
	FuncData   Function = 2
	FuncFinish Function = 3
)

// String names the function as the docs and the event log do.
func (f Function) String() string {
	switch f {
	case FuncBegin:
		return "BEGIN"
	case FuncData:
		return "DATA"
	case FuncFinish:
		return "FINISH"
	}
	return "function(" + strconv.Itoa(int(f)) + ")"
}

// Status is the device's verdict on one frame.
type Status int8

// The two well-formed statuses.
const (
	StatusIncomplete Status = 0
	StatusWhole      Status = 1
)

// Frame is one message to the device.
type Frame struct {
	Function Function
	Number   int // package number, 0…MaxNumber
	Data     []byte
}

// Feedback is one message from the device.
type Feedback struct {
	Function Function
	Number   int // package number, 0…MaxNumber
	Status   Status
}

// Decoding errors. The device ignores a frame that fails with any of them
// except ErrLengthMismatch, which it answers with status 0.
var (
	ErrShortFrame      = errors.New("transfer: frame shorter than its 9-byte header")
	ErrFrameMagic      = errors.New("transfer: frame has the wrong magic")
	ErrUnknownFunction = errors.New("transfer: unknown frame function")
	ErrBadNumber       = errors.New("transfer: negative package number")
	ErrLengthMismatch  = errors.New("transfer: frame length field disagrees with its data")
	ErrFeedbackLength  = errors.New("transfer: feedback is not 8 bytes")
	ErrFeedbackMagic   = errors.New("transfer: feedback has the wrong magic")
	ErrFeedbackStatus  = errors.New("transfer: feedback status is neither 0 nor 1")
	ErrFeedbackFunc    = errors.New("transfer: feedback names an unknown function")
	ErrBadBegin        = errors.New("transfer: BEGIN data is not \"name;size\"")
)

// AppendFrame appends the wire form of f to dst. It panics only on a
// programming error (a number or length out of the protocol's range); the
// sender validates its input before framing.
func AppendFrame(dst []byte, f Frame) []byte {
	if f.Number < 0 || f.Number > MaxNumber || len(f.Data) > MaxChunk {
		panic(fmt.Sprintf("transfer: frame out of range: number %d, %d bytes", f.Number, len(f.Data)))
	}
	dst = binary.LittleEndian.AppendUint32(dst, FrameMagic)
	dst = append(dst, byte(f.Function))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(f.Number))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(f.Data)))
	return append(dst, f.Data...)
}

// EncodeFrame returns the wire form of f.
func EncodeFrame(f Frame) []byte {
	return AppendFrame(make([]byte, 0, HeaderSize+len(f.Data)), f)
}

// DecodeFrame parses one frame. On ErrLengthMismatch the returned frame
// still carries the header's function and number (so a device can answer
// status 0) and whatever data followed the header. Data aliases b.
func DecodeFrame(b []byte) (Frame, error) {
	if len(b) < HeaderSize {
		return Frame{}, ErrShortFrame
	}
	if binary.LittleEndian.Uint32(b) != FrameMagic {
		return Frame{}, ErrFrameMagic
	}
	fn := Function(int8(b[4]))
	if fn != FuncBegin && fn != FuncData && fn != FuncFinish {
		return Frame{}, fmt.Errorf("%w %d", ErrUnknownFunction, fn)
	}
	num := int(int16(binary.LittleEndian.Uint16(b[5:])))
	if num < 0 {
		return Frame{}, ErrBadNumber
	}
	length := int(int16(binary.LittleEndian.Uint16(b[7:])))
	f := Frame{Function: fn, Number: num, Data: b[HeaderSize:]}
	if length != len(b)-HeaderSize {
		return f, fmt.Errorf("%w: header says %d bytes, %d follow", ErrLengthMismatch, length, len(b)-HeaderSize)
	}
	return f, nil
}

// AppendFeedback appends the wire form of fb to dst.
func AppendFeedback(dst []byte, fb Feedback) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, FeedbackMagic)
	dst = append(dst, byte(fb.Function))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(fb.Number))
	return append(dst, byte(fb.Status))
}

// EncodeFeedback returns the wire form of fb.
func EncodeFeedback(fb Feedback) []byte {
	return AppendFeedback(make([]byte, 0, FeedbackSize), fb)
}

// DecodeFeedback parses one feedback message. Anything but exactly 8 bytes
// with the right magic, a known function, a non-negative number and status
// 0 or 1 is malformed.
func DecodeFeedback(b []byte) (Feedback, error) {
	if len(b) != FeedbackSize {
		return Feedback{}, fmt.Errorf("%w: %d bytes", ErrFeedbackLength, len(b))
	}
	if binary.LittleEndian.Uint32(b) != FeedbackMagic {
		return Feedback{}, ErrFeedbackMagic
	}
	fb := Feedback{
		Function: Function(int8(b[4])),
		Number:   int(int16(binary.LittleEndian.Uint16(b[5:]))),
		Status:   Status(int8(b[7])),
	}
	if fb.Function != FuncBegin && fb.Function != FuncData && fb.Function != FuncFinish {
		return Feedback{}, fmt.Errorf("%w %d", ErrFeedbackFunc, fb.Function)
	}
	if fb.Number < 0 {
		return Feedback{}, ErrBadNumber
	}
	if fb.Status != StatusIncomplete && fb.Status != StatusWhole {
		return Feedback{}, fmt.Errorf("%w: %d", ErrFeedbackStatus, fb.Status)
	}
	return fb, nil
}

// BeginData is the data of a BEGIN frame: "name;size".
func BeginData(name string, size int) []byte {
	return []byte(name + ";" + strconv.Itoa(size))
}

// ParseBegin splits BEGIN data into the file name and the announced size.
func ParseBegin(data []byte) (name string, size int, err error) {
	s := string(data)
	i := strings.LastIndexByte(s, ';')
	if i < 0 {
		return "", 0, ErrBadBegin
	}
	name, digits := s[:i], s[i+1:]
	if CheckName(name) != nil || digits == "" || len(digits) > 10 {
		return "", 0, ErrBadBegin
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return "", 0, ErrBadBegin
		}
	}
	size, err = strconv.Atoi(digits)
	if err != nil {
		return "", 0, ErrBadBegin
	}
	return name, size, nil
}

// CheckName reports whether name may be announced in BEGIN: non-empty,
// valid UTF-8, without ';', '/', '\' or control characters.
func CheckName(name string) error {
	if name == "" {
		return errors.New("transfer: the BEGIN file name is empty")
	}
	if !utf8.ValidString(name) {
		return errors.New("transfer: the BEGIN file name is not valid UTF-8")
	}
	for _, r := range name {
		if r == ';' || r == '/' || r == '\\' || unicode.IsControl(r) {
			return fmt.Errorf("transfer: the BEGIN file name %q contains %q, which the protocol does not allow", name, r)
		}
	}
	return nil
}

// ChunkCount is how many DATA frames an image of size bytes needs.
func ChunkCount(size, chunk int) int {
	return (size + chunk - 1) / chunk
}

// MaxImageSize is the largest image the protocol can carry at this chunk size.
func MaxImageSize(chunk int) int {
	return MaxChunks * chunk
}
