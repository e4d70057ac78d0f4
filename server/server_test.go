package server

import (
	"bytes"
	"context"
	"errors"
	"mime/multipart"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"imagebeam/codec"
	"imagebeam/config"
	"imagebeam/transfer"
)

// The old service's call: the answer equals {"imageData": 1} as JSON, and
// the device (on the old service's topics) holds exactly the JPEG the
// pipeline makes of that image for that profile.
func TestCompatibleCallAnswersImageData1(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	url := startMosquitto(t)
	dev := config.DefaultDevice() // no saved devices, no topic flags
	dev.Image.Width, dev.Image.Height = 100, 100
	device := startSim(t, url, dev, false)
	f := newFixture(t, Options{Broker: transfer.BrokerConfig{URL: url}, Devices: []config.Device{dev}})

	r := f.get(ctx, "/image?url="+f.images+"/photo.png")
	if want := map[string]any{"imageData": float64(1)}; r.status != http.StatusOK || !reflect.DeepEqual(r.body, want) {
		t.Fatalf("got %d %s, want 200 {\"imageData\": 1}", r.status, r.raw)
	}
	got := received(ctx, t, device)
	opts, err := dev.Options()
	if err != nil {
		t.Fatal(err)
	}
	want, err := codec.Convert(ctx, f.images+"/photo.png", codec.LoadOptions{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Complete || got.SHA256 != want.SHA256 || got.Size != want.Bytes || want.Width != 100 {
		t.Fatalf("device received %+v, the pipeline made %d bytes %dx%d sha256 %s", got, want.Bytes, want.Width, want.Height, want.SHA256)
	}
	tr := f.transfer(ctx, r.header.Get("X-Transfer-Id"))
	if tr.State != StateDone || tr.SHA256 != want.SHA256 || tr.Device != "BASE" || tr.Stats == nil || tr.Stats.AckedBytes != want.Bytes || tr.Finished == nil {
		t.Fatalf("transfer record %+v", tr)
	}
}

// Every error status of the issue, each with one sentence and, on /image,
// "imageData": 0.
func TestErrorStatuses(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	url := startMosquitto(t)
	good, tiny, silent, nak := testDevice("good"), testDevice("tiny"), testDevice("silent"), testDevice("nak")
	tiny.Chunk = 1 // at most 32768 bytes
	silent.Timeout, silent.Retries = config.Duration(50*time.Millisecond), 0
	nak.Retries = 1
	startSim(t, url, good, false)
	startSim(t, url, tiny, false)
	startNakFinish(t, url, nak)
	f := newFixture(t, Options{Broker: transfer.BrokerConfig{URL: url}, Devices: []config.Device{good, tiny, silent, nak}, MaxBody: 1 << 20})
	unreachable := newFixture(t, Options{Broker: transfer.BrokerConfig{URL: "tcp://" + closedPort(t)}, Devices: []config.Device{good}})

	cases := []struct {
		name        string
		f           *fixture
		method      string
		path        string // IMG stands for the image server
		contentType string
		body        []byte
		status      int
	}{
		{"url missing", f, "GET", "/image", "", nil, 400},
		{"url not http", f, "GET", "/image?url=ftp://example.org/a.png", "", nil, 400},
		{"unknown device", f, "GET", "/image?url=IMG/photo.png&device=nope", "", nil, 404},
		{"url is text", f, "GET", "/image?url=IMG/text", "", nil, 502}, // like every fetch failure: no port state for the caller
		{"url is HEIC", f, "GET", "/image?url=IMG/heic", "", nil, 415},
		{"upload is text", f, "POST", "/image", "text/plain", []byte("hello"), 415},
		{"upload empty", f, "POST", "/image", "image/png", []byte{}, 400},
		{"upload over the cap", f, "POST", "/image", "image/png", make([]byte, 2<<20), 413},
		{"too large for the protocol", f, "GET", "/image?url=IMG/noise.png&device=tiny", "", nil, 422},
		{"url answers 404", f, "GET", "/image?url=IMG/missing.png", "", nil, 502},
		{"device reports incomplete", f, "GET", "/image?url=IMG/photo.png&device=nak", "", nil, 502},
		{"broker unreachable", unreachable, "GET", "/image?url=IMG/photo.png", "", nil, 503},
		{"device does not answer", f, "GET", "/image?url=IMG/photo.png&device=silent", "", nil, 504},
		{"unknown endpoint", f, "GET", "/upload", "", nil, 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := strings.ReplaceAll(c.path, "IMG", c.f.images)
			r := c.f.do(ctx, c.method, path, c.contentType, c.body)
			msg, _ := r.body["error"].(string)
			if r.status != c.status || msg == "" || strings.Contains(msg, "\n") {
				t.Fatalf("got %d %s, want %d with one sentence", r.status, r.raw, c.status)
			}
			onImage := strings.HasPrefix(c.path, "/image")
			if onImage && r.body["imageData"] != float64(0) {
				t.Fatalf("no \"imageData\": 0 in %s", r.raw)
			}
			if onImage && c.method == "GET" && len(r.body) != 2 {
				t.Fatalf("GET /image answered %s, want exactly imageData and error", r.raw)
			}
		})
	}
}

// A transfer to one device does not hold up another device.
func TestDevicesRunInParallel(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	url := startMosquitto(t)
	a, b := testDevice("a"), testDevice("b")
	simA := startSim(t, url, a, true)
	simB := startSim(t, url, b, false)
	f := newFixture(t, Options{Broker: transfer.BrokerConfig{URL: url}, Devices: []config.Device{a, b}})

	idA := f.postAsync(ctx, "a", pngImage(64, 48, 1, false))
	waitFor(ctx, t, simA.arrived, "a's first frame")
	r := f.do(ctx, "POST", "/image?device=b", "image/png", pngImage(64, 48, 2, false))
	if r.status != 200 || r.body["imageData"] != float64(1) {
		t.Fatalf("b: %d %s", r.status, r.raw)
	}
	received(ctx, t, simB)
	if tr := f.transfer(ctx, idA); tr.State != StateSending {
		t.Fatalf("a is %q while b finished, want sending", tr.State)
	}
	simA.open()
	f.waitDone(ctx, idA)
	if got := received(ctx, t, simA); got.SHA256 != f.transfer(ctx, idA).SHA256 {
		t.Fatalf("a received %+v", got)
	}
}

// Transfers to one device go one at a time, in arrival order.
func TestOneDeviceQueuesInArrivalOrder(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	url := startMosquitto(t)
	dev := testDevice("q")
	device := startSim(t, url, dev, true)
	f := newFixture(t, Options{Broker: transfer.BrokerConfig{URL: url}, Devices: []config.Device{dev}})

	var ids []string
	for i := range 4 {
		ids = append(ids, f.postAsync(ctx, "q", pngImage(64, 48, 10+i, false)))
		if i == 0 {
			waitFor(ctx, t, device.arrived, "the first frame")
		}
	}
	for _, id := range ids[1:] {
		if tr := f.transfer(ctx, id); tr.State != StateQueued {
			t.Fatalf("%s is %q while the first is sending, want queued", id, tr.State)
		}
	}
	devs := f.get(ctx, "/devices").body["devices"].([]any)
	if d := devs[0].(map[string]any); d["queued"] != float64(3) || d["sending"] != true {
		t.Fatalf("GET /devices shows %v, want 3 queued and sending", d)
	}
	device.open()
	var prevFinished time.Time
	for i, id := range ids {
		f.waitDone(ctx, id)
		tr := f.transfer(ctx, id)
		if got := received(ctx, t, device); got.SHA256 != tr.SHA256 {
			t.Fatalf("image %d: the device received %s, want %s (out of order?)", i, got.SHA256, tr.SHA256)
		}
		if tr.Started.Before(prevFinished) {
			t.Fatalf("transfer %d started at %v, before the previous one finished at %v", i, tr.Started, prevFinished)
		}
		if tr.Finished == nil {
			t.Fatalf("transfer %d: %+v", i, tr)
		}
		prevFinished = *tr.Finished
	}
}

// Past the queue limit a device's requests get 429; others still queue.
func TestQueueLimitAnswers429(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	url := startMosquitto(t)
	dev, other := testDevice("busy"), testDevice("other")
	device := startSim(t, url, dev, true)
	startSim(t, url, other, true)
	f := newFixture(t, Options{Broker: transfer.BrokerConfig{URL: url}, Devices: []config.Device{dev, other}, QueueLimit: 2})

	img := pngImage(32, 32, 3, false)
	first := f.postAsync(ctx, "busy", img)
	waitFor(ctx, t, device.arrived, "the first frame")
	f.postAsync(ctx, "busy", img)
	f.postAsync(ctx, "busy", img)
	for _, path := range []string{"/image?device=busy", "/image?device=busy&async=1"} {
		r := f.do(ctx, "POST", path, "image/png", img)
		if r.status != http.StatusTooManyRequests || r.body["imageData"] != float64(0) || r.header.Get("Retry-After") == "" {
			t.Fatalf("POST %s past the limit: %d %v %s", path, r.status, r.header, r.raw)
		}
	}
	if r := f.get(ctx, "/image?device=busy&url="+f.images+"/photo.png"); r.status != http.StatusTooManyRequests {
		t.Fatalf("GET past the limit: %d %s", r.status, r.raw)
	}
	f.postAsync(ctx, "other", img) // another device has its own queue
	device.open()
	f.waitDone(ctx, first)
}

func TestTokenIsRequired(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	f := newFixture(t, Options{Broker: transfer.BrokerConfig{URL: "tcp://" + closedPort(t)}, Token: "s3cret", CORS: []string{"https://lab.example.org"}})
	cases := []struct {
		name, method, path string
		header             []string
		status             int
		challenge          bool
	}{
		{"no header", "GET", "/devices", nil, 401, true},
		{"wrong token", "GET", "/devices", []string{"Authorization", "Bearer s3cre"}, 401, true},
		{"not bearer", "GET", "/devices", []string{"Authorization", "Basic czNjcmV0"}, 401, true},
		{"no token on /image", "GET", "/image?url=http://127.0.0.1/x.png", nil, 401, true},
		{"right token", "GET", "/devices", []string{"Authorization", "Bearer s3cret"}, 200, false},
		{"scheme in any case", "GET", "/devices", []string{"Authorization", "bearer s3cret"}, 200, false},
		{"preflight needs none", "OPTIONS", "/image", []string{"Origin", "https://lab.example.org", "Access-Control-Request-Method", "GET"}, 204, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.do(ctx, c.method, c.path, "", nil, c.header...)
			if r.status != c.status || (r.header.Get("WWW-Authenticate") != "") != c.challenge {
				t.Fatalf("got %d, WWW-Authenticate %q, %s", r.status, r.header.Get("WWW-Authenticate"), r.raw)
			}
			if c.status == 401 && strings.HasPrefix(c.path, "/image") && r.body["imageData"] != float64(0) {
				t.Fatalf("401 on /image without \"imageData\": 0: %s", r.raw)
			}
		})
	}
}

