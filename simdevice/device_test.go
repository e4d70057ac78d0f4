package simdevice

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"

	"imagebeam/transfer"
)

// Frame builders for the tests.

func begin(name string, size int) []byte {
	return transfer.EncodeFrame(transfer.Frame{Function: transfer.FuncBegin, Data: transfer.BeginData(name, size)})
}

func data(i int, b string) []byte {
	return transfer.EncodeFrame(transfer.Frame{Function: transfer.FuncData, Number: i, Data: []byte(b)})
}

func finishFrame() []byte {
	return transfer.EncodeFrame(transfer.Frame{Function: transfer.FuncFinish})
}

// raw builds a frame header by hand, for frames EncodeFrame cannot make.
func raw(magic uint32, fn int8, num, length int16, payload string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, magic)
	b = append(b, byte(fn))
	b = binary.LittleEndian.AppendUint16(b, uint16(num))
	b = binary.LittleEndian.AppendUint16(b, uint16(length))
	return append(b, payload...)
}

// ack is the feedback a frame should get, as a readable string.
func ack(fn transfer.Function, num int, st transfer.Status) string {
	return fmt.Sprintf("(%d,%d,%d)", fn, num, st)
}

func show(reply []byte) string {
	if reply == nil {
		return "none"
	}
	fb, err := transfer.DecodeFeedback(reply)
	if err != nil {
		return fmt.Sprintf("malformed %x", reply)
	}
	return ack(fb.Function, fb.Number, fb.Status)
}

const (
	fB = transfer.FuncBegin
	fD = transfer.FuncData
	fF = transfer.FuncFinish
	s0 = transfer.StatusIncomplete
	s1 = transfer.StatusWhole
)

// step is one frame and the answer it must get.
type step struct {
	frame []byte
	want  string
}

// play feeds steps to d and returns the images it reported.
func play(t *testing.T, d *Device, steps []step) []*Image {
	t.Helper()
	var imgs []*Image
	for i, s := range steps {
		reply, img := d.Handle(s.frame)
		if got := show(reply); got != s.want {
			t.Fatalf("step %d (% x): answer %s, want %s", i, s.frame[:min(len(s.frame), 12)], got, s.want)
		}
		if img != nil {
			imgs = append(imgs, img)
		}
	}
	return imgs
}

func wantImage(t *testing.T, img *Image, name, content string, complete bool) {
	t.Helper()
	if img.Name != name || img.Complete != complete || (complete && string(img.Data) != content) {
		t.Fatalf("image %q complete=%v data=%q, want %q complete=%v data=%q",
			img.Name, img.Complete, img.Data, name, complete, content)
	}
}

func TestEveryWellFormedFrameIsAnsweredWithItsFunctionAndNumber(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
		want  string
	}{
		{"BEGIN", begin("a.jpg", 3), ack(fB, 0, s1)},
		{"DATA without an image", data(7, "x"), ack(fD, 7, s0)},
		{"FINISH without an image", finishFrame(), ack(fF, 0, s0)},
		{"BEGIN with a number", raw(transfer.FrameMagic, 1, 5, 7, "a.jpg;3"), ack(fB, 5, s1)},
		{"largest number", data(transfer.MaxNumber, "x"), ack(fD, transfer.MaxNumber, s0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply, _ := new(Device).Handle(tt.frame)
			if got := show(reply); got != tt.want {
				t.Fatalf("answer %s, want %s", got, tt.want)
			}
		})
	}
}

func TestBeginAbandonsTheOpenImage(t *testing.T) {
	imgs := play(t, new(Device), []step{
		{begin("a.jpg", 4), ack(fB, 0, s1)},
		{data(0, "ab"), ack(fD, 0, s1)},
		{begin("b.jpg", 3), ack(fB, 0, s1)},
		{data(1, "cd"), ack(fD, 1, s0)}, // a's chunk size is gone with a
		{data(0, "xyz"), ack(fD, 0, s1)},
		{finishFrame(), ack(fF, 0, s1)},
	})
	if len(imgs) != 1 {
		t.Fatalf("%d images reported, want only b", len(imgs))
	}
	wantImage(t, imgs[0], "b.jpg", "xyz", true)
}

