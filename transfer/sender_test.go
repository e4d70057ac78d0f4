package transfer

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeLink is an in-memory Link. Its respond function plays the device: it
// sees every published frame (already decoded) and returns the feedback
// payloads to deliver, in order.
type fakeLink struct {
	mu      sync.Mutex
	state   LinkState
	why     error // the reason a refused link gives
	changed chan struct{}
	in      chan []byte
	sent    []Frame
	respond func(f Frame, n int) [][]byte // n: how many frames were published before this one
	onSend  func(n int)                   // called after each publish, outside the lock
	// publishErr, when set, fails the n-th Publish call (counting from 0)
	// with the error it returns, while the link stays up.
	publishErr func(n int) error

	attempts atomic.Int64 // Publish calls, successful or not
}

func newFakeLink(respond func(f Frame, n int) [][]byte) *fakeLink {
	return &fakeLink{state: StateUp, changed: make(chan struct{}), in: make(chan []byte, 64), respond: respond}
}

func (l *fakeLink) Publish(ctx context.Context, payload []byte) error {
	call := l.attempts.Add(1) - 1
	l.mu.Lock()
	if l.state != StateUp {
		l.mu.Unlock()
		return ErrNotConnected
	}
	if l.publishErr != nil {
		if err := l.publishErr(int(call)); err != nil {
			l.mu.Unlock()
			return err
		}
	}
	f, err := DecodeFrame(payload)
	if err != nil {
		l.mu.Unlock()
		panic("the sender published a malformed frame: " + err.Error())
	}
	f.Data = bytes.Clone(f.Data)
	n := len(l.sent)
	l.sent = append(l.sent, f)
	var replies [][]byte
	if l.respond != nil {
		replies = l.respond(f, n)
	}
	l.mu.Unlock()
	for _, r := range replies {
		l.in <- r
	}
	if l.onSend != nil {
		l.onSend(n)
	}
	return nil
}

func (l *fakeLink) Incoming() <-chan []byte { return l.in }

func (l *fakeLink) State() (LinkState, <-chan struct{}, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state == StateUp {
		return l.state, l.changed, nil
	}
	return l.state, l.changed, l.why
}

func (l *fakeLink) Addr() string   { return "fake://broker" }
func (l *fakeLink) Dropped() int64 { return 0 }

func (l *fakeLink) setState(s LinkState, why error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state, l.why = s, why
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *fakeLink) setUp(up bool) {
	if up {
		l.setState(StateUp, nil)
	} else {
		l.setState(StateReconnecting, errors.New("fake: connection lost"))
	}
}

func (l *fakeLink) frames() []Frame {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Frame(nil), l.sent...)
}

func ack(f Frame) []byte { return EncodeFeedback(Feedback{f.Function, f.Number, StatusWhole}) }
func nak(f Frame) []byte { return EncodeFeedback(Feedback{f.Function, f.Number, StatusIncomplete}) }

// device is a faithful in-test device: it acks every frame.
func device(f Frame, _ int) [][]byte { return [][]byte{ack(f)} }

// reassemble rebuilds the image from the DATA frames the device saw last
// for each number, and checks the announced size.
func reassemble(t *testing.T, frames []Frame, chunk int) []byte {
	t.Helper()
	var size int
	var img []byte
	for _, f := range frames {
		switch f.Function {
		case FuncBegin:
			var err error
			_, size, err = ParseBegin(f.Data)
			if err != nil {
				t.Fatalf("bad BEGIN: %v", err)
			}
			img = make([]byte, size)
		case FuncData:
			copy(img[f.Number*chunk:], f.Data)
		}
	}
	return img
}

func testSettings() Settings {
	s := DefaultSettings()
	s.Timeout = 20 * time.Millisecond
	s.Retries = 3
	s.ReconnectWait = time.Second
	return s
}

