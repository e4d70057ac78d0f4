package gui

import (
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
	logs        []logLine // lines since the previous update
	logsDropped int       // lines left out of logs because there were too many
	final       bool
}

// progressModel folds a transfer's events into what the card shows. It is
// owned by the transfer's consumer goroutine.
type progressModel struct {
	s progressSnap
}

func (m *progressModel) add(e transfer.Event) {
	m.s.Add(e)
	if _, ok := e.(transfer.Progress); ok {
		return // the bar shows it
	}
	if len(m.s.logs) >= logLimit {
		m.s.logs = m.s.logs[1:]
		m.s.logsDropped++
	}
	m.s.logs = append(m.s.logs, logLine{e})
}

// logLine is one line of a transfer's event log: an event, written in the
// window's language on screen (shown) and in English when copied or saved
// (exported), so that a bug report reads the same for everyone.
type logLine struct{ ev transfer.Event }

func (l logLine) shown() string    { return l.in(ui, false) }
func (l logLine) exported() string { return l.in(english, true) }

// in writes the line in w's words, with the lower layers' English error
// text when raw, their sentence in w's language otherwise.
func (l logLine) in(w *words, raw bool) string {
	reason := func(err error, text string) string {
		if raw || err == nil {
			return text
		}
		return w.errorText(err)
	}
	var line string
	switch e := l.ev.(type) {
	case transfer.Waiting:
		line = w.t("log.waiting")
	case transfer.Connected:
		line = w.t("log.connected", args{"Broker": e.Broker})
	case transfer.FrameSent:
		a := args{"Function": e.Function.String(), "Number": e.Number, "Size": w.n("unit.bytes", e.Bytes), "Attempt": e.Attempt}
		line = w.t("log.sent", a)
		if e.Attempt > 0 {
			line = w.t("log.resent", a)
		}
	case transfer.Acked:
		line = w.t("log.acked", args{"Function": e.Function.String(), "Number": e.Number, "RTT": millis(w, e.RTT, 2)})
	case transfer.Retry:
		a := args{"Function": e.Function.String(), "Number": e.Number, "Attempt": e.Attempt, "Cause": causeWords(w, e.Cause), "Detail": e.Detail}
		line = w.t("log.retry", a)
		if e.Detail != "" {
			line = w.t("log.retry_detail", a)
		}
	case transfer.Malformed:
		line = w.t("log.malformed", args{"Detail": e.Error, "Payload": e.Payload})
	case transfer.Stale:
		line = w.t("log.stale", args{"Function": e.Function.String(), "Number": e.Number, "Status": e.Status})
	case transfer.LinkDown:
		line = w.t("log.link_down", args{"Detail": e.Error})
	case transfer.Done:
		line = w.t("log.done")
	case transfer.Failed:
		line = w.t("log.failed", args{"Reason": reason(e.Err, e.Error)})
	default:
		line = e.Kind()
	}
	return l.ev.At().Format("15:04:05.000") + "  " + line
}

// take returns the state for the UI and starts a new batch of log lines.
func (m *progressModel) take() progressSnap {
	s := m.s
	m.s.logs = nil
	m.s.logsDropped = 0
	return s
}

// causeWords says why a frame is sent again.
func causeWords(w *words, c transfer.Cause) string {
	switch c {
	case transfer.CauseTimeout:
		return w.t("cause.timeout")
	case transfer.CauseNAK:
		return w.t("cause.nak")
	case transfer.CauseReconnect:
		return w.t("cause.reconnect")
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
					s.Phase, s.Err = transfer.PhaseFailed, newError("transfer.error.no_result")
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