func TestCORSOnlyForConfiguredOrigins(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	f := newFixture(t, Options{Broker: transfer.BrokerConfig{URL: "tcp://" + closedPort(t)}, CORS: []string{"https://lab.example.org", "http://127.0.0.1:8080/"}})
	cases := []struct {
		name, method, origin string
		allowed              bool
		methods              bool
	}{
		{"allowed origin", "GET", "https://lab.example.org", true, false},
		{"second origin, trailing slash in the flag", "GET", "http://127.0.0.1:8080", true, false},
		{"other origin", "GET", "https://evil.example.com", false, false},
		{"other port", "GET", "https://lab.example.org:8443", false, false},
		{"no origin", "GET", "", false, false},
		{"preflight allowed", "OPTIONS", "https://lab.example.org", true, true},
		{"preflight refused", "OPTIONS", "https://evil.example.com", false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var h []string
			if c.origin != "" {
				h = []string{"Origin", c.origin, "Access-Control-Request-Method", "POST"}
			}
			r := f.do(ctx, c.method, "/devices", "", nil, h...)
			acao, creds := r.header.Get("Access-Control-Allow-Origin"), r.header.Get("Access-Control-Allow-Credentials")
			if c.allowed != (acao == c.origin && creds == "true") || (!c.allowed && (acao != "" || creds != "")) {
				t.Fatalf("Allow-Origin %q, Allow-Credentials %q", acao, creds)
			}
			if got := strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "POST"); got != c.methods {
				t.Fatalf("Allow-Methods %q", r.header.Get("Access-Control-Allow-Methods"))
			}
		})
	}
	for _, bad := range []string{"*", "lab.example.org", "https://lab.example.org/app"} {
		if _, err := New(Options{Broker: transfer.BrokerConfig{URL: "tcp://127.0.0.1:1883"}, CORS: []string{bad}}); !errors.Is(err, ErrOptions) {
			t.Errorf("CORS origin %q: %v, want ErrOptions", bad, err)
		}
	}
}

