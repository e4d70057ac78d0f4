package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"imagebeam/broker"
	"imagebeam/internal/bombs"
	"imagebeam/simdevice"
	"imagebeam/transfer"
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "imagebeam-cli-test-")
	if err != nil {
		panic(err)
	}
	transfer.LockDir = filepath.Join(dir, "locks")
	os.Setenv("IMAGEBEAM_CONFIG", filepath.Join(dir, "settings.json"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func run(args ...string) result {
	var out, errb bytes.Buffer
	code := Main(args, Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
	return result{code, out.String(), errb.String()}
}

func TestUnknownCommandIsUsageError(t *testing.T) {
	r := run("sned", "photo.jpg")
	if r.code != ExitUsage || !strings.Contains(r.stderr, `unknown command "sned"`) {
		t.Fatalf("got %+v", r)
	}
}

func TestNoArgumentsWithoutWindowPrintsUsage(t *testing.T) {
	r := run()
	if r.code != ExitOK || !strings.Contains(r.stdout, "Commands:") {
		t.Fatalf("got %+v", r)
	}
}

func TestFileArgumentOpensTheWindow(t *testing.T) {
	f := filepath.Join(t.TempDir(), "a.jpg")
	os.WriteFile(f, []byte("x"), 0o600)
	var got []string
	code := Main([]string{f}, Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Window: func(files []string) int { got = files; return 0 }})
	if code != 0 || len(got) != 1 || got[0] != f {
		t.Fatalf("window got %v, code %d", got, code)
	}
}

func TestVersion(t *testing.T) {
	r := run("version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ImageBeam ") {
		t.Fatalf("got %+v", r)
	}
}

func TestHelpExitsZero(t *testing.T) {
	r := run("send", "-h")
	if r.code != 0 || !strings.Contains(r.stdout, "-to-device topic") || r.stderr != "" {
		t.Fatalf("got %+v", r)
	}
}

func TestSendBadUsage(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.jpg")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no image", []string{"send", "--raw"}, "missing argument"},
		{"two images", []string{"send", "--raw", "a", "b"}, "too many arguments"},
		{"unknown flag", []string{"send", "--frobnicate", "a"}, "frobnicate"},
		{"missing file", []string{"send", "--raw", missing}, "cannot read " + missing},
		{"folder", []string{"send", "--raw", t.TempDir()}, "is a folder"},
		{"bad chunk", []string{"send", "--raw", "--chunk", "0", "x"}, "chunk size 0"},
		{"bad qos", []string{"send", "--raw", "--qos", "5", "x"}, "QoS 5"},
		{"wildcard topic", []string{"send", "--raw", "--to-device", "a/#", "x"}, "wildcard"},
		{"bad broker", []string{"send", "--raw", "--broker", "http://x", "x"}, "scheme"},
		{"bad name", []string{"send", "--raw", "--name", "a;b", "x"}, "BEGIN file name"},
		{"unknown device", []string{"send", "--raw", "--device", "nope", "x"}, `no saved device is named "nope"`},
	}
	for _, c := range cases {
		r := run(c.args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and %q", c.name, r.code, r.stderr, c.want)
		}
		if strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
			t.Errorf("%s: stderr is more than one line: %q", c.name, r.stderr)
		}
	}
}

func TestSendTooLargeIsBadInput(t *testing.T) {
	f := filepath.Join(t.TempDir(), "big.bin")
	os.WriteFile(f, make([]byte, 32768*10+1), 0o600)
	r := run("send", "--raw", "--chunk", "10", f)
	if r.code != ExitUsage || !strings.Contains(r.stderr, "too large") || !strings.Contains(r.stderr, "327680") {
		t.Fatalf("got %+v", r)
	}
}

func TestSendUnreachableBrokerExitsOne(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	f := filepath.Join(t.TempDir(), "a.jpg")
	os.WriteFile(f, []byte("hello"), 0o600)
	r := run("send", "--raw", "--broker", "tcp://"+addr, f)
	if r.code != ExitFailed || !strings.Contains(r.stderr, "unreachable") || !strings.Contains(r.stderr, addr) {
		t.Fatalf("got %+v", r)
	}
}

