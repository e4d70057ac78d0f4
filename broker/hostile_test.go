package broker

import (
	"bytes"
	"errors"
	"io"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// hugeConnect is a CONNECT fixed header announcing MQTT's largest packet
// (268435455 bytes), with nothing after it: 5 bytes that used to make the
// broker allocate 256 MB before any login.
var hugeConnect = []byte{0x10, 0xff, 0xff, 0xff, 0x7f}

// connectPacket is a minimal MQTT 3.1.1 CONNECT: clean session, no login.
func connectPacket(clientID string, keepAlive uint16) []byte {
	body := []byte{0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, byte(keepAlive >> 8), byte(keepAlive)}
	body = append(body, byte(len(clientID)>>8), byte(len(clientID)))
	body = append(body, clientID...)
	return append([]byte{0x10, byte(len(body))}, body...) // len < 128: one length byte
}

// remainingLength encodes n as MQTT's variable-length integer.
func remainingLength(n int) []byte {
	var b []byte
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}

// dialRaw opens a TCP connection to the broker and writes pre (if any).
func dialRaw(t *testing.T, addr string, pre []byte) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if len(pre) > 0 {
		if _, err := c.Write(pre); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// closedByPeer waits, up to within, for the broker to close c: nil when it
// did (EOF, or a reset when it closed with our bytes unread), else the
// read's error (a timeout: still open).
func closedByPeer(c net.Conn, within time.Duration) error {
	_ = c.SetReadDeadline(time.Now().Add(within))
	_, err := io.Copy(io.Discard, c)
	if err == nil || errors.Is(err, syscall.ECONNRESET) {
		return nil
	}
	return err
}

func TestHugePacketAnnouncementsLeaveMemoryBounded(t *testing.T) {
	// A long CONNECT deadline, so that only the packet size limit can
	// close these connections while they are measured.
	b := startBroker(t, Options{ConnectTimeout: time.Minute})
	const conns = 40
	const bound = 20 << 20 // 40 × 256 MB before the limit; 40 small clients after
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	held := make([]net.Conn, conns)
	for i := range held {
		held[i] = dialRaw(t, b.Addr(), hugeConnect)
	}
	// The connections stay open on our side. The broker closing one
	// proves it has read that header; a timeout means it is still waiting
	// for the announced bytes, with whatever it allocated for them.
	closed := make(chan error, conns)
	for _, c := range held {
		go func() { closed <- closedByPeer(c, 10*time.Second) }()
	}
	var stillOpen int
	for range conns {
		if err := <-closed; err != nil {
			stillOpen++
		}
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("heap in use: %d MB before, %d MB after %d huge announcements (%+d KB)",
		before.HeapInuse>>20, after.HeapInuse>>20, conns, grew>>10)
	if grew > bound {
		t.Errorf("heap in use grew by %d MB, want under %d MB", grew>>20, bound>>20)
	}
	if stillOpen > 0 {
		t.Errorf("%d of %d connections announcing %d-byte packets are still open, want them closed", stillOpen, conns, 268435455)
	}
}

func TestPacketAboveTheLimitIsRefused(t *testing.T) {
	const limit = 4096
	b := startBroker(t, Options{MaxPacketSize: limit, ConnectTimeout: time.Minute})

	t.Run("CONNECT announcing more", func(t *testing.T) {
		c := dialRaw(t, b.Addr(), append([]byte{0x10}, remainingLength(limit)...))
		if err := closedByPeer(c, 10*time.Second); err != nil {
			t.Fatalf("connection still open: %v", err)
		}
	})

	t.Run("PUBLISH from a logged-in client", func(t *testing.T) {
		lost := make(chan error, 1)
		o := paho.NewClientOptions().AddBroker(b.URL()).SetClientID("test-too-large").
			SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).
			SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err })
		c := paho.NewClient(o)
		wait(t, c.Connect())
		t.Cleanup(func() { c.Disconnect(50) })
		got := make(chan []byte, 2)
		wait(t, c.Subscribe("t/size", 0, func(_ paho.Client, m paho.Message) { got <- m.Payload() }))

		fits := bytes.Repeat([]byte("f"), limit-100) // topic and header fit in the rest
		wait(t, c.Publish("t/size", 0, false, fits))
		select {
		case p := <-got:
			if len(p) != len(fits) {
				t.Fatalf("got %d bytes, want %d", len(p), len(fits))
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a packet under the limit was not delivered")
		}
		wait(t, c.Publish("t/size", 0, false, bytes.Repeat([]byte("x"), limit)))
		select {
		case <-lost:
		case p := <-got:
			t.Fatalf("a %d-byte message over the %d-byte limit was delivered", len(p), limit)
		case <-time.After(10 * time.Second):
			t.Fatal("the client that sent a packet over the limit is still connected")
		}
	})
}

func TestSilentConnectionIsClosedAtTheConnectDeadline(t *testing.T) {
	b := startBroker(t, Options{ConnectTimeout: 100 * time.Millisecond})
	tests := []struct {
		name string
		sent []byte
	}{
		{"nothing", nil},
		{"half a CONNECT", connectPacket("slow", 60)[:7]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, b.Addr(), tt.sent)
			if err := closedByPeer(c, 10*time.Second); err != nil {
				t.Fatalf("connection still open long after the deadline: %v", err)
			}
		})
	}
}

