package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"imagebeam/codec"
	"imagebeam/internal/redact"
	"imagebeam/transfer"
)

// Transfer states.
const (
	StateQueued  = "queued"  // waiting for the device (the image is being prepared meanwhile)
	StateSending = "sending" // the transfer engine has it
	StateDone    = "done"    // the device acked FINISH
	StateFailed  = "failed"
)

// Transfer is a transfer as GET /transfers/{id} shows it.
type Transfer struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	Device string `json:"device"`
	Source string `json:"source"` // "url" or "upload"
	// The JPEG the pipeline made, once it is made.
	Bytes   int      `json:"bytes,omitempty"`
	SHA256  string   `json:"sha256,omitempty"`
	Width   int      `json:"width,omitempty"`
	Height  int      `json:"height,omitempty"`
	Packets int      `json:"packets,omitempty"`
	Notes   []string `json:"notes,omitempty"`
	// Progress is the transfer's tally, from the moment the transfer engine
	// has it: what the window's card and send's progress bar show.
	Progress *Progress `json:"progress,omitempty"`
	// Stats once the transfer engine ended.
	Stats *transfer.Stats `json:"stats,omitempty"`
	// Error is the failure in one sentence; HTTPStatus the status a
	// waiting request got (or would have got) for it.
	Error      string     `json:"error,omitempty"`
	HTTPStatus int        `json:"http_status,omitempty"`
	Created    time.Time  `json:"created"`
	Started    *time.Time `json:"started,omitempty"`
	Finished   *time.Time `json:"finished,omitempty"`
}

// job is one transfer through its life. Its image is prepared (fetched,
// decoded, re-encoded) while it waits in its device's queue.
type job struct {
	id  string
	dev *device

	ready chan struct{} // closed once prepared: image or prepErr is set
	image []byte
	prep  error
	// cleanup, when set, runs once the preparation has ended (or never
	// started): it gives back an upload's share of the memory budget.
	cleanup func()

	done chan struct{} // closed when finished: err is final

	mu    sync.Mutex // guards rec, err, hist and tally
	rec   Transfer
	err   error
	hist  history
	tally transfer.Tally // zero until the transfer engine has the job
}

// Progress is a transfer's tally as the API shows it.
type Progress struct {
	Phase          transfer.Phase         `json:"phase"`
	AckedPackets   int                    `json:"acked_packets"`
	TotalPackets   int                    `json:"total_packets"`
	AckedBytes     int                    `json:"acked_bytes"`
	TotalBytes     int                    `json:"total_bytes"`
	Retries        map[transfer.Cause]int `json:"retries"`   // by cause: timeout, nak, reconnect
	Malformed      int                    `json:"malformed"` // answers ignored as malformed
	Stale          int                    `json:"stale"`     // answers ignored as for another frame
	BytesPerSecond float64                `json:"bytes_per_second"`
	ETAMs          float64                `json:"eta_ms"`
	LinkDown       string                 `json:"link_down,omitempty"` // why the broker connection is down
}

func progressOf(t transfer.Tally) *Progress {
	return &Progress{
		Phase: t.Phase, AckedPackets: t.AckedPackets, TotalPackets: t.Stats.Packets,
		AckedBytes: t.Stats.AckedBytes, TotalBytes: t.Stats.Bytes,
		Retries: map[transfer.Cause]int{
			transfer.CauseTimeout:   t.Retries(transfer.CauseTimeout),
			transfer.CauseNAK:       t.Retries(transfer.CauseNAK),
			transfer.CauseReconnect: t.Retries(transfer.CauseReconnect),
		},
		Malformed: t.Stats.Malformed, Stale: t.Stats.Stale,
		BytesPerSecond: t.Speed, ETAMs: float64(t.ETA) / float64(time.Millisecond), LinkDown: t.LinkDown,
	}
}

// queue is one device's line: one transfer at a time, in arrival order.
type queue struct {
	waiting []*job
	sending *job
	working bool // a worker goroutine is draining it
	// incoming counts the places held for uploads whose bodies are being
	// read: they count against the limit, so uploads beyond it are refused
	// before anything is read.
	incoming int
}

// slot is a place in a device's queue held for an upload while its body
// is read; submit turns it into a transfer, free gives it up.
type slot struct {
	q    *queue
	used bool
}

// holdSlot keeps a place in dev's queue for an upload, or fails with
// ErrQueueFull or ErrShuttingDown.
func (s *Server) holdSlot(dev *device) (*slot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := s.place(dev)
	if err != nil {
		return nil, err
	}
	q.incoming++
	return &slot{q: q}, nil
}

// place returns dev's queue when it takes one more transfer, or fails with
// ErrQueueFull or ErrShuttingDown; s.mu is held.
func (s *Server) place(dev *device) (*queue, error) {
	if s.closing {
		return nil, ErrShuttingDown
	}
	q := s.queue(dev)
	if len(q.waiting)+q.incoming >= s.opts.QueueLimit {
		return nil, fmt.Errorf("%w: %d transfers are waiting for %s; try again later", ErrQueueFull, len(q.waiting)+q.incoming, dev.cfg.Name)
	}
	return q, nil
}