// A client that hangs up does not stop its transfer: it finishes and its
// result is recorded.
func TestClientDisconnectStillFinishes(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	url := startMosquitto(t)
	dev := testDevice("d")
	device := startSim(t, url, dev, true)
	f := newFixture(t, Options{Broker: transfer.BrokerConfig{URL: url}, Devices: []config.Device{dev}})

	reqCtx, hangUp := context.WithCancel(ctx)
	answered := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(reqCtx, "GET", f.base+"/image?url="+f.images+"/photo.png", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		answered <- err
	}()
	waitFor(ctx, t, device.arrived, "the first frame")
	hangUp()
	if err := <-answered; err == nil {
		t.Fatal("the request was answered although the device held every frame")
	}
	var e AccessEntry
	for e.Path != "/image" {
		select {
		case e = <-f.log:
		case <-ctx.Done():
			t.Fatal("the request was never logged: the handler did not notice the client leave")
		}
	}
	if !e.ClientGone || e.Status != 0 || e.Transfer == "" || e.Device != "d" {
		t.Fatalf("access log %+v, want the client gone", e)
	}
	if tr := f.transfer(ctx, e.Transfer); tr.State != StateSending {
		t.Fatalf("after the client left the transfer is %q, want still sending", tr.State)
	}
	device.open()
	f.waitDone(ctx, e.Transfer)
	tr := f.transfer(ctx, e.Transfer)
	if got := received(ctx, t, device); tr.State != StateDone || got.SHA256 != tr.SHA256 {
		t.Fatalf("record %+v, device received %+v", tr, got)
	}
}

