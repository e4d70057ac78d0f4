package transfer_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"imagebeam/internal/testbroker"
	"imagebeam/transfer"
)

// echoDevice is the smallest device that follows PROTOCOL.md closely
// enough for link tests: it acks every well-formed frame and reassembles
// the image. Fault tests use the simulated device (simdevice).
func echoDevice(ctx context.Context, t testing.TB, link *transfer.MQTTLink, chunk int) <-chan []byte {
	images := make(chan []byte, 4)
	go func() {
		var img []byte
		for {
			select {
			case <-ctx.Done():
				return
			case msg := <-link.Incoming():
				f, err := transfer.DecodeFrame(msg)
				if err != nil {
					continue
				}
				switch f.Function {
				case transfer.FuncBegin:
					_, size, _ := transfer.ParseBegin(f.Data)
					img = make([]byte, size)
				case transfer.FuncData:
					copy(img[f.Number*chunk:], f.Data)
				}
				_ = link.Publish(ctx, transfer.EncodeFeedback(transfer.Feedback{Function: f.Function, Number: f.Number, Status: transfer.StatusWhole}))
				if f.Function == transfer.FuncFinish {
					images <- img
				}
			}
		}
	}()
	return images
}

func dialPair(t testing.TB, url string, qos byte) (sender, device *transfer.MQTTLink) {
	t.Helper()
	ctx := context.Background()
	cfg := transfer.BrokerConfig{URL: url, ConnectTimeout: 5 * time.Second}
	var err error
	device, err = transfer.Dial(ctx, cfg, "test-device", "to", "from", qos)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(device.Close)
	sender, err = transfer.Dial(ctx, cfg, "test-send", "from", "to", qos)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sender.Close)
	return sender, device
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSendThroughMosquitto(t *testing.T) {
	m := testbroker.StartMosquitto(t, testbroker.Options{})
	for _, qos := range []byte{0, 1, 2} {
		sender, device := dialPair(t, m.URL(), qos)
		ctx, cancel := context.WithCancel(context.Background())
		images := echoDevice(ctx, t, device, transfer.DefaultChunk)
		img := randomBytes(t, 20*1400+7)
		if qos > 0 {
			img = img[:3*1400+7] // Nagle makes QoS 1 and 2 slow on a default Mosquitto
		}
		st, err := transfer.Run(ctx, sender, img, transfer.DefaultSettings(), nil)
		if err != nil {
			t.Fatalf("QoS %d: %v", qos, err)
		}
		if got := <-images; sha256.Sum256(got) != sha256.Sum256(img) {
			t.Fatalf("QoS %d: the device holds a different image", qos)
		}
		if st.RTTMin <= 0 || st.RTTMedian < st.RTTMin || st.RTTP99 < st.RTTMedian {
			t.Fatalf("QoS %d: RTT stats %v %v %v", qos, st.RTTMin, st.RTTMedian, st.RTTP99)
		}
		cancel()
	}
}

// closedAddr is a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	return addr
}

func TestDialUnreachableBrokerNamesTheAddress(t *testing.T) {
	addr := closedAddr(t)
	url := "tcp://" + addr
	_, err := transfer.Dial(context.Background(), transfer.BrokerConfig{URL: url, ConnectTimeout: 2 * time.Second}, "test", "a", "b", 0)
	if !errors.Is(err, transfer.ErrBrokerUnreachable) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("err = %v, want ErrBrokerUnreachable naming %s", err, addr)
	}
}

// A Dial that gives up waiting for a broker names it without the login
// its URL holds. The first attempt is refused at once, well within ctx's
// 150 ms, so ctx ends while Dial waits to try again (after 250 ms).
func TestCancelledDialNamesTheBrokerWithoutItsLogin(t *testing.T) {
	addr := closedAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	cfg := transfer.BrokerConfig{URL: "tcp://lab:hunter2@" + addr, ConnectWait: time.Minute}
	_, err := transfer.Dial(ctx, cfg, "test", "a", "b", 0)
	if !errors.Is(err, transfer.ErrCanceled) || !strings.Contains(err.Error(), addr) || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v, want ErrCanceled naming %s without the password", err, addr)
	}
}

func TestDialRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"127.0.0.1:1883", "http://127.0.0.1:1883", "tcp://", "::"} {
		_, err := transfer.Dial(context.Background(), transfer.BrokerConfig{URL: u}, "test", "a", "b", 0)
		if !errors.Is(err, transfer.ErrBrokerURL) {
			t.Errorf("Dial(%q) = %v, want ErrBrokerURL", u, err)
		}
	}
}

func TestDialMissingCAFile(t *testing.T) {
	_, err := transfer.Dial(context.Background(), transfer.BrokerConfig{URL: "ssl://127.0.0.1:8883", CAFile: "/nonexistent/ca.pem"}, "test", "a", "b", 0)
	if !errors.Is(err, transfer.ErrTLSFiles) {
		t.Fatalf("err = %v, want ErrTLSFiles", err)
	}
}

func TestClientIDsAreUniquePerProcess(t *testing.T) {
	a, b := transfer.NewClientID("send"), transfer.NewClientID("send")
	if a == b || !strings.HasPrefix(a, "imagebeam-send-") {
		t.Fatalf("client IDs %q and %q", a, b)
	}
}

func TestBrokerRestartMidTransferCompletes(t *testing.T) {
	m := testbroker.StartMosquitto(t, testbroker.Options{})
	sender, device := dialPair(t, m.URL(), 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	images := echoDevice(ctx, t, device, transfer.DefaultChunk)
	img := randomBytes(t, 200*1400)
	events := make(chan transfer.Event, 64)
	done := make(chan error, 1)
	go func() {
		_, err := transfer.Run(ctx, sender, img, transfer.DefaultSettings(), events)
		close(events)
		done <- err
	}()
	restarted := false
	for e := range events {
		if p, ok := e.(transfer.Progress); ok && p.AckedPackets == 50 && !restarted {
			restarted = true
			m.Restart()
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("transfer across a broker restart: %v", err)
	}
	if !restarted {
		t.Fatal("the broker was never restarted")
	}
	if got := <-images; !bytes.Equal(got, img) {
		t.Fatal("image differs after the broker restart")
	}
}

// denyHook lets every client in and refuses every topic under "denied/".
// (Mosquitto 2.0 grants a denied MQTT 3.1.1 subscription and only drops the
// messages, so the refusal is tested against mochi, which answers 0x80.)
type denyHook struct{ mochi.HookBase }

func (denyHook) ID() string { return "deny" }
func (denyHook) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}
func (denyHook) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }
func (denyHook) OnACLCheck(_ *mochi.Client, topic string, _ bool) bool {
	return !strings.HasPrefix(topic, "denied/")
}

func TestDialRefusedSubscriptionIsFinal(t *testing.T) {
	url, _ := startMochi(t, new(denyHook))
	// A ctx shorter than the connect timeout: a Dial that waits for a
	// SUBACK that already came (refused) runs into it and fails the test.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg := transfer.BrokerConfig{URL: url, ConnectTimeout: 10 * time.Minute}
	_, err := transfer.Dial(ctx, cfg, "test", "denied/from", "allowed/to", 0)
	if !errors.Is(err, transfer.ErrNotAuthorized) || !strings.Contains(err.Error(), `"denied/from"`) {
		t.Fatalf("err = %v, want ErrNotAuthorized naming the topic", err)
	}
}

func TestDialBrokerThatNeverConfirmsTheSubscriptionIsUnreachable(t *testing.T) {
	// A broker that takes the connection and never answers SUBSCRIBE:
	// WaitUp's timeout error must still be ErrBrokerUnreachable.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go fakeBroker(ln, func(c net.Conn) {
		_, _ = c.Write([]byte{0x20, 0x02, 0x00, 0x00}) // CONNACK accepted, then silence
	})
	_, err = transfer.Dial(context.Background(), transfer.BrokerConfig{URL: "tcp://" + ln.Addr().String(), ConnectTimeout: time.Second}, "test", "a", "b", 0)
	if !errors.Is(err, transfer.ErrBrokerUnreachable) {
		t.Fatalf("err = %v, want ErrBrokerUnreachable", err)
	}
}

