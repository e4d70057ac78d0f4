package transfer

import (
	"encoding/json"
	"time"
)

// Event is one thing that happened during a transfer. The concrete types
// below are the whole set; consumers switch on them. Every event has a
// documented JSON form (docs/EVENTS.md) produced by MarshalJSON: an object
// whose "type" field names the event.
type Event interface {
	// Kind is the event's JSON "type".
	Kind() string
	// At is when the event happened.
	At() time.Time
}

// Waiting: another transfer holds the device (same broker and topics).
type Waiting struct {
	Time   time.Time `json:"time"`
	Device string    `json:"device"` // "to-topic ↔ from-topic on broker"
}

// Connected: the link to the broker is up and subscribed to the feedback topic.
type Connected struct {
	Time   time.Time `json:"time"`
	Broker string    `json:"broker"`
}

// FrameSent: a frame went to the broker. Attempt is 0 for the first send.
type FrameSent struct {
	Time     time.Time `json:"time"`
	Function Function  `json:"function"`
	Number   int       `json:"number"`
	Bytes    int       `json:"bytes"` // data bytes in the frame
	Attempt  int       `json:"attempt"`
}

// Acked: the device answered the outstanding frame with status 1.
type Acked struct {
	Time     time.Time     `json:"time"`
	Function Function      `json:"function"`
	Number   int           `json:"number"`
	RTT      time.Duration `json:"-"`
	RTTms    float64       `json:"rtt_ms"`
}

// Cause is why a frame is sent again.
type Cause string

// Retry causes.
const (
	CauseTimeout   Cause = "timeout"   // no matching feedback within the timeout, or the broker did not take the frame
	CauseNAK       Cause = "nak"       // the device answered status 0
	CauseReconnect Cause = "reconnect" // the broker connection dropped; does not spend a retry
)

// Retry: the outstanding frame is about to be sent again.
type Retry struct {
	Time     time.Time `json:"time"`
	Function Function  `json:"function"`
	Number   int       `json:"number"`
	Attempt  int       `json:"attempt"` // the attempt about to be made, 1 for the first resend
	Cause    Cause     `json:"cause"`
	Detail   string    `json:"detail,omitempty"` // why the frame was lost, when known (a publish error)
}

// Malformed: feedback that is not 8 well-formed bytes was ignored.
type Malformed struct {
	Time    time.Time `json:"time"`
	Error   string    `json:"error"`
	Payload string    `json:"payload_hex"` // the first 32 bytes, hex-encoded
}

// Stale: well-formed feedback that does not answer the outstanding frame
// (a duplicate or late ack) was ignored.
type Stale struct {
	Time     time.Time `json:"time"`
	Function Function  `json:"function"`
	Number   int       `json:"number"`
	Status   Status    `json:"status"`
}

// LinkDown: the broker connection dropped; the sender waits for the
// reconnect without spending retries.
type LinkDown struct {
	Time  time.Time `json:"time"`
	Error string    `json:"error"`
}

// Progress: how much of the image the device has acknowledged.
type Progress struct {
	Time         time.Time `json:"time"`
	AckedBytes   int       `json:"acked_bytes"`
	TotalBytes   int       `json:"total_bytes"`
	AckedPackets int       `json:"acked_packets"` // DATA frames acknowledged
	TotalPackets int       `json:"total_packets"`
	Rate         float64   `json:"rate"` // image bytes per second since the first frame
}

// Done: the device acknowledged FINISH with status 1.
type Done struct {
	Time  time.Time `json:"time"`
	Stats Stats     `json:"stats"`
}

// Failed: the transfer ended without the device's ack(3, 0, 1).
type Failed struct {
	Time  time.Time `json:"time"`
	Err   error     `json:"-"`
	Error string    `json:"error"`
	Stats Stats     `json:"stats"`
}

// Kind and At for every event type.

func (e Waiting) Kind() string   { return "waiting" }
func (e Connected) Kind() string { return "connected" }
func (e FrameSent) Kind() string { return "frame_sent" }
func (e Acked) Kind() string     { return "acked" }
func (e Retry) Kind() string     { return "retry" }
func (e Malformed) Kind() string { return "malformed" }
func (e Stale) Kind() string     { return "stale" }
func (e LinkDown) Kind() string  { return "link_down" }
func (e Progress) Kind() string  { return "progress" }
func (e Done) Kind() string      { return "done" }
func (e Failed) Kind() string    { return "failed" }

