// Package transfertest holds a recorded transfer, faults included, that the
// window's, the command line's and the server's tests all feed to their
// faces, so they can check that each reports the same numbers and phase.
package transfertest

import (
	"fmt"
	"time"

	"imagebeam/transfer"
)

// Image is the recorded transfer's image size and chunk: 10 packets.
const (
	ImageBytes = 13000
	Chunk      = 1400
	Packets    = 10
	Broker     = transfer.DefaultBrokerURL
)

// Midway is how many events of Stream make the transfer half done: six
// packets acknowledged, every fault so far but the reconnect seen, and the
// broker connection down.
const Midway = 30

// MidwayWant is what every face must show after Stream()[:Midway].
var MidwayWant = Want{Phase: transfer.PhaseSending, AckedPackets: 6, AckedBytes: 6 * Chunk,
	Timeouts: 1, NAKs: 1, Malformed: 1, Stale: 1, LinkDown: "lost the connection to " + Broker + ": EOF"}

// EndWant is what every face must show after the whole Stream.
var EndWant = Want{Phase: transfer.PhaseDone, AckedPackets: Packets, AckedBytes: ImageBytes,
	Timeouts: 1, NAKs: 1, Reconnects: 1, Malformed: 1, Stale: 1}

// Want is what a face must report.
type Want struct {
	Phase                      transfer.Phase
	AckedPackets, AckedBytes   int
	Timeouts, NAKs, Reconnects int
	Malformed, Stale           int
	LinkDown                   string
}

// Retries is every resend, whatever its cause.
func (w Want) Retries() int { return w.Timeouts + w.NAKs + w.Reconnects }

// Start is when the recorded transfer began.
var Start = time.Date(2026, 11, 30, 9, 30, 0, 0, time.UTC)

// Stream is the recorded transfer: it waits for the device, connects, and
// meets a timeout (DATA 1), a malformed answer (DATA 2), a NAK (DATA 3), a
// stale answer (DATA 4), and a broker outage with a reconnect (DATA 6)
// before the device acknowledges the whole image. It is one function, a
// little over 50 lines, because it reads as the transfer's script, top to
// bottom in the order the events happen.
func Stream() []transfer.Event {
	var ev []transfer.Event
	at := Start
	tick := func() time.Time { at = at.Add(10 * time.Millisecond); return at }
	sent := func(f transfer.Function, n, bytes, attempt int) {
		ev = append(ev, transfer.FrameSent{Time: tick(), Function: f, Number: n, Bytes: bytes, Attempt: attempt})
	}
	acked := func(f transfer.Function, n int) {
		ev = append(ev, transfer.Acked{Time: tick(), Function: f, Number: n, RTT: 10 * time.Millisecond, RTTms: 10})
	}
	ev = append(ev, transfer.Waiting{Time: tick(), Device: Broker + " mqttTestPub mqttTestSub"},
		transfer.Connected{Time: tick(), Broker: Broker})
	sent(transfer.FuncBegin, 0, 17, 0)
	acked(transfer.FuncBegin, 0)
	for i := range Packets {
		size := min(Chunk, ImageBytes-i*Chunk)
		sent(transfer.FuncData, i, size, 0)
		switch i {
		case 1:
			ev = append(ev, transfer.Retry{Time: tick(), Function: transfer.FuncData, Number: i, Attempt: 1, Cause: transfer.CauseTimeout})
			sent(transfer.FuncData, i, size, 1)
		case 2:
			ev = append(ev, transfer.Malformed{Time: tick(), Error: "transfer: feedback is 3 bytes, want 8", Payload: "0a0b0c"})
		case 3:
			ev = append(ev, transfer.Retry{Time: tick(), Function: transfer.FuncData, Number: i, Attempt: 1, Cause: transfer.CauseNAK})
			sent(transfer.FuncData, i, size, 1)
		case 4:
			ev = append(ev, transfer.Stale{Time: tick(), Function: transfer.FuncData, Number: 2, Status: transfer.StatusWhole})
		case 6:
			ev = append(ev, transfer.LinkDown{Time: tick(), Error: "lost the connection to " + Broker + ": EOF"},
				transfer.Connected{Time: tick(), Broker: Broker},
				transfer.Retry{Time: tick(), Function: transfer.FuncData, Number: i, Attempt: 0, Cause: transfer.CauseReconnect})
			sent(transfer.FuncData, i, size, 0)
		}
		acked(transfer.FuncData, i)
		acked := min((i+1)*Chunk, ImageBytes)
		el := at.Sub(Start).Seconds()
		ev = append(ev, transfer.Progress{Time: tick(), AckedBytes: acked, TotalBytes: ImageBytes, AckedPackets: i + 1, TotalPackets: Packets, Rate: float64(acked) / el})
	}
	sent(transfer.FuncFinish, 0, 0, 0)
	acked(transfer.FuncFinish, 0)
	d := at.Sub(Start)
	ev = append(ev, transfer.Done{Time: tick(), Stats: transfer.Stats{
		Bytes: ImageBytes, Packets: Packets, FramesSent: 15, FramesAcked: 12, AckedBytes: ImageBytes,
		Retransmits: 3, Timeouts: 1, NAKs: 1, Reconnects: 1, Malformed: 1, Stale: 1,
		Duration: d, DurationMs: float64(d) / 1e6, Throughput: ImageBytes / d.Seconds(),
		RTTMin: 10 * time.Millisecond, RTTMedian: 10 * time.Millisecond, RTTP99: 10 * time.Millisecond,
		RTTMinMs: 10, RTTMedianMs: 10, RTTP99Ms: 10,
	}})
	return ev
}

// Failed is a transfer that the device never answered, for faces' failure
// views: BEGIN sent twice.
func Failed() []transfer.Event {
	err := fmt.Errorf("%w: BEGIN was sent 2 times (2 timeouts, 0 answers \"incomplete\")", transfer.ErrNoAnswer)
	return []transfer.Event{
		transfer.Connected{Time: Start, Broker: Broker},
		transfer.FrameSent{Time: Start, Function: transfer.FuncBegin},
		transfer.Retry{Time: Start, Function: transfer.FuncBegin, Attempt: 1, Cause: transfer.CauseTimeout},
		transfer.FrameSent{Time: Start, Function: transfer.FuncBegin, Attempt: 1},
		transfer.Failed{Time: Start, Err: err, Error: err.Error(), Stats: transfer.Stats{Bytes: ImageBytes, Packets: Packets, FramesSent: 2, Retransmits: 1, Timeouts: 1}},
	}
}
