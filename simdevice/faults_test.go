package simdevice

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"imagebeam/transfer"
)

func newSim(t *testing.T, f Faults) *Simulator {
	t.Helper()
	s, err := NewSimulator(new(Device), f)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// resendBegin is a frame the device always answers (1,0,1) and that
// changes nothing after the first.
var resendBegin = begin("a.jpg", 0)

func TestEachFaultHitsAboutItsShareOfFrames(t *testing.T) {
	const frames, p = 4000, 0.1
	tests := []struct {
		name  string
		f     Faults
		count func(Stats) int
	}{
		{"drop", Faults{Drop: p}, func(s Stats) int { return s.Dropped }},
		{"drop-ack", Faults{DropAck: p}, func(s Stats) int { return s.AcksDropped }},
		{"nak", Faults{NAK: p}, func(s Stats) int { return s.NAKs }},
		{"dup", Faults{Dup: p}, func(s Stats) int { return s.Dups }},
		{"garbage", Faults{Garbage: p}, func(s Stats) int { return s.Garbage }},
		{"late", Faults{Late: p, LateBy: time.Second}, func(s Stats) int { return s.Lates }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.Seed = 42
			s := newSim(t, tt.f)
			for range frames {
				s.Handle(resendBegin)
			}
			// Binomial(4000, 0.1): mean 400, sd 19. The seed is fixed, so
			// this is a check of the wiring, not a flaky statistic.
			if n := tt.count(s.Stats()); n < 320 || n > 480 {
				t.Fatalf("%d of %d frames hit, want about %d", n, frames, int(frames*p))
			}
		})
	}
}

func TestFaultsRepeatWithTheSeed(t *testing.T) {
	f := Faults{Drop: 0.2, DropAck: 0.2, NAK: 0.2, Dup: 0.2, Garbage: 0.2, Late: 0.2, LateBy: time.Second, Seed: 7}
	run := func(f Faults) []Answer {
		s := newSim(t, f)
		var out []Answer
		for range 200 {
			a, _ := s.Handle(resendBegin)
			out = append(out, a)
		}
		return out
	}
	same := func(a, b []Answer) bool {
		for i := range a {
			if a[i].After != b[i].After || len(a[i].Payloads) != len(b[i].Payloads) {
				return false
			}
			for j := range a[i].Payloads {
				if !bytes.Equal(a[i].Payloads[j], b[i].Payloads[j]) {
					return false
				}
			}
		}
		return true
	}
	if !same(run(f), run(f)) {
		t.Fatal("the same seed gave different faults")
	}
	g := f
	g.Seed = 8
	if same(run(f), run(g)) {
		t.Fatal("seeds 7 and 8 gave the same faults")
	}
}

func TestDropLosesTheFrameBeforeTheDevice(t *testing.T) {
	s := newSim(t, Faults{Drop: 1})
	for _, fr := range [][]byte{begin("a.jpg", 0), finishFrame()} {
		if a, img := s.Handle(fr); len(a.Payloads) != 0 || img != nil {
			t.Fatalf("dropped frame answered %d times, image %v", len(a.Payloads), img)
		}
	}
	if s.dev.cur != nil {
		t.Fatal("the device saw a dropped frame")
	}
}

func TestDropAckProcessesTheFrameSilently(t *testing.T) {
	s := newSim(t, Faults{DropAck: 1})
	s.Handle(begin("a.jpg", 0))
	a, img := s.Handle(finishFrame())
	if len(a.Payloads) != 0 {
		t.Fatalf("answered %d times", len(a.Payloads))
	}
	if img == nil || !img.Complete {
		t.Fatalf("image %v, want the zero-byte image complete: the frames were processed", img)
	}
}

func TestNAKAnswersStatusZeroWithoutStoring(t *testing.T) {
	s := newSim(t, Faults{NAK: 1})
	for _, fr := range [][]byte{begin("a.jpg", 1), data(0, "x"), finishFrame()} {
		a, img := s.Handle(fr)
		f, _ := decode(fr)
		if len(a.Payloads) != 1 || show(a.Payloads[0]) != ack(f.Function, f.Number, s0) || img != nil {
			t.Fatalf("answers %q, image %v; want one status 0", a.Payloads, img)
		}
	}
	if s.dev.cur != nil {
		t.Fatal("the device stored a NAKed frame")
	}
}