func randomImage(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSendsEveryChunkIncludingTheLast(t *testing.T) {
	for _, size := range []int{0, 1, 1399, 1400, 1401, 2800, 4201} {
		img := randomImage(t, size)
		link := newFakeLink(device)
		st, err := Run(context.Background(), link, img, testSettings(), nil)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		frames := link.frames()
		n := ChunkCount(size, DefaultChunk)
		if len(frames) != n+2 || frames[0].Function != FuncBegin || frames[len(frames)-1].Function != FuncFinish {
			t.Fatalf("size %d: sent %d frames, want BEGIN, %d DATA, FINISH", size, len(frames), n)
		}
		for i, f := range frames[1 : n+1] {
			if f.Function != FuncData || f.Number != i {
				t.Fatalf("size %d: frame %d is %v %d, want DATA %d", size, i+1, f.Function, f.Number, i)
			}
			if i < n-1 && len(f.Data) != DefaultChunk {
				t.Fatalf("size %d: DATA %d has %d bytes, want %d", size, i, len(f.Data), DefaultChunk)
			}
		}
		if got := reassemble(t, frames, DefaultChunk); !bytes.Equal(got, img) {
			t.Fatalf("size %d: the device would hold a different image", size)
		}
		if st.Packets != n || st.AckedBytes != size || st.FramesAcked != n+2 || st.Retransmits != 0 {
			t.Fatalf("size %d: stats %+v", size, st)
		}
	}
}

func TestBeginAnnouncesNameAndSize(t *testing.T) {
	link := newFakeLink(device)
	s := testSettings()
	s.BeginName = "pic.jpg"
	if _, err := Run(context.Background(), link, make([]byte, 3000), s, nil); err != nil {
		t.Fatal(err)
	}
	if got := string(link.frames()[0].Data); got != "pic.jpg;3000" {
		t.Fatalf("BEGIN data = %q, want %q", got, "pic.jpg;3000")
	}
}

func TestDuplicateAckDoesNotSkipAChunk(t *testing.T) {
	link := newFakeLink(func(f Frame, _ int) [][]byte { return [][]byte{ack(f), ack(f)} })
	img := randomImage(t, 5000)
	st, err := Run(context.Background(), link, img, testSettings(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := reassemble(t, link.frames(), DefaultChunk); !bytes.Equal(got, img) {
		t.Fatal("a duplicate ack made the sender skip data")
	}
	if len(link.frames()) != 4+2 {
		t.Fatalf("sent %d frames, want 6", len(link.frames()))
	}
	if st.Stale == 0 {
		t.Fatal("duplicate acks were not counted as stale")
	}
}

func TestNAKResendsTheReportedFrame(t *testing.T) {
	naked := false
	link := newFakeLink(func(f Frame, _ int) [][]byte {
		if f.Function == FuncData && f.Number == 2 && !naked {
			naked = true
			return [][]byte{nak(f)}
		}
		return [][]byte{ack(f)}
	})
	st, err := Run(context.Background(), link, randomImage(t, 5000), testSettings(), nil)
	if err != nil {
		t.Fatal(err)
	}
	fr := link.frames()
	// BEGIN, DATA 0, 1, 2, 2 again, 3, FINISH
	if fr[3].Number != 2 || fr[4].Function != FuncData || fr[4].Number != 2 {
		t.Fatalf("after a NAK of DATA 2 the sender sent %v %d, want DATA 2", fr[4].Function, fr[4].Number)
	}
	if st.NAKs != 1 || st.Retransmits != 1 {
		t.Fatalf("stats %+v, want 1 NAK retransmission", st)
	}
}

func TestTimeoutResendsTheSameFrame(t *testing.T) {
	link := newFakeLink(func(f Frame, n int) [][]byte {
		if f.Function == FuncData && f.Number == 1 && n == 2 {
			return nil // the first DATA 1 gets no answer
		}
		return [][]byte{ack(f)}
	})
	st, err := Run(context.Background(), link, randomImage(t, 3000), testSettings(), nil)
	if err != nil {
		t.Fatal(err)
	}
	fr := link.frames()
	if fr[2].Number != 1 || fr[3].Function != FuncData || fr[3].Number != 1 {
		t.Fatalf("after a timeout on DATA 1 the sender sent %v %d", fr[3].Function, fr[3].Number)
	}
	if st.Timeouts != 1 {
		t.Fatalf("stats %+v, want 1 timeout", st)
	}
}

func TestSilentDeviceFailsAfterBoundedRetries(t *testing.T) {
	link := newFakeLink(nil)
	s := testSettings()
	s.Retries = 4
	_, err := Run(context.Background(), link, randomImage(t, 100), s, nil)
	if !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("err = %v, want ErrNoAnswer", err)
	}
	if n := len(link.frames()); n != s.Retries+1 {
		t.Fatalf("BEGIN was sent %d times, want retries+1 = %d", n, s.Retries+1)
	}
	if !strings.Contains(err.Error(), "BEGIN was sent 5 times") {
		t.Fatalf("error %q does not name the frame and the tries", err)
	}
}

func TestZeroRetriesMeansOneSend(t *testing.T) {
	link := newFakeLink(nil)
	s := testSettings()
	s.Retries = 0
	if _, err := Run(context.Background(), link, []byte("x"), s, nil); !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("err = %v", err)
	}
	if n := len(link.frames()); n != 1 {
		t.Fatalf("sent %d frames, want 1", n)
	}
}

func TestRetriesCountTimeoutsAndNAKsTogether(t *testing.T) {
	link := newFakeLink(func(f Frame, n int) [][]byte {
		if f.Function == FuncBegin {
			if n%2 == 0 {
				return [][]byte{nak(f)}
			}
			return nil
		}
		return [][]byte{ack(f)}
	})
	s := testSettings()
	s.Retries = 3
	st, err := Run(context.Background(), link, []byte("x"), s, nil)
	if !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("err = %v", err)
	}
	if len(link.frames()) != 4 || st.NAKs+st.Timeouts != 3 {
		t.Fatalf("sent %d frames with stats %+v, want 4 sends and 3 retries", len(link.frames()), st)
	}
}