func startBroker(t *testing.T) string {
	b, err := broker.Start(broker.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b.URL()
}

func TestSendToSilentDeviceExitsOne(t *testing.T) {
	url := startBroker(t)
	f := filepath.Join(t.TempDir(), "a.jpg")
	os.WriteFile(f, []byte("hello"), 0o600)
	r := run("send", "--raw", "--broker", url, "--timeout", "10ms", "--retries", "1", f)
	if r.code != ExitFailed || !strings.Contains(r.stderr, "device did not answer: BEGIN was sent 2 times") {
		t.Fatalf("got %+v", r)
	}
}

func TestSendJSONToSimulatedDevice(t *testing.T) {
	url := startBroker(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	link, err := transfer.Dial(ctx, transfer.BrokerConfig{URL: url}, "test-sim", "t/to", "t/from", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	images := make(chan simdevice.Received, 1)
	go simdevice.Run(ctx, link, simdevice.Options{Faults: simdevice.Faults{NAK: 0.1, Garbage: 0.1, Seed: 3}}, images)

	img := bytes.Repeat([]byte("imagebeam"), 1000)
	f := filepath.Join(t.TempDir(), "a.jpg")
	os.WriteFile(f, img, 0o600)
	r := run("send", "--raw", "--json", "--broker", url, "--to-device", "t/to", "--from-device", "t/from", f)
	if r.code != 0 {
		t.Fatalf("got %+v", r)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var last struct {
		Type  string
		Stats transfer.Stats
	}
	for _, l := range lines {
		if err := json.Unmarshal([]byte(l), &last); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
	}
	if last.Type != "done" || last.Stats.Bytes != len(img) {
		t.Fatalf("last event %+v", last)
	}
	sum := sha256.Sum256(img)
	if got := <-images; got.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("device got %+v", got)
	}
}

func TestSimulateBadFaults(t *testing.T) {
	for _, args := range [][]string{
		{"simulate", "--nak", "1.5"},
		{"simulate", "--late", "0.1"},
		{"simulate", "--late", "x:1s"},
		{"simulate", "extra"},
	} {
		if r := run(args...); r.code != ExitUsage {
			t.Errorf("%v: exit %d, stderr %q; want 2", args, r.code, r.stderr)
		}
	}
}

func TestBrokerAddressInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r := run("broker", "--listen", l.Addr().String())
	if r.code != ExitFailed || !strings.Contains(r.stderr, "in use") {
		t.Fatalf("got %+v", r)
	}
}

func TestBrokerBeyondLoopbackNeedsLogin(t *testing.T) {
	r := run("broker", "--listen", "0.0.0.0:0")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "username and password") {
		t.Fatalf("got %+v", r)
	}
}

func TestDemoDeliversThePicture(t *testing.T) {
	r := run("demo")
	if r.code != 0 || !strings.Contains(r.stdout, "sent ") || !strings.Contains(r.stderr, `"complete":true`) {
		t.Fatalf("got %+v", r)
	}
}

func writePNG(t *testing.T, w, h int) string {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	f := filepath.Join(t.TempDir(), "in.png")
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(f, buf.Bytes(), 0o600)
	return f
}

func TestConvertWritesTheDeviceJPEG(t *testing.T) {
	in := writePNG(t, 640, 480)
	out := filepath.Join(t.TempDir(), "out.jpg")
	r := run("convert", in, out, "--width", "320", "--height", "120", "--fit", "cover", "--quality", "80")
	if r.code != 0 || !strings.Contains(r.stdout, "320×120 JPEG, q80") {
		t.Fatalf("got %+v", r)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := jpeg.DecodeConfig(f)
	if err != nil || cfg.Width != 320 || cfg.Height != 120 {
		t.Fatalf("output %+v, %v", cfg, err)
	}
}

func TestConvertBadInputKeepsTheOldOutput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jpg")
	os.WriteFile(out, []byte("precious"), 0o600)
	empty := filepath.Join(dir, "empty.jpg")
	os.WriteFile(empty, nil, 0o600)
	text := filepath.Join(dir, "text.jpg")
	os.WriteFile(text, []byte("hello, this is not a picture\n"), 0o600)
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	for _, in := range []string{empty, text, srv.URL + "/photo.jpg", filepath.Join(dir, "missing.jpg")} {
		r := run("convert", in, out)
		if r.code != ExitUsage || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("%s: got %+v, want exit 2 and one line", in, r)
		}
	}
	if b, _ := os.ReadFile(out); string(b) != "precious" {
		t.Fatalf("a failed convert damaged the existing output: %q", b)
	}
}

