// Package transfer speaks the BASE image protocol: it frames an image,
// sends it stop-and-wait over MQTT and reports every step as typed events.
package transfer

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"imagebeam/internal/human"
)

// Transfer errors. Each is wrapped with the details a user needs (which
// frame, how many tries, which limit), so errors.Is still works.
var (
	ErrNoAnswer   = errors.New("transfer: device did not answer")
	ErrIncomplete = errors.New("transfer: the device reported the image incomplete")
	ErrTooLarge   = errors.New("transfer: image too large for the protocol")
	ErrCanceled   = errors.New("transfer: cancelled")
	ErrLinkDown   = errors.New("transfer: broker connection lost")
	ErrSettings   = errors.New("transfer: invalid settings")
)

// Defaults of a device's transfer settings (the seed's values).
const (
	DefaultTimeout       = 5 * time.Second
	DefaultRetries       = 10
	DefaultReconnectWait = 60 * time.Second
	// MinAdaptiveTimeout is the floor of the adaptive timeout.
	MinAdaptiveTimeout = 50 * time.Millisecond
)

// Settings are a device's transfer settings.
type Settings struct {
	BeginName string        // file name announced in BEGIN; default "image.jpg"
	Chunk     int           // data bytes per DATA frame; default 1400
	Timeout   time.Duration // wait for feedback before resending; default 5 s
	// Adaptive derives the timeout from measured round trips (smoothed RTT
	// + 4 × variance, at least 50 ms, never above Timeout), like TCP's RTO.
	Adaptive bool
	// Retries is how many times one frame may be resent (timeouts and
	// status-0 answers together). 0 means never resend.
	Retries int
	// ReconnectWait bounds the wait for a lost broker connection; default 60 s.
	ReconnectWait time.Duration
}

// DefaultSettings returns the seed's settings.
func DefaultSettings() Settings {
	return Settings{
		BeginName:     DefaultBeginName,
		Chunk:         DefaultChunk,
		Timeout:       DefaultTimeout,
		Retries:       DefaultRetries,
		ReconnectWait: DefaultReconnectWait,
	}
}

// Validate reports the first setting out of range, in one sentence.
func (s Settings) Validate() error {
	switch {
	case s.Chunk < 1 || s.Chunk > MaxChunk:
		return fmt.Errorf("%w: chunk size %d is not between 1 and %d", ErrSettings, s.Chunk, MaxChunk)
	case s.Timeout <= 0:
		return fmt.Errorf("%w: timeout %s is not positive", ErrSettings, s.Timeout)
	case s.Retries < 0 || s.Retries > 1000:
		return fmt.Errorf("%w: retries %d is not between 0 and 1000", ErrSettings, s.Retries)
	case s.ReconnectWait < 0:
		return fmt.Errorf("%w: reconnect wait %s is negative", ErrSettings, s.ReconnectWait)
	}
	if err := CheckName(s.BeginName); err != nil {
		return fmt.Errorf("%w: %v", ErrSettings, err)
	}
	return nil
}

// Link is what the sender needs of an MQTT connection: publish a frame to
// the device, receive its feedback, and know whether the broker connection
// is up. *MQTTLink implements it; tests use a fake.
type Link interface {
	Publish(ctx context.Context, payload []byte) error
	Incoming() <-chan []byte
	// State reports the connection state, a channel closed at the next
	// change, and why the link is not up (nil when it is). StateRefused and
	// StateClosed are final.
	State() (LinkState, <-chan struct{}, error)
	// Addr is the broker, as it may be printed (without a login).
	Addr() string
	// Dropped counts feedback dropped because the sender lagged behind.
	Dropped() int64
}

// CheckSize reports whether an image of size bytes fits the protocol at
// this chunk size.
func CheckSize(size, chunk int) error {
	if limit := MaxImageSize(chunk); size > limit {
		return fmt.Errorf("%w: %d bytes is more than the %d bytes (%d chunks of %d) the protocol can carry", ErrTooLarge, size, limit, MaxChunks, chunk)
	}
	return nil
}