func TestEqualBeginBeforeDataIsAResend(t *testing.T) {
	d := &Device{Chunk: 2}
	play(t, d, []step{{begin("a.jpg", 3), ack(fB, 0, s1)}})
	opened := d.cur
	play(t, d, []step{{begin("a.jpg", 3), ack(fB, 0, s1)}})
	if d.cur != opened {
		t.Fatal("a resent BEGIN reset the open image")
	}
	imgs := play(t, d, []step{
		{data(0, "ab"), ack(fD, 0, s1)},
		{data(1, "c"), ack(fD, 1, s1)},
		{finishFrame(), ack(fF, 0, s1)},
	})
	wantImage(t, imgs[0], "a.jpg", "abc", true)
}

func TestEqualBeginAfterDataStartsAgain(t *testing.T) {
	imgs := play(t, new(Device), []step{
		{begin("a.jpg", 4), ack(fB, 0, s1)},
		{data(0, "ab"), ack(fD, 0, s1)},
		{begin("a.jpg", 4), ack(fB, 0, s1)},
		{data(1, "cd"), ack(fD, 1, s0)}, // chunk size forgotten: DATA 0 first
		{finishFrame(), ack(fF, 0, s0)},
	})
	if imgs[0].Received != 0 {
		t.Fatalf("the restarted image holds %d bytes, want 0", imgs[0].Received)
	}
}

func TestRepeatedDataIsAckedAgainAndStoredOnce(t *testing.T) {
	imgs := play(t, new(Device), []step{
		{begin("a.jpg", 4), ack(fB, 0, s1)},
		{data(0, "ab"), ack(fD, 0, s1)},
		{data(0, "ab"), ack(fD, 0, s1)},
		{data(0, "zz"), ack(fD, 0, s1)}, // a stale copy never overwrites
		{data(1, "cd"), ack(fD, 1, s1)},
		{data(1, "cd"), ack(fD, 1, s1)},
		{finishFrame(), ack(fF, 0, s1)},
	})
	wantImage(t, imgs[0], "a.jpg", "abcd", true)
	if imgs[0].Received != 4 {
		t.Fatalf("Received = %d, want 4: a repeated chunk was counted twice", imgs[0].Received)
	}
}

func TestFinishChecksEveryChunkAndTheSize(t *testing.T) {
	tests := []struct {
		name   string
		chunks []step
		want   string
	}{
		{"all chunks", []step{{data(0, "ab"), ack(fD, 0, s1)}, {data(1, "cd"), ack(fD, 1, s1)}, {data(2, "e"), ack(fD, 2, s1)}}, ack(fF, 0, s1)},
		{"last chunk missing (seed defect 1)", []step{{data(0, "ab"), ack(fD, 0, s1)}, {data(1, "cd"), ack(fD, 1, s1)}}, ack(fF, 0, s0)},
		{"middle chunk missing", []step{{data(0, "ab"), ack(fD, 0, s1)}, {data(2, "e"), ack(fD, 2, s1)}}, ack(fF, 0, s0)},
		{"no data", nil, ack(fF, 0, s0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps := append([]step{{begin("a.jpg", 5), ack(fB, 0, s1)}}, tt.chunks...)
			steps = append(steps, step{finishFrame(), tt.want})
			imgs := play(t, new(Device), steps)
			if len(imgs) != 1 || imgs[0].Complete != (tt.want == ack(fF, 0, s1)) {
				t.Fatalf("images %v do not match the answer %s", imgs, tt.want)
			}
		})
	}
}

