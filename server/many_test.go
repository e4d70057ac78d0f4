package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"imagebeam/config"
	"imagebeam/holdings"
	"imagebeam/transfer"
)

// benchFixture serves three devices on one broker, "Lab 1" and "Lab 2"
// with one image profile and "Lab 3" with another, the group "Lab" of
// all three, and a holdings store; each device has a simulated device.
func benchFixture(t *testing.T, brokerURL string) (*fixture, map[string]*sim) {
	t.Helper()
	devs := []config.Device{testDevice("Lab 1"), testDevice("Lab 2"), testDevice("Lab 3")}
	devs[2].Image.Width, devs[2].Image.Height, devs[2].Image.Fit = 40, 30, "stretch"
	store, err := holdings.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sims := map[string]*sim{}
	for _, d := range devs {
		sims[d.Name] = startSim(t, brokerURL, d, false)
	}
	f := newFixture(t, Options{Broker: transfer.BrokerConfig{URL: brokerURL}, Devices: devs, Holdings: store,
		Groups: []config.Group{{Name: "Lab", Devices: []string{"lab 1", "Lab 2", "LAB 3"}}, {Name: "Stale", Devices: []string{"Lab 1", "gone"}}}})
	return f, sims
}

func TestPostToAGroupSendsToEachDevice(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	f, sims := benchFixture(t, startMosquitto(t))
	r := f.do(ctx, "POST", "/image?group=lab", "image/png", pngImage(200, 150, 1, false))
	if r.status != http.StatusOK || r.body["imageData"] != float64(1) {
		t.Fatalf("POST ?group=lab: %d %s", r.status, r.raw)
	}
	var ans manyAnswer
	if err := json.Unmarshal([]byte(r.raw), &ans); err != nil {
		t.Fatal(err)
	}
	if len(ans.Transfers) != 3 {
		t.Fatalf("%d transfers, want one per device", len(ans.Transfers))
	}
	for i, tr := range ans.Transfers {
		if want := []string{"Lab 1", "Lab 2", "Lab 3"}[i]; tr.Device != want || tr.State != StateDone {
			t.Fatalf("transfer %d: %s %s, want %s done", i, tr.Device, tr.State, want)
		}
		if got := received(ctx, t, sims[tr.Device]); got.SHA256 != tr.SHA256 || !got.Complete {
			t.Fatalf("%s received %+v, the server sent %s", tr.Device, got, tr.SHA256)
		}
	}
	if ans.Transfers[0].SHA256 != ans.Transfers[1].SHA256 || ans.Transfers[0].SHA256 == ans.Transfers[2].SHA256 {
		t.Fatalf("Lab 1 and 2 share a profile and Lab 3 has its own, but the JPEGs are %s, %s, %s",
			ans.Transfers[0].SHA256, ans.Transfers[1].SHA256, ans.Transfers[2].SHA256)
	}
	// What each device holds, and the picture itself.
	d := f.get(ctx, "/devices")
	var devices struct {
		Devices []deviceInfo
		Groups  []config.Group
	}
	if err := json.Unmarshal([]byte(d.raw), &devices); err != nil {
		t.Fatal(err)
	}
	if len(devices.Groups) != 2 {
		t.Fatalf("GET /devices groups %+v", devices.Groups)
	}
	for i, dev := range devices.Devices {
		if dev.Holds == nil || dev.Holds.SHA256 != ans.Transfers[i].SHA256 || time.Since(dev.Holds.Time) > time.Minute {
			t.Fatalf("GET /devices: %s holds %+v, want %s", dev.Name, dev.Holds, ans.Transfers[i].SHA256)
		}
		resp, err := http.Get(f.base + dev.Holds.Image)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		sum := sha256.Sum256(body)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" || hex.EncodeToString(sum[:]) != dev.Holds.SHA256 {
			t.Fatalf("GET %s: %d %s, sha256 %x", dev.Holds.Image, resp.StatusCode, resp.Header.Get("Content-Type"), sum)
		}
	}
	// No subscription is left once the transfers ended.
	st := f.get(ctx, "/status")
	if st.status != 200 || st.body["subscriptions"] != float64(0) || st.body["goroutines"].(float64) < 1 {
		t.Fatalf("GET /status: %d %s", st.status, st.raw)
	}
}

