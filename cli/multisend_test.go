package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"imagebeam/config"
	"imagebeam/holdings"
	"imagebeam/transfer"
	"imagebeam/transfer/transfertest"
)

// startBench runs "imagebeam simulate --devices n --save-group Lab" on the
// broker at url until each device got one image, with a settings file of
// its own; it returns the channel of simulate's stdout once it exits.
func startBench(t *testing.T, url string, n int) <-chan string {
	t.Helper()
	t.Setenv("IMAGEBEAM_CONFIG", filepath.Join(t.TempDir(), "settings.json"))
	out, errb := &lockedBuffer{}, &lockedBuffer{}
	done := make(chan string, 1)
	saved := make(chan struct{})
	go func() {
		code := Main([]string{"simulate", "--broker", url, "--devices", fmt.Sprint(n), "--prefix", "cli/bench",
			"--save-group", "Lab", "--count", "1", "--linger", "300ms"}, Env{Stdout: out, Stderr: &notify{w: errb, when: "saved the group", ch: saved}})
		if code != 0 {
			t.Errorf("simulate exited %d: %s", code, errb.String())
		}
		done <- out.String()
	}()
	<-saved
	return done
}

// notify closes ch at the first write that contains when.
type notify struct {
	w    *lockedBuffer
	when string
	ch   chan struct{}
	done bool
}

func (n *notify) Write(p []byte) (int, error) {
	if !n.done && strings.Contains(string(p), n.when) {
		n.done = true
		close(n.ch)
	}
	return n.w.Write(p)
}

func received(t *testing.T, out string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r struct {
			Device, SHA256 string
			Complete       bool
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil || !r.Complete {
			t.Fatalf("simulate printed %q", l)
		}
		got[r.Device] = r.SHA256
	}
	return got
}

func TestSendToAGroupOfSimulatedDevices(t *testing.T) {
	url := startBroker(t)
	done := startBench(t, url, 3)
	img := bytes.Repeat([]byte("bench"), 3000)
	f := filepath.Join(t.TempDir(), "a.jpg")
	os.WriteFile(f, img, 0o600)
	r := run("send", "--raw", "--broker", url, "--group", "lab", "--parallel", "2", f)
	if r.code != ExitOK {
		t.Fatalf("got %+v", r)
	}
	for _, name := range []string{"Lab 01", "Lab 02", "Lab 03"} {
		if !strings.Contains(r.stdout, name+"  done") {
			t.Errorf("the table has no line %q done:\n%s", name, r.stdout)
		}
	}
	sum := sha256.Sum256(img)
	for dev, sha := range received(t, <-done) {
		if sha != hex.EncodeToString(sum[:]) {
			t.Errorf("%s holds %s", dev, sha)
		}
	}
	// What each device holds is recorded.
	store, err := holdings.OpenDefault()
	if err != nil {
		t.Fatal(err)
	}
	recs, err := store.All()
	if err != nil || len(recs) != 3 || recs[0].SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("holdings %+v, %v; want the three devices with the image", recs, err)
	}
}

// A device that does not answer fails alone: exit 1, one line naming it,
// the others served; --json lines name their device.
func TestSendToSeveralDevicesFailsForTheSilentOneOnly(t *testing.T) {
	url := startBroker(t)
	done := startBench(t, url, 2)
	path := os.Getenv("IMAGEBEAM_CONFIG")
	s, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	silent := config.DefaultDevice()
	silent.Name, silent.ToDevice, silent.FromDevice = "Nobody", "cli/nobody/to", "cli/nobody/from"
	silent.Timeout, silent.Retries = config.Duration(20e6), 1
	s.SetDevice(silent)
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "a.jpg")
	os.WriteFile(f, []byte("a small image"), 0o600)
	r := run("send", "--raw", "--json", "--broker", url, "--device", "Lab 01", "--device", "nobody", "--device", "lab 02", f)
	if r.code != ExitFailed {
		t.Fatalf("exit %d, want 1: %+v", r.code, r)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "imagebeam send: Nobody: transfer: device did not answer") {
		t.Fatalf("stderr %q, want one line for Nobody", r.stderr)
	}
	devices := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var e struct{ Device, Type string }
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.Device == "" {
			t.Fatalf("JSON line without a device: %q", l)
		}
		devices[e.Device] = e.Type
	}
	if devices["Lab 01"] != "done" || devices["Lab 02"] != "done" || devices["Nobody"] != "failed" {
		t.Fatalf("last events by device: %v", devices)
	}
	if got := received(t, <-done); len(got) != 2 {
		t.Fatalf("simulated devices got %v", got)
	}
}

func TestSendToSeveralDevicesRefusesTopicFlags(t *testing.T) {
	saveBench3(t)
	r := run("send", "--raw", "--device", "Bench 3", "--device", "bench 3", "--to-device", "x", "a.jpg")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "--to-device and --from-device name one device's topics") {
		t.Fatalf("got %+v", r)
	}
	if r := run("send", "--raw", "--group", "none", "a.jpg"); r.code != ExitUsage || !strings.Contains(r.stderr, `no group is named "none"`) {
		t.Fatalf("unknown group: %+v", r)
	}
	if r := run("send", "--raw", "--all", "--parallel", "-1", "a.jpg"); r.code != ExitUsage {
		t.Fatalf("--parallel -1: %+v", r)
	}
}

// The bars redraw the block in place and show each device's own numbers.
func TestMultiBarsShowEachDevice(t *testing.T) {
	var out bytes.Buffer
	m := newMultiBars(&out, []string{"Bench 1", "Bench 2"}, 120)
	tallies := []transfer.Tally{transfer.NewTally(transfertest.ImageBytes, transfertest.Chunk), transfer.NewTally(transfertest.ImageBytes, transfertest.Chunk)}
	m.show(0, &tallies[0], nil)
	for _, e := range transfertest.Stream()[:transfertest.Midway] {
		tallies[0].Add(e)
		m.last = m.last.AddDate(-1, 0, 0)
		m.show(0, &tallies[0], e)
	}
	if !strings.Contains(out.String(), "\033[2A") {
		t.Fatalf("the block is not redrawn in place: %q", out.String())
	}
	if l := m.line(1); !strings.Contains(l, "queued") {
		t.Fatalf("Bench 2's line %q, want queued", l)
	}
	for _, e := range transfertest.Stream()[transfertest.Midway:] {
		tallies[0].Add(e)
		m.show(0, &tallies[0], e)
	}
	if l := m.line(0); !strings.HasPrefix(l, "Bench 1  done in") || !strings.Contains(l, fmt.Sprintf("%d retries", transfertest.EndWant.Retries())) {
		t.Fatalf("Bench 1's line %q", l)
	}
}