// free gives the place up unless submit used it.
func (s *Server) free(sl *slot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !sl.used {
		sl.used = true
		sl.q.incoming--
	}
}

// queue returns dev's queue, made on first use; s.mu is held.
func (s *Server) queue(dev *device) *queue {
	q := s.queues[dev.key]
	if q == nil {
		q = &queue{}
		s.queues[dev.key] = q
	}
	return q
}

// submit queues a transfer for dev, in the place sl holds when not nil,
// and starts preparing its image with prepare, on the server's context;
// cleanup (may be nil) runs once the preparation has ended. It fails with
// ErrQueueFull or ErrShuttingDown, and then runs neither.
func (s *Server) submit(dev *device, source string, sl *slot, cleanup func(), prepare func(context.Context) (*codec.Result, error)) (*job, error) {
	j := &job{id: newID(), dev: dev, ready: make(chan struct{}), done: make(chan struct{}), cleanup: cleanup}
	j.rec = Transfer{ID: j.id, State: StateQueued, Device: dev.cfg.Name, Source: source, Created: time.Now()}
	j.hist.init()

	s.mu.Lock()
	defer s.mu.Unlock()
	var q *queue
	if sl != nil && !sl.used {
		// The place held for the upload becomes the transfer's.
		sl.used = true
		q = sl.q
		q.incoming--
		if s.closing {
			return nil, ErrShuttingDown
		}
	} else {
		var err error
		if q, err = s.place(dev); err != nil {
			return nil, err
		}
	}
	q.waiting = append(q.waiting, j)
	s.jobs[j.id] = j
	s.wg.Add(1)
	go s.prepare(j, prepare)
	if !q.working {
		q.working = true
		s.wg.Add(1)
		go s.work(q)
	}
	return j, nil
}

func (s *Server) prepare(j *job, prepare func(context.Context) (*codec.Result, error)) {
	defer s.wg.Done()
	defer close(j.ready)
	if j.cleanup != nil {
		defer j.cleanup()
	}
	// The memory budget (Options.Load.Budget) decides when it may decode,
	// and bounds how many decode at once.
	res, err := prepare(s.ctx)
	if err == nil {
		err = transfer.CheckSize(len(res.JPEG), j.dev.tr.Settings.Chunk)
	}
	if err != nil {
		j.prep = err
		return
	}
	j.image = res.JPEG
	j.mu.Lock()
	j.rec.Bytes, j.rec.SHA256, j.rec.Width, j.rec.Height = res.Bytes, res.SHA256, res.Width, res.Height
	j.rec.Packets, j.rec.Notes = res.Packets, res.Notes
	j.mu.Unlock()
}

// work sends q's transfers one after the other and ends when q is empty.
func (s *Server) work(q *queue) {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		if len(q.waiting) == 0 {
			q.working, q.sending = false, nil
			s.mu.Unlock()
			return
		}
		j := q.waiting[0]
		q.waiting[0] = nil
		q.waiting = q.waiting[1:]
		q.sending = j
		s.mu.Unlock()
		s.run(j)
	}
}

// run sends one transfer once its image is ready and records the outcome.
func (s *Server) run(j *job) {
	select {
	case <-j.ready:
	case <-s.ctx.Done():
		<-j.ready // prepare ends promptly: it runs on s.ctx too
	}
	if j.prep != nil {
		s.finish(j, nil, j.prep, nil)
		return
	}
	now := time.Now()
	j.mu.Lock()
	j.rec.State, j.rec.Started = StateSending, &now
	j.tally = transfer.NewTally(len(j.image), j.dev.tr.Settings.Chunk)
	j.mu.Unlock()

	last := j.follow(s.hub.StartSend(s.ctx, j.dev.tr, j.image, transfer.SendOptions{}))
	st, err := transfer.Outcome(last)
	if err == nil && s.opts.Holdings != nil {
		// Before finish: a client that sees "done" finds it in GET /devices.
		if _, herr := s.opts.Holdings.Put(j.dev.key, j.dev.cfg.Name, j.image, last.At()); herr != nil && s.opts.Log != nil {
			s.opts.Log.Warn("the device got the image, but it could not be recorded", "device", j.dev.cfg.Name, "error", herr)
		}
	}
	s.finish(j, &st, err, last)
}

// follow records a transfer's events in its tally and event history until
// the channel closes, and returns the last one (Done or Failed), which
// finish records together with the outcome.
func (j *job) follow(events <-chan transfer.Event) transfer.Event {
	var last transfer.Event
	for e := range events {
		switch e.(type) {
		case transfer.Done, transfer.Failed:
			last = e
			continue
		}
		j.mu.Lock()
		j.tally.Add(e)
		j.hist.add(e)
		j.mu.Unlock()
	}
	return last
}

