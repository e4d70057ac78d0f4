package server

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"imagebeam/config"
	"imagebeam/transfer"
)

// TestWebPagesCannotDriveOrReadTheServer: with the default settings
// (loopback, no token) a web page the user visits must not be able to send
// images (a cross-site POST, an <img> on GET /image?url=) nor read the API
// through DNS rebinding, while clients that send no Origin keep working.
func TestWebPagesCannotDriveOrReadTheServer(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	url := startEmbedded(t)
	dev := testDevice("bench")
	device := startSim(t, url, dev, false)
	f := newFixture(t, Options{Broker: transfer.BrokerConfig{URL: url}, Devices: []config.Device{dev},
		CORS: []string{"https://lab.example.org"}, Hosts: []string{"labpc"}})
	id := f.postAsync(ctx, "bench", pngImage(32, 32, 1, false)) // a script's upload: no Origin
	received(ctx, t, device)
	f.waitDone(ctx, id)
	_, port, _ := strings.Cut(strings.TrimPrefix(f.base, "http://"), ":")

	imageURL := "/image?url=" + f.images + "/photo.png"
	cases := []struct {
		name, method, path, host string
		header                   []string
		want                     int
	}{
		{"cross-site text/plain POST", "POST", "/image", "", []string{"Origin", "https://evil.example", "Content-Type", "text/plain"}, 403},
		{"POST from a sandboxed page", "POST", "/image", "", []string{"Origin", "null"}, 403},
		{"<img> on the old call", "GET", imageURL, "", []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "no-cors"}, 403},
		{"same-site page on another port", "GET", imageURL, "", []string{"Sec-Fetch-Site", "same-site"}, 403},
		{"DNS rebinding reads the transfers", "GET", "/transfers", "rebind.evil.example:" + port, nil, 403},
		{"DNS rebinding reads the events", "GET", "/transfers/" + id + "/events", "rebind.evil.example", nil, 403},
		{"cross-site fetch of the devices", "GET", "/devices", "", []string{"Origin", "https://evil.example"}, 403},
		{"cross-site event stream", "GET", "/transfers/" + id + "/events", "", []string{"Origin", "https://evil.example"}, 403},
		{"preflight from another site", "OPTIONS", "/image", "", []string{"Origin", "https://evil.example", "Access-Control-Request-Method", "POST"}, 403},
		{"curl by IP", "GET", "/devices", "", nil, 200},
		{"curl by localhost", "GET", "/transfers", "localhost:" + port, nil, 200},
		{"IPv6 loopback", "GET", "/transfers", "[::1]:" + port, nil, 200},
		{"a LAN address", "GET", "/transfers", "10.0.0.5:5000", nil, 200},
		{"a name given with --host", "GET", "/transfers", "LabPC.:5000", nil, 200},
		{"the address bar", "GET", "/transfers/" + id, "", []string{"Sec-Fetch-Site", "none"}, 200},
		{"a page of a --cors origin", "GET", "/devices", "", []string{"Origin", "https://lab.example.org", "Sec-Fetch-Site", "cross-site"}, 200},
		{"preflight of a --cors origin", "OPTIONS", "/image", "", []string{"Origin", "https://lab.example.org", "Access-Control-Request-Method", "POST"}, 204},
	}
	for _, c := range cases {
		var upload []byte
		if c.method == "POST" {
			upload = []byte("hello") // a cross-site form or text/plain POST
		}
		sent := c.header
		if c.host != "" {
			sent = append([]string{"Host", c.host}, sent...)
		}
		r := f.do(ctx, c.method, c.path, "", upload, sent...)
		status, header, body := r.status, r.header, r.raw
		if status != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, status, body, c.want)
		}
		if status == 403 && (!strings.Contains(body, `"error"`) || header.Get("Access-Control-Allow-Origin") != "") {
			t.Errorf("%s: a refusal must be one JSON sentence without CORS headers: %v %s", c.name, header, body)
		}
	}
	if n := len(f.srv.recent()); n != 1 {
		t.Errorf("%d transfers, want only the script's: a web page started one", n)
	}
}

// TestURLErrorsRevealNoPortState: whether the image URL's port refused the
// connection, reset it, answered 401 or sent a web page, a remote caller
// gets the same answer; the server's log keeps the detail.
func TestURLErrorsRevealNoPortState(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	url := startEmbedded(t)
	dev := testDevice("bench")
	var logged strings.Builder
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logged.Write(p)
	}), nil))
	f := newFixture(t, Options{Broker: transfer.BrokerConfig{URL: url}, Devices: []config.Device{dev}, Log: log})
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			http.Error(w, "who are you?", http.StatusUnauthorized)
		case "/reset":
			c, _, _ := w.(http.Hijacker).Hijack()
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		default:
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html><body>an admin page</body></html>"))
		}
	}))
	defer web.Close()
	var first string
	for _, u := range []string{"http://" + closedPort(t) + "/a.jpg", web.URL + "/reset", web.URL + "/login", web.URL + "/admin"} {
		r := f.get(ctx, "/image?url="+u)
		if first == "" {
			first = r.raw
		}
		if r.status != http.StatusBadGateway || r.raw != first {
			t.Errorf("%s: %d %s, want 502 and the same answer as the others (%s)", u, r.status, r.raw, first)
		}
	}
	r := f.get(ctx, "/image?url=http://0.0.0.0:"+strings.Split(web.URL, ":")[2]+"/a.jpg")
	if r.status != http.StatusForbidden || !strings.Contains(r.raw, "does not fetch from") {
		t.Errorf("a URL the fetch policy refuses: %d %s", r.status, r.raw)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, detail := range []string{"connection refused", "401", "text/html", "not allowed"} {
		if !strings.Contains(logged.String(), detail) {
			t.Errorf("the server's log does not keep %q:\n%s", detail, logged.String())
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