func TestRepeatedFinishGetsTheSameAnswerAndIsReportedOnce(t *testing.T) {
	for _, complete := range []bool{true, false} {
		t.Run(fmt.Sprint("complete=", complete), func(t *testing.T) {
			want := ack(fF, 0, s0)
			steps := []step{{begin("a.jpg", 2), ack(fB, 0, s1)}}
			if complete {
				want = ack(fF, 0, s1)
				steps = append(steps, step{data(0, "ab"), ack(fD, 0, s1)})
			}
			steps = append(steps,
				step{finishFrame(), want},
				step{finishFrame(), want},
				step{data(0, "ab"), show(feedbackFor(fD, 0, complete))}, // late duplicate changes nothing
				step{finishFrame(), want},
			)
			if imgs := play(t, new(Device), steps); len(imgs) != 1 {
				t.Fatalf("reported %d times, want once", len(imgs))
			}
		})
	}
}

func feedbackFor(fn transfer.Function, num int, whole bool) []byte {
	st := s0
	if whole {
		st = s1
	}
	return transfer.EncodeFeedback(transfer.Feedback{Function: fn, Number: num, Status: st})
}

func TestNextBeginEndsTheFrozenFinishAnswer(t *testing.T) {
	imgs := play(t, new(Device), []step{
		{begin("a.jpg", 1), ack(fB, 0, s1)},
		{finishFrame(), ack(fF, 0, s0)},
		{begin("a.jpg", 1), ack(fB, 0, s1)}, // equal, but a finished image is not open
		{data(0, "x"), ack(fD, 0, s1)},
		{finishFrame(), ack(fF, 0, s1)},
	})
	if len(imgs) != 2 {
		t.Fatalf("%d images, want 2", len(imgs))
	}
	wantImage(t, imgs[1], "a.jpg", "x", true)
}

func TestMalformedFramesGetNoAnswer(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
	}{
		{"empty", nil},
		{"8 bytes", finishFrame()[:8]},
		{"wrong magic", raw(transfer.FeedbackMagic, 3, 0, 0, "")},
		{"function 0", raw(transfer.FrameMagic, 0, 0, 0, "")},
		{"function 4", raw(transfer.FrameMagic, 4, 0, 0, "")},
		{"function -1", raw(transfer.FrameMagic, -1, 0, 0, "")},
		{"negative number", raw(transfer.FrameMagic, 2, -1, 1, "x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := new(Device)
			play(t, d, []step{{begin("a.jpg", 0), ack(fB, 0, s1)}})
			if reply, img := d.Handle(tt.frame); reply != nil || img != nil {
				t.Fatalf("answered %s", show(reply))
			}
			play(t, d, []step{{finishFrame(), ack(fF, 0, s1)}}) // state untouched
		})
	}
}

func TestLengthMismatchGetsStatusZeroAndChangesNothing(t *testing.T) {
	d := &Device{Chunk: 2}
	imgs := play(t, d, []step{
		{begin("a.jpg", 3), ack(fB, 0, s1)},
		{raw(transfer.FrameMagic, 1, 0, 20, "b.jpg;5"), ack(fB, 0, s0)},
		{raw(transfer.FrameMagic, 2, 0, 2, "a"), ack(fD, 0, s0)},
		{raw(transfer.FrameMagic, 2, 0, 1, "ab"), ack(fD, 0, s0)},
		{raw(transfer.FrameMagic, 2, 1, -1, "c"), ack(fD, 1, s0)},
		{data(0, "ab"), ack(fD, 0, s1)},
		{data(1, "c"), ack(fD, 1, s1)},
		{raw(transfer.FrameMagic, 3, 0, 0, "x"), ack(fF, 0, s0)},
		{finishFrame(), ack(fF, 0, s1)},
	})
	wantImage(t, imgs[0], "a.jpg", "abc", true)
}