func TestPostToSeveralDevicesAnswersEachFailure(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	url := startEmbedded(t)
	ok, silent := testDevice("ok"), testDevice("silent")
	silent.Timeout, silent.Retries = config.Duration(20*time.Millisecond), 1
	s := startSim(t, url, ok, false)
	f := newFixture(t, Options{Broker: transfer.BrokerConfig{URL: url}, Devices: []config.Device{ok, silent}})
	r := f.do(ctx, "POST", "/image?device=ok&device=silent", "image/png", pngImage(50, 50, 2, false))
	if r.status != http.StatusGatewayTimeout || r.body["imageData"] != float64(0) ||
		!strings.HasPrefix(r.body["error"].(string), "1 of 2 devices did not acknowledge the image (silent: transfer: device did not answer") {
		t.Fatalf("got %d %s", r.status, r.raw)
	}
	if got := received(ctx, t, s); !got.Complete {
		t.Fatalf("the answering device got %+v", got)
	}
}

func TestPostToSeveralDevicesRefusesAnUnknownOneBeforeSending(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	f, _ := benchFixture(t, startEmbedded(t))
	for path, want := range map[string]string{
		"/image?device=Lab%201&device=nope": `config: no saved device is named "nope"`,
		"/image?group=nope":                 `no group is named "nope"; saved: "Lab", "Stale"`,
		"/image?group=stale":                `group "Stale": config: no saved device is named "gone"`,
	} {
		r := f.do(ctx, "POST", path, "image/png", pngImage(8, 8, 0, false))
		if r.status != http.StatusNotFound || !strings.Contains(r.body["error"].(string), want) {
			t.Errorf("POST %s: %d %s, want 404 saying %q", path, r.status, r.raw, want)
		}
	}
	if list := f.get(ctx, "/transfers"); strings.Contains(list.raw, `"id"`) {
		t.Fatalf("a refused request made transfers: %s", list.raw)
	}
	if r := f.get(ctx, "/devices/Lab%201/last.jpg"); r.status != http.StatusNotFound || !strings.Contains(r.body["error"].(string), "no image sent to Lab 1") {
		t.Fatalf("last.jpg before any send: %d %s", r.status, r.raw)
	}
}

func TestPostToAGroupAsync(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	f, _ := benchFixture(t, startEmbedded(t))
	r := f.do(ctx, "POST", "/image?group=Lab&async=1", "image/png", pngImage(64, 48, 3, false))
	if r.status != http.StatusAccepted {
		t.Fatalf("got %d %s", r.status, r.raw)
	}
	list := r.body["transfers"].([]any)
	if len(list) != 3 {
		t.Fatalf("transfers %v", list)
	}
	for _, x := range list {
		f.waitDone(ctx, x.(map[string]any)["id"].(string))
	}
}

// GET /status answers loopback only: a request forwarded from elsewhere
// (its RemoteAddr) is refused.
func TestStatusIsForThisComputerOnly(t *testing.T) {
	t.Parallel()
	s, err := New(Options{Broker: transfer.BrokerConfig{URL: "tcp://127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	req, _ := http.NewRequest("GET", "/status", nil)
	req.Host = "127.0.0.1"
	req.RemoteAddr = "192.0.2.7:4000"
	w := &recorder{header: http.Header{}}
	s.ServeHTTP(w, req)
	if w.status != http.StatusForbidden {
		t.Fatalf("status %d, want 403", w.status)
	}
}

type recorder struct {
	header http.Header
	status int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *recorder) WriteHeader(code int)        { r.status = code }