func TestSendRunsThePipelineUnlessRaw(t *testing.T) {
	url := startBroker(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	link, err := transfer.Dial(ctx, transfer.BrokerConfig{URL: url}, "test-sim", "p/to", "p/from", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	images := make(chan simdevice.Received, 1)
	go simdevice.Run(ctx, link, simdevice.Options{}, images)
	in := writePNG(t, 400, 300)
	r := run("send", "--broker", url, "--to-device", "p/to", "--from-device", "p/from", "--width", "200", "--height", "150", in)
	if r.code != 0 || !strings.Contains(r.stderr, "prepared 200×150 JPEG") {
		t.Fatalf("got %+v", r)
	}
	got := <-images
	if !got.Complete || got.Size == 0 {
		t.Fatalf("device got %+v", got)
	}
}

// With OUT "-" the JPEG goes to the command's standard output, alone: the
// summary goes to standard error, where it cannot corrupt a pipe.
func TestConvertToStandardOutputWritesOnlyTheJPEG(t *testing.T) {
	in := writePNG(t, 64, 48)
	r := run("convert", in, "-", "--width", "32", "--height", "24")
	if r.code != 0 {
		t.Fatalf("got %+v", r)
	}
	cfg, err := jpeg.DecodeConfig(strings.NewReader(r.stdout))
	if err != nil || cfg.Width != 32 || cfg.Height != 24 {
		t.Fatalf("standard output is not the 32×24 JPEG alone: %+v, %v (%d bytes)", cfg, err, len(r.stdout))
	}
	if _, err := jpeg.Decode(strings.NewReader(r.stdout)); err != nil {
		t.Fatalf("standard output does not decode: %v", err)
	}
	if !strings.HasSuffix(r.stdout, "\xff\xd9") {
		t.Errorf("standard output has bytes after the JPEG's end: %q", r.stdout[max(0, len(r.stdout)-80):])
	}
	if !strings.HasPrefix(r.stderr, "-: 32×24 JPEG") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("stderr %q, want the one-line summary", r.stderr)
	}
}

// After "--" every argument is positional, even one that starts with "-".
func TestDoubleDashEndsTheFlags(t *testing.T) {
	data, err := os.ReadFile(writePNG(t, 64, 48))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	if err := os.WriteFile("-in.png", data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"convert", "--", "-in.png", "-out.jpg"},
		{"convert", "--width", "32", "--", "-in.png", "-out.jpg"},
		{"convert", "-in.png", "--", "-out.jpg"}, // -in.png is a flag here
	} {
		os.Remove("-out.jpg")
		r := run(args...)
		_, statErr := os.Stat("-out.jpg")
		wantOK := args[1] != "-in.png"
		if wantOK && (r.code != 0 || statErr != nil) {
			t.Errorf("%q: got %+v, -out.jpg: %v", args, r, statErr)
		}
		if !wantOK && (r.code != ExitUsage || !strings.Contains(r.stderr, "-in.png")) {
			t.Errorf("%q: got %+v, want the unknown flag -in.png named", args, r)
		}
	}
}

func TestParseTreatsEverythingAfterDoubleDashAsPositional(t *testing.T) {
	env := Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}
	tests := []struct {
		args     []string
		wantPos  []string
		wantName string
	}{
		{[]string{"--", "-a", "--", "b"}, []string{"-a", "--", "b"}, ""},
		{[]string{"x", "--name", "n", "--", "-y"}, []string{"x", "-y"}, "n"},
		{[]string{"--name", "--", "x"}, []string{"x"}, "--"}, // "--" as a flag's value
		{[]string{"--name=--", "--", "-x"}, []string{"-x"}, "--"},
	}
	for _, tt := range tests {
		fs := newFlags("test", "", "")
		name := fs.String("name", "", "")
		fs.Bool("v", false, "")
		pos, err := parse(fs, env, tt.args, -1)
		if err != nil || strings.Join(pos, "|") != strings.Join(tt.wantPos, "|") || *name != tt.wantName {
			t.Errorf("%q: positional %q, name %q, err %v; want %q, %q", tt.args, pos, *name, err, tt.wantPos, tt.wantName)
		}
	}
}

