package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"imagebeam/codec"
	"imagebeam/config"
	"imagebeam/internal/redact"
)

// getImage is the old service's endpoint: GET /image?url=…[&device=NAME].
func (s *Server) getImage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	raw := q.Get("url")
	if raw == "" {
		writeError(w, r, http.StatusBadRequest, "the url parameter is missing: call GET /image?url=<image url>")
		return
	}
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		writeError(w, r, http.StatusBadRequest, "the url parameter is not an http or https URL")
		return
	}
	dev, ok := s.requestDevice(w, r)
	if !ok {
		return
	}
	lo := s.opts.Load
	j, err := s.submit(dev, "url", nil, nil, func(ctx context.Context) (*codec.Result, error) {
		return codec.Convert(ctx, raw, lo, dev.opts)
	})
	s.answer(w, r, j, err)
}

// postImage takes the image as the body or as multipart field "file":
// POST /image[?device=NAME][&async=1]. With device= more than once or
// group=NAME it sends to each of those devices (see postMany).
func (s *Server) postImage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Has("url") {
		writeError(w, r, http.StatusBadRequest, "POST /image takes the image itself; for a URL call GET /image?url=…")
		return
	}
	if len(q["device"]) > 1 || q.Has("group") {
		s.postMany(w, r)
		return
	}
	dev, ok := s.requestDevice(w, r)
	if !ok {
		return
	}
	up, ok := s.receiveUpload(w, r, []*device{dev})
	if !ok {
		return
	}
	lo := s.opts.Load
	j, err := s.submit(dev, "upload", up.slots[0], up.release, func(ctx context.Context) (*codec.Result, error) {
		return codec.ConvertBytes(ctx, up.data, lo, dev.opts)
	})
	if err != nil {
		up.release()
	}
	s.answer(w, r, j, err)
}

// receivedUpload is an image read from a request. It holds a place in
// the queue of each device it goes to and its bytes' share of the memory
// budget, which release gives back.
type receivedUpload struct {
	data    []byte
	slots   []*slot // one per device, in the order asked
	release func()
}

// receiveUpload reads the uploaded image. Everything that can refuse it is
// decided before its body is read: its declared size, a place in the queue,
// and its bytes' share of the memory budget, which bounds the uploads read
// at once. When it refuses, the request is answered (unless the client has
// gone) and nothing is held.
func (s *Server) receiveUpload(w http.ResponseWriter, r *http.Request, devs []*device) (receivedUpload, bool) {
	limit := s.opts.MaxBody
	if r.ContentLength > limit {
		refuseUpload(w, r, &http.MaxBytesError{Limit: limit})
		return receivedUpload{}, false
	}
	var sl []*slot
	freeAll := func() {
		for _, x := range sl {
			s.free(x)
		}
	}
	for _, dev := range devs {
		x, err := s.holdSlot(dev)
		if err != nil {
			freeAll()
			s.answer(w, r, nil, err)
			return receivedUpload{}, false
		}
		sl = append(sl, x)
	}
	// A known length is read into a slice of that size; an unknown one in
	// chunks joined at the end, which takes twice the bytes.
	size, reserve := r.ContentLength, r.ContentLength+1
	if size < 0 {
		limit = min(limit, s.budget.InputLimit()/2)
		reserve = 2 * limit
	}
	if s.beforeUploadWait != nil {
		s.beforeUploadWait()
	}
	if err := s.budget.AcquireInput(r.Context(), reserve); err != nil {
		freeAll()
		if r.Context().Err() != nil {
			info(r).gone = true
			return receivedUpload{}, false
		}
		s.answer(w, r, nil, err)
		return receivedUpload{}, false
	}
	release := func() { s.budget.ReleaseInput(reserve) }
	data, err := readUpload(w, r, size, limit)
	if err != nil {
		release()
		freeAll()
		refuseUpload(w, r, err)
		return receivedUpload{}, false
	}
	return receivedUpload{data: data, slots: sl, release: release}, true
}

// refuseUpload answers an upload that is too large or could not be read.
func refuseUpload(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeError(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("the image is over the %d-byte limit of this server", mbe.Limit))
	case errors.Is(err, errNoImage):
		writeError(w, r, http.StatusBadRequest, err.Error())
	default:
		writeError(w, r, http.StatusBadRequest, "the upload could not be read: "+err.Error())
	}
}

// requestDevice resolves ?device=, answering 404 for an unknown one.
func (s *Server) requestDevice(w http.ResponseWriter, r *http.Request) (*device, bool) {
	name := r.URL.Query().Get("device")
	info(r).device = name
	dev, err := s.device(name)
	if err != nil {
		status, msg := statusFor(err)
		writeError(w, r, status, msg)
		return nil, false
	}
	info(r).device = dev.cfg.Name
	return dev, true
}

// readUpload reads the image: multipart field "file", or the whole body,
// at most limit bytes. size is the request's Content-Length (-1: unknown).
func readUpload(w http.ResponseWriter, r *http.Request, size, limit int64) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, limit)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		r.Body = body
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, err
		}
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return nil, errNoImage
			}
			if err != nil {
				return nil, err
			}
			if p.FormName() == "file" {
				data, err := readBody(p, size, limit)
				if err == nil && len(data) == 0 {
					err = errNoImage
				}
				return data, err
			}
		}
	}
	data, err := readBody(body, size, limit)
	if err == nil && len(data) == 0 {
		err = errNoImage
	}
	return data, err
}

