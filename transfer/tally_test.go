package transfer_test

import (
	"errors"
	"testing"

	"imagebeam/transfer"
	"imagebeam/transfer/transfertest"
)

// check compares a Tally with what every face must show.
func check(t *testing.T, what string, got transfer.Tally, want transfertest.Want) {
	t.Helper()
	if got.Phase != want.Phase || got.AckedPackets != want.AckedPackets || got.Stats.AckedBytes != want.AckedBytes ||
		got.Retries(transfer.CauseTimeout) != want.Timeouts || got.Retries(transfer.CauseNAK) != want.NAKs ||
		got.Retries(transfer.CauseReconnect) != want.Reconnects || got.Stats.Retransmits != want.Retries() ||
		got.Stats.Malformed != want.Malformed || got.Stats.Stale != want.Stale || got.LinkDown != want.LinkDown {
		t.Errorf("%s: tally %+v, want %+v", what, got, want)
	}
}

func TestTallyFoldsTheRecordedStream(t *testing.T) {
	stream := transfertest.Stream()
	tally := transfer.NewTally(transfertest.ImageBytes, transfertest.Chunk)
	if tally.Phase != transfer.PhaseConnecting || tally.Stats.Packets != transfertest.Packets || tally.Fraction() != 0 {
		t.Fatalf("new tally %+v", tally)
	}
	for i, e := range stream {
		tally.Add(e)
		if i == 0 && tally.Phase != transfer.PhaseWaiting {
			t.Fatalf("after Waiting: %q", tally.Phase)
		}
		if i+1 == transfertest.Midway {
			check(t, "midway", tally, transfertest.MidwayWant)
			if tally.Speed <= 0 || tally.ETA <= 0 || tally.Fraction() <= 0.5 || tally.Fraction() >= 1 {
				t.Errorf("midway speed %v, ETA %v, fraction %v", tally.Speed, tally.ETA, tally.Fraction())
			}
		}
	}
	check(t, "end", tally, transfertest.EndWant)
	if tally.Fraction() != 1 || tally.Stats.RTTMedianMs != 10 || tally.Err != nil || !tally.Phase.Final() {
		t.Fatalf("end %+v", tally)
	}
}

func TestTallyOfAFailureAndACancel(t *testing.T) {
	var tally transfer.Tally
	for _, e := range transfertest.Failed() {
		tally.Add(e)
	}
	if tally.Phase != transfer.PhaseFailed || !errors.Is(tally.Err, transfer.ErrNoAnswer) || tally.Retries(transfer.CauseTimeout) != 1 {
		t.Fatalf("failed tally %+v", tally)
	}
	tally.Add(transfer.Failed{Err: transfer.ErrCanceled, Error: transfer.ErrCanceled.Error()})
	if tally.Phase != transfer.PhaseCancelled || tally.Stats.Packets != transfertest.Packets {
		t.Fatalf("cancelled tally %+v", tally)
	}
}