// A bomb is refused from its header, in one line, with exit 2; the flag
// raises the budget for those who mean it.
func TestConvertRefusesAnImageOverTheMemoryBudget(t *testing.T) {
	keepMemoryLimit(t)
	var bomb bytes.Buffer
	err := bombs.JPEG{Width: 10000, Height: 10000, Progressive: true,
		Components: []bombs.Sampling{{H: 1, V: 1}, {H: 1, V: 1}, {H: 1, V: 1}}}.Write(&bomb)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "bomb.jpg")
	os.WriteFile(in, bomb.Bytes(), 0o600)
	r := run("convert", in, filepath.Join(dir, "out.jpg"), "--max-memory", "1GiB")
	if r.code != ExitUsage || strings.Count(r.stderr, "\n") != 1 ||
		!strings.Contains(r.stderr, "10000×10000 progressive JPEG needs about") || !strings.Contains(r.stderr, "1 GiB memory budget (--max-memory)") {
		t.Fatalf("got %+v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "out.jpg")); err == nil {
		t.Error("an output was written")
	}
}

// keepMemoryLimit undoes the soft memory limit a command sets for the
// whole test process.
func keepMemoryLimit(t *testing.T) {
	t.Cleanup(func() { debug.SetMemoryLimit(math.MaxInt64) })
}

func TestMaxMemoryFlag(t *testing.T) {
	keepMemoryLimit(t)
	if r := run("convert", "-h"); !strings.Contains(r.stdout, "-max-memory size") || !strings.Contains(r.stdout, "(default 2GiB)") {
		t.Errorf("convert -h does not show --max-memory and its default: %s", r.stdout)
	}
	if r := run("serve", "-h"); !strings.Contains(r.stdout, "(default 1GiB)") {
		t.Errorf("serve -h does not show the 1GiB default: %s", r.stdout)
	}
	in := writePNG(t, 64, 48)
	out := filepath.Join(t.TempDir(), "out.jpg")
	if r := run("convert", in, out, "--max-memory", "lots"); r.code != ExitUsage || !strings.Contains(r.stderr, "is not a size") {
		t.Errorf("a bad size: %+v", r)
	}
	if r := run("convert", in, out, "--max-memory", "0"); r.code != 0 {
		t.Errorf("--max-memory 0 (no limit): %+v", r)
	}
	if r := run("convert", in, out, "--max-memory", "1MiB"); r.code != ExitUsage || !strings.Contains(r.stderr, "over the memory budget") {
		t.Errorf("a budget too small for a 64×48 PNG: %+v", r)
	}
	for in, want := range map[string]byteSize{"1GiB": 1 << 30, "512 MiB": 512 << 20, "1.5G": 3 << 29, "800MB": 800e6, "1048576": 1 << 20, "2k": 2048} {
		var b byteSize
		if err := b.Set(in); err != nil || b != want {
			t.Errorf("%q: %d, %v; want %d", in, b, err, want)
		}
	}
}

func TestServeRefusesABadFetchRange(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--listen", "127.0.0.1:0", "--fetch-deny", "10.0.0.0/33"},
		{"serve", "--listen", "127.0.0.1:0", "--fetch-allow", "lab-net"},
	} {
		r := run(args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, "address range") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("%v: %+v, want exit 2 and one sentence", args, r)
		}
	}
}

func TestSendRawStopsReadingAtTheProtocolLimit(t *testing.T) {
	// /dev/zero says it is 0 bytes long and never ends.
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero here")
	}
	r := run("send", "--raw", "/dev/zero")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "too large") {
		t.Fatalf("got %+v, want exit 2: too large for the protocol", r)
	}
}