// The event stream replays what happened, follows live and ends with done;
// Last-Event-ID resumes after an event.
func TestEventsStreamEndsWithDone(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	url := startEmbedded(t)
	dev := testDevice("e")
	device := startSim(t, url, dev, true)
	f := newFixture(t, Options{Broker: transfer.BrokerConfig{URL: url}, Devices: []config.Device{dev}})

	body := &bytes.Buffer{}
	mw := multipart.NewWriter(body)
	part, _ := mw.CreateFormFile("file", "photo.png")
	part.Write(pngImage(200, 150, 4, false))
	mw.Close()
	r := f.do(ctx, "POST", "/image?async=1", mw.FormDataContentType(), body.Bytes())
	if r.status != http.StatusAccepted {
		t.Fatalf("multipart POST: %d %s", r.status, r.raw)
	}
	id := r.body["id"].(string)
	// Live: the stream is open before the device answers anything.
	waitFor(ctx, t, device.arrived, "the first frame")
	live := f.events(ctx, id, "", func(e sseEvent) bool {
		if e.typ == "connected" {
			device.open()
		}
		return false
	})
	kinds := make([]string, len(live))
	for i, e := range live {
		kinds[i] = e.typ
	}
	// frame_sent, acked and progress are coalesced for a reader that lags,
	// so which of them this one saw depends on timing.
	if kinds[0] != "connected" || kinds[len(kinds)-1] != "done" || !strings.Contains(strings.Join(kinds, " "), "frame_sent") {
		t.Fatalf("events %v, want connected … frame_sent … done", kinds)
	}
	replay := f.events(ctx, id, "", nil)
	if last := replay[len(replay)-1]; last.typ != "done" || last.data != live[len(live)-1].data || len(replay) > len(live) {
		t.Fatalf("replay %v does not end with the same done", replay)
	}
	resumed := f.events(ctx, id, live[len(live)-2].id, nil)
	if len(resumed) != 1 || resumed[0].typ != "done" {
		t.Fatalf("resumed after %s: %v", live[len(live)-2].id, resumed)
	}
	received(ctx, t, device)
}

