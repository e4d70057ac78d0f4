package transfer_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"imagebeam/broker"
	"imagebeam/internal/testbroker"
	"imagebeam/simdevice"
	"imagebeam/transfer"
)

func TestMain(m *testing.M) { testbroker.RunWithTempLocks(m) }

// brokers are the two real brokers every integration test runs against.
var brokers = []struct {
	name  string
	start func(t testing.TB) string // returns the broker URL
}{
	{"mosquitto", func(t testing.TB) string { return testbroker.StartMosquitto(t, testbroker.Options{}).URL() }},
	{"embedded", func(t testing.TB) string {
		b, err := broker.Start(broker.Options{Listen: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b.URL()
	}},
}

// startDevice runs the simulated device on topics to/from and returns the
// channel of images it received.
func startDevice(t testing.TB, url, to, from string, faults simdevice.Faults) <-chan simdevice.Received {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	link, err := transfer.Dial(ctx, transfer.BrokerConfig{URL: url}, "test-sim", to, from, 0)
	if err != nil {
		t.Fatal(err)
	}
	images := make(chan simdevice.Received, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = simdevice.Run(ctx, link, simdevice.Options{Faults: faults}, images)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		link.Close()
	})
	return images
}

func sendJob(url, to, from string, img []byte, s transfer.Settings) transfer.Job {
	return transfer.Job{
		Broker: transfer.BrokerConfig{URL: url},
		Device: transfer.Device{ToDevice: to, FromDevice: from, Settings: s},
		Image:  img,
		Role:   "test-send",
	}
}

func digest(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// checkReceived waits for the device's report and compares it with img.
func checkReceived(t *testing.T, images <-chan simdevice.Received, img []byte) {
	t.Helper()
	select {
	case got := <-images:
		if !got.Complete || got.Size != len(img) || got.SHA256 != digest(img) {
			t.Fatalf("device received %+v, want %d bytes with sha256 %s", got, len(img), digest(img))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the device reported no image after the sender's success")
	}
}

func faultSettings() transfer.Settings {
	s := transfer.DefaultSettings()
	s.Timeout = 100 * time.Millisecond
	return s
}

func TestFaultsThroughRealBrokers(t *testing.T) {
	t.Parallel()
	faults := []struct {
		name string
		f    simdevice.Faults
	}{
		{"clean", simdevice.Faults{}},
		{"drop", simdevice.Faults{Drop: 0.1}},
		{"drop-ack", simdevice.Faults{DropAck: 0.1}},
		{"nak", simdevice.Faults{NAK: 0.1}},
		{"dup", simdevice.Faults{Dup: 0.2}},
		{"late", simdevice.Faults{Late: 0.1, LateBy: 300 * time.Millisecond}},
		{"garbage", simdevice.Faults{Garbage: 0.2}},
		{"delay", simdevice.Faults{Delay: time.Millisecond}},
	}
	for _, b := range brokers {
		t.Run(b.name, func(t *testing.T) {
			url := b.start(t)
			for i, fc := range faults {
				t.Run(fc.name, func(t *testing.T) {
					to, from := fmt.Sprintf("dev%d/to", i), fmt.Sprintf("dev%d/from", i)
					fc.f.Seed = uint64(i + 1)
					images := startDevice(t, url, to, from, fc.f)
					img := randomBytes(t, 40*1400+123)
					st, err := transfer.Send(context.Background(), sendJob(url, to, from, img, faultSettings()), nil)
					if err != nil {
						t.Fatalf("%s: %v (stats %+v)", fc.name, err, st)
					}
					checkReceived(t, images, img)
				})
			}
		})
	}
}

// TestAllFaultsTogether is the acceptance case: 1 MB through every
// fault at 5 % with a 100 ms timeout lands byte-identical.
func TestAllFaultsTogether(t *testing.T) {
	t.Parallel()
	for _, b := range brokers {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			url := b.start(t)
			images := startDevice(t, url, "all/to", "all/from", simdevice.Faults{
				Drop: 0.05, DropAck: 0.05, NAK: 0.05, Dup: 0.05, Late: 0.05, LateBy: 300 * time.Millisecond, Garbage: 0.05, Seed: 42,
			})
			size := 1 << 20 // the acceptance size through Mosquitto
			if b.name != "mosquitto" || testing.Short() {
				size = 256 << 10
			}
			img := randomBytes(t, size)
			st, err := transfer.Send(context.Background(), sendJob(url, "all/to", "all/from", img, faultSettings()), nil)
			if err != nil {
				t.Fatalf("%v (stats %+v)", err, st)
			}
			checkReceived(t, images, img)
			if st.Timeouts == 0 || st.NAKs == 0 || st.Malformed == 0 || st.Stale == 0 {
				t.Fatalf("stats %+v: every fault kind should have shown up", st)
			}
		})
	}
}

func TestSilentDeviceFailsWithTheFrameAndTries(t *testing.T) {
	t.Parallel()
	for _, b := range brokers {
		t.Run(b.name, func(t *testing.T) {
			url := b.start(t)
			s := transfer.DefaultSettings()
			s.Timeout = 20 * time.Millisecond
			s.Retries = 2
			_, err := transfer.Send(context.Background(), sendJob(url, "nobody/to", "nobody/from", []byte("x"), s), nil)
			if !errors.Is(err, transfer.ErrNoAnswer) {
				t.Fatalf("err = %v, want ErrNoAnswer", err)
			}
			if want := "BEGIN was sent 3 times"; !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q does not say %q", err, want)
			}
		})
	}
}