// fakeBroker accepts connections on ln, reads each one's CONNECT and hands
// the connection to answer.
func fakeBroker(ln net.Listener, answer func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			buf := make([]byte, 256)
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Read(buf); err != nil {
				c.Close()
				return
			}
			answer(c)
		}()
	}
}

// TestAbandonedConnectAttemptIsClosed: a broker that accepts the login only
// after Dial gave up (cancelled while paho waited for the CONNACK) must see
// the client leave, not a live client that nothing will ever close.
func TestAbandonedConnectAttemptIsClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	gotConnect := make(chan struct{})
	gaveUp := make(chan struct{})
	left := make(chan error, 1)
	go fakeBroker(ln, func(c net.Conn) {
		defer c.Close()
		close(gotConnect)
		<-gaveUp
		_, _ = c.Write([]byte{0x20, 0x02, 0x00, 0x00}) // CONNACK accepted, too late
		// The client must now disconnect: DISCONNECT (0xE0) or EOF. A live
		// client would subscribe or ping instead.
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		b := make([]byte, 1)
		for {
			if _, err := c.Read(b); err != nil {
				left <- nil // EOF: gone
				return
			}
			switch {
			case b[0] == 0xE0:
				left <- nil
				return
			case b[0]&0xF0 == 0x80 || b[0] == 0xC0:
				left <- errors.New("the abandoned client subscribed or pinged: it is still alive")
				return
			}
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-gotConnect
		cancel()
	}()
	cfg := transfer.BrokerConfig{URL: "tcp://" + ln.Addr().String(), ConnectTimeout: 10 * time.Second, KeepAlive: time.Second}
	_, err = transfer.Dial(ctx, cfg, "test", "a", "b", 0)
	if !errors.Is(err, transfer.ErrCanceled) {
		t.Fatalf("err = %v, want ErrCanceled", err)
	}
	close(gaveUp)
	if err := <-left; err != nil {
		t.Fatal(err)
	}
}

// TestPacketsArrivingTogetherAreEachDelivered: the connection is read
// through a buffer, so a SUBACK and two messages that arrive in one TCP
// segment must still come out as three packets.
func TestPacketsArrivingTogetherAreEachDelivered(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go fakeBroker(ln, func(c net.Conn) {
		defer c.Close()
		_, _ = c.Write([]byte{0x20, 0x02, 0x00, 0x00}) // CONNACK
		sub := make([]byte, 64)
		n, err := c.Read(sub) // SUBSCRIBE: 0x82, length, packet id, …
		if err != nil || n < 4 || sub[0] != 0x82 {
			return
		}
		publish := func(payload string) []byte {
			body := append([]byte{0x00, 0x01, 'b'}, payload...) // topic "b", QoS 0
			return append([]byte{0x30, byte(len(body))}, body...)
		}
		burst := append([]byte{0x90, 0x03, sub[2], sub[3], 0x00}, publish("one")...) // SUBACK granted QoS 0
		burst = append(burst, publish("two")...)
		_, _ = c.Write(burst)
		_, _ = io.Copy(io.Discard, c)
	})
	link, err := transfer.Dial(context.Background(), transfer.BrokerConfig{URL: "tcp://" + ln.Addr().String(), ConnectTimeout: 5 * time.Second}, "test", "b", "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	got := map[string]bool{} // the order is not asserted
	for range 2 {
		select {
		case p := <-link.Incoming():
			got[string(p)] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("only %v arrived", got)
		}
	}
	if !got["one"] || !got["two"] {
		t.Fatalf("got %v, want one and two", got)
	}
}
