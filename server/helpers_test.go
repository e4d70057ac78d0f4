package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"imagebeam/broker"
	"imagebeam/config"
	"imagebeam/internal/testbroker"
	"imagebeam/simdevice"
	"imagebeam/transfer"
)

func TestMain(m *testing.M) { testbroker.RunWithTempLocks(m) }

// testTimeout bounds every wait of a test, so a bug fails it instead of
// hanging it.
const testTimeout = 30 * time.Second

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// fixture is a Server behind a real http.Server on 127.0.0.1, plus an
// image server for ?url=.
type fixture struct {
	t      testing.TB
	srv    *Server
	base   string // the API
	images string // the image server
	log    chan AccessEntry
}

// newFixture serves opts (Broker and Devices set by the caller).
func newFixture(t testing.TB, opts Options) *fixture {
	t.Helper()
	f := &fixture{t: t, log: make(chan AccessEntry, 256)}
	opts.AccessLog = func(e AccessEntry) {
		select {
		case f.log <- e:
		default:
		}
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	ts := httptest.NewUnstartedServer(srv)
	ts.Config = srv.HTTPServer() // the real timeouts
	ts.Start()
	imgs := httptest.NewServer(imageHandler())
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
		imgs.Close()
	})
	f.base, f.images = ts.URL, imgs.URL
	return f
}

// imageHandler serves test inputs: /photo.png, /color/N.png (a different
// picture per N), /noise.png (too big for 1-byte chunks), /text, /heic;
// anything else is 404.
func imageHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /photo.png", func(w http.ResponseWriter, r *http.Request) { w.Write(pngImage(200, 150, 0, false)) })
	mux.HandleFunc("GET /color/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimSuffix(r.PathValue("n"), ".png"))
		w.Write(pngImage(120, 90, n, false))
	})
	mux.HandleFunc("GET /noise.png", func(w http.ResponseWriter, r *http.Request) { w.Write(pngImage(400, 400, 0, true)) })
	mux.HandleFunc("GET /text", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "this is not an image\n")
	})
	mux.HandleFunc("GET /heic", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile("../codec/testdata/sample.heic")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Write(b)
	})
	return mux
}

// pngImage draws a w×h gradient tinted by seed, or random noise.
func pngImage(w, h, seed int, noise bool) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	rnd := rand.New(rand.NewPCG(uint64(seed), 7))
	for y := range h {
		for x := range w {
			c := color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8(seed * 37), 255}
			if noise {
				c = color.NRGBA{uint8(rnd.Uint32()), uint8(rnd.Uint32()), uint8(rnd.Uint32()), 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func startMosquitto(t testing.TB) string {
	return testbroker.StartMosquitto(t, testbroker.Options{}).URL()
}

func startEmbedded(t testing.TB) string {
	b, err := broker.Start(broker.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b.URL()
}

// testDevice is a device on its own topics with the old service's
// settings.
func testDevice(name string) config.Device {
	d := config.DefaultDevice()
	d.Name = name
	d.ToDevice = "test/" + name + "/to"
	d.FromDevice = "test/" + name + "/from"
	return d
}

// sim is a simulated device.
type sim struct {
	images  chan simdevice.Received
	arrived chan struct{} // closed when the first frame reached the device
	gate    chan struct{} // gated devices see no frame until it is closed
}

// open lets a gated device answer.
func (s *sim) open() { close(s.gate) }

// startSim runs a simulated device for dev. A gated one holds every frame,
// from the first on, until open: its transfer stays "sending".
func startSim(t testing.TB, brokerURL string, dev config.Device, gated bool) *sim {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	link, err := transfer.Dial(ctx, transfer.BrokerConfig{URL: brokerURL}, "test-sim", dev.ToDevice, dev.FromDevice, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := &sim{images: make(chan simdevice.Received, 64), arrived: make(chan struct{}), gate: make(chan struct{})}
	if !gated {
		close(s.gate)
	}
	g := &gatedLink{MQTTLink: link, in: make(chan []byte)}
	go g.forward(ctx, s.arrived, s.gate)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = simdevice.Run(ctx, g, simdevice.Options{}, s.images)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		link.Close()
	})
	return s
}

// gatedLink passes the device's frames on only once its gate is open.
type gatedLink struct {
	*transfer.MQTTLink
	in chan []byte
}

func (g *gatedLink) Incoming() <-chan []byte { return g.in }

func (g *gatedLink) forward(ctx context.Context, arrived, gate chan struct{}) {
	first := true
	for {
		var p []byte
		select {
		case p = <-g.MQTTLink.Incoming():
		case <-ctx.Done():
			return
		}
		if first {
			first = false
			close(arrived)
			select {
			case <-gate:
			case <-ctx.Done():
				return
			}
		}
		select {
		case g.in <- p:
		case <-ctx.Done():
			return
		}
	}
}

// startNakFinish runs a device that acks every frame but answers FINISH
// with status 0 ("incomplete"), for ever.
func startNakFinish(t testing.TB, brokerURL string, dev config.Device) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	link, err := transfer.Dial(ctx, transfer.BrokerConfig{URL: brokerURL}, "test-nak", dev.ToDevice, dev.FromDevice, 0)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case p := <-link.Incoming():
				f, err := transfer.DecodeFrame(p)
				if err != nil {
					continue
				}
				st := transfer.StatusWhole
				if f.Function == transfer.FuncFinish {
					st = transfer.StatusIncomplete
				}
				_ = link.Publish(ctx, transfer.EncodeFeedback(transfer.Feedback{Function: f.Function, Number: f.Number, Status: st}))
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		link.Close()
	})
}

