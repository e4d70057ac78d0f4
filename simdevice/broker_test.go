package simdevice

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"imagebeam/broker"
	"imagebeam/internal/testbroker"
	"imagebeam/transfer"
)

const (
	toDevice   = "mqttTestPub"
	fromDevice = "mqttTestSub"
)

// pahoClient connects to url and subscribes to sub (waiting for the
// SUBACK); its handler hands payloads over without blocking.
func pahoClient(t *testing.T, url, role, sub string) (paho.Client, <-chan []byte) {
	t.Helper()
	in := make(chan []byte, 256)
	o := paho.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("test-%s-%d", role, rand.Uint64())).
		SetOrderMatters(false).SetConnectTimeout(5 * time.Second)
	c := paho.NewClient(o)
	waitToken(t, c.Connect())
	t.Cleanup(func() { c.Disconnect(50) })
	waitToken(t, c.Subscribe(sub, 0, func(_ paho.Client, m paho.Message) {
		select {
		case in <- m.Payload():
		default: // a full buffer is a lost message, as on a real network
		}
	}))
	return c, in
}

func waitToken(t *testing.T, tok paho.Token) {
	t.Helper()
	if !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("MQTT token timed out")
	}
	if err := tok.Error(); err != nil {
		t.Fatal(err)
	}
}

// send is a minimal stop-and-wait sender: each frame is resent on status
// 0 or after timeout, and only an answer that matches it moves on.
func send(t *testing.T, c paho.Client, acks <-chan []byte, name string, img []byte, chunk int, timeout time.Duration) {
	t.Helper()
	frames := []transfer.Frame{{Function: transfer.FuncBegin, Data: transfer.BeginData(name, len(img))}}
	for i := 0; i*chunk < len(img); i++ {
		frames = append(frames, transfer.Frame{Function: transfer.FuncData, Number: i, Data: img[i*chunk : min(len(img), (i+1)*chunk)]})
	}
	frames = append(frames, transfer.Frame{Function: transfer.FuncFinish})
	timer := time.NewTimer(timeout)
	for _, f := range frames {
		wire := transfer.EncodeFrame(f)
	attempts:
		for try := 0; ; try++ {
			if try > 30 {
				t.Fatalf("%v %d: no ack after %d tries", f.Function, f.Number, try)
			}
			waitToken(t, c.Publish(toDevice, 0, false, wire))
			timer.Reset(timeout)
			for {
				select {
				case p := <-acks:
					fb, err := transfer.DecodeFeedback(p)
					if err != nil || fb.Function != f.Function || fb.Number != f.Number {
						continue // malformed or stale: ignored
					}
					if fb.Status == transfer.StatusWhole {
						break attempts
					}
					continue attempts
				case <-timer.C:
					continue attempts
				}
			}
		}
	}
}

func TestDeviceOverARealBroker(t *testing.T) {
	b, err := broker.Start(broker.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	brokers := []struct {
		name string
		url  func(*testing.T) string
	}{
		{"embedded", func(*testing.T) string { return b.URL() }},
		{"mosquitto", func(t *testing.T) string { return testbroker.StartMosquitto(t, testbroker.Options{}).URL() }},
	}

	img := make([]byte, 40_000)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range img {
		img[i] = byte(r.Uint32())
	}
	tests := []struct {
		name    string
		faults  Faults
		timeout time.Duration
		linger  time.Duration // above timeout when answers can be lost
	}{
		{"clean", Faults{}, 5 * time.Second, time.Millisecond},
		{"every fault", Faults{Drop: 0.1, DropAck: 0.1, NAK: 0.1, Dup: 0.1, Garbage: 0.1, Late: 0.1, LateBy: 150 * time.Millisecond, Seed: 9}, 100 * time.Millisecond, time.Second},
	}
	for _, br := range brokers {
		t.Run(br.name, func(t *testing.T) {
			url := br.url(t)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					// The device uses the link imagebeam simulate uses; the
					// sender is a raw paho client that shares no code with it.
					link, err := transfer.Dial(ctx, transfer.BrokerConfig{URL: url}, "test-device", toDevice, fromDevice, 0)
					if err != nil {
						t.Fatal(err)
					}
					defer link.Close()
					sc, acks := pahoClient(t, url, "sender", fromDevice)
					images := make(chan Received, 1)
					done := startRun(t, ctx, link, Options{OutDir: t.TempDir(), Count: 1, Linger: tt.linger, Faults: tt.faults}, images)

					send(t, sc, acks, "image.jpg", img, 1400, tt.timeout)
					if err := <-done; err != nil {
						t.Fatalf("Run = %v", err)
					}
					got := <-images
					if !got.Complete || got.SHA256 != sha(img) || got.Size != len(img) {
						t.Fatalf("device reports %+v, want the image whole", got)
					}
					saved, err := os.ReadFile(got.Path)
					if err != nil || sha(saved) != sha(img) {
						t.Fatalf("saved file %s differs: %v", got.Path, err)
					}
				})
			}
		})
	}
}
