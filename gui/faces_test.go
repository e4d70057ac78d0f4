package gui

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"imagebeam/config"
	"imagebeam/transfer"
	"imagebeam/transfer/transfertest"
)

// cardNumbers is what a card shows of want, in the card's words.
func cardNumbers(want transfertest.Want) []string {
	retries := fmt.Sprintf("Retries: %d timeout, %d NAK", want.Timeouts, want.NAKs)
	if want.Reconnects > 0 {
		retries += fmt.Sprintf(", %d after reconnect", want.Reconnects)
	}
	return []string{
		fmt.Sprintf("%d / %d packets acknowledged", want.AckedPackets, transfertest.Packets),
		retries + fmt.Sprintf(" · ignored: %d malformed, %d stale", want.Malformed, want.Stale),
	}
}

// TestCardShowsTheRecordedTransfer feeds the recorded transfer (the one
// the CLI's and the server's tests feed too) to a card: midway and at the
// end it shows the numbers and the phase every face must show, and the
// history entry it leaves agrees.
func TestCardShowsTheRecordedTransfer(t *testing.T) {
	h := newHarness(t, nil)
	d := config.DefaultDevice()
	d.Name = "Bench 1"
	v := h.g.newTransferView(d, make([]byte, transfertest.ImageBytes), "photo.jpg", false)
	h.g.devices.statusOf(d.Name).active++
	m := progressModel{s: progressSnap{Tally: v.snap.Tally}}
	stream := transfertest.Stream()
	for _, e := range stream[:transfertest.Midway] {
		m.add(e)
	}
	v.update(m.take())
	shown := v.counts.Text + "\n" + v.retries.Text + "\n" + v.status.Text
	for _, want := range append(cardNumbers(transfertest.MidwayWant), "Broker connection lost", transfertest.MidwayWant.LinkDown) {
		if !strings.Contains(shown, want) {
			t.Errorf("midway the card shows %q, not %q", shown, want)
		}
	}
	if v.snap.Phase != transfertest.MidwayWant.Phase {
		t.Errorf("midway phase %q", v.snap.Phase)
	}
	for _, e := range stream[transfertest.Midway:] {
		m.add(e)
	}
	end := m.take()
	end.final = true
	v.update(end)
	shown = v.counts.Text + "\n" + v.retries.Text + "\n" + v.status.Text
	for _, want := range append(cardNumbers(transfertest.EndWant), "Done: the device has the whole image", "3 frames resent") {
		if !strings.Contains(shown, want) {
			t.Errorf("at the end the card shows %q, not %q", shown, want)
		}
	}
	if v.snap.Phase != transfer.PhaseDone || v.bar.Value != 1 {
		t.Errorf("end phase %q, bar %v", v.snap.Phase, v.bar.Value)
	}
	var e historyEntry
	e.fill(end.Tally)
	if e.Result != transfertest.EndWant.Phase || e.Retries != transfertest.EndWant.Retries() {
		t.Errorf("history entry %+v", e)
	}
}

// TestHistoryOfTheLastReleaseLoads: history.json as 0.1.0 wrote it (result
// as a plain string) still loads, and its results are the tally's phases.
func TestHistoryOfTheLastReleaseLoads(t *testing.T) {
	dir := t.TempDir()
	old := `[
  {"id": "1764582600000000000-1", "time": "2026-11-30T09:30:00Z", "device": "Bench 3", "source": "photo.jpg",
   "bytes": 61234, "sha256": "` + strings.Repeat("ab", 32) + `", "result": "done", "duration_ms": 812.5,
   "retries": 2, "throughput": 75364, "rtt_median_ms": 3.1, "last_seen": "2026-11-30T09:30:01Z"},
  {"id": "1764582700000000000-2", "time": "2026-11-30T09:31:40Z", "device": "Bench 3", "source": "photo.jpg",
   "bytes": 61234, "sha256": "` + strings.Repeat("ab", 32) + `", "result": "cancelled",
   "error": "transfer: cancelled after 2800 of 61234 bytes were acknowledged; the device may hold a partial image",
   "duration_ms": 90, "retries": 0, "throughput": 0, "rtt_median_ms": 0, "resend": true}
]`
	if err := os.WriteFile(filepath.Join(dir, "history.json"), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	h := openHistory(dir)
	got := h.list()
	if h.problem() != nil || len(got) != 2 || got[0].Result != transfer.PhaseCancelled || got[1].Result != transfer.PhaseDone || got[1].Retries != 2 {
		t.Fatalf("loaded %+v (problem %v)", got, h.problem())
	}
}