// Run sends image over link, stop-and-wait, and returns when the device
// has acknowledged FINISH, the transfer failed, or ctx is done. It reports
// every step on events (which may be nil); it blocks while events is full,
// so a consumer must keep reading until Run returns. Run never closes events.
func Run(ctx context.Context, link Link, image []byte, s Settings, events chan<- Event) (Stats, error) {
	r := &run{ctx: ctx, link: link, s: s, events: events, start: time.Now()}
	r.stats.Bytes = len(image)
	if s.ReconnectWait == 0 {
		r.s.ReconnectWait = DefaultReconnectWait
	}
	err := r.send(image)
	r.finish()
	if err != nil {
		r.emitFinal(Failed{Time: time.Now(), Err: err, Error: err.Error(), Stats: r.stats})
		return r.stats, err
	}
	r.emitFinal(Done{Time: time.Now(), Stats: r.stats})
	return r.stats, nil
}

type run struct {
	ctx    context.Context
	link   Link
	s      Settings
	events chan<- Event
	start  time.Time
	stats  Stats
	rtts   []time.Duration
	rto    rto
}

func (r *run) emit(e Event) {
	if r.events == nil {
		return
	}
	select {
	case r.events <- e:
	case <-r.ctx.Done():
		// Cancelled: the consumer may have stopped reading, so only the
		// final event (which it must read) still waits for room.
	}
}

// emitFinal sends Done or Failed; the consumer reads until Run returns,
// so this never waits forever, and the last event is never lost.
func (r *run) emitFinal(e Event) {
	if r.events != nil {
		r.events <- e
	}
}

func (r *run) send(image []byte) error {
	if err := r.s.Validate(); err != nil {
		return err
	}
	if err := CheckSize(len(image), r.s.Chunk); err != nil {
		return err
	}
	r.rto = newRTO(r.s.Timeout, r.s.Adaptive)
	n := ChunkCount(len(image), r.s.Chunk)
	r.stats.Packets = n
	r.rtts = make([]time.Duration, 0, n+2)

	if err := r.waitUp(errors.New("not connected to the broker yet")); err != nil {
		return err
	}
	r.emit(Connected{Time: time.Now(), Broker: r.link.Addr()})
	r.drain()

	if err := r.exchange(Frame{Function: FuncBegin, Data: BeginData(r.s.BeginName, len(image))}); err != nil {
		return err
	}
	for i := range n {
		lo := i * r.s.Chunk
		hi := min(lo+r.s.Chunk, len(image))
		if err := r.exchange(Frame{Function: FuncData, Number: i, Data: image[lo:hi]}); err != nil {
			return err
		}
		r.stats.AckedBytes = hi
		el := time.Since(r.start).Seconds()
		r.emit(Progress{Time: time.Now(), AckedBytes: hi, TotalBytes: len(image), AckedPackets: i + 1, TotalPackets: n, Rate: float64(hi) / max(el, 1e-9)})
	}
	return r.exchange(Frame{Function: FuncFinish})
}

// drain drops feedback left over from before this transfer (late answers
// to an earlier one), so it cannot be mistaken for an answer to BEGIN.
func (r *run) drain() {
	for {
		select {
		case <-r.link.Incoming():
			r.stats.Stale++
		default:
			return
		}
	}
}

// exchange is one frame's conversation with the device: publish it, await
// the answer or a cause of a miss, account for the miss, until the device
// acknowledges the frame or a limit is reached.
func (r *run) exchange(f Frame) error {
	x := &exchange{frame: f, payload: EncodeFrame(f)}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		cause, err := r.publish(x)
		if err == nil && cause == causeNone {
			cause, err = r.await(x, timer)
		}
		if err != nil || cause == causeNone {
			return err
		}
		if err := r.account(x, cause); err != nil {
			return err
		}
	}
}

// exchange is what the sender knows of one frame's conversation.
type exchange struct {
	frame   Frame
	payload []byte
	sentAt  time.Time
	changed <-chan struct{} // the link's state channel when the frame left
	retries int             // resends that spent a retry
	// Karn's rule: no RTT sample from a frame sent more than once.
	resent         bool
	timeouts, naks int
	detail         string // why the last send was lost, when known
	// Answers for other frames during this exchange: a device that numbers
	// its answers wrongly looks silent unless the failure says this.
	others     int
	firstOther Feedback
}

// causeNone is "no miss": the frame left, or the device acknowledged it.
const causeNone Cause = ""