func TestFinishIncompleteIsAFailure(t *testing.T) {
	link := newFakeLink(func(f Frame, _ int) [][]byte {
		if f.Function == FuncFinish {
			return [][]byte{nak(f)}
		}
		return [][]byte{ack(f)}
	})
	s := testSettings()
	_, err := Run(context.Background(), link, randomImage(t, 2000), s, nil)
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("err = %v, want ErrIncomplete", err)
	}
	finishes := 0
	for _, f := range link.frames() {
		if f.Function == FuncFinish {
			finishes++
		}
	}
	if finishes != s.Retries+1 {
		t.Fatalf("FINISH sent %d times, want %d", finishes, s.Retries+1)
	}
}

func TestFinishNAKThenAckSucceeds(t *testing.T) {
	first := true
	link := newFakeLink(func(f Frame, _ int) [][]byte {
		if f.Function == FuncFinish && first {
			first = false
			return [][]byte{nak(f)}
		}
		return [][]byte{ack(f)}
	})
	if _, err := Run(context.Background(), link, randomImage(t, 2000), testSettings(), nil); err != nil {
		t.Fatal(err)
	}
}

func TestMalformedFeedbackIsIgnoredAndCounted(t *testing.T) {
	garbage := [][]byte{
		[]byte("\xff\xff\xee"),                             // 3 bytes
		[]byte("\xee\xee\xff\xff\x02\x00\x00\x01"),         // wrong magic
		[]byte("\xff\xff\xee\xee\x02\x00\x00\x01\x00\x00"), // too long
		[]byte("\xff\xff\xee\xee\x02\x00\x00\x07"),         // status 7
	}
	link := newFakeLink(func(f Frame, _ int) [][]byte {
		return append(append([][]byte{}, garbage...), ack(f))
	})
	img := randomImage(t, 3000)
	events := make(chan Event, 1000)
	st, err := Run(context.Background(), link, img, testSettings(), events)
	if err != nil {
		t.Fatal(err)
	}
	if want := 4 * 5; st.Malformed != want {
		t.Fatalf("malformed = %d, want %d", st.Malformed, want)
	}
	if st.Retransmits != 0 {
		t.Fatalf("malformed feedback caused %d retransmissions", st.Retransmits)
	}
	close(events)
	n := 0
	for e := range events {
		if _, ok := e.(Malformed); ok {
			n++
		}
	}
	if n != 20 {
		t.Fatalf("%d Malformed events, want 20", n)
	}
}

