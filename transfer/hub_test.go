package transfer_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"

	"imagebeam/internal/testbroker"
	"imagebeam/simdevice"
	"imagebeam/transfer"
)

// startMochi runs a mochi-mqtt broker on a free loopback port with hook
// (nil: everyone may do anything) and returns its URL and the server,
// whose Info counts clients and subscriptions.
func startMochi(t testing.TB, hook mochi.Hook) (string, *mochi.Server) {
	t.Helper()
	srv := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler)})
	if hook == nil {
		hook = new(allowHook)
	}
	if err := srv.AddHook(hook, nil); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.AddListener(listeners.NewNet("t", ln)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return "tcp://" + ln.Addr().String(), srv
}

// allowHook lets every client in and allows every topic.
type allowHook struct{ denyHook }

func (allowHook) ID() string                                  { return "allow" }
func (allowHook) OnACLCheck(*mochi.Client, string, bool) bool { return true }

func newHub(t testing.TB, url, role string) *transfer.Hub {
	t.Helper()
	h, err := transfer.NewHub(transfer.BrokerConfig{URL: url}, role)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// benchDevice is one simulated device of a bench.
type benchDevice struct {
	dev    transfer.Device
	images <-chan simdevice.Received
}

// startBench runs n simulated devices on hub, each on topics of its own
// under prefix, and returns them with their transfer settings.
func startBench(t testing.TB, hub *transfer.Hub, prefix string, n int, faults simdevice.Faults, s transfer.Settings) []benchDevice {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	out := make([]benchDevice, n)
	for i := range n {
		to, from := fmt.Sprintf("%s/%d/to", prefix, i), fmt.Sprintf("%s/%d/from", prefix, i)
		link, err := hub.Attach(ctx, to, from, 0)
		if err != nil {
			t.Fatal(err)
		}
		images := make(chan simdevice.Received, 4)
		f := faults
		f.Seed = uint64(i + 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer link.Close()
			_ = simdevice.Run(ctx, link, simdevice.Options{Faults: f}, images)
		}()
		out[i] = benchDevice{dev: transfer.Device{Name: fmt.Sprint("dev", i), ToDevice: to, FromDevice: from, Settings: s}, images: images}
	}
	return out
}

// sendAll sends one image of size bytes to every device at once through
// hub and checks that each device holds it byte for byte; it returns each
// transfer's stats.
func sendAll(t *testing.T, hub *transfer.Hub, bench []benchDevice, size int, onEvent func(i int, e transfer.Event)) []transfer.Stats {
	t.Helper()
	stats := make([]transfer.Stats, len(bench))
	errs := make([]error, len(bench))
	imgs := make([][]byte, len(bench))
	var wg sync.WaitGroup
	for i, b := range bench {
		imgs[i] = randomBytes(t, size+i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last transfer.Event
			for e := range hub.StartSend(context.Background(), b.dev, imgs[i], transfer.SendOptions{}) {
				if onEvent != nil {
					onEvent(i, e)
				}
				last = e
			}
			stats[i], errs[i] = transfer.Outcome(last)
		}()
	}
	wg.Wait()
	for i, b := range bench {
		if errs[i] != nil {
			t.Fatalf("device %d: %v (stats %+v)", i, errs[i], stats[i])
		}
		checkReceived(t, b.images, imgs[i])
	}
	return stats
}

// TestHubSendsToManyDevicesOverOneConnection: eight transfers at once, and
// eight simulated devices, each side over one connection; afterwards the
// sender holds no subscription, at the broker too.
func TestHubSendsToManyDevicesOverOneConnection(t *testing.T) {
	t.Parallel()
	url, srv := startMochi(t, nil)
	devices := newHub(t, url, "test-sim")
	bench := startBench(t, devices, "many", 8, simdevice.Faults{NAK: 0.02, Dup: 0.02}, faultSettings())
	sender := newHub(t, url, "test-send")
	var peak sync.Once
	sendAll(t, sender, bench, 30*1400+11, func(_ int, e transfer.Event) {
		if _, ok := e.(transfer.Progress); ok {
			peak.Do(func() {
				if n := srv.Info.Clone().ClientsConnected; n != 2 {
					t.Errorf("%d clients connected during the transfers, want 2 (the devices' and the sender's)", n)
				}
			})
		}
	})
	if st := sender.Stats(); st.Subscriptions != 0 || st.Links != 0 {
		t.Fatalf("after the transfers the sender's hub holds %+v, want no subscription", st)
	}
	if n := srv.Info.Clone().Subscriptions; n != int64(len(bench)) {
		t.Fatalf("the broker holds %d subscriptions, want the devices' %d only", n, len(bench))
	}
}

// TestHubDropsSubscriptionsAtTheBroker: through Mosquitto, a feedback
// topic published to after its transfer reaches nobody. The probe topic,
// published to right after by the same client, proves that the broker had
// delivered whatever it would deliver.
func TestHubDropsSubscriptionsAtTheBroker(t *testing.T) {
	t.Parallel()
	url := testbroker.StartMosquitto(t, testbroker.Options{}).URL()
	devices := newHub(t, url, "test-sim")
	bench := startBench(t, devices, "drop", 3, simdevice.Faults{}, transfer.DefaultSettings())
	sender := newHub(t, url, "test-send")
	sendAll(t, sender, bench, 10*1400, nil)

	ctx := context.Background()
	probe, err := sender.Attach(ctx, "drop/probe", "drop/unused", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	// One client publishes to the dropped topic, then to the probe:
	// Mosquitto keeps one client's order.
	pubHub := newHub(t, url, "test-pub")
	late, err := pubHub.Attach(ctx, "drop/nothing1", bench[0].dev.FromDevice, 0)
	if err != nil {
		t.Fatal(err)
	}
	probePub, err := pubHub.Attach(ctx, "drop/nothing2", "drop/probe", 0)
	if err != nil {
		t.Fatal(err)
	}
	before := sender.Stats().Unrouted
	if err := late.Publish(ctx, []byte("late")); err != nil {
		t.Fatal(err)
	}
	if err := probePub.Publish(ctx, []byte("probe")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-probe.Incoming():
	case <-time.After(10 * time.Second):
		t.Fatal("the probe never arrived")
	}
	if got := sender.Stats().Unrouted - before; got != 0 {
		t.Fatalf("%d messages reached the hub on a topic it had dropped", got)
	}
}

// TestHubBrokerRestartResumesEveryTransfer: four transfers share a
// connection (with their devices) when Mosquitto restarts; each resends
// its outstanding frame after the reconnect without spending a retry.
func TestHubBrokerRestartResumesEveryTransfer(t *testing.T) {
	t.Parallel()
	m := testbroker.StartMosquitto(t, testbroker.Options{})
	hub := newHub(t, m.URL(), "test-bench")
	s := transfer.DefaultSettings()
	s.Timeout = 30 * time.Second // a lost frame would show as a minute-long test, and fail below
	bench := startBench(t, hub, "restart", 4, simdevice.Faults{}, s)
	var once sync.Once
	stats := sendAll(t, hub, bench, 200*1400, func(i int, e transfer.Event) {
		if p, ok := e.(transfer.Progress); ok && i == 0 && p.AckedPackets == 50 {
			once.Do(m.Restart)
		}
	})
	reconnected := 0
	for i, st := range stats {
		if st.Timeouts != 0 || st.NAKs != 0 {
			t.Errorf("device %d spent retries across the restart: %+v", i, st)
		}
		if st.Reconnects > 0 {
			reconnected++
		}
	}
	if reconnected == 0 {
		t.Fatal("no transfer saw the broker restart")
	}
}

// TestHubRefusedSubscriptionFailsThatDeviceOnly: the broker refuses one
// device's feedback topic; that transfer fails naming it, the other on
// the same connection succeeds.
func TestHubRefusedSubscriptionFailsThatDeviceOnly(t *testing.T) {
	t.Parallel()
	url, _ := startMochi(t, new(denyHook))
	devices := newHub(t, url, "test-sim")
	ok := startBench(t, devices, "fine", 1, simdevice.Faults{}, transfer.DefaultSettings())[0]
	sender := newHub(t, url, "test-send")
	denied := transfer.Device{ToDevice: "fine/x/to", FromDevice: "denied/from", Settings: transfer.DefaultSettings()}
	img := randomBytes(t, 20*1400)
	var wg sync.WaitGroup
	var okErr, deniedErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, okErr = sender.Send(context.Background(), ok.dev, img, transfer.SendOptions{}, nil)
	}()
	go func() {
		defer wg.Done()
		_, deniedErr = sender.Send(context.Background(), denied, img, transfer.SendOptions{}, nil)
	}()
	wg.Wait()
	if okErr != nil {
		t.Fatalf("the allowed device: %v", okErr)
	}
	checkReceived(t, ok.images, img)
	if !errors.Is(deniedErr, transfer.ErrNotAuthorized) || !strings.Contains(deniedErr.Error(), `"denied/from"`) {
		t.Fatalf("the denied device: %v, want ErrNotAuthorized naming its topic", deniedErr)
	}
}

// TestHubDeviceBusyWithinOneHub: two transfers to one device on one hub
// take turns; with NoWait the second fails at once.
func TestHubDeviceBusyWithinOneHub(t *testing.T) {
	t.Parallel()
	url, _ := startMochi(t, nil)
	hub := newHub(t, url, "test-bench")
	b := startBench(t, hub, "busy", 1, simdevice.Faults{Delay: time.Millisecond}, transfer.DefaultSettings())[0]
	img := randomBytes(t, 40*1400)
	events := hub.StartSend(context.Background(), b.dev, img, transfer.SendOptions{})
	var second error
	for e := range events {
		if _, ok := e.(transfer.Connected); ok {
			_, second = hub.Send(context.Background(), b.dev, []byte("x"), transfer.SendOptions{NoWait: true}, nil)
		}
		if f, ok := e.(transfer.Failed); ok {
			t.Fatal(f.Err)
		}
	}
	if !errors.Is(second, transfer.ErrDeviceBusy) {
		t.Fatalf("second transfer: %v, want ErrDeviceBusy", second)
	}
	checkReceived(t, b.images, img)
}

// TestHubUnreachableBroker: a hub whose broker is not there fails the
// transfer with ErrBrokerUnreachable naming the broker, and a later
// transfer tries again.
func TestHubUnreachableBroker(t *testing.T) {
	addr := closedAddr(t)
	h, err := transfer.NewHub(transfer.BrokerConfig{URL: "tcp://" + addr, ConnectTimeout: time.Second}, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	dev := transfer.Device{ToDevice: "a", FromDevice: "b", Settings: transfer.DefaultSettings()}
	for range 2 {
		_, err := h.Send(context.Background(), dev, []byte("x"), transfer.SendOptions{}, nil)
		if !errors.Is(err, transfer.ErrBrokerUnreachable) || !strings.Contains(err.Error(), addr) {
			t.Fatalf("err = %v, want ErrBrokerUnreachable naming %s", err, addr)
		}
	}
}

// TestClosedHubFailsItsTransfers: closing the hub ends a running transfer
// with ErrLinkClosed rather than leaving it waiting for a reconnect.
func TestClosedHubFailsItsTransfers(t *testing.T) {
	t.Parallel()
	url, _ := startMochi(t, nil)
	devices := newHub(t, url, "test-sim")
	b := startBench(t, devices, "closed", 1, simdevice.Faults{Delay: time.Millisecond}, transfer.DefaultSettings())[0]
	sender := newHub(t, url, "test-send")
	var err error
	for e := range sender.StartSend(context.Background(), b.dev, randomBytes(t, 200*1400), transfer.SendOptions{}) {
		if p, ok := e.(transfer.Progress); ok && p.AckedPackets == 5 {
			sender.Close()
		}
		if f, ok := e.(transfer.Failed); ok {
			err = f.Err
		}
	}
	if !errors.Is(err, transfer.ErrLinkClosed) {
		t.Fatalf("err = %v, want ErrLinkClosed", err)
	}
}

// TestHubWatchFollowsTheConnection: Watch reports connecting before the
// first Connect, up after it, reconnecting when the broker goes away and
// up again when it is back, and closed after Close, waking its waiters at
// each change.
func TestHubWatchFollowsTheConnection(t *testing.T) {
	t.Parallel()
	m := testbroker.StartMosquitto(t, testbroker.Options{})
	hub := newHub(t, m.URL(), "test-watch")
	st, changed, _ := hub.Watch()
	if st != transfer.StateConnecting {
		t.Fatalf("before Connect: %v", st)
	}
	if err := hub.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitState := func(want transfer.LinkState) {
		t.Helper()
		deadline := time.NewTimer(20 * time.Second)
		defer deadline.Stop()
		for st != want {
			select {
			case <-changed:
				st, changed, _ = hub.Watch()
			case <-deadline.C:
				t.Fatalf("state %v, want %v", st, want)
			}
		}
	}
	waitState(transfer.StateUp)
	m.Stop()
	waitState(transfer.StateReconnecting)
	m.Restart()
	waitState(transfer.StateUp)
	hub.Close()
	waitState(transfer.StateClosed)
}