// publish hands the frame to the broker. A link that is down, or goes down
// while paho holds the frame, costs no retry: wait for it, then send again.
// A publish that fails while the link says it is up (a write timeout) is a
// lost frame like any other: it comes back as a timeout, which spends a
// retry and backs off.
func (r *run) publish(x *exchange) (Cause, error) {
	for {
		_, changed, _ := r.link.State()
		err := r.link.Publish(r.ctx, x.payload)
		if err == nil {
			x.sentAt, x.changed = time.Now(), changed
			break
		}
		if r.ctx.Err() != nil {
			return causeNone, r.canceled()
		}
		if st, _, _ := r.link.State(); st == StateUp && !errors.Is(err, ErrNotConnected) {
			x.detail = err.Error()
			return CauseTimeout, nil
		}
		if err := r.waitUp(err); err != nil {
			return causeNone, err
		}
		r.resendAfterReconnect(x)
	}
	r.stats.FramesSent++
	r.emit(FrameSent{Time: x.sentAt, Function: x.frame.Function, Number: x.frame.Number, Bytes: len(x.frame.Data), Attempt: x.retries})
	return causeNone, nil
}

// await waits for the device's answer to the frame just sent: causeNone
// when it acknowledged the frame, else the cause of the miss.
func (r *run) await(x *exchange, timer *time.Timer) (Cause, error) {
	timer.Reset(r.rto.timeout())
	for {
		select {
		case <-r.ctx.Done():
			return causeNone, r.canceled()
		case <-x.changed:
			// Down, or down and up again: the frame or its answer may be lost.
			if err := r.waitUp(errors.New("connection state changed")); err != nil {
				return causeNone, err
			}
			return CauseReconnect, nil
		case <-timer.C:
			return CauseTimeout, nil
		case msg := <-r.link.Incoming():
			fb, ok := r.answer(x, msg)
			if !ok {
				continue
			}
			if fb.Status == StatusIncomplete {
				return CauseNAK, nil
			}
			rtt := time.Since(x.sentAt)
			if !x.resent {
				r.rtts = append(r.rtts, rtt)
				r.rto.sample(rtt)
			}
			r.stats.FramesAcked++
			r.emit(Acked{Time: time.Now(), Function: x.frame.Function, Number: x.frame.Number, RTT: rtt, RTTms: ms(rtt)})
			return causeNone, nil
		}
	}
}

// answer decodes msg and reports whether it answers the outstanding frame;
// malformed feedback and answers to other frames are counted and reported.
func (r *run) answer(x *exchange, msg []byte) (Feedback, bool) {
	fb, err := DecodeFeedback(msg)
	if err != nil {
		r.stats.Malformed++
		r.emit(Malformed{Time: time.Now(), Error: err.Error(), Payload: hex.EncodeToString(msg[:min(len(msg), 32)])})
		return fb, false
	}
	if fb.Function != x.frame.Function || fb.Number != x.frame.Number {
		if x.others == 0 {
			x.firstOther = fb
		}
		x.others++
		r.stats.Stale++
		r.emit(Stale{Time: time.Now(), Function: fb.Function, Number: fb.Number, Status: fb.Status})
		return fb, false
	}
	return fb, true
}

// account books a miss. A reconnect costs nothing; a timeout or a NAK
// spends one of the frame's retries, and fails the transfer when none is
// left.
func (r *run) account(x *exchange, cause Cause) error {
	if cause == CauseReconnect {
		r.resendAfterReconnect(x)
		return nil
	}
	if cause == CauseTimeout {
		x.timeouts++
		r.rto.backoff()
	} else {
		x.naks++
	}
	if x.retries >= r.s.Retries {
		return r.giveUp(x, cause)
	}
	x.retries++
	x.resent = true
	r.stats.Retransmits++
	if cause == CauseTimeout {
		r.stats.Timeouts++
	} else {
		r.stats.NAKs++
	}
	r.emit(Retry{Time: time.Now(), Function: x.frame.Function, Number: x.frame.Number, Attempt: x.retries, Cause: cause, Detail: x.detail})
	x.detail = ""
	return nil
}

// resendAfterReconnect counts and reports a resend that a broker outage
// caused; it spends no retry.
func (r *run) resendAfterReconnect(x *exchange) {
	x.resent = true
	r.stats.Reconnects++
	r.stats.Retransmits++
	r.emit(Retry{Time: time.Now(), Function: x.frame.Function, Number: x.frame.Number, Attempt: x.retries, Cause: CauseReconnect})
}

