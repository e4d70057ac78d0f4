package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"imagebeam/codec"
	"imagebeam/config"
	"imagebeam/holdings"
)

// requestDevices resolves the devices a POST /image names: every
// device= and the members of every group=, each once, in the order named.
// An unknown name answers 404 with config's sentence.
func (s *Server) requestDevices(w http.ResponseWriter, r *http.Request) ([]*device, bool) {
	q := r.URL.Query()
	var out []*device
	add := func(d *device) {
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	fail := func(err error) ([]*device, bool) {
		status, msg := statusFor(err)
		writeError(w, r, status, msg)
		return nil, false
	}
	for _, name := range q["device"] {
		d, err := s.device(name)
		if err != nil {
			return fail(err)
		}
		add(d)
	}
	for _, g := range q["group"] {
		members, err := s.group(g)
		if err != nil {
			return fail(err)
		}
		for _, d := range members {
			add(d)
		}
	}
	if len(out) == 0 {
		writeError(w, r, http.StatusBadRequest, "the group names no device")
		return nil, false
	}
	names := make([]string, len(out))
	for i, d := range out {
		names[i] = d.cfg.Name
	}
	info(r).device = strings.Join(names, ",")
	return out, true
}

// group returns the devices of the group named name (case ignored), by
// config's rules and sentences.
func (s *Server) group(name string) ([]*device, error) {
	settings := config.Settings{Devices: s.profiles, Groups: s.opts.Groups}
	profiles, err := settings.ResolveGroup(name)
	if err != nil {
		return nil, err
	}
	out := make([]*device, len(profiles))
	for i, p := range profiles {
		out[i] = s.byName[p.Name]
	}
	return out, nil
}

// postMany sends one uploaded image to several devices: POST
// /image?device=A&device=B or ?group=NAME. The image is read once and
// prepared once per distinct image profile; each device gets a transfer
// of its own in its own queue. It answers like POST /image, with
// "transfers" (one per device, in the order named) instead of "transfer":
// imageData 1 and 200 once every device acknowledged the whole image,
// else imageData 0, the status of the first failure and an error naming
// the devices that failed. With async=1: 202 at once, with each
// transfer's id and URLs.
func (s *Server) postMany(w http.ResponseWriter, r *http.Request) {
	devs, ok := s.requestDevices(w, r)
	if !ok {
		return
	}
	up, ok := s.receiveUpload(w, r, devs)
	if !ok {
		return
	}
	// The upload's memory goes back once every preparation has ended.
	var pending sync.WaitGroup
	pending.Add(len(devs))
	go func() { pending.Wait(); up.release() }()
	prepared := map[prepKey]*sharedPrep{}
	lo := s.opts.Load
	var jobs []*job
	for i, dev := range devs {
		k := prepKey{dev.cfg.Image, dev.cfg.Chunk}
		sp := prepared[k]
		if sp == nil {
			sp = &sharedPrep{}
			prepared[k] = sp
		}
		opts := dev.opts
		j, err := s.submit(dev, "upload", up.slots[i], pending.Done, func(ctx context.Context) (*codec.Result, error) {
			return sp.get(func() (*codec.Result, error) { return codec.ConvertBytes(ctx, up.data, lo, opts) })
		})
		if err != nil {
			for _, sl := range up.slots[i:] {
				s.free(sl)
			}
			for range devs[i:] {
				pending.Done()
			}
			s.answer(w, r, nil, err)
			return
		}
		jobs = append(jobs, j)
	}
	s.answerMany(w, r, jobs)
}

// prepKey is what makes two devices' JPEGs the same: the image profile
// and the chunk size (the packet count).
type prepKey struct {
	image config.Image
	chunk int
}

// sharedPrep runs one preparation for every device that needs the same
// JPEG; the others wait for it.
type sharedPrep struct {
	once sync.Once
	res  *codec.Result
	err  error
}

func (p *sharedPrep) get(prepare func() (*codec.Result, error)) (*codec.Result, error) {
	p.once.Do(func() { p.res, p.err = prepare() })
	return p.res, p.err
}

// manyAnswer is POST /image's answer for several devices.
type manyAnswer struct {
	ImageData int        `json:"imageData"`
	Error     string     `json:"error,omitempty"`
	Transfers []Transfer `json:"transfers"`
}

// answerMany answers a request for several devices: at once with async=1,
// else when every transfer ended.
func (s *Server) answerMany(w http.ResponseWriter, r *http.Request, jobs []*job) {
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.id
	}
	info(r).transfer = strings.Join(ids, ",")
	if async, _ := strconv.ParseBool(r.URL.Query().Get("async")); async {
		answerStarted(w, jobs)
		return
	}
	for _, j := range jobs {
		select {
		case <-j.done:
		case <-r.Context().Done():
			info(r).gone = true
			return
		}
	}
	ans := manyAnswer{ImageData: 1, Transfers: make([]Transfer, len(jobs))}
	status := http.StatusOK
	var failed []string
	for i, j := range jobs {
		rec := j.record()
		ans.Transfers[i] = rec
		if rec.State != StateDone {
			if status == http.StatusOK {
				status = rec.HTTPStatus
			}
			failed = append(failed, fmt.Sprintf("%s: %s", rec.Device, rec.Error))
		}
	}
	if len(failed) > 0 {
		ans.ImageData = 0
		ans.Error = fmt.Sprintf("%d of %d devices did not acknowledge the image (%s)", len(failed), len(jobs), strings.Join(failed, "; "))
		info(r).err = ans.Error
	}
	writeJSON(w, status, ans)
}