// The registry keeps History finished transfers; older ones are 404.
func TestFinishedTransfersAreBounded(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	url := startEmbedded(t)
	dev := testDevice("h")
	startSim(t, url, dev, false)
	f := newFixture(t, Options{Broker: transfer.BrokerConfig{URL: url}, Devices: []config.Device{dev}, History: 2})
	var ids []string
	for i := range 3 {
		r := f.do(ctx, "POST", "/image", "image/png", pngImage(32, 32, i, false))
		tr, _ := r.body["transfer"].(map[string]any)
		if r.status != 200 || tr["state"] != StateDone {
			t.Fatalf("POST: %d %s", r.status, r.raw)
		}
		ids = append(ids, tr["id"].(string))
	}
	if r := f.get(ctx, "/transfers/"+ids[0]); r.status != 404 {
		t.Fatalf("the oldest transfer is still known: %d", r.status)
	}
	if got := f.get(ctx, "/transfers").body["transfers"].([]any); len(got) != 2 || got[0].(map[string]any)["id"] != ids[2] {
		t.Fatalf("GET /transfers: %v, want the last two, newest first", got)
	}
}

// A waiting request outlives ReadTimeout, which bounds reading the request
// only: no server timeout may cut a transfer's answer.
func TestWaitingOutlivesReadTimeout(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	url := startEmbedded(t)
	dev := testDevice("slow")
	device := startSim(t, url, dev, true)
	const readTimeout = 100 * time.Millisecond
	f := newFixture(t, Options{Broker: transfer.BrokerConfig{URL: url}, Devices: []config.Device{dev}, ReadTimeout: readTimeout})
	go func() {
		waitFor(ctx, t, device.arrived, "the first frame")
		<-time.After(3 * readTimeout) // the deadline must pass while the request waits
		device.open()
	}()
	if r := f.get(ctx, "/image?url="+f.images+"/photo.png"); r.status != 200 || r.body["imageData"] != float64(1) {
		t.Fatalf("got %d %q", r.status, r.raw)
	}
}

// Shutdown refuses new transfers and, past its deadline, cancels the
// running ones: their waiting clients get 503.
func TestShutdownCancelsAfterGrace(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	url := startEmbedded(t)
	dev := testDevice("s")
	device := startSim(t, url, dev, true)
	f := newFixture(t, Options{Broker: transfer.BrokerConfig{URL: url}, Devices: []config.Device{dev}})
	answered := make(chan reply, 1)
	go func() { answered <- f.get(ctx, "/image?url="+f.images+"/photo.png") }()
	waitFor(ctx, t, device.arrived, "the first frame")
	expired, cancel := context.WithCancel(ctx)
	cancel()
	if err := f.srv.Shutdown(expired); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown: %v", err)
	}
	if r := <-answered; r.status != http.StatusServiceUnavailable || r.body["imageData"] != float64(0) {
		t.Fatalf("the waiting client got %d %s", r.status, r.raw)
	}
	if r := f.get(ctx, "/image?url="+f.images+"/photo.png"); r.status != http.StatusServiceUnavailable {
		t.Fatalf("a new request after shutdown got %d %s", r.status, r.raw)
	}
}

