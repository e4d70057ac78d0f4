package simdevice

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"imagebeam/transfer"
)

// fakeLink is an in-memory Link: the test writes frames to in and reads
// the device's answers from out.
type fakeLink struct {
	in  chan []byte
	out chan []byte
}

func newFakeLink() *fakeLink {
	return &fakeLink{in: make(chan []byte, 16), out: make(chan []byte, 64)}
}

func (l *fakeLink) Publish(ctx context.Context, p []byte) error {
	select {
	case l.out <- bytes.Clone(p):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *fakeLink) Incoming() <-chan []byte { return l.in }

// startRun runs the device on link and returns its result channel.
func startRun(t *testing.T, ctx context.Context, link Link, opts Options, images chan<- Received) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, link, opts, images) }()
	return done
}

// recv waits for one answer.
func recv(t *testing.T, ch <-chan []byte) []byte {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no answer")
		return nil
	}
}

// exchange sends frame and checks the one answer it gets.
func exchange(t *testing.T, l *fakeLink, frame []byte, want string) {
	t.Helper()
	l.in <- frame
	if got := show(recv(t, l.out)); got != want {
		t.Fatalf("answer %s, want %s", got, want)
	}
}

// sendAll transfers img through l in chunks, every frame acked first time.
func sendAll(t *testing.T, l *fakeLink, name string, img []byte, chunk int) {
	t.Helper()
	exchange(t, l, begin(name, len(img)), ack(fB, 0, s1))
	for i := 0; i*chunk < len(img); i++ {
		exchange(t, l, transfer.EncodeFrame(transfer.Frame{Function: fD, Number: i, Data: img[i*chunk : min(len(img), (i+1)*chunk)]}), ack(fD, i, s1))
	}
	exchange(t, l, finishFrame(), ack(fF, 0, s1))
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestRunSavesAndReportsEachImage(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"007_old.jpg", "notes.txt", "12_short.jpg"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := newFakeLink()
	images := make(chan Received, 4)
	done := startRun(t, ctx, l, Options{OutDir: dir}, images)

	big := bytes.Repeat([]byte("0123456789abcdef"), 200) // 3200 bytes: 1400+1400+400
	sendAll(t, l, "image.jpg", big, 1400)
	sendAll(t, l, "empty.jpg", nil, 1400)
	exchange(t, l, begin("cut.jpg", 5), ack(fB, 0, s1))
	exchange(t, l, finishFrame(), ack(fF, 0, s0))

	want := []Received{
		{Name: "image.jpg", Size: 3200, SHA256: sha(big), Complete: true, Path: filepath.Join(dir, "008_image.jpg")},
		{Name: "empty.jpg", Size: 0, SHA256: sha(nil), Complete: true, Path: filepath.Join(dir, "009_empty.jpg")},
		{Name: "cut.jpg", Size: 0, Complete: false},
	}
	for _, w := range want {
		if got := <-images; got != w {
			t.Fatalf("reported %+v, want %+v", got, w)
		}
		if w.Path != "" {
			if b, err := os.ReadFile(w.Path); err != nil || sha(b) != w.SHA256 {
				t.Fatalf("%s: %v, content differs", w.Path, err)
			}
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "007_old.jpg")); string(b) != "keep" {
		t.Fatal("an existing file was overwritten")
	}
}

func TestSaverNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	s, err := newSaver(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Another writer takes the next number after the directory was read.
	taken := filepath.Join(dir, "001_a.jpg")
	if err := os.WriteFile(taken, []byte("theirs"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"002_a.jpg", "003_a.jpg"} {
		path, err := s.save("a.jpg", []byte("ours"))
		if err != nil || path != filepath.Join(dir, want) {
			t.Fatalf("save = %q, %v; want %s", path, err, want)
		}
	}
	if b, _ := os.ReadFile(taken); string(b) != "theirs" {
		t.Fatal("the other writer's file was overwritten")
	}
}

func TestSanitizeMakesAPlainFileName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"image.jpg", "image.jpg"},
		{"a:b*c?.jpg", "a_b_c_.jpg"},
		{"..", "image"},
		{"x. ", "x"},
		{"日本.jpg", "日本.jpg"},
		{"bad\xffname", "bad_name"},
		{strings.Repeat("é", 150), strings.Repeat("é", 100)},
	}
	for _, tt := range tests {
		if got := sanitize(tt.in); got != tt.want {
			t.Errorf("sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRunLateAnswerDoesNotHoldUpLaterFrames(t *testing.T) {
	// The Simulator is pure, so a twin with the same seed tells which
	// frames the runner will hold back.
	f := Faults{Late: 0.5, LateBy: time.Hour, Seed: 5}
	twin := newSim(t, f)
	frames := [][]byte{begin("a.jpg", 3), data(0, "ab"), data(1, "c"), finishFrame(), begin("b.jpg", 0), finishFrame()}
	late := map[int]bool{}
	for i, fr := range frames {
		if a, _ := twin.Handle(fr); a.After > 0 {
			late[i] = true
		}
	}
	if len(late) == 0 || len(late) == len(frames) {
		t.Fatalf("seed gives late=%v; pick one with a mix", late)
	}

	ctx, cancel := context.WithCancel(context.Background())
	l := newFakeLink()
	done := startRun(t, ctx, l, Options{Faults: f}, nil)
	for i, fr := range frames {
		l.in <- fr
		if !late[i] {
			want, _ := decode(fr)
			if got := show(recv(t, l.out)); got != ack(want.Function, want.Number, s1) {
				t.Fatalf("frame %d: answer %s", i, got)
			}
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	select {
	case p := <-l.out:
		t.Fatalf("a held-back answer %s went out", show(p))
	default:
	}
}

func TestRunPublishesLateAnswersLater(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := newFakeLink()
	done := startRun(t, ctx, l, Options{Faults: Faults{Late: 1, LateBy: 5 * time.Millisecond}}, nil)
	exchange(t, l, begin("a.jpg", 0), ack(fB, 0, s1))
	cancel()
	<-done
}

func TestRunWithCountReturnsOnceTheLastAnswerIsOut(t *testing.T) {
	l := newFakeLink()
	images := make(chan Received, 1)
	done := startRun(t, context.Background(), l, Options{Count: 1, Faults: Faults{Delay: 5 * time.Millisecond}}, images)
	l.in <- begin("a.jpg", 0)
	l.in <- finishFrame()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if len(l.out) != 2 || len(images) != 1 {
		t.Fatalf("%d answers and %d images when Run returned, want 2 and 1", len(l.out), len(images))
	}
}

func TestRunEndsWhenTheLinkCloses(t *testing.T) {
	l := newFakeLink()
	done := startRun(t, context.Background(), l, Options{}, nil)
	close(l.in)
	if err := <-done; !errors.Is(err, ErrLinkClosed) {
		t.Fatalf("Run = %v, want ErrLinkClosed", err)
	}
}

func TestRunRefusesBadFaults(t *testing.T) {
	if err := Run(context.Background(), newFakeLink(), Options{Faults: Faults{Dup: 2}}, nil); !errors.Is(err, ErrBadFaults) {
		t.Fatalf("Run = %v, want ErrBadFaults", err)
	}
}

func TestRunLingersToAnswerAResentFinish(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	l := newFakeLink()
	images := make(chan Received, 4)
	done := startRun(t, ctx, l, Options{Count: 1, Linger: time.Hour}, images)
	exchange(t, l, begin("a.jpg", 0), ack(fB, 0, s1))
	exchange(t, l, finishFrame(), ack(fF, 0, s1))
	exchange(t, l, finishFrame(), ack(fF, 0, s1)) // the sender lost the first answer
	exchange(t, l, begin("b.jpg", 0), ack(fB, 0, s1))
	exchange(t, l, finishFrame(), ack(fF, 0, s1))
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	if len(images) != 1 {
		t.Fatalf("%d images reported, want only the counted one", len(images))
	}
}
