package transfer

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// frameCases is the one shared table of raw frame bytes and what they mean.
// Cases with a golden name are also files under testdata/frames/.
var frameCases = []struct {
	name   string // golden file name, "" for none
	desc   string
	raw    []byte
	frame  Frame
	err    error // decoding error, nil for a well-formed frame
	encode bool  // EncodeFrame(frame) must give raw
}{
	{"begin_1401.bin", "BEGIN announcing a 1401-byte image.jpg",
		[]byte("\xee\xee\xff\xff\x01\x00\x00\x0e\x00image.jpg;1401"),
		Frame{Function: FuncBegin, Data: []byte("image.jpg;1401")}, nil, true},
	{"begin_empty_image.bin", "BEGIN of a zero-byte image",
		[]byte("\xee\xee\xff\xff\x01\x00\x00\x0b\x00image.jpg;0"),
		Frame{Function: FuncBegin, Data: []byte("image.jpg;0")}, nil, true},
	{"data_0.bin", "DATA 0 with three bytes",
		[]byte("\xee\xee\xff\xff\x02\x00\x00\x03\x00abc"),
		Frame{Function: FuncData, Number: 0, Data: []byte("abc")}, nil, true},
	{"data_258.bin", "DATA 258: the number is little-endian",
		[]byte("\xee\xee\xff\xff\x02\x02\x01\x01\x00z"),
		Frame{Function: FuncData, Number: 258, Data: []byte("z")}, nil, true},
	{"data_32767.bin", "DATA 32767, the last number an int16 holds",
		[]byte("\xee\xee\xff\xff\x02\xff\x7f\x01\x00z"),
		Frame{Function: FuncData, Number: 32767, Data: []byte("z")}, nil, true},
	{"finish.bin", "FINISH: number 0, no data",
		[]byte("\xee\xee\xff\xff\x03\x00\x00\x00\x00"),
		Frame{Function: FuncFinish}, nil, true},
	{"", "eight bytes are shorter than a header", []byte("\xee\xee\xff\xff\x03\x00\x00\x00"), Frame{}, ErrShortFrame, false},
	{"", "empty payload", nil, Frame{}, ErrShortFrame, false},
	{"bad_magic.bin", "feedback magic on a frame", []byte("\xff\xff\xee\xee\x03\x00\x00\x00\x00"), Frame{}, ErrFrameMagic, false},
	{"", "function 4 is unknown", []byte("\xee\xee\xff\xff\x04\x00\x00\x00\x00"), Frame{}, ErrUnknownFunction, false},
	{"", "function 0 is unknown", []byte("\xee\xee\xff\xff\x00\x00\x00\x00\x00"), Frame{}, ErrUnknownFunction, false},
	{"", "negative package number", []byte("\xee\xee\xff\xff\x02\x00\x80\x00\x00"), Frame{}, ErrBadNumber, false},
	{"length_mismatch.bin", "length says 5, 3 bytes follow: answered with status 0",
		[]byte("\xee\xee\xff\xff\x02\x07\x00\x05\x00abc"),
		Frame{Function: FuncData, Number: 7, Data: []byte("abc")}, ErrLengthMismatch, false},
}

func TestDecodeFrame(t *testing.T) {
	for _, c := range frameCases {
		t.Run(c.desc, func(t *testing.T) {
			got, err := DecodeFrame(c.raw)
			if !errors.Is(err, c.err) {
				t.Fatalf("DecodeFrame error = %v, want %v", err, c.err)
			}
			if (c.err == nil || errors.Is(c.err, ErrLengthMismatch)) && !sameFrame(got, c.frame) {
				t.Fatalf("DecodeFrame = %+v, want %+v", got, c.frame)
			}
		})
	}
}

func TestEncodeFrame(t *testing.T) {
	for _, c := range frameCases {
		if !c.encode {
			continue
		}
		t.Run(c.desc, func(t *testing.T) {
			if got := EncodeFrame(c.frame); !bytes.Equal(got, c.raw) {
				t.Fatalf("EncodeFrame = % x, want % x", got, c.raw)
			}
		})
	}
}