func TestChunkSize(t *testing.T) {
	tests := []struct {
		name  string
		chunk int
		steps []step
		want  string // image content, "" = incomplete
	}{
		{"learned from DATA 0", 0, []step{
			{data(0, "abc"), ack(fD, 0, s1)}, {data(1, "def"), ack(fD, 1, s1)}, {data(2, "g"), ack(fD, 2, s1)},
		}, "abcdefg"},
		{"configured, placed by index", 3, []step{
			{data(2, "g"), ack(fD, 2, s1)}, {data(0, "abc"), ack(fD, 0, s1)}, {data(1, "def"), ack(fD, 1, s1)},
		}, "abcdefg"},
		{"learning needs DATA 0 first", 0, []step{
			{data(1, "def"), ack(fD, 1, s0)}, {data(0, "abc"), ack(fD, 0, s1)}, {data(1, "def"), ack(fD, 1, s1)}, {data(2, "g"), ack(fD, 2, s1)},
		}, "abcdefg"},
		{"configured chunk disagrees with the sender's", 4, []step{
			{data(0, "abc"), ack(fD, 0, s0)},
		}, ""},
		{"chunk longer than learned", 0, []step{
			{data(0, "abc"), ack(fD, 0, s1)}, {data(1, "defg"), ack(fD, 1, s0)},
		}, ""},
		{"short chunk that is not the last", 0, []step{
			{data(0, "abc"), ack(fD, 0, s1)}, {data(1, "de"), ack(fD, 1, s0)},
		}, ""},
		{"chunk past the announced size", 0, []step{
			{data(0, "abc"), ack(fD, 0, s1)}, {data(2, "gh"), ack(fD, 2, s0)}, {data(3, "x"), ack(fD, 3, s0)},
		}, ""},
		{"empty DATA", 0, []step{{data(0, ""), ack(fD, 0, s0)}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps := append([]step{{begin("a.jpg", 7), ack(fB, 0, s1)}}, tt.steps...)
			want := ack(fF, 0, s1)
			if tt.want == "" {
				want = ack(fF, 0, s0)
			}
			imgs := play(t, &Device{Chunk: tt.chunk}, append(steps, step{finishFrame(), want}))
			wantImage(t, imgs[0], "a.jpg", tt.want, tt.want != "")
		})
	}
}

func TestZeroByteImageIsComplete(t *testing.T) {
	imgs := play(t, new(Device), []step{
		{begin("empty.jpg", 0), ack(fB, 0, s1)},
		{finishFrame(), ack(fF, 0, s1)},
	})
	wantImage(t, imgs[0], "empty.jpg", "", true)
	if imgs[0].Data == nil || len(imgs[0].Data) != 0 {
		t.Fatalf("Data = %#v, want an empty slice", imgs[0].Data)
	}
}

func TestBeginBeyondTheLimitIsRefused(t *testing.T) {
	tests := []struct {
		name    string
		dev     Device
		size    int
		refused bool
	}{
		{"protocol limit at the configured chunk", Device{Chunk: 1400}, 32768 * 1400, false},
		{"one byte over it", Device{Chunk: 1400}, 32768*1400 + 1, true},
		{"protocol limit while learning", Device{}, 32768 * 32767, false},
		{"one byte over it while learning", Device{}, 32768*32767 + 1, true},
		{"MaxSize", Device{MaxSize: 10}, 11, true},
		{"ten-digit size", Device{}, 9999999999, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := ack(fB, 0, s1)
			if tt.refused {
				want = ack(fB, 0, s0)
			}
			d := tt.dev
			play(t, &d, []step{{begin("a.jpg", tt.size), want}})
		})
	}
}

func TestLearnedChunkTooSmallForTheSizeIsRefused(t *testing.T) {
	play(t, new(Device), []step{
		{begin("a.jpg", 32768*2+1), ack(fB, 0, s1)},
		{data(0, "ab"), ack(fD, 0, s0)}, // 2-byte chunks would need 32769 of them
		{data(0, repeatX(3)), ack(fD, 0, s1)},
	})
}

func repeatX(n int) string { return string(bytes.Repeat([]byte("x"), n)) }

func TestMalformedBeginIsRefusedAndChangesNothing(t *testing.T) {
	for _, s := range []string{"", "a.jpg", "a.jpg;", ";5", "a.jpg;-1", "a.jpg;+1", "a.jpg; 1", "a.jpg;1x", "a/b.jpg;1"} {
		t.Run(s, func(t *testing.T) {
			frame := transfer.EncodeFrame(transfer.Frame{Function: fB, Data: []byte(s)})
			imgs := play(t, new(Device), []step{
				{begin("ok.jpg", 1), ack(fB, 0, s1)},
				{frame, ack(fB, 0, s0)},
				{data(0, "x"), ack(fD, 0, s1)},
				{finishFrame(), ack(fF, 0, s1)},
			})
			wantImage(t, imgs[0], "ok.jpg", "x", true)
		})
	}
}

