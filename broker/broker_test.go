package broker

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

func startBroker(t *testing.T, opts Options) *Broker {
	t.Helper()
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	b, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// clientOptions are a test client's options: url, client ID and login.
func clientOptions(url, id, user, pass string) *paho.ClientOptions {
	return paho.NewClientOptions().AddBroker(url).SetClientID(id).
		SetUsername(user).SetPassword(pass).SetConnectTimeout(5 * time.Second)
}

// connectWith returns a client connected with o, disconnected when the
// test ends, or the CONNECT error.
func connectWith(t *testing.T, o *paho.ClientOptions) (paho.Client, error) {
	t.Helper()
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("connect did not finish")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c, nil
}

// connect returns a connected client or the CONNECT error.
func connect(t *testing.T, url, user, pass string) (paho.Client, error) {
	t.Helper()
	return connectWith(t, clientOptions(url, "test-"+t.Name(), user, pass))
}

func wait(t *testing.T, tok paho.Token) {
	t.Helper()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("token did not complete")
	}
	if err := tok.Error(); err != nil {
		t.Fatal(err)
	}
}

func TestPublishedMessageReachesSubscriber(t *testing.T) {
	b := startBroker(t, Options{})
	if !strings.HasPrefix(b.URL(), "tcp://127.0.0.1:") || strings.HasSuffix(b.Addr(), ":0") || b.LoopbackURL() != b.URL() {
		t.Fatalf("URL %q / Addr %q / LoopbackURL %q do not name the bound port", b.URL(), b.Addr(), b.LoopbackURL())
	}
	c, err := connect(t, b.URL(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	wait(t, c.Subscribe("t/x", 0, func(_ paho.Client, m paho.Message) {
		select {
		case got <- m.Payload():
		default:
		}
	}))
	wait(t, c.Publish("t/x", 0, false, []byte("hello")))
	select {
	case p := <-got:
		if string(p) != "hello" {
			t.Fatalf("got %q, want hello", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("message not delivered")
	}
}

func TestAddressInUseIsClear(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = Start(Options{Listen: ln.Addr().String()})
	if !errors.Is(err, ErrAddrInUse) {
		t.Fatalf("err = %v, want ErrAddrInUse", err)
	}
	if !strings.Contains(err.Error(), ln.Addr().String()) || !strings.Contains(err.Error(), "--listen") {
		t.Fatalf("message %q should name the address and the way out", err)
	}
}

func TestValidateRequiresAuthBeyondLoopback(t *testing.T) {
	tests := []struct {
		listen, user, pass string
		want               error // nil = valid; errAny = some error
	}{
		{"", "", "", nil},
		{"127.0.0.1:1883", "", "", nil},
		{"127.0.0.2:0", "", "", nil},
		{"localhost:1883", "", "", nil},
		{"[::1]:1883", "", "", nil},
		{"0.0.0.0:1883", "", "", ErrAuthRequired},
		{":1883", "", "", ErrAuthRequired},
		{"[::]:1883", "", "", ErrAuthRequired},
		{"192.168.1.20:1883", "", "", ErrAuthRequired},
		{"lab-pc.local:1883", "", "", ErrAuthRequired},
		{"0.0.0.0:1883", "lab", "secret", nil},
		{"0.0.0.0:1883", "lab", "", errAny},
		{"127.0.0.1:1883", "", "secret", errAny},
		{"127.0.0.1", "", "", ErrBadListen},
	}
	for _, tt := range tests {
		err := Options{Listen: tt.listen, Username: tt.user, Password: tt.pass}.Validate()
		switch {
		case tt.want == nil && err != nil:
			t.Errorf("%q user=%q: unexpected error %v", tt.listen, tt.user, err)
		case tt.want == errAny && err == nil:
			t.Errorf("%q user=%q pass=%q: want an error", tt.listen, tt.user, tt.pass)
		case tt.want != nil && tt.want != errAny && !errors.Is(err, tt.want):
			t.Errorf("%q user=%q: err = %v, want %v", tt.listen, tt.user, err, tt.want)
		}
	}
}

var errAny = errors.New("any error")

func TestStartRefusesUnauthenticatedWildcard(t *testing.T) {
	// Validation runs before binding, so nothing listens on 0.0.0.0 here.
	if _, err := Start(Options{Listen: "0.0.0.0:0"}); !errors.Is(err, ErrAuthRequired) {
		t.Fatalf("err = %v, want ErrAuthRequired", err)
	}
}

func TestCredentialsAreEnforced(t *testing.T) {
	b := startBroker(t, Options{Username: "lab", Password: "secret"})
	tests := []struct {
		user, pass string
		ok         bool
	}{
		{"lab", "secret", true},
		{"lab", "wrong", false},
		{"", "", false},
		{"other", "secret", false},
	}
	for _, tt := range tests {
		_, err := connect(t, b.URL(), tt.user, tt.pass)
		if (err == nil) != tt.ok {
			t.Errorf("user %q pass %q: err = %v, want ok=%v", tt.user, tt.pass, err, tt.ok)
		}
	}
}

func TestRunServesUntilContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan *Broker, 1)
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Options{Listen: "127.0.0.1:0"}, func(b *Broker) { started <- b }) }()
	var b *Broker
	select {
	case b = <-started:
	case err := <-done:
		t.Fatalf("Run returned before starting: %v", err)
	}
	if _, err := connect(t, b.URL(), "", ""); err != nil {
		t.Fatalf("connect while running: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	ln, err := net.Listen("tcp", b.Addr())
	if err != nil {
		t.Fatalf("address still held after Run returned: %v", err)
	}
	ln.Close()
}

// BenchmarkRoundTrip measures one publish → reply → receive through the
// embedded broker at QoS 0 with 1400-byte payloads: the ceiling for a
// stop-and-wait transfer over it.
func BenchmarkRoundTrip(b *testing.B) {
	br, err := Start(Options{Listen: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	client := func(id, topic string) (paho.Client, <-chan []byte) {
		in := make(chan []byte, 16)
		c := paho.NewClient(paho.NewClientOptions().AddBroker(br.URL()).SetClientID(id).SetOrderMatters(false))
		for _, tok := range []paho.Token{c.Connect(), nil} {
			if tok == nil {
				tok = c.Subscribe(topic, 0, func(_ paho.Client, m paho.Message) { in <- m.Payload() })
			}
			if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				b.Fatalf("%s: %v", id, tok.Error())
			}
		}
		return c, in
	}
	sender, replies := client("bench-sender", "bench/reply")
	defer sender.Disconnect(50)
	device, requests := client("bench-device", "bench/req")
	defer device.Disconnect(50)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-requests:
				device.Publish("bench/reply", 0, false, []byte{0xFF, 0xFF, 0xEE, 0xEE, 2, 0, 0, 1})
			case <-stop:
				return
			}
		}
	}()
	frame := make([]byte, 1409)
	b.ResetTimer()
	for range b.N {
		sender.Publish("bench/req", 0, false, frame)
		select {
		case <-replies:
		case <-time.After(5 * time.Second):
			b.Fatal("no reply")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "roundtrips/s")
}