// reply is an HTTP answer with its JSON body decoded.
type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (f *fixture) do(ctx context.Context, method, path, contentType string, body []byte, header ...string) reply {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, f.base+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1] // net/http sends req.Host, not a Host header
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			f.t.Fatalf("%s %s: answer %d is not JSON: %q", method, path, resp.StatusCode, raw)
		}
	}
	return r
}

func (f *fixture) get(ctx context.Context, path string) reply { return f.do(ctx, "GET", path, "", nil) }

// transfer returns GET /transfers/{id}.
func (f *fixture) transfer(ctx context.Context, id string) Transfer {
	f.t.Helper()
	r := f.get(ctx, "/transfers/"+id)
	if r.status != http.StatusOK {
		f.t.Fatalf("GET /transfers/%s: %d %s", id, r.status, r.raw)
	}
	var tr Transfer
	if err := json.Unmarshal([]byte(r.raw), &tr); err != nil {
		f.t.Fatal(err)
	}
	return tr
}

// postAsync uploads img with ?async=1 and returns the transfer id.
func (f *fixture) postAsync(ctx context.Context, device string, img []byte) string {
	f.t.Helper()
	r := f.do(ctx, "POST", "/image?async=1&device="+device, "image/png", img)
	if r.status != http.StatusAccepted || r.header.Get("Location") != "/transfers/"+r.body["id"].(string) {
		f.t.Fatalf("async POST: %d %v %s", r.status, r.header, r.raw)
	}
	return r.body["id"].(string)
}

// sseEvent is one server-sent event.
type sseEvent struct {
	id   string
	typ  string
	data string
}

// events reads GET /transfers/{id}/events until the server ends the
// stream, or until stop returns true for an event.
func (f *fixture) events(ctx context.Context, id, lastID string, stop func(sseEvent) bool) []sseEvent {
	f.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.base+"/transfers/"+id+"/events", nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		f.t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			cur.id = line[4:]
		case strings.HasPrefix(line, "data: "):
			cur.data = line[6:]
			var v struct{ Type string }
			if err := json.Unmarshal([]byte(cur.data), &v); err != nil {
				f.t.Fatalf("event data is not JSON: %q", cur.data)
			}
			cur.typ = v.Type
		case line == "" && cur.data != "":
			out = append(out, cur)
			if stop != nil && stop(cur) {
				return out
			}
			cur = sseEvent{}
		}
	}
	if ctx.Err() != nil {
		f.t.Fatalf("event stream of %s did not end: %v", id, ctx.Err())
	}
	return out
}

// waitDone reads the transfer's events to their end and checks it is done.
func (f *fixture) waitDone(ctx context.Context, id string) {
	f.t.Helper()
	ev := f.events(ctx, id, "", nil)
	if len(ev) == 0 || ev[len(ev)-1].typ != "done" {
		f.t.Fatalf("transfer %s: events end with %+v, want done", id, ev[len(ev)-1:])
	}
}

// received waits for the device's next image.
func received(ctx context.Context, t testing.TB, s *sim) simdevice.Received {
	t.Helper()
	select {
	case got := <-s.images:
		return got
	case <-ctx.Done():
		t.Fatal("the device received no image")
		return simdevice.Received{}
	}
}

// waitFor waits for ch to close.
func waitFor(ctx context.Context, t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-ctx.Done():
		t.Fatalf("waiting for %s: %v", what, ctx.Err())
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