var feedbackCases = []struct {
	name string
	desc string
	raw  []byte
	fb   Feedback
	err  error
}{
	{"ack_begin.bin", "ack(1, 0, 1)", []byte("\xff\xff\xee\xee\x01\x00\x00\x01"), Feedback{FuncBegin, 0, StatusWhole}, nil},
	{"ack_data_258.bin", "ack(2, 258, 1)", []byte("\xff\xff\xee\xee\x02\x02\x01\x01"), Feedback{FuncData, 258, StatusWhole}, nil},
	{"nak_data_5.bin", "nak(2, 5, 0)", []byte("\xff\xff\xee\xee\x02\x05\x00\x00"), Feedback{FuncData, 5, StatusIncomplete}, nil},
	{"ack_finish.bin", "ack(3, 0, 1)", []byte("\xff\xff\xee\xee\x03\x00\x00\x01"), Feedback{FuncFinish, 0, StatusWhole}, nil},
	{"nak_finish.bin", "nak(3, 0, 0): image incomplete", []byte("\xff\xff\xee\xee\x03\x00\x00\x00"), Feedback{FuncFinish, 0, StatusIncomplete}, nil},
	{"short_3.bin", "3 bytes (crashed the seed's MQTT thread)", []byte("\xff\xff\xee"), Feedback{}, ErrFeedbackLength},
	{"", "9 bytes", []byte("\xff\xff\xee\xee\x03\x00\x00\x01\x00"), Feedback{}, ErrFeedbackLength},
	{"", "empty", []byte{}, Feedback{}, ErrFeedbackLength},
	{"wrong_magic.bin", "frame magic on feedback", []byte("\xee\xee\xff\xff\x03\x00\x00\x01"), Feedback{}, ErrFeedbackMagic},
	{"status_2.bin", "status 2 is neither 0 nor 1", []byte("\xff\xff\xee\xee\x02\x00\x00\x02"), Feedback{}, ErrFeedbackStatus},
	{"", "status -1", []byte("\xff\xff\xee\xee\x02\x00\x00\xff"), Feedback{}, ErrFeedbackStatus},
	{"", "function 9", []byte("\xff\xff\xee\xee\x09\x00\x00\x01"), Feedback{}, ErrFeedbackFunc},
	{"", "negative number", []byte("\xff\xff\xee\xee\x02\x00\xff\x01"), Feedback{}, ErrBadNumber},
}

func TestDecodeFeedback(t *testing.T) {
	for _, c := range feedbackCases {
		t.Run(c.desc, func(t *testing.T) {
			got, err := DecodeFeedback(c.raw)
			if !errors.Is(err, c.err) {
				t.Fatalf("DecodeFeedback error = %v, want %v", err, c.err)
			}
			if c.err == nil && got != c.fb {
				t.Fatalf("DecodeFeedback = %+v, want %+v", got, c.fb)
			}
			if c.err == nil && !bytes.Equal(EncodeFeedback(got), c.raw) {
				t.Fatalf("EncodeFeedback(%+v) = % x, want % x", got, EncodeFeedback(got), c.raw)
			}
		})
	}
}

// TestGolden checks the table against the files under testdata/, which
// firmware authors can use as reference bytes (go test -update rewrites them).
func TestGolden(t *testing.T) {
	check := func(dir, name string, raw []byte) {
		if name == "" {
			return
		}
		path := filepath.Join("testdata", dir, name)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, raw, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("golden file missing (run go test -update): %v", err)
		}
		if !bytes.Equal(raw, want) {
			t.Errorf("%s: table has % x, file has % x", path, raw, want)
		}
	}
	for _, c := range frameCases {
		check("frames", c.name, c.raw)
	}
	for _, c := range feedbackCases {
		check("feedback", c.name, c.raw)
	}
}