func TestFeedbackForAnotherFrameIsNotProgress(t *testing.T) {
	link := newFakeLink(func(f Frame, _ int) [][]byte {
		if f.Function == FuncData {
			// A late ack for the previous number and one for FINISH, then nothing.
			return [][]byte{
				EncodeFeedback(Feedback{FuncData, f.Number + 1, StatusWhole}),
				EncodeFeedback(Feedback{FuncFinish, 0, StatusWhole}),
				EncodeFeedback(Feedback{FuncBegin, f.Number, StatusWhole}),
			}
		}
		return [][]byte{ack(f)}
	})
	s := testSettings()
	s.Retries = 1
	st, err := Run(context.Background(), link, randomImage(t, 3000), s, nil)
	if !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("err = %v, want ErrNoAnswer: only non-matching feedback arrived for DATA 0", err)
	}
	if st.AckedBytes != 0 || st.Stale != 6 {
		t.Fatalf("stats %+v: want nothing acked and 6 stale", st)
	}
}

func TestWaitsForTheLinkBeforeTheFirstFrame(t *testing.T) {
	link := newFakeLink(device)
	link.setUp(false)
	events := make(chan Event, 100)
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), link, []byte("hello"), testSettings(), events)
		done <- err
	}()
	// The sender says it waits, and publishes nothing while the link is down.
	if e := <-events; e.Kind() != "link_down" {
		t.Fatalf("first event %q, want link_down", e.Kind())
	}
	if n := link.attempts.Load(); n != 0 {
		t.Fatalf("%d publishes tried before the link was up", n)
	}
	link.setUp(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if e := <-events; e.Kind() != "connected" {
		t.Fatalf("event after the link came up %q, want connected", e.Kind())
	}
}

func TestLinkDownDoesNotSpendRetries(t *testing.T) {
	link := newFakeLink(nil)
	img := randomImage(t, 5000)
	// The device answers nothing while the link is "down"; the outage
	// comes right after DATA 1 is published and ends when the sender has
	// noticed (its LinkDown event).
	dropped := false
	link.respond = func(f Frame, n int) [][]byte {
		if f.Function == FuncData && f.Number == 1 && !dropped {
			dropped = true
			return nil
		}
		return [][]byte{ack(f)}
	}
	link.onSend = func(n int) {
		if n == 2 {
			link.setUp(false)
		}
	}
	events := make(chan Event, 1000)
	s := testSettings()
	s.Retries = 0
	s.Timeout = time.Hour // only the link can get this transfer going again
	done := make(chan error, 1)
	var st Stats
	go func() {
		var err error
		st, err = Run(context.Background(), link, img, s, events)
		done <- err
	}()
	for e := range events {
		if _, ok := e.(LinkDown); ok {
			break
		}
	}
	link.setUp(true)
	if err := <-done; err != nil {
		t.Fatalf("a broker outage failed the transfer: %v", err)
	}
	if st.Reconnects != 1 || st.Timeouts+st.NAKs != 0 {
		t.Fatalf("stats %+v: want one reconnect resend and no spent retries", st)
	}
	if got := reassemble(t, link.frames(), DefaultChunk); !bytes.Equal(got, img) {
		t.Fatal("image differs after the outage")
	}
}

func TestLinkThatNeverComesBackFails(t *testing.T) {
	link := newFakeLink(device)
	link.setUp(false)
	s := testSettings()
	s.ReconnectWait = 30 * time.Millisecond
	_, err := Run(context.Background(), link, []byte("x"), s, nil)
	if !errors.Is(err, ErrLinkDown) {
		t.Fatalf("err = %v, want ErrLinkDown", err)
	}
}

func TestPublishErrorWhileUpSpendsARetry(t *testing.T) {
	// The broker takes BEGIN, then every publish fails (a write timeout)
	// while the link still says it is up. Before, each failure counted as
	// a reconnect: no retry spent, resent for ever.
	link := newFakeLink(device)
	link.publishErr = func(n int) error {
		if n >= 1 {
			return fmt.Errorf("%w: write tcp: i/o timeout", ErrPublish)
		}
		return nil
	}
	s := testSettings()
	s.Retries = 2
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	events := make(chan Event, 1000)
	st, err := Run(ctx, link, randomImage(t, 3000), s, events)
	if !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("err = %v, want ErrNoAnswer after the retries", err)
	}
	if st.Reconnects != 0 || st.Timeouts != 2 {
		t.Fatalf("stats %+v: want 2 spent retries and no reconnects", st)
	}
	close(events)
	details := 0
	for e := range events {
		if r, ok := e.(Retry); ok && strings.Contains(r.Detail, "i/o timeout") {
			details++
		}
	}
	if details != 2 {
		t.Fatalf("%d Retry events say why the publish failed, want 2", details)
	}
}

