package simdevice

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"imagebeam/transfer"
)

// ErrBadFaults means a fault setting is out of range.
var ErrBadFaults = errors.New("simdevice: bad fault setting")

// Faults says how often the simulated device misbehaves. Probabilities run
// from 0 (never) to 1 (always) and are drawn per answered frame; frames
// the device ignores (wrong magic, too short, unknown function) are never
// subject to faults.
type Faults struct {
	Drop    float64       // the frame is lost on the way in: no processing, no answer
	DropAck float64       // the frame is processed, its answer is lost
	NAK     float64       // the frame is answered with status 0 and not processed
	Dup     float64       // the answer is sent twice
	Garbage float64       // a malformed feedback goes out before the answer
	Late    float64       // the answer is held back LateBy, past the sender's timeout
	LateBy  time.Duration // how long a late answer is held back
	Delay   time.Duration // added before every answer
	// Seed makes the faults repeat from run to run; every seed, 0 too, is
	// a valid one.
	Seed uint64
}

// Validate reports a probability outside [0, 1], a negative duration, or
// late answers without a duration.
func (f Faults) Validate() error {
	for _, p := range []struct {
		name string
		v    float64
	}{{"drop", f.Drop}, {"drop-ack", f.DropAck}, {"nak", f.NAK}, {"dup", f.Dup}, {"garbage", f.Garbage}, {"late", f.Late}} {
		if !(p.v >= 0 && p.v <= 1) { // also rejects NaN
			return fmt.Errorf("%w: %s probability %v is not between 0 and 1", ErrBadFaults, p.name, p.v)
		}
	}
	if f.LateBy < 0 || f.Delay < 0 {
		return fmt.Errorf("%w: durations cannot be negative", ErrBadFaults)
	}
	if f.Late > 0 && f.LateBy == 0 {
		return fmt.Errorf("%w: late answers need a duration, e.g. 0.05:300ms", ErrBadFaults)
	}
	return nil
}

// ParseLate parses the "P:DURATION" form of --late, e.g. "0.05:300ms".
func ParseLate(s string) (p float64, by time.Duration, err error) {
	ps, ds, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, fmt.Errorf("%w: late %q is not P:DURATION, e.g. 0.05:300ms", ErrBadFaults, s)
	}
	if p, err = strconv.ParseFloat(ps, 64); err != nil || !(p >= 0 && p <= 1) {
		return 0, 0, fmt.Errorf("%w: late probability %q is not a number between 0 and 1", ErrBadFaults, ps)
	}
	if by, err = time.ParseDuration(ds); err != nil || by < 0 {
		return 0, 0, fmt.Errorf("%w: late duration %q is not a duration like 300ms", ErrBadFaults, ds)
	}
	return p, by, nil
}

// Answer is what the device sends for one frame: Payloads in order, all
// After the frame arrived. An empty Payloads means silence.
type Answer struct {
	Payloads [][]byte
	After    time.Duration
}

// Stats counts what a Simulator did. Frames counts the frames it answers
// or would have answered; each fault counter counts frames it hit.
type Stats struct {
	Frames, Ignored                         int
	Dropped, AcksDropped, NAKs, Dups, Lates int
	Garbage                                 int
	Images                                  int
}

// Simulator puts a fault injector in front of a Device. It is pure like
// the Device: timing is returned in Answer.After, never waited for, so
// tests of the faults need no clock. A Simulator is not safe for
// concurrent use.
type Simulator struct {
	dev    *Device
	faults Faults
	rng    *rand.Rand
	stats  Stats
}

// NewSimulator returns a Simulator for dev with faults seeded from
// faults.Seed. It returns ErrBadFaults for settings out of range.
func NewSimulator(dev *Device, faults Faults) (*Simulator, error) {
	if err := faults.Validate(); err != nil {
		return nil, err
	}
	// The second PCG word is fixed so that one number, --seed, names a run.
	rng := rand.New(rand.NewPCG(faults.Seed, 0x696d616765626561))
	return &Simulator{dev: dev, faults: faults, rng: rng}, nil
}

// Stats returns the counters so far.
func (s *Simulator) Stats() Stats { return s.stats }

// Handle passes one payload through the faults and the Device. img is set
// as by Device.Handle.
func (s *Simulator) Handle(payload []byte) (Answer, *Image) {
	f, ok := decode(payload)
	if !ok {
		s.stats.Ignored++
		return Answer{}, nil
	}
	s.stats.Frames++
	// Every answered frame draws the same numbers in the same order, so
	// raising one probability does not reshuffle the others' choices.
	drop := s.hit(s.faults.Drop)
	nak := s.hit(s.faults.NAK)
	dropAck := s.hit(s.faults.DropAck)
	dup := s.hit(s.faults.Dup)
	late := s.hit(s.faults.Late)
	garbage := s.hit(s.faults.Garbage)
	kind := s.rng.IntN(3)
	extra := 1 + s.rng.IntN(8)

	if drop {
		s.stats.Dropped++
		return Answer{}, nil
	}
	var reply []byte
	var img *Image
	if nak {
		s.stats.NAKs++
		reply = feedback(f.Frame, transfer.StatusIncomplete)
	} else {
		reply, img = s.dev.Handle(payload)
		if img != nil {
			s.stats.Images++
		}
	}
	a := Answer{After: s.faults.Delay}
	if garbage {
		s.stats.Garbage++
		a.Payloads = append(a.Payloads, malformed(reply, kind, extra))
	}
	if dropAck {
		s.stats.AcksDropped++
	} else {
		a.Payloads = append(a.Payloads, reply)
		if dup {
			s.stats.Dups++
			a.Payloads = append(a.Payloads, reply)
		}
	}
	if late && len(a.Payloads) > 0 {
		s.stats.Lates++
		a.After += s.faults.LateBy
	}
	return a, img
}

func (s *Simulator) hit(p float64) bool { return s.rng.Float64() < p }

// Kinds of malformed feedback.
const (
	garbageMagic = iota // the right length, the frame magic instead of the feedback magic
	garbageShort        // 3 bytes: the payload that killed the seed's network thread
	garbageLong         // the real answer followed by 1 to 8 more bytes
)

// malformed derives a malformed feedback from a real one, so that a sender
// that skips a check would act on it and get caught.
func malformed(reply []byte, kind, extra int) []byte {
	switch kind {
	case garbageMagic:
		b := append([]byte(nil), reply...)
		b[0], b[1], b[2], b[3] = 0xEE, 0xEE, 0xFF, 0xFF
		return b
	case garbageShort:
		return append([]byte(nil), reply[:3]...)
	}
	b := append([]byte(nil), reply...)
	for i := range extra {
		b = append(b, byte(i+1))
	}
	return b
}