// readBody reads r to its end within the upload's share of the memory
// budget (see codec.ReadBounded): the file part of a form is shorter than
// the body, whose length size is.
func readBody(r io.Reader, size, limit int64) ([]byte, error) {
	return codec.ReadBounded(r, size, limit+1)
}

// answer responds to an image request: 202 at once with ?async=1, else
// once the transfer ended. A client that goes away leaves the transfer
// running; its outcome stays at GET /transfers/{id}.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, j *job, err error) {
	if err != nil {
		status, msg := statusFor(err)
		if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "5")
		}
		writeError(w, r, status, msg)
		return
	}
	info(r).transfer = j.id
	loc := "/transfers/" + j.id
	w.Header().Set("X-Transfer-Id", j.id)
	if async, _ := strconv.ParseBool(r.URL.Query().Get("async")); async {
		w.Header().Set("Location", loc)
		writeJSON(w, http.StatusAccepted, struct {
			ID     string `json:"id"`
			State  string `json:"state"`
			Status string `json:"status_url"`
			Events string `json:"events_url"`
		}{j.id, StateQueued, loc, loc + "/events"})
		return
	}
	select {
	case <-j.done:
	case <-r.Context().Done():
		info(r).gone = true
		return
	}
	rec := j.record()
	var tr *Transfer
	if r.Method == http.MethodPost {
		tr = &rec
	}
	if j.err != nil {
		info(r).err = rec.Error
		writeJSON(w, rec.HTTPStatus, imageAnswer{ImageData: 0, Error: rec.Error, Transfer: tr})
		return
	}
	writeJSON(w, http.StatusOK, imageAnswer{ImageData: 1, Transfer: tr})
}

// deviceInfo is one device in GET /devices.
type deviceInfo struct {
	Name       string       `json:"name"`
	Default    bool         `json:"default"`
	ToDevice   string       `json:"to_device"`
	FromDevice string       `json:"from_device"`
	Chunk      int          `json:"chunk"`
	Timeout    string       `json:"timeout"`
	Retries    int          `json:"retries"`
	QoS        int          `json:"qos"`
	Image      config.Image `json:"image"`
	Queued     int          `json:"queued"`  // transfers waiting
	Sending    bool         `json:"sending"` // a transfer is using the device
	// Holds is the last image the device acknowledged whole, when one
	// is recorded.
	Holds *holding `json:"holds,omitempty"`
}

func (s *Server) getDevices(w http.ResponseWriter, r *http.Request) {
	out := make([]deviceInfo, len(s.devices))
	held := s.holdingsByKey()
	for i, d := range s.devices {
		waiting, sending := s.queueState(d)
		c := d.cfg
		out[i] = deviceInfo{
			Name: c.Name, Default: i == 0, ToDevice: c.ToDevice, FromDevice: c.FromDevice,
			Chunk: c.Chunk, Timeout: time.Duration(c.Timeout).String(), Retries: c.Retries, QoS: c.QoS,
			Image: c.Image, Queued: waiting, Sending: sending,
		}
		if rec, ok := held[d.key]; ok {
			out[i].Holds = &holding{SHA256: rec.SHA256, Bytes: rec.Bytes, Time: rec.Time, Image: "/devices/" + url.PathEscape(c.Name) + "/last.jpg"}
		}
	}
	groups := s.opts.Groups
	if groups == nil {
		groups = []config.Group{}
	}
	broker := redact.URL(s.opts.Broker.URL)
	writeJSON(w, http.StatusOK, struct {
		Broker  string         `json:"broker"`
		Devices []deviceInfo   `json:"devices"`
		Groups  []config.Group `json:"groups"`
	}{broker, out, groups})
}

func (s *Server) listTransfers(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		Transfers []Transfer `json:"transfers"`
	}{s.recent()})
}

func (s *Server) transfer(w http.ResponseWriter, r *http.Request) *job {
	id := r.PathValue("id")
	j := s.lookup(id)
	if j == nil {
		writeError(w, r, http.StatusNotFound, fmt.Sprintf("no transfer %q is known (finished transfers are kept up to %d)", id, s.opts.History))
		return nil
	}
	info(r).transfer = id
	info(r).device = j.dev.cfg.Name
	return j
}

func (s *Server) getTransfer(w http.ResponseWriter, r *http.Request) {
	if j := s.transfer(w, r); j != nil {
		writeJSON(w, http.StatusOK, j.record())
	}
}

// streamEvents sends a transfer's events as server-sent events: the ones
// kept so far, then live ones, and ends after done or failed. Each event's
// data is its docs/EVENTS.md JSON (the "type" field names it) and its id
// the sequence number, so a client reconnecting with Last-Event-ID
// resumes after it.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) {
	j := s.transfer(w, r)
	if j == nil {
		return
	}
	cursor, _ := strconv.Atoi(r.Header.Get("Last-Event-ID"))
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	ping := time.NewTicker(keepAlive)
	defer ping.Stop()
	for {
		entries, skipped, changed, ended := j.since(cursor)
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if skipped {
			fmt.Fprint(w, ": some earlier events were not kept\n\n")
		}
		for _, e := range entries {
			data, err := json.Marshal(e.ev)
			if err != nil {
				continue
			}
			if _, err := fmt.Fprintf(w, "id: %d\ndata: %s\n\n", e.seq, data); err != nil {
				return
			}
			cursor = e.seq
		}
		if err := rc.Flush(); err != nil || ended {
			return
		}
		select {
		case <-changed:
		case <-ping.C:
			_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}
