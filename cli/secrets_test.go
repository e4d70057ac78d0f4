package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"imagebeam/broker"
	"imagebeam/config"
	"imagebeam/simdevice"
	"imagebeam/transfer"
)

// The secrets every route carries. Each is long and unique, so finding it
// anywhere in an output means it was printed; a wrong one starts with the
// right one, so printing the wrong one is caught too.
const (
	brokerSecret = "Br0ker-Pw-7f3a91"
	tokenSecret  = "Serve-T0ken-c52e08"
	fetchSecret  = "Fetch-Pw-0d9b44"
)

// lockedBuffer is an io.Writer that a command and the test may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// leaks fails the test for every secret found in out.
func leaks(t *testing.T, what, out string) {
	t.Helper()
	for _, s := range []string{brokerSecret, tokenSecret, fetchSecret} {
		if strings.Contains(out, s) {
			t.Errorf("%s printed a secret:\n%s", what, out)
		}
	}
}

// secretBench is a broker that requires the login lab/brokerSecret and a
// simulated device on it (topics sec/to, sec/from).
func secretBench(t *testing.T) (host string) {
	t.Helper()
	b, err := broker.Start(broker.Options{Listen: "127.0.0.1:0", Username: "lab", Password: brokerSecret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	link, err := transfer.Dial(ctx, transfer.BrokerConfig{URL: b.URL(), Username: "lab", Password: brokerSecret}, "test-sim", "sec/to", "sec/from", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(link.Close)
	go func() {
		_ = simdevice.Run(ctx, link, simdevice.Options{Faults: simdevice.Faults{Garbage: 0.2, NAK: 0.1, Seed: 5}}, nil)
	}()
	return strings.TrimPrefix(b.URL(), "tcp://")
}

// TestNoSecretIsPrinted feeds a broker password through each route (flag,
// environment, settings file, a URL's user-info) into send and simulate,
// right and wrong, with plain and JSON output, and a fetch URL's login
// into convert, and greps everything they print.
func TestNoSecretIsPrinted(t *testing.T) {
	host := secretBench(t)
	dir := t.TempDir()
	img := filepath.Join(dir, "a.jpg")
	if err := os.WriteFile(img, bytes.Repeat([]byte("imagebeam"), 400), 0o600); err != nil {
		t.Fatal(err)
	}
	topics := []string{"--to-device", "sec/to", "--from-device", "sec/from", "--timeout", "200ms"}
	plainURL := "tcp://" + host
	loginURL := func(pw string) string { return "tcp://lab:" + pw + "@" + host }

	// A settings file others can read, holding the password.
	cfgPath := filepath.Join(dir, "settings.json")
	writeSettings := func(pw string) {
		s := config.Default()
		s.Broker = config.Broker{URL: plainURL, Username: "lab", Password: pw}
		d := config.DefaultDevice()
		d.Name, d.ToDevice, d.FromDevice = "Bench", "sec/to", "sec/from"
		s.Devices = []config.Device{d}
		if err := s.Save(cfgPath); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(cfgPath, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("IMAGEBEAM_CONFIG", cfgPath)

	type route struct {
		name  string
		args  func(pw string) []string
		setup func(pw string)
	}
	routes := []route{
		{"flag", func(pw string) []string {
			return append([]string{"--broker", plainURL, "--username", "lab", "--password", pw}, topics...)
		}, nil},
		{"environment", func(string) []string {
			return append([]string{"--broker", plainURL, "--username", "lab"}, topics...)
		}, func(pw string) { t.Setenv("IMAGEBEAM_PASSWORD", pw) }},
		{"settings file", func(string) []string { return []string{"--device", "Bench", "--timeout", "200ms"} }, writeSettings},
		{"URL user-info", func(pw string) []string { return append([]string{"--broker", loginURL(pw)}, topics...) }, nil},
	}
	for _, r := range routes {
		for _, pw := range []string{brokerSecret, brokerSecret + "-wrong"} {
			if r.setup != nil {
				r.setup(pw)
			}
			for _, mode := range [][]string{{"--json"}, nil} {
				args := append(append([]string{"send", "--raw"}, mode...), r.args(pw)...)
				res := run(append(args, img)...)
				what := fmt.Sprintf("send via %s (%s password, %v)", r.name, map[bool]string{true: "right", false: "wrong"}[pw == brokerSecret], mode)
				if (pw == brokerSecret) != (res.code == ExitOK) {
					t.Errorf("%s: exit %d, stderr %q", what, res.code, res.stderr)
				}
				leaks(t, what, res.stdout+res.stderr)
			}
			os.Unsetenv("IMAGEBEAM_PASSWORD")
		}
	}
	if res := run("send", "--raw", "--device", "Bench", img); !strings.Contains(res.stderr, "chmod 600") {
		t.Errorf("a settings file with a password that others can read gives no warning: %q", res.stderr)
	}

	// simulate with a wrong login fails at once and says so, without it.
	res := run("simulate", "--broker", loginURL(brokerSecret+"-wrong"), "--to-device", "sim2/to", "--from-device", "sim2/from")
	if res.code != ExitFailed {
		t.Errorf("simulate with a wrong password: exit %d, %q", res.code, res.stderr)
	}
	leaks(t, "simulate (wrong password)", res.stdout+res.stderr)

	// simulate with the right login prints its start line, serves one
	// image and exits.
	simOut, simErr := &lockedBuffer{}, &lockedBuffer{}
	simDone := make(chan int, 1)
	go func() {
		simDone <- Main([]string{"simulate", "--broker", loginURL(brokerSecret), "--to-device", "sim/to", "--from-device", "sim/from",
			"--count", "1", "--linger", "100ms"}, Env{Stdin: strings.NewReader(""), Stdout: simOut, Stderr: simErr})
	}()
	sent := false
	for !sent {
		res := run("send", "--raw", "--broker", loginURL(brokerSecret), "--to-device", "sim/to", "--from-device", "sim/from", img)
		leaks(t, "send to simulate", res.stdout+res.stderr)
		switch {
		case res.code == ExitOK:
			sent = true
		case !strings.Contains(res.stderr, "did not answer"):
			t.Fatalf("send to simulate: %+v", res)
		}
		// "did not answer": simulate was not subscribed yet; send again.
	}
	select {
	case code := <-simDone:
		if code != ExitOK {
			t.Errorf("simulate: exit %d, %q", code, simErr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("simulate did not exit after one image")
	}
	leaks(t, "simulate", simOut.String()+simErr.String())

	// convert with a login in the image URL, to a server that refuses it.
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusUnauthorized)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	for _, u := range []string{
		"http://me:" + fetchSecret + "@" + ln.Addr().String() + "/a.jpg",
		"http://me:" + fetchSecret + "@127.0.0.1:1/a.jpg", // nothing listens on port 1
		"ftp://me:" + fetchSecret + "@" + ln.Addr().String() + "/a.jpg",
	} {
		res := run("convert", u, filepath.Join(dir, "out.jpg"))
		if res.code == ExitOK {
			t.Errorf("convert %s succeeded", u)
		}
		leaks(t, "convert of a URL with a login", res.stdout+res.stderr)
	}
}

// TestServePrintsAndAnswersNoSecret runs serve with the broker password in
// its URL and a token from the environment, and greps its log and every
// answer: the old call with a login in the image URL (failing), an upload
// that succeeds, its event stream, /devices and /transfers.
func TestServePrintsAndAnswersNoSecret(t *testing.T) {
	host := secretBench(t)
	t.Setenv("IMAGEBEAM_CONFIG", filepath.Join(t.TempDir(), "settings.json"))
	t.Setenv("IMAGEBEAM_TOKEN", tokenSecret)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	stderr := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, Env{Stdin: strings.NewReader(""), Stdout: outW, Stderr: stderr}, []string{
			"--listen", "127.0.0.1:0", "--broker", "tcp://lab:" + brokerSecret + "@" + host,
			"--to-device", "sec/to", "--from-device", "sec/from", "--grace", "0s"})
		outW.Close()
	}()
	sc := bufio.NewScanner(outR)
	if !sc.Scan() {
		t.Fatalf("serve printed nothing: %s", stderr.String())
	}
	base := strings.TrimPrefix(sc.Text(), "listening on ")
	go func() { _, _ = io.Copy(io.Discard, outR) }()

	var answers strings.Builder
	call := func(method, path string, body io.Reader) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tokenSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		fmt.Fprintf(&answers, "%s: %d %v %s\n", method, resp.StatusCode, resp.Header, b) // not the path: it holds the secret we sent
		return resp.StatusCode, string(b)
	}
	call("GET", "/image?url="+"http://me:"+fetchSecret+"@127.0.0.1:1/a.jpg", nil)
	call("GET", "/image?url="+"http://me:"+fetchSecret+"@[::1", nil)
	photo, err := os.ReadFile(writePNG(t, 64, 48))
	if err != nil {
		t.Fatal(err)
	}
	code, body := call("POST", "/image?async=1", bytes.NewReader(photo))
	if code != http.StatusAccepted {
		t.Fatalf("upload: %d %s", code, body)
	}
	id := body[strings.Index(body, `"id":"`)+6:]
	id = id[:strings.IndexByte(id, '"')]
	code, events := call("GET", "/transfers/"+id+"/events", nil)
	if code != http.StatusOK || !strings.Contains(events, "event: done") && !strings.Contains(events, `"type":"done"`) {
		t.Errorf("events of the upload: %d %s", code, events)
	}
	if !strings.Contains(events, `"type":"connected"`) {
		t.Errorf("the event stream has no connected event: %s", events)
	}
	call("GET", "/transfers/"+id, nil)
	call("GET", "/transfers", nil)
	call("GET", "/devices", nil)
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	leaks(t, "serve's answers", answers.String())
	leaks(t, "serve's log", stderr.String())
}