func TestPublishErrorOnceThenTheTransferGoesOn(t *testing.T) {
	link := newFakeLink(device)
	link.publishErr = func(n int) error {
		if n == 2 {
			return fmt.Errorf("%w: write tcp: i/o timeout", ErrPublish)
		}
		return nil
	}
	img := randomImage(t, 5000)
	st, err := Run(context.Background(), link, img, testSettings(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Timeouts != 1 || st.Reconnects != 0 {
		t.Fatalf("stats %+v: want one spent retry", st)
	}
	if got := reassemble(t, link.frames(), DefaultChunk); !bytes.Equal(got, img) {
		t.Fatal("image differs")
	}
}

func TestRefusedSubscriptionAfterReconnectFailsAtOnce(t *testing.T) {
	// After a reconnect the broker refuses the subscription (an ACL changed):
	// final, so the sender must not wait out ReconnectWait.
	link := newFakeLink(device)
	refused := fmt.Errorf("%w: the broker refused the subscription to \"from\"", ErrNotAuthorized)
	link.onSend = func(n int) {
		if n == 1 {
			link.setState(StateRefused, refused)
		}
	}
	s := testSettings()
	s.ReconnectWait = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := Run(ctx, link, randomImage(t, 5000), s, nil)
	if !errors.Is(err, ErrNotAuthorized) {
		t.Fatalf("err = %v, want ErrNotAuthorized at once", err)
	}
}

func TestFailureSaysTheDeviceAnsweredOtherFrames(t *testing.T) {
	// A device that numbers its answers one too high: it answers every
	// frame, but never the one outstanding.
	link := newFakeLink(func(f Frame, _ int) [][]byte {
		return [][]byte{EncodeFeedback(Feedback{f.Function, f.Number + 1, StatusWhole})}
	})
	s := testSettings()
	s.Retries = 5
	_, err := Run(context.Background(), link, randomImage(t, 100), s, nil)
	if !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("err = %v, want ErrNoAnswer", err)
	}
	for _, want := range []string{"BEGIN was sent 6 times", "the device did answer, 6 times, but for other frames (the first: BEGIN 1)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestCancelStopsATransferToASilentDevice(t *testing.T) {
	link := newFakeLink(nil)
	s := testSettings()
	s.Timeout = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	link.onSend = func(int) { cancel() }
	_, err := Run(ctx, link, []byte("x"), s, nil)
	if !errors.Is(err, ErrCanceled) {
		t.Fatalf("err = %v, want ErrCanceled", err)
	}
	if !strings.Contains(err.Error(), "partial image") {
		t.Fatalf("cancel error %q does not warn about a partial image", err)
	}
}

func TestTooLargeImageIsRefusedBeforeSending(t *testing.T) {
	link := newFakeLink(device)
	s := testSettings()
	s.Chunk = 10
	_, err := Run(context.Background(), link, make([]byte, MaxChunks*10+1), s, nil)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if n := len(link.frames()); n != 0 {
		t.Fatalf("%d frames sent for an image over the limit", n)
	}
}

func TestInvalidSettingsAreRefused(t *testing.T) {
	for _, mutate := range []func(*Settings){
		func(s *Settings) { s.Chunk = 0 },
		func(s *Settings) { s.Chunk = MaxChunk + 1 },
		func(s *Settings) { s.Timeout = 0 },
		func(s *Settings) { s.Retries = -1 },
		func(s *Settings) { s.BeginName = "a;b" },
	} {
		s := DefaultSettings()
		mutate(&s)
		if _, err := Run(context.Background(), newFakeLink(device), []byte("x"), s, nil); !errors.Is(err, ErrSettings) {
			t.Errorf("settings %+v: err = %v, want ErrSettings", s, err)
		}
	}
}

// runEvents runs a transfer in its own goroutine; the channel carries its
// events and is closed after the last one, which Run promises is Done or
// Failed.
func runEvents(ctx context.Context, link Link, image []byte, s Settings) <-chan Event {
	ch := make(chan Event, 64)
	go func() {
		defer close(ch)
		_, _ = Run(ctx, link, image, s, ch)
	}()
	return ch
}

func TestEventsEndWithDoneAndTrackProgress(t *testing.T) {
	img := randomImage(t, 4000)
	var kinds []string
	var last Progress
	for e := range runEvents(context.Background(), newFakeLink(device), img, testSettings()) {
		kinds = append(kinds, e.Kind())
		if p, ok := e.(Progress); ok {
			if p.AckedBytes < last.AckedBytes {
				t.Fatalf("progress went backwards: %d after %d", p.AckedBytes, last.AckedBytes)
			}
			last = p
		}
	}
	if kinds[0] != "connected" || kinds[len(kinds)-1] != "done" {
		t.Fatalf("events %v: want connected first and done last", kinds)
	}
	if last.AckedBytes != 4000 || last.AckedPackets != 3 || last.TotalPackets != 3 {
		t.Fatalf("last progress %+v", last)
	}
}

func TestAdaptiveTimeout(t *testing.T) {
	r := newRTO(5*time.Second, true)
	if r.timeout() != 5*time.Second {
		t.Fatalf("before any sample the timeout is %s, want the fixed 5s", r.timeout())
	}
	for range 20 {
		r.sample(time.Millisecond)
	}
	if r.timeout() != MinAdaptiveTimeout {
		t.Fatalf("fast device: timeout %s, want the %s floor", r.timeout(), MinAdaptiveTimeout)
	}
	for range 50 {
		r.sample(400 * time.Millisecond)
	}
	if got := r.timeout(); got < 400*time.Millisecond || got > 800*time.Millisecond {
		t.Fatalf("steady 400ms RTT: timeout %s, want about srtt + 4 × rttvar", got)
	}
	r.backoff()
	r.backoff()
	r.backoff()
	r.backoff()
	if r.timeout() != 5*time.Second {
		t.Fatalf("after backoffs the timeout is %s, want capped at 5s", r.timeout())
	}
	fixed := newRTO(time.Second, false)
	fixed.sample(time.Millisecond)
	fixed.backoff()
	if fixed.timeout() != time.Second {
		t.Fatalf("fixed timeout changed to %s", fixed.timeout())
	}
}

func TestAdaptiveTimeoutRecoversFasterFromLoss(t *testing.T) {
	drop := map[int]bool{}
	link := newFakeLink(func(f Frame, n int) [][]byte {
		if f.Function == FuncData && f.Number%5 == 4 && !drop[f.Number] {
			drop[f.Number] = true
			return nil
		}
		return [][]byte{ack(f)}
	})
	s := testSettings()
	s.Timeout = time.Hour // a fixed timeout would never recover in this test
	s.Adaptive = true
	st, err := Run(context.Background(), link, randomImage(t, 20*DefaultChunk), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Timeouts != 4 {
		t.Fatalf("timeouts = %d, want 4", st.Timeouts)
	}
}

func TestCancelledTransferStillEndsWithFailed(t *testing.T) {
	for range 20 {
		link := newFakeLink(nil)
		s := testSettings()
		s.Timeout = time.Hour
		ctx, cancel := context.WithCancel(context.Background())
		link.onSend = func(int) { cancel() }
		var last Event
		for e := range runEvents(ctx, link, []byte("x"), s) {
			last = e
		}
		if f, ok := last.(Failed); !ok || !errors.Is(f.Err, ErrCanceled) {
			t.Fatalf("last event %#v, want Failed with ErrCanceled", last)
		}
	}
}

func TestOutcomeReadsTheFinalEvent(t *testing.T) {
	if st, err := Outcome(Done{Stats: Stats{Bytes: 7}}); err != nil || st.Bytes != 7 {
		t.Fatalf("Done: %+v, %v", st, err)
	}
	if _, err := Outcome(Failed{Err: ErrNoAnswer}); !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("Failed: %v", err)
	}
	if _, err := Outcome(Progress{}); err == nil {
		t.Fatal("a non-final event gave no error")
	}
}
