package cli

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"imagebeam/transfer"
	"imagebeam/transfer/transfertest"
)

// TestSendShowsTheRecordedTransfer feeds the recorded transfer (the one
// the window's and the server's tests feed too) to send's progress bar,
// plain log and summary: midway and at the end they show the numbers every
// face must show.
func TestSendShowsTheRecordedTransfer(t *testing.T) {
	stream := transfertest.Stream()
	var barOut, logOut bytes.Buffer
	bar, log := newProgressBar(&barOut), newPlainLog(&logOut)
	tally := transfer.NewTally(transfertest.ImageBytes, transfertest.Chunk)
	feed := func(events []transfer.Event) {
		for _, e := range events {
			tally.Add(e)
			bar.last = bar.last.AddDate(-1, 0, 0) // draw every update: no throttling in a test
			bar.show(tally, e)
			log.show(tally, e)
		}
	}
	lastBar := func() string {
		lines := strings.Split(barOut.String(), "\r\033[K")
		for i := len(lines) - 1; i >= 0; i-- {
			if strings.HasPrefix(lines[i], "[") {
				return lines[i]
			}
		}
		return ""
	}
	feed(stream[:transfertest.Midway])
	mid := transfertest.MidwayWant
	if want := fmt.Sprintf("%d/%d packets", mid.AckedPackets, transfertest.Packets); !strings.Contains(lastBar(), want) ||
		!strings.Contains(lastBar(), fmt.Sprintf("%d retries", mid.Retries())) {
		t.Errorf("midway the bar shows %q, want %s and %d retries", lastBar(), want, mid.Retries())
	}
	if !strings.Contains(barOut.String(), "waiting for the broker: "+mid.LinkDown) {
		t.Errorf("the bar does not say the broker connection is down: %q", barOut.String())
	}
	if want := fmt.Sprintf("(%d/%d packets", mid.AckedPackets, transfertest.Packets); !strings.Contains(logOut.String(), want) {
		t.Errorf("midway the log shows %q, want %q", logOut.String(), want)
	}
	feed(stream[transfertest.Midway:])
	end := transfertest.EndWant
	if tally.Phase != end.Phase {
		t.Fatalf("phase %q", tally.Phase)
	}
	if want := fmt.Sprintf("%d/%d packets", end.AckedPackets, transfertest.Packets); !strings.Contains(logOut.String(), "100% "+"("+want) {
		t.Errorf("the log ends %q, want 100%% (%s", logOut.String(), want)
	}
	s := summary(transfer.Device{ToDevice: "mqttTestPub"}, tally)
	want := fmt.Sprintf("%d retransmissions (%d timeouts, %d NAKs, %d reconnects), %d malformed and %d stale answers ignored",
		end.Retries(), end.Timeouts, end.NAKs, end.Reconnects, end.Malformed, end.Stale)
	if !strings.Contains(s, want) || !strings.Contains(s, fmt.Sprintf("(%d packets)", transfertest.Packets)) {
		t.Errorf("summary %q, want %q", s, want)
	}
}