func TestCancelMidTransfer(t *testing.T) {
	t.Parallel()
	url := brokers[1].start(t)
	startDevice(t, url, "c/to", "c/from", simdevice.Faults{Delay: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan transfer.Event, 16)
	done := make(chan error, 1)
	go func() {
		_, err := transfer.Send(ctx, sendJob(url, "c/to", "c/from", randomBytes(t, 500*1400), transfer.DefaultSettings()), events)
		close(events)
		done <- err
	}()
	for e := range events {
		if p, ok := e.(transfer.Progress); ok && p.AckedPackets == 10 {
			cancel()
		}
	}
	if err := <-done; !errors.Is(err, transfer.ErrCanceled) {
		t.Fatalf("err = %v, want ErrCanceled", err)
	}
}

func TestTwoDevicesAtOnce(t *testing.T) {
	t.Parallel()
	url := brokers[0].start(t)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i := range 2 {
		to, from := fmt.Sprintf("pair%d/to", i), fmt.Sprintf("pair%d/from", i)
		images := startDevice(t, url, to, from, simdevice.Faults{NAK: 0.05, Seed: uint64(i)})
		img := randomBytes(t, 100*1400)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := transfer.Send(context.Background(), sendJob(url, to, from, img, faultSettings()), nil); err != nil {
				errs <- err
				return
			}
			got := <-images
			if got.SHA256 != digest(img) {
				errs <- fmt.Errorf("device %d holds a different image", i)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestSameDeviceIsBusyForASecondSender(t *testing.T) {
	t.Parallel()
	url := brokers[1].start(t)
	images := startDevice(t, url, "busy/to", "busy/from", simdevice.Faults{Delay: 2 * time.Millisecond})
	events := make(chan transfer.Event, 16)
	first := make(chan error, 1)
	img := randomBytes(t, 50*1400)
	go func() {
		_, err := transfer.Send(context.Background(), sendJob(url, "busy/to", "busy/from", img, transfer.DefaultSettings()), events)
		close(events)
		first <- err
	}()
	second := make(chan error, 1)
	for e := range events {
		if _, ok := e.(transfer.Connected); ok {
			job := sendJob(url, "busy/to", "busy/from", []byte("other"), transfer.DefaultSettings())
			job.NoWait = true
			_, err := transfer.Send(context.Background(), job, nil)
			second <- err
		}
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; !errors.Is(err, transfer.ErrDeviceBusy) {
		t.Fatalf("second sender: %v, want ErrDeviceBusy", err)
	}
	checkReceived(t, images, img)
}

// TestReferenceDeviceInPython sends to a device written from PROTOCOL.md
// alone, in Python on another MQTT client, sharing no code with ImageBeam.
func TestReferenceDeviceInPython(t *testing.T) {
	t.Parallel()
	if err := exec.Command("/usr/bin/python3", "-c", "import paho.mqtt.client").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("python3-paho-mqtt is not installed; CI must run the reference device test")
		}
		t.Skip("python3-paho-mqtt is not installed (apt-get install python3-paho-mqtt)")
	}
	m := testbroker.StartMosquitto(t, testbroker.Options{})
	host, port, _ := strings.Cut(m.Addr(), ":")
	cmd := exec.Command("/usr/bin/python3", "testdata/reference_device.py", host, port, "ref/to", "ref/from")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() string {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the reference device exited")
			}
			return l
		case <-time.After(10 * time.Second):
			t.Fatal("the reference device said nothing for 10 s")
		}
		return ""
	}
	if l := next(); l != "ready" {
		t.Fatalf("reference device: %q", l)
	}
	for _, size := range []int{0, 1400, 100*1400 + 1} {
		img := randomBytes(t, size)
		if _, err := transfer.Send(context.Background(), sendJob(m.URL(), "ref/to", "ref/from", img, transfer.DefaultSettings()), nil); err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		var got simdevice.Received
		if err := json.Unmarshal([]byte(next()), &got); err != nil {
			t.Fatal(err)
		}
		if !got.Complete || got.Size != size || got.SHA256 != digest(img) {
			t.Fatalf("%d bytes: the reference device got %+v", size, got)
		}
	}
}