func TestParseBegin(t *testing.T) {
	cases := []struct {
		data string
		name string
		size int
		ok   bool
	}{
		{"image.jpg;1401", "image.jpg", 1401, true},
		{"image.jpg;0", "image.jpg", 0, true},
		{"photo 1.jpg;45875200", "photo 1.jpg", 45875200, true},
		{"image.jpg;", "", 0, false},
		{";12", "", 0, false},
		{"image.jpg;+12", "", 0, false},
		{"image.jpg;12 ", "", 0, false},
		{"image.jpg;-1", "", 0, false},
		{"image.jpg;12\x00", "", 0, false},
		{"a/b.jpg;12", "", 0, false},
		{"image.jpg", "", 0, false},
		{"a;b;12", "", 0, false},
		{"image.jpg;99999999999", "", 0, false},
	}
	for _, c := range cases {
		name, size, err := ParseBegin([]byte(c.data))
		if (err == nil) != c.ok || name != c.name || size != c.size {
			t.Errorf("ParseBegin(%q) = %q, %d, %v; want %q, %d, ok=%v", c.data, name, size, err, c.name, c.size, c.ok)
		}
	}
}

func TestCheckName(t *testing.T) {
	for _, bad := range []string{"", "a;b", "a/b", `a\b`, "a\nb", "a\x00b", "\xff.jpg"} {
		if CheckName(bad) == nil {
			t.Errorf("CheckName(%q) accepted a name the protocol forbids", bad)
		}
	}
	for _, good := range []string{"image.jpg", "Bild ä.jpeg", "x"} {
		if err := CheckName(good); err != nil {
			t.Errorf("CheckName(%q) = %v", good, err)
		}
	}
}

func TestLimits(t *testing.T) {
	if got := MaxImageSize(DefaultChunk); got != 45875200 {
		t.Fatalf("MaxImageSize(1400) = %d, want 45875200 (PROTOCOL.md)", got)
	}
	if err := CheckSize(45875200, 1400); err != nil {
		t.Fatalf("the largest image was refused: %v", err)
	}
	err := CheckSize(45875201, 1400)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "45875200") {
		t.Fatalf("CheckSize over the limit = %v, want ErrTooLarge naming the limit", err)
	}
}

func sameFrame(a, b Frame) bool {
	return a.Function == b.Function && a.Number == b.Number && bytes.Equal(a.Data, b.Data)
}

func FuzzDecodeFrame(f *testing.F) {
	seedFrom(f, "frames")
	f.Fuzz(func(t *testing.T, raw []byte) {
		fr, err := DecodeFrame(raw)
		if err != nil {
			return
		}
		if again := EncodeFrame(fr); !bytes.Equal(again, raw) {
			t.Fatalf("decoded frame re-encodes to % x, not % x", again, raw)
		}
	})
}

func FuzzDecodeFeedback(f *testing.F) {
	seedFrom(f, "feedback")
	f.Fuzz(func(t *testing.T, raw []byte) {
		fb, err := DecodeFeedback(raw)
		if err != nil {
			return
		}
		if again := EncodeFeedback(fb); !bytes.Equal(again, raw) {
			t.Fatalf("decoded feedback re-encodes to % x, not % x", again, raw)
		}
	})
}

func seedFrom(f *testing.F, dir string) {
	files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.bin"))
	if len(files) == 0 {
		f.Fatalf("no seeds under testdata/%s", dir)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func BenchmarkEncodeFrame(b *testing.B) {
	data := bytes.Repeat([]byte{0x5a}, DefaultChunk)
	buf := make([]byte, 0, HeaderSize+DefaultChunk)
	b.SetBytes(int64(len(data)))
	for i := 0; b.Loop(); i++ {
		buf = AppendFrame(buf[:0], Frame{Function: FuncData, Number: i & MaxNumber, Data: data})
	}
}

func BenchmarkDecodeFeedback(b *testing.B) {
	raw := EncodeFeedback(Feedback{FuncData, 258, StatusWhole})
	for b.Loop() {
		if _, err := DecodeFeedback(raw); err != nil {
			b.Fatal(err)
		}
	}
}