func TestDupSendsTheAnswerTwice(t *testing.T) {
	a, _ := newSim(t, Faults{Dup: 1}).Handle(resendBegin)
	if len(a.Payloads) != 2 || show(a.Payloads[0]) != ack(fB, 0, s1) || !bytes.Equal(a.Payloads[0], a.Payloads[1]) {
		t.Fatalf("answers %q, want (1,0,1) twice", a.Payloads)
	}
}

func TestGarbageGoesBeforeTheAnswerInEveryForm(t *testing.T) {
	s := newSim(t, Faults{Garbage: 1, Seed: 3})
	kinds := map[string]int{}
	for range 300 {
		a, _ := s.Handle(resendBegin)
		if len(a.Payloads) != 2 || show(a.Payloads[1]) != ack(fB, 0, s1) {
			t.Fatalf("answers %q, want garbage then (1,0,1)", a.Payloads)
		}
		g := a.Payloads[0]
		_, err := transfer.DecodeFeedback(g)
		switch {
		case errors.Is(err, transfer.ErrFeedbackMagic):
			kinds["magic"]++
		case errors.Is(err, transfer.ErrFeedbackLength) && len(g) == 3:
			kinds["short"]++
		case errors.Is(err, transfer.ErrFeedbackLength) && len(g) >= 9:
			kinds["long"]++
		default:
			t.Fatalf("garbage % x decodes with %v", g, err)
		}
	}
	for _, k := range []string{"magic", "short", "long"} {
		if kinds[k] < 60 {
			t.Fatalf("kinds %v: %s is rare or missing", kinds, k)
		}
	}
}

func TestLateAndDelayPostponeTheAnswer(t *testing.T) {
	tests := []struct {
		name string
		f    Faults
		want time.Duration
	}{
		{"on time", Faults{}, 0},
		{"delay", Faults{Delay: 20 * time.Millisecond}, 20 * time.Millisecond},
		{"late", Faults{Late: 1, LateBy: time.Second}, time.Second},
		{"late and delay", Faults{Late: 1, LateBy: time.Second, Delay: 20 * time.Millisecond}, time.Second + 20*time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := newSim(t, tt.f).Handle(resendBegin)
			if a.After != tt.want || len(a.Payloads) != 1 {
				t.Fatalf("After %v with %d answers, want %v with 1", a.After, len(a.Payloads), tt.want)
			}
		})
	}
}

func TestFaultsNeverTouchIgnoredFrames(t *testing.T) {
	all := Faults{Drop: 0.5, DropAck: 0.5, NAK: 0.5, Dup: 0.5, Garbage: 0.5, Late: 0.5, LateBy: time.Second, Seed: 1}
	noisy, quiet := newSim(t, all), newSim(t, all)
	for i := range 100 {
		if a, _ := noisy.Handle([]byte{0xEE, 0xEE}); len(a.Payloads) != 0 {
			t.Fatal("an ignored frame was answered")
		}
		a, _ := noisy.Handle(resendBegin)
		b, _ := quiet.Handle(resendBegin)
		// Ignored frames draw no random numbers, so both runs stay in step.
		if a.After != b.After || len(a.Payloads) != len(b.Payloads) {
			t.Fatalf("frame %d: ignored frames shifted the fault sequence", i)
		}
	}
	if st := noisy.Stats(); st.Ignored != 100 || st.Frames != 100 {
		t.Fatalf("stats %+v, want 100 ignored and 100 frames", st)
	}
}

func TestFaultSettingsAreValidated(t *testing.T) {
	bad := []Faults{{Drop: -0.1}, {NAK: 1.5}, {Late: 0.1}, {Delay: -time.Second}}
	for _, f := range bad {
		if _, err := NewSimulator(new(Device), f); !errors.Is(err, ErrBadFaults) {
			t.Errorf("%+v: err = %v, want ErrBadFaults", f, err)
		}
	}
}

func TestParseLate(t *testing.T) {
	tests := []struct {
		in   string
		p    float64
		by   time.Duration
		fail bool
	}{
		{"0.05:300ms", 0.05, 300 * time.Millisecond, false},
		{"1:2s", 1, 2 * time.Second, false},
		{"0.05", 0, 0, true},
		{"2:1s", 0, 0, true},
		{"0.1:soon", 0, 0, true},
		{"0.1:-1s", 0, 0, true},
	}
	for _, tt := range tests {
		p, by, err := ParseLate(tt.in)
		if (err != nil) != tt.fail || p != tt.p || by != tt.by {
			t.Errorf("ParseLate(%q) = %v, %v, %v", tt.in, p, by, err)
		}
	}
}