func TestBeginBeyondTheProtocolIsRefusedWhateverMaxSize(t *testing.T) {
	// MaxSize can only lower the limit: 32768 chunks of 1400 bytes is all
	// a sender can deliver, so a larger BEGIN can never complete.
	d := &Device{Chunk: 1400, MaxSize: 1 << 30}
	play(t, d, []step{{begin("a.jpg", 32768*1400+1), ack(fB, 0, s0)}})
	if d.cur != nil {
		t.Fatal("the refused BEGIN opened an image")
	}
}

func TestMemoryFollowsTheDataNotTheAnnouncedSize(t *testing.T) {
	// A BEGIN at the protocol's limit for 32767-byte chunks announces
	// about 1 GiB; one DATA frame for the last chunk is 32 KiB of data and
	// must cost about that much, not the 1 GiB in front of it.
	const chunk = transfer.MaxChunk
	const size = transfer.MaxChunks * chunk
	last := transfer.EncodeFrame(transfer.Frame{Function: fD, Number: transfer.MaxNumber, Data: bytes.Repeat([]byte("z"), chunk)})
	first := transfer.EncodeFrame(transfer.Frame{Function: fD, Number: 0, Data: bytes.Repeat([]byte("a"), chunk)})
	tests := []struct {
		name  string
		dev   Device
		steps []step
	}{
		{"configured chunk", Device{Chunk: chunk}, []step{{last, ack(fD, transfer.MaxNumber, s1)}}},
		{"learned chunk", Device{}, []step{{first, ack(fD, 0, s1)}, {last, ack(fD, transfer.MaxNumber, s1)}}},
	}
	const bound = 8 << 20 // two 32 KiB chunks and bookkeeping; far below 1 GiB
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.dev
			play(t, &d, []step{{begin("big.jpg", size), ack(fB, 0, s1)}})
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			play(t, &d, tt.steps)
			runtime.ReadMemStats(&after)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > bound {
				t.Fatalf("storing %d chunk(s) allocated %d MB, want under %d MB", len(tt.steps), grew>>20, bound>>20)
			}
			imgs := play(t, &d, []step{{finishFrame(), ack(fF, 0, s0)}})
			if imgs[0].Received != chunk*len(tt.steps) || len(imgs[0].Data) > chunk*len(tt.steps) {
				t.Fatalf("incomplete image: Received %d, %d bytes of Data; want %d at most", imgs[0].Received, len(imgs[0].Data), chunk*len(tt.steps))
			}
		})
	}
}

func TestChunksAfterAGapWaitForIt(t *testing.T) {
	d := &Device{Chunk: 2}
	imgs := play(t, d, []step{
		{begin("a.jpg", 7), ack(fB, 0, s1)},
		{data(2, "ef"), ack(fD, 2, s1)},
		{data(3, "g"), ack(fD, 3, s1)},
		{data(1, "cd"), ack(fD, 1, s1)},
		{data(0, "ab"), ack(fD, 0, s1)}, // closes the gap: 1, 2 and 3 follow
		{finishFrame(), ack(fF, 0, s1)},
	})
	wantImage(t, imgs[0], "a.jpg", "abcdefg", true)

	imgs = play(t, d, []step{
		{begin("b.jpg", 6), ack(fB, 0, s1)},
		{data(0, "ab"), ack(fD, 0, s1)},
		{data(2, "ef"), ack(fD, 2, s1)},
		{finishFrame(), ack(fF, 0, s0)},
	})
	if string(imgs[0].Data) != "ab" || imgs[0].Received != 4 {
		t.Fatalf("incomplete image: Data %q, Received %d; want the gap-free start \"ab\" and 4", imgs[0].Data, imgs[0].Received)
	}
}