// finish records the outcome and the last event (done or failed; one is
// made when the engine sent none), wakes the waiting request and event
// streams, and forgets the oldest finished transfers past History. A
// reader that saw the last event thus always finds the record finished.
func (s *Server) finish(j *job, st *transfer.Stats, err error, last transfer.Event) {
	now := time.Now()
	j.mu.Lock()
	j.image = nil
	j.err = err
	j.rec.Finished, j.rec.Stats = &now, st
	j.rec.State = StateDone
	if err != nil {
		j.rec.State = StateFailed
		j.rec.HTTPStatus, j.rec.Error = publicError(j.rec.Source, err)
		if s.opts.Log != nil {
			s.opts.Log.Warn("transfer failed", "transfer", j.id, "device", j.rec.Device, "source", j.rec.Source,
				"status", j.rec.HTTPStatus, "error", redact.Text(err.Error()))
		}
	} else {
		j.rec.HTTPStatus = http.StatusOK
	}
	if last == nil {
		f := transfer.Failed{Time: now, Err: err, Error: j.rec.Error}
		if st != nil {
			f.Stats = *st
		}
		last = f
		if err == nil {
			last = transfer.Done{Time: now}
		}
	}
	if j.tally.Phase != "" {
		j.tally.Add(last)
	}
	j.hist.add(last)
	j.mu.Unlock()
	close(j.done)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.finished = append(s.finished, j.id)
	for len(s.finished) > s.opts.History {
		delete(s.jobs, s.finished[0])
		s.finished[0] = ""
		s.finished = s.finished[1:]
	}
}

// record returns a copy of the transfer's record.
func (j *job) record() Transfer {
	j.mu.Lock()
	defer j.mu.Unlock()
	r := j.rec
	r.Notes = append([]string(nil), r.Notes...)
	if j.tally.Phase != "" {
		r.Progress = progressOf(j.tally)
	}
	return r
}

func (s *Server) lookup(id string) *job {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jobs[id]
}

// queueState is how many transfers wait for dev and whether one is sending.
func (s *Server) queueState(dev *device) (waiting int, sending bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.queues[dev.key]; q != nil {
		return len(q.waiting), q.sending != nil
	}
	return 0, false
}

// recent returns the known transfers, newest first.
func (s *Server) recent() []Transfer {
	s.mu.Lock()
	jobs := make([]*job, 0, len(s.jobs))
	for _, j := range s.jobs {
		jobs = append(jobs, j)
	}
	s.mu.Unlock()
	out := make([]Transfer, len(jobs))
	for i, j := range jobs {
		out[i] = j.record()
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Created.After(out[b].Created) })
	return out
}

// newID returns a random transfer id: not guessable, never reused.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// maxHistory bounds the events a transfer keeps for replay.
const maxHistory = 256

// history keeps a transfer's events for GET /transfers/{id}/events.
// frame_sent, acked and progress come several times per chunk, so a run
// of them keeps only its latest: a reader that keeps up still sees each
// one, a replay or a slow reader sees where it got to. The rest is kept,
// up to maxHistory events (the oldest go first).
type history struct {
	entries []entry
	next    int           // seq of the next event; seqs start at 1
	evicted int           // seq of the newest event dropped for maxHistory
	changed chan struct{} // closed and replaced on every add
	ended   bool          // done or failed was added
}

type entry struct {
	seq int
	ev  transfer.Event
}

func (h *history) init() {
	h.next = 1
	h.changed = make(chan struct{})
}

func volatile(e transfer.Event) bool {
	switch e.(type) {
	case transfer.FrameSent, transfer.Acked, transfer.Progress:
		return true
	}
	return false
}

func (h *history) add(e transfer.Event) {
	if h.ended {
		return
	}
	en := entry{seq: h.next, ev: e}
	h.next++
	if n := len(h.entries); n > 0 && volatile(e) && volatile(h.entries[n-1].ev) {
		h.entries[n-1] = en
	} else {
		h.entries = append(h.entries, en)
	}
	if len(h.entries) > maxHistory {
		h.evicted = h.entries[0].seq
		copy(h.entries, h.entries[1:])
		h.entries[len(h.entries)-1] = entry{}
		h.entries = h.entries[:len(h.entries)-1]
	}
	switch e.(type) {
	case transfer.Done, transfer.Failed:
		h.ended = true
	}
	close(h.changed)
	h.changed = make(chan struct{})
}

// since returns the events after seq cursor, whether some of them were
// dropped for maxHistory, the channel closed at the next change, and
// whether the history has ended.
func (j *job) since(cursor int) (out []entry, skipped bool, changed <-chan struct{}, ended bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	h := &j.hist
	i := sort.Search(len(h.entries), func(i int) bool { return h.entries[i].seq > cursor })
	out = append(out, h.entries[i:]...)
	return out, cursor < h.evicted, h.changed, h.ended
}

var errNoImage = errors.New("the request has no image: send it as the body or as the multipart field \"file\"")