// answerStarted is async=1's answer for several devices: where to follow
// each transfer.
func answerStarted(w http.ResponseWriter, jobs []*job) {
	type started struct {
		ID     string `json:"id"`
		Device string `json:"device"`
		State  string `json:"state"`
		Status string `json:"status_url"`
		Events string `json:"events_url"`
	}
	out := make([]started, len(jobs))
	for i, j := range jobs {
		loc := "/transfers/" + j.id
		out[i] = started{j.id, j.dev.cfg.Name, StateQueued, loc, loc + "/events"}
	}
	writeJSON(w, http.StatusAccepted, struct {
		Transfers []started `json:"transfers"`
	}{out})
}

// holding is what GET /devices says a device holds.
type holding struct {
	SHA256 string    `json:"sha256"`
	Bytes  int       `json:"bytes"`
	Time   time.Time `json:"time"`
	Image  string    `json:"image_url"` // GET /devices/{name}/last.jpg
}

// holdingsByKey returns what each device holds, by transfer.DeviceKey;
// nil without a store. A store that cannot be read is logged and shows
// nothing rather than failing the device list.
func (s *Server) holdingsByKey() map[string]holdings.Record {
	if s.opts.Holdings == nil {
		return nil
	}
	recs, err := s.opts.Holdings.All()
	if err != nil {
		if s.opts.Log != nil {
			s.opts.Log.Warn("cannot read what the devices hold", "error", err)
		}
		return nil
	}
	m := make(map[string]holdings.Record, len(recs))
	for _, r := range recs {
		if _, seen := m[r.Key]; !seen {
			m[r.Key] = r
		}
	}
	return m
}

// getLastImage serves the last image the device acknowledged whole:
// GET /devices/{name}/last.jpg.
func (s *Server) getLastImage(w http.ResponseWriter, r *http.Request) {
	dev, err := s.device(r.PathValue("name"))
	if err != nil {
		status, msg := statusFor(err)
		writeError(w, r, status, msg)
		return
	}
	info(r).device = dev.cfg.Name
	if s.opts.Holdings == nil {
		writeError(w, r, http.StatusNotFound, "this server does not record what the devices hold")
		return
	}
	data, rec, ok, err := s.opts.Holdings.Image(dev.key)
	switch {
	case errors.Is(err, holdings.ErrStore):
		writeError(w, r, http.StatusInternalServerError, err.Error())
		return
	case !ok:
		writeError(w, r, http.StatusNotFound, fmt.Sprintf("no image sent to %s is recorded yet", dev.cfg.Name))
		return
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeTimeout))
	h := w.Header()
	h.Set("Content-Type", "image/jpeg")
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", `"`+rec.SHA256+`"`)
	h.Set("Last-Modified", rec.Time.UTC().Format(http.TimeFormat))
	if r.Header.Get("If-None-Match") == `"`+rec.SHA256+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// status is GET /status: what a soak run samples besides /proc.
type status struct {
	Goroutines      int    `json:"goroutines"`
	TransfersActive int    `json:"transfers_active"`
	TransfersKept   int    `json:"transfers_kept"`
	Broker          string `json:"broker"` // the connection's state
	Subscriptions   int    `json:"subscriptions"`
	Unrouted        int64  `json:"unrouted"` // answers that came after their transfer
}

// getStatus answers GET /status, on loopback only: how many goroutines
// and transfers the server has, and its broker connection's state.
func (s *Server) getStatus(w http.ResponseWriter, r *http.Request) {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		writeError(w, r, http.StatusForbidden, "GET /status answers requests from this computer only")
		return
	}
	hs := s.hub.Stats()
	s.mu.Lock()
	st := status{Goroutines: runtime.NumGoroutine(), TransfersActive: len(s.jobs) - len(s.finished), TransfersKept: len(s.jobs),
		Broker: hs.State.String(), Subscriptions: hs.Subscriptions, Unrouted: hs.Unrouted}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, st)
}