func TestHistoryCoalescesFrequentEvents(t *testing.T) {
	now := time.Now()
	fs := transfer.FrameSent{Time: now, Function: transfer.FuncData}
	ack := transfer.Acked{Time: now, Function: transfer.FuncData}
	prog := transfer.Progress{Time: now}
	retry := transfer.Retry{Time: now, Cause: transfer.CauseTimeout}
	done := transfer.Done{Time: now}
	cases := []struct {
		name   string
		events []transfer.Event
		kinds  string // what is kept
		seqs   []int
	}{
		{"a run keeps its latest", []transfer.Event{transfer.Connected{}, fs, ack, prog, fs, ack, prog, done}, "connected progress done", []int{1, 7, 8}},
		{"a retry splits runs", []transfer.Event{fs, retry, fs, ack, prog}, "frame_sent retry progress", []int{1, 2, 5}},
		{"nothing after the end", []transfer.Event{done, prog}, "done", []int{1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := &job{}
			j.hist.init()
			for _, e := range c.events {
				j.hist.add(e)
			}
			entries, skipped, _, _ := j.since(0)
			var kinds []string
			var seqs []int
			for _, e := range entries {
				kinds = append(kinds, e.ev.Kind())
				seqs = append(seqs, e.seq)
			}
			if strings.Join(kinds, " ") != c.kinds || !reflect.DeepEqual(seqs, c.seqs) || skipped {
				t.Fatalf("kept %v %v (skipped %v), want %s %v", kinds, seqs, skipped, c.kinds, c.seqs)
			}
		})
	}
	t.Run("bounded", func(t *testing.T) {
		j := &job{}
		j.hist.init()
		for range maxHistory + 10 {
			j.hist.add(retry)
		}
		j.hist.add(done)
		entries, skipped, _, ended := j.since(0)
		if len(entries) != maxHistory || !skipped || !ended || entries[len(entries)-1].ev.Kind() != "done" {
			t.Fatalf("%d entries, skipped %v, ended %v", len(entries), skipped, ended)
		}
		if _, skipped, _, _ := j.since(entries[0].seq); skipped {
			t.Fatal("a reader past the dropped events is told it missed some")
		}
	})
}

func TestStatusForMapsSentinels(t *testing.T) {
	cases := []struct {
		err    error
		status int
	}{
		{codec.ErrFetch, 502}, {codec.ErrNotImage, 415}, {codec.ErrHEIC, 415}, {codec.ErrUnsupported, 415},
		{codec.ErrTruncated, 415}, {codec.ErrCorrupt, 415}, {codec.ErrEmpty, 415},
		{codec.ErrTooLarge, 422}, {codec.ErrTooManyPixels, 422}, {codec.ErrBudget, 422}, {transfer.ErrTooLarge, 422},
		{transfer.ErrIncomplete, 502}, {transfer.ErrBrokerUnreachable, 503}, {transfer.ErrNotAuthorized, 503},
		{transfer.ErrLinkDown, 503}, {transfer.ErrNoAnswer, 504}, {transfer.ErrCanceled, 503}, {ErrQueueFull, 429},
		{errors.New("something else"), 500},
	}
	for _, c := range cases {
		if got, msg := statusFor(errors.Join(c.err)); got != c.status || msg == "" {
			t.Errorf("%v: %d %q, want %d", c.err, got, msg, c.status)
		}
	}
}
