package transfer_test

import (
	"context"
	"testing"
	"time"

	"imagebeam/transfer"
)

// The stop-and-wait ceiling: one publish and one reply per round trip,
// through the same broker, the same MQTT client (MQTTLink) and the same
// instantly answering device as BenchmarkTransfer. Compare their packets/s:
//
//	go test -run '^$' -bench 'RoundTrip|Transfer' -benchtime 3x ./transfer/
func BenchmarkRoundTrip(b *testing.B) {
	for _, br := range brokers {
		b.Run(br.name, func(b *testing.B) {
			url := br.start(b)
			sender, device := dialPair(b, url, 0)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			echoDevice(ctx, b, device, transfer.DefaultChunk)
			frame := transfer.EncodeFrame(transfer.Frame{Function: transfer.FuncData, Data: make([]byte, transfer.DefaultChunk)})
			const perOp = 1000
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				for range perOp {
					if err := sender.Publish(ctx, frame); err != nil {
						b.Fatal(err)
					}
					<-sender.Incoming()
				}
			}
			b.ReportMetric(float64(b.N*perOp)/time.Since(start).Seconds(), "packets/s")
		})
	}
}

// BenchmarkTransfer sends a 5 MB image to an instantly acking device.
func BenchmarkTransfer(b *testing.B) {
	img := randomBytes(b, 5<<20)
	for _, br := range brokers {
		b.Run(br.name, func(b *testing.B) {
			url := br.start(b)
			sender, device := dialPair(b, url, 0)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			images := echoDevice(ctx, b, device, transfer.DefaultChunk)
			frames := 0
			b.SetBytes(int64(len(img)))
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				st, err := transfer.Run(ctx, sender, img, transfer.DefaultSettings(), nil)
				if err != nil {
					b.Fatal(err)
				}
				frames += st.FramesAcked
				<-images
			}
			b.ReportMetric(float64(frames)/time.Since(start).Seconds(), "packets/s")
		})
	}
}