func (e Waiting) At() time.Time   { return e.Time }
func (e Connected) At() time.Time { return e.Time }
func (e FrameSent) At() time.Time { return e.Time }
func (e Acked) At() time.Time     { return e.Time }
func (e Retry) At() time.Time     { return e.Time }
func (e Malformed) At() time.Time { return e.Time }
func (e Stale) At() time.Time     { return e.Time }
func (e LinkDown) At() time.Time  { return e.Time }
func (e Progress) At() time.Time  { return e.Time }
func (e Done) At() time.Time      { return e.Time }
func (e Failed) At() time.Time    { return e.Time }

// MarshalJSON for every event type: the fields plus "type".

func (e Waiting) MarshalJSON() ([]byte, error)   { type p Waiting; return typed(e, p(e)) }
func (e Connected) MarshalJSON() ([]byte, error) { type p Connected; return typed(e, p(e)) }
func (e FrameSent) MarshalJSON() ([]byte, error) { type p FrameSent; return typed(e, p(e)) }
func (e Acked) MarshalJSON() ([]byte, error)     { type p Acked; return typed(e, p(e)) }
func (e Retry) MarshalJSON() ([]byte, error)     { type p Retry; return typed(e, p(e)) }
func (e Malformed) MarshalJSON() ([]byte, error) { type p Malformed; return typed(e, p(e)) }
func (e Stale) MarshalJSON() ([]byte, error)     { type p Stale; return typed(e, p(e)) }
func (e LinkDown) MarshalJSON() ([]byte, error)  { type p LinkDown; return typed(e, p(e)) }
func (e Progress) MarshalJSON() ([]byte, error)  { type p Progress; return typed(e, p(e)) }
func (e Done) MarshalJSON() ([]byte, error)      { type p Done; return typed(e, p(e)) }
func (e Failed) MarshalJSON() ([]byte, error)    { type p Failed; return typed(e, p(e)) }

// typed marshals plain (the event without its methods) and puts the
// event's kind first as "type".
func typed(e Event, plain any) ([]byte, error) {
	b, err := json.Marshal(plain)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(b)+24)
	out = append(out, `{"type":"`...)
	out = append(out, e.Kind()...)
	out = append(out, '"')
	if len(b) > 2 {
		out = append(out, ',')
	}
	return append(out, b[1:]...), nil
}

// MarshalText names a function in JSON ("BEGIN", "DATA", "FINISH").
func (f Function) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// Stats sums up a transfer.
type Stats struct {
	Bytes       int           `json:"bytes"`        // image size
	Packets     int           `json:"packets"`      // DATA frames in the image
	FramesSent  int           `json:"frames_sent"`  // every publish, retransmissions included
	FramesAcked int           `json:"frames_acked"` // BEGIN, DATA and FINISH acknowledged
	AckedBytes  int           `json:"acked_bytes"`  // image bytes the device acknowledged
	Retransmits int           `json:"retransmits"`  // Timeouts + NAKs + Reconnects
	Timeouts    int           `json:"timeouts"`     // resends after no feedback in time
	NAKs        int           `json:"naks"`         // resends after status 0
	Reconnects  int           `json:"reconnects"`   // resends after the broker connection came back
	Malformed   int           `json:"malformed"`    // feedback ignored as malformed
	Stale       int           `json:"stale"`        // feedback ignored as not answering the outstanding frame
	LinkDropped int           `json:"link_dropped"` // messages the link dropped because the sender lagged
	Duration    time.Duration `json:"-"`
	DurationMs  float64       `json:"duration_ms"`
	Throughput  float64       `json:"throughput"` // image bytes per second
	RTTMin      time.Duration `json:"-"`
	RTTMedian   time.Duration `json:"-"`
	RTTP99      time.Duration `json:"-"`
	RTTMinMs    float64       `json:"rtt_min_ms"`
	RTTMedianMs float64       `json:"rtt_median_ms"`
	RTTP99Ms    float64       `json:"rtt_p99_ms"`
}
