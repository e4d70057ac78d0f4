package gui

import (
	"errors"
	"fmt"
	"time"

	"imagebeam/transfer"
)

// uiInterval bounds how often one transfer updates its widgets: at most
// ~30 times a second, however fast the link acknowledges frames.
const uiInterval = 33 * time.Millisecond

// logLimit bounds a transfer's event log, so a long session stays light.
const logLimit = 500

// progressSnap is one coalesced UI update of a transfer: its tally and
// the event log lines since the previous update.
type progressSnap struct {
	transfer.Tally
	logs        []string // lines since the previous update
	logsDropped int      // lines left out of logs because there were too many
	final       bool
}

// progressModel folds a transfer's events into what the card shows. It is
// owned by the transfer's consumer goroutine.
type progressModel struct {
	s progressSnap
}

func (m *progressModel) add(e transfer.Event) {
	m.s.Add(e)
	line := logLine(e)
	if line == "" {
		return
	}
	if len(m.s.logs) >= logLimit {
		m.s.logs = m.s.logs[1:]
		m.s.logsDropped++
	}
	m.s.logs = append(m.s.logs, e.At().Format("15:04:05.000")+"  "+line)
}

// logLine is the event log's sentence for e; "" for events it leaves out
// (progress, which the bar shows).
func logLine(e transfer.Event) string {
	switch e := e.(type) {
	case transfer.Waiting:
		return "waiting: another transfer is using this device"
	case transfer.Connected:
		return "connected to " + e.Broker
	case transfer.FrameSent:
		line := fmt.Sprintf("sent %s %d (%d bytes)", e.Function, e.Number, e.Bytes)
		if e.Attempt > 0 {
			line += fmt.Sprintf(", resend %d", e.Attempt)
		}
		return line
	case transfer.Acked:
		return fmt.Sprintf("ack %s %d in %.2f ms", e.Function, e.Number, e.RTTms)
	case transfer.Retry:
		line := fmt.Sprintf("retry %s %d: %s (attempt %d)", e.Function, e.Number, causeWords(e.Cause), e.Attempt)
		if e.Detail != "" {
			line += ": " + e.Detail
		}
		return line
	case transfer.Malformed:
		return "ignored malformed feedback: " + e.Error + " [" + e.Payload + "]"
	case transfer.Stale:
		return fmt.Sprintf("ignored stale feedback %s %d status %d", e.Function, e.Number, e.Status)
	case transfer.LinkDown:
		return "broker connection down: " + e.Error
	case transfer.Done:
		return "done: the device acknowledged the whole image"
	case transfer.Failed:
		return "failed: " + e.Error
	}
	return ""
}

// take returns the state for the UI and starts a new batch of log lines.
func (m *progressModel) take() progressSnap {
	s := m.s
	m.s.logs = nil
	m.s.logsDropped = 0
	return s
}

func causeWords(c transfer.Cause) string {
	switch c {
	case transfer.CauseTimeout:
		return "no answer in time"
	case transfer.CauseNAK:
		return "device answered \"incomplete\" (NAK)"
	case transfer.CauseReconnect:
		return "broker connection came back"
	}
	return string(c)
}

// consume reads a transfer's events, folding them into start, until the
// channel closes and calls apply with coalesced state: at most once per interval, and once more with
// the final state. It is the one consumer goroutine of a transfer.
func consume(events <-chan transfer.Event, start transfer.Tally, interval time.Duration, apply func(progressSnap)) {
	m := progressModel{s: progressSnap{Tally: start}}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	dirty := false
	for {
		select {
		case e, ok := <-events:
			if !ok {
				s := m.take()
				s.final = true
				if !s.Phase.Final() {
					s.Phase, s.Err = transfer.PhaseFailed, errors.New("the transfer ended without a result")
				}
				apply(s)
				return
			}
			m.add(e)
			dirty = true
		case <-tick.C:
			if dirty {
				apply(m.take())
				dirty = false
			}
		}
	}
}