func (r *run) giveUp(x *exchange, last Cause) error {
	f := x.frame
	name := f.Function.String()
	if f.Function == FuncData {
		name = fmt.Sprintf("DATA %d", f.Number)
	}
	sends := x.retries + 1
	tries := fmt.Sprintf("%s was sent %d %s (%s, %s)", name, sends, human.Plural(sends, "time", "times"),
		human.Count(x.timeouts, "timeout", "timeouts"), human.Count(x.naks, "answer \"incomplete\"", "answers \"incomplete\""))
	if x.others > 0 {
		tries += fmt.Sprintf("; the device did answer, %s, but for other frames (the first: %s %d), so check the package numbers in its answers",
			human.Count(x.others, "time", "times"), x.firstOther.Function, x.firstOther.Number)
	}
	if f.Function == FuncFinish && last == CauseNAK {
		return fmt.Errorf("%w: %s", ErrIncomplete, tries)
	}
	return fmt.Errorf("%w: %s", ErrNoAnswer, tries)
}

// waitUp waits for the link to be up, at most ReconnectWait. A link in a
// final state (the broker refused the subscription, or the link was
// closed) fails at once with its reason.
func (r *run) waitUp(cause error) error {
	st, changed, why := r.link.State()
	if st == StateUp {
		return nil
	}
	if err := r.final(st, why); err != nil {
		return err
	}
	if cause != nil {
		r.emit(LinkDown{Time: time.Now(), Error: cause.Error()})
	}
	deadline := time.NewTimer(r.s.ReconnectWait)
	defer deadline.Stop()
	for st != StateUp {
		select {
		case <-r.ctx.Done():
			return r.canceled()
		case <-deadline.C:
			return fmt.Errorf("%w: %s did not come back within %s", ErrLinkDown, r.link.Addr(), r.s.ReconnectWait)
		case <-changed:
			st, changed, why = r.link.State()
			if err := r.final(st, why); err != nil {
				return err
			}
		}
	}
	return nil
}

// final is the error of a link that will never come up again, or nil.
func (r *run) final(st LinkState, why error) error {
	switch {
	case st == StateRefused && why != nil:
		return why
	case st == StateRefused:
		return fmt.Errorf("%w: %s refused the subscription", ErrNotAuthorized, r.link.Addr())
	case st == StateClosed:
		return ErrLinkClosed
	}
	return nil
}

func (r *run) canceled() error {
	return fmt.Errorf("%w after %d of %d bytes were acknowledged; the device may hold a partial image", ErrCanceled, r.stats.AckedBytes, r.stats.Bytes)
}

func (r *run) finish() {
	r.stats.Duration = time.Since(r.start)
	r.stats.DurationMs = ms(r.stats.Duration)
	if sec := r.stats.Duration.Seconds(); sec > 0 {
		r.stats.Throughput = float64(r.stats.AckedBytes) / sec
	}
	if len(r.rtts) > 0 {
		slices.Sort(r.rtts)
		r.stats.RTTMin = r.rtts[0]
		r.stats.RTTMedian = r.rtts[len(r.rtts)/2]
		r.stats.RTTP99 = r.rtts[min(len(r.rtts)-1, len(r.rtts)*99/100)]
		r.stats.RTTMinMs, r.stats.RTTMedianMs, r.stats.RTTP99Ms = ms(r.stats.RTTMin), ms(r.stats.RTTMedian), ms(r.stats.RTTP99)
	}
	r.stats.LinkDropped = int(r.link.Dropped())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// rto is the retransmission timeout: fixed, or adaptive as in RFC 6298.
type rto struct {
	fixed    time.Duration
	adaptive bool
	srtt     time.Duration
	rttvar   time.Duration
	cur      time.Duration
}

func newRTO(fixed time.Duration, adaptive bool) rto {
	return rto{fixed: fixed, adaptive: adaptive, cur: fixed}
}

func (r *rto) timeout() time.Duration { return r.cur }

func (r *rto) sample(rtt time.Duration) {
	if !r.adaptive {
		return
	}
	if r.srtt == 0 {
		r.srtt, r.rttvar = rtt, rtt/2
	} else {
		diff := r.srtt - rtt
		if diff < 0 {
			diff = -diff
		}
		r.rttvar = (3*r.rttvar + diff) / 4
		r.srtt = (7*r.srtt + rtt) / 8
	}
	r.cur = min(max(r.srtt+4*r.rttvar, MinAdaptiveTimeout), r.fixed)
}

// backoff doubles the adaptive timeout after a timeout, up to the fixed one.
func (r *rto) backoff() {
	if r.adaptive {
		r.cur = min(2*r.cur, r.fixed)
	}
}
