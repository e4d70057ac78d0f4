package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"imagebeam/codec"
	"imagebeam/config"
	"imagebeam/internal/bombs"
	"imagebeam/transfer"
)

// An upload whose Content-Length is over the limit is refused at once:
// the server does not wait for a body that would be thrown away.
func TestUploadOverTheLimitIsRefusedBeforeItsBody(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Broker: transfer.BrokerConfig{URL: "tcp://" + closedPort(t)}, MaxBody: 1 << 20})
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The headers only: the 60 MB body never comes.
	fmt.Fprintf(conn, "POST /image HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: 60000000\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "1048576-byte limit") {
		t.Fatalf("got %d %s, want 413 naming the limit", resp.StatusCode, body)
	}
}

// signalReader closes read on its first Read: the moment the server
// starts reading the body.
type signalReader struct {
	r    io.Reader
	read chan struct{}
	once bool
}

func (s *signalReader) Read(p []byte) (int, error) {
	if !s.once {
		s.once = true
		close(s.read)
	}
	return s.r.Read(p)
}

func upload(t *testing.T, img []byte) (*http.Request, *signalReader) {
	body := &signalReader{r: bytes.NewReader(img), read: make(chan struct{})}
	req := httptest.NewRequest("POST", "/image?async=1", body)
	req.Host = "127.0.0.1"
	req.ContentLength = int64(len(img))
	req.Header.Set("Content-Type", "image/png")
	return req, body
}

// Uploads count against the memory budget and the device's queue before
// their bodies are read: while the budget's input share is taken, an
// upload holds its place in the queue and waits unread, and one past the
// queue limit is refused without being read either.
func TestUploadsWaitForMemoryBeforeTheirBodiesAreRead(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	budget := codec.NewBudget(8<<20, "--max-memory")
	f := newFixture(t, Options{Broker: transfer.BrokerConfig{URL: "tcp://" + closedPort(t)}, QueueLimit: 1,
		Load: codec.LoadOptions{Budget: budget}})
	waiting := make(chan struct{}, 4)
	f.srv.beforeUploadWait = func() { waiting <- struct{}{} }
	// Other uploads hold the whole input share.
	if err := budget.AcquireInput(ctx, budget.InputLimit()); err != nil {
		t.Fatal(err)
	}
	img := pngImage(32, 32, 1, false)
	req, body := upload(t, img)
	rec := httptest.NewRecorder()
	served := make(chan struct{})
	go func() {
		defer close(served)
		f.srv.ServeHTTP(rec, req)
	}()
	select {
	case <-waiting:
	case <-body.read:
		t.Fatal("the upload was read before it got its memory")
	case <-ctx.Done():
		t.Fatal("the upload neither waited nor was read")
	}

	req2, body2 := upload(t, img)
	rec2 := httptest.NewRecorder()
	f.srv.ServeHTTP(rec2, req2)
	if rec2.Code != http.StatusTooManyRequests {
		t.Fatalf("a second upload with the queue's only place taken: %d %s, want 429", rec2.Code, rec2.Body)
	}
	select {
	case <-body2.read:
		t.Error("the refused upload was read")
	case <-body.read:
		t.Fatal("the first upload was read before it got its memory")
	default:
	}

	budget.ReleaseInput(budget.InputLimit())
	select {
	case <-served:
	case <-ctx.Done():
		t.Fatal("the upload did not go on once memory was free")
	}
	if rec.Code != http.StatusAccepted {
		t.Fatalf("got %d %s, want 202", rec.Code, rec.Body)
	}
}

// The old call on a bomb: refused from its header with 422 and the one
// sentence naming its size and the budget, quickly and without decoding.
func TestBombURLIsRefusedWith422(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	var bomb bytes.Buffer
	err := bombs.JPEG{Width: 10000, Height: 10000, Progressive: true,
		Components: []bombs.Sampling{{H: 1, V: 1}, {H: 1, V: 1}, {H: 1, V: 1}}}.Write(&bomb)
	if err != nil {
		t.Fatal(err)
	}
	imgs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(bomb.Bytes()) }))
	defer imgs.Close()
	dev := testDevice("bench")
	f := newFixture(t, Options{Broker: transfer.BrokerConfig{URL: "tcp://" + closedPort(t)}, Devices: []config.Device{dev},
		Load: codec.LoadOptions{Budget: codec.NewBudget(1<<30, "--max-memory")}})
	r := f.get(ctx, "/image?url="+imgs.URL+"/bomb.jpg")
	msg, _ := r.body["error"].(string)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(msg, "10000×10000 progressive JPEG") ||
		!strings.Contains(msg, "1 GiB memory budget (--max-memory)") || r.body["imageData"] != float64(0) {
		t.Fatalf("got %d %s", r.status, r.raw)
	}
}
