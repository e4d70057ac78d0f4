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

// progressSnap is one coalesced UI update of a transfer.
type progressSnap struct {
	phase        string // waiting, connecting, sending, done, failed, cancelled
	linkDown     string // the broker connection is down: why
	ackedPackets int
	totalPackets int
	ackedBytes   int
	totalBytes   int
	speed        float64 // bytes per second over the last second or so
	eta          time.Duration
	timeouts     int
	naks         int
	reconnects   int
	malformed    int
	stale        int
	lastSeen     time.Time // the device's last answer
	logs         []string  // lines since the previous update
	logsDropped  int       // lines left out of logs because there were too many
	final        bool
	err          error
	stats        transfer.Stats
}

// progressModel folds a transfer's events into what the card shows. It is
// owned by the transfer's consumer goroutine.
type progressModel struct {
	s       progressSnap
	samples []sample
}

type sample struct {
	t     time.Time
	bytes int
}

func (m *progressModel) add(e transfer.Event) {
	ts := e.At().Format("15:04:05.000") + "  "
	line := ""
	switch e := e.(type) {
	case transfer.Waiting:
		m.s.phase = "waiting"
		line = "waiting: another transfer is using this device"
	case transfer.Connected:
		m.s.phase = "sending"
		m.s.linkDown = ""
		line = "connected to " + e.Broker
	case transfer.FrameSent:
		if m.s.phase == "" || m.s.phase == "waiting" {
			m.s.phase = "sending"
		}
		line = fmt.Sprintf("sent %s %d (%d bytes)", e.Function, e.Number, e.Bytes)
		if e.Attempt > 0 {
			line += fmt.Sprintf(", resend %d", e.Attempt)
		}
	case transfer.Acked:
		m.s.lastSeen = e.Time
		line = fmt.Sprintf("ack %s %d in %.2f ms", e.Function, e.Number, e.RTTms)
	case transfer.Retry:
		switch e.Cause {
		case transfer.CauseTimeout:
			m.s.timeouts++
		case transfer.CauseNAK:
			m.s.naks++
			m.s.lastSeen = e.Time
		case transfer.CauseReconnect:
			m.s.reconnects++
		}
		line = fmt.Sprintf("retry %s %d: %s (attempt %d)", e.Function, e.Number, causeWords(e.Cause), e.Attempt)
		if e.Detail != "" {
			line += ": " + e.Detail
		}
	case transfer.Malformed:
		m.s.malformed++
		m.s.lastSeen = e.Time
		line = "ignored malformed feedback: " + e.Error + " [" + e.Payload + "]"
	case transfer.Stale:
		m.s.stale++
		m.s.lastSeen = e.Time
		line = fmt.Sprintf("ignored stale feedback %s %d status %d", e.Function, e.Number, e.Status)
	case transfer.LinkDown:
		m.s.linkDown = e.Error
		line = "broker connection down: " + e.Error
	case transfer.Progress:
		m.s.ackedPackets, m.s.totalPackets = e.AckedPackets, e.TotalPackets
		m.s.ackedBytes, m.s.totalBytes = e.AckedBytes, e.TotalBytes
		m.addSample(e.Time, e.AckedBytes)
	case transfer.Done:
		m.s.phase, m.s.stats = "done", e.Stats
		m.s.ackedBytes, m.s.totalBytes = e.Stats.AckedBytes, e.Stats.Bytes
		m.s.ackedPackets, m.s.totalPackets = e.Stats.Packets, e.Stats.Packets
		line = "done: the device acknowledged the whole image"
	case transfer.Failed:
		m.s.phase, m.s.stats, m.s.err = "failed", e.Stats, e.Err
		if errors.Is(e.Err, transfer.ErrCanceled) {
			m.s.phase = "cancelled"
		}
		if m.s.totalBytes == 0 {
			m.s.totalBytes = e.Stats.Bytes
		}
		line = "failed: " + e.Error
	}
	if line == "" {
		return
	}
	if len(m.s.logs) >= logLimit {
		m.s.logs = m.s.logs[1:]
		m.s.logsDropped++
	}
	m.s.logs = append(m.s.logs, ts+line)
}

// addSample keeps about a second of progress for the current speed.
func (m *progressModel) addSample(t time.Time, bytes int) {
	m.samples = append(m.samples, sample{t, bytes})
	for len(m.samples) > 2 && t.Sub(m.samples[0].t) > time.Second {
		m.samples = m.samples[1:]
	}
	first := m.samples[0]
	if dt := t.Sub(first.t).Seconds(); dt > 0 {
		m.s.speed = float64(bytes-first.bytes) / dt
		if m.s.speed > 0 {
			m.s.eta = time.Duration(float64(m.s.totalBytes-bytes) / m.s.speed * float64(time.Second))
		}
	}
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

// consume reads a transfer's events until the channel closes and calls
// apply with coalesced state: at most once per interval, and once more with
// the final state. It is the one consumer goroutine of a transfer.
func consume(events <-chan transfer.Event, interval time.Duration, apply func(progressSnap)) {
	var m progressModel
	tick := time.NewTicker(interval)
	defer tick.Stop()
	dirty := false
	for {
		select {
		case e, ok := <-events:
			if !ok {
				s := m.take()
				s.final = true
				if s.phase != "done" && s.phase != "failed" && s.phase != "cancelled" {
					s.phase = "failed"
					if s.err == nil {
						s.err = errors.New("the transfer ended without a result")
					}
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