func TestConnectedClientOutlivesTheConnectDeadline(t *testing.T) {
	const deadline = 100 * time.Millisecond
	b := startBroker(t, Options{ConnectTimeout: deadline})
	c := dialRaw(t, b.Addr(), connectPacket("keeps-going", 0)) // keep-alive 0: no deadline at all
	connack := make([]byte, 4)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, connack); err != nil || !bytes.Equal(connack, []byte{0x20, 2, 0, 0}) {
		t.Fatalf("CONNACK % x, %v; want 20 02 00 00", connack, err)
	}
	// Waiting past the CONNECT deadline is the point here: the read must
	// end by our own deadline, not by the broker closing the connection.
	_ = c.SetReadDeadline(time.Now().Add(5 * deadline))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read ended with %v, want our own timeout: the broker cut off a logged-in client", err)
	}
}

func TestConnectionsBeyondTheCapAreClosedAtOnce(t *testing.T) {
	b := startBroker(t, Options{MaxConnections: 2, ConnectTimeout: time.Minute})
	// Two silent connections hold both slots; dials complete in order and
	// the broker accepts them in that order.
	dialRaw(t, b.Addr(), nil)
	dialRaw(t, b.Addr(), nil)
	third := dialRaw(t, b.Addr(), nil)
	if err := closedByPeer(third, 10*time.Second); err != nil {
		t.Fatalf("a third connection with a cap of 2 is still open: %v", err)
	}
}

func TestClosedConnectionFreesItsSlot(t *testing.T) {
	b := startBroker(t, Options{MaxConnections: 1, ConnectTimeout: 100 * time.Millisecond})
	silent := dialRaw(t, b.Addr(), nil)
	// The broker frees the slot before it closes the connection, so once
	// we see the close, the slot is free.
	if err := closedByPeer(silent, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := connect(t, b.URL(), "", ""); err != nil {
		t.Fatalf("connect after the only slot was freed: %v", err)
	}
}

func TestCloseEndsConnectionsThatNeverLoggedIn(t *testing.T) {
	b, err := Start(Options{Listen: "127.0.0.1:0", ConnectTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, b.Addr(), hugeConnect[:2]) // a header cut short: mochi waits for the rest
	// The broker accepts in order, so once a later connection has its
	// CONNACK, c has been accepted and is waiting inside the broker.
	later := dialRaw(t, b.Addr(), connectPacket("later", 60))
	_ = later.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(later, make([]byte, 4)); err != nil {
		t.Fatalf("no CONNACK: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close waits for a client that never sent CONNECT")
	}
	if err := closedByPeer(c, 10*time.Second); err != nil {
		t.Fatalf("connection still open after Close: %v", err)
	}
}
