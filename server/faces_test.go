package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"imagebeam/transfer"
	"imagebeam/transfer/transfertest"
)

// checkProgress compares what GET /transfers/{id} says with what every
// face must show.
func checkProgress(t *testing.T, what string, s *Server, id string, want transfertest.Want) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1/transfers/"+id, nil))
	var got Transfer
	if err := json.Unmarshal(rec.Body.Bytes(), &got); rec.Code != http.StatusOK || err != nil || got.Progress == nil {
		t.Fatalf("%s: %d %s", what, rec.Code, rec.Body)
	}
	p := got.Progress
	if p.Phase != want.Phase || p.AckedPackets != want.AckedPackets || p.TotalPackets != transfertest.Packets ||
		p.AckedBytes != want.AckedBytes || p.Retries[transfer.CauseTimeout] != want.Timeouts || p.Retries[transfer.CauseNAK] != want.NAKs ||
		p.Retries[transfer.CauseReconnect] != want.Reconnects || p.Malformed != want.Malformed || p.Stale != want.Stale || p.LinkDown != want.LinkDown {
		t.Errorf("%s: progress %+v, want %+v", what, p, want)
	}
}

// TestTransferRecordShowsTheRecordedTransfer feeds the recorded transfer
// (the one the window's and the CLI's tests feed too) to a transfer record
// as the engine would: midway and at the end, GET /transfers/{id} shows the
// numbers and phase every face must show.
func TestTransferRecordShowsTheRecordedTransfer(t *testing.T) {
	s, err := New(Options{Broker: transfer.BrokerConfig{URL: "tcp://127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	j := &job{id: "recorded", dev: s.devices[0], done: make(chan struct{}),
		rec: Transfer{ID: "recorded", State: StateSending, Device: s.devices[0].cfg.Name, Source: "upload"}}
	j.hist.init()
	j.tally = transfer.NewTally(transfertest.ImageBytes, transfertest.Chunk)
	s.mu.Lock()
	s.jobs[j.id] = j
	s.mu.Unlock()

	feed := func(events []transfer.Event) transfer.Event {
		ch := make(chan transfer.Event, len(events))
		for _, e := range events {
			ch <- e
		}
		close(ch)
		return j.follow(ch)
	}
	stream := transfertest.Stream()
	if last := feed(stream[:transfertest.Midway]); last != nil {
		t.Fatalf("midway the stream ended with %T", last)
	}
	checkProgress(t, "midway", s, j.id, transfertest.MidwayWant)
	last := feed(stream[transfertest.Midway:])
	st, err := transfer.Outcome(last)
	s.finish(j, &st, err, last)
	checkProgress(t, "end", s, j.id, transfertest.EndWant)
	if r := j.record(); r.State != StateDone || r.Stats.Retransmits != transfertest.EndWant.Retries() {
		t.Errorf("record %+v", r)
	}
}
