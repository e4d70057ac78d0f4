package transfer

import (
	"errors"
	"time"
)

// Phase is where a transfer stands.
type Phase string

// Phases, in the order a transfer passes through them. The final ones are
// also what the window's history file records as a transfer's result.
const (
	PhaseConnecting Phase = "connecting" // locking the device and connecting; the zero Tally's phase
	PhaseWaiting    Phase = "waiting"    // another transfer is sending to the device
	PhaseSending    Phase = "sending"
	PhaseDone       Phase = "done"      // the device acknowledged the whole image
	PhaseFailed     Phase = "failed"    // see Tally.Err
	PhaseCancelled  Phase = "cancelled" // failed with ErrCanceled: the device may hold part of the image
)

// Final reports whether no event can follow.
func (p Phase) Final() bool { return p == PhaseDone || p == PhaseFailed || p == PhaseCancelled }

// Tally folds one transfer's events into everything a person is shown of
// it: phase, progress, retries by cause, ignored feedback, speed, time
// left, and the result. The window's cards and history, the CLI's bar, log
// and summary and the server's transfer records all read a Tally, so a
// transfer shows the same numbers everywhere. Add it events in order; a
// Tally is not safe for concurrent use.
type Tally struct {
	Phase  Phase
	Broker string // the broker, as Connected named it
	// LinkDown says why the broker connection is down; "" while it is up.
	LinkDown     string
	AckedPackets int
	// Stats counts as the events arrive (Bytes and Packets are the totals)
	// and is the engine's own summary once the transfer has ended.
	Stats Stats
	// Speed is image bytes acknowledged per second over about the last
	// second; ETA the time left at that speed. Both are 0 until known.
	Speed    float64
	ETA      time.Duration
	LastSeen time.Time // the device's last answer of any kind
	Err      error     // why it failed

	samples []rateSample
}

type rateSample struct {
	t     time.Time
	bytes int
}

// NewTally is the Tally of a transfer of size bytes in chunks of chunk
// bytes that has not started: connecting, nothing acknowledged.
func NewTally(size, chunk int) Tally {
	t := Tally{Phase: PhaseConnecting}
	t.Stats.Bytes = size
	if chunk > 0 {
		t.Stats.Packets = ChunkCount(size, chunk)
	}
	return t
}

// Add folds one event in.
func (t *Tally) Add(e Event) {
	if t.Phase == "" {
		t.Phase = PhaseConnecting
	}
	switch e := e.(type) {
	case Waiting:
		t.Phase = PhaseWaiting
	case Connected:
		t.Phase, t.Broker, t.LinkDown = PhaseSending, e.Broker, ""
	case FrameSent:
		t.Phase = PhaseSending
		t.Stats.FramesSent++
	case Acked:
		t.Stats.FramesAcked++
		t.LastSeen = e.Time
	case Retry:
		t.addRetry(e)
	case Malformed:
		t.Stats.Malformed++
		t.LastSeen = e.Time
	case Stale:
		t.Stats.Stale++
		t.LastSeen = e.Time
	case LinkDown:
		t.LinkDown = e.Error
	case Progress:
		t.AckedPackets = e.AckedPackets
		t.Stats.AckedBytes, t.Stats.Bytes, t.Stats.Packets = e.AckedBytes, e.TotalBytes, e.TotalPackets
		t.addSample(e.Time, e.AckedBytes)
	case Done:
		t.Phase, t.Stats, t.Err = PhaseDone, e.Stats, nil
		t.AckedPackets, t.Speed, t.ETA, t.LinkDown = e.Stats.Packets, 0, 0, ""
	case Failed:
		t.fail(e)
	}
}

func (t *Tally) addRetry(e Retry) {
	t.Stats.Retransmits++
	switch e.Cause {
	case CauseTimeout:
		t.Stats.Timeouts++
	case CauseNAK:
		t.Stats.NAKs++
		t.LastSeen = e.Time
	case CauseReconnect:
		t.Stats.Reconnects++
	}
}

// fail keeps what was counted when the engine's stats know less (a
// transfer that failed before it started carries only the image size).
func (t *Tally) fail(e Failed) {
	t.Phase, t.Err, t.Speed, t.ETA = PhaseFailed, e.Err, 0, 0
	if errors.Is(e.Err, ErrCanceled) {
		t.Phase = PhaseCancelled
	}
	packets := t.Stats.Packets
	t.Stats = e.Stats
	if t.Stats.Packets == 0 {
		t.Stats.Packets = packets
	}
}

// addSample keeps about a second of progress for the current speed.
func (t *Tally) addSample(at time.Time, bytes int) {
	t.samples = append(t.samples, rateSample{at, bytes})
	for len(t.samples) > 2 && at.Sub(t.samples[0].t) > time.Second {
		t.samples = t.samples[1:]
	}
	first := t.samples[0]
	if dt := at.Sub(first.t).Seconds(); dt > 0 && bytes > first.bytes {
		t.Speed = float64(bytes-first.bytes) / dt
		t.ETA = time.Duration(float64(t.Stats.Bytes-bytes) / t.Speed * float64(time.Second))
	}
}

// Retries is how many resends one cause made.
func (t Tally) Retries(c Cause) int {
	switch c {
	case CauseTimeout:
		return t.Stats.Timeouts
	case CauseNAK:
		return t.Stats.NAKs
	case CauseReconnect:
		return t.Stats.Reconnects
	}
	return 0
}

// Fraction is the part of the image acknowledged, from 0 to 1 (1 for an
// empty image that is done).
func (t Tally) Fraction() float64 {
	switch {
	case t.Phase == PhaseDone:
		return 1
	case t.Stats.Bytes <= 0:
		return 0
	}
	return float64(t.Stats.AckedBytes) / float64(t.Stats.Bytes)
}
