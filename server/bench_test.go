package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"imagebeam/config"
	"imagebeam/transfer"
)

// BenchmarkLoad sends 50 compatible requests (GET /image?url=…) at once to
// 5 simulated devices, 10 each, through a real broker on 127.0.0.1, and
// reports requests per second and requests lost (an answer other than
// {"imageData": 1}, or an image the device did not receive whole).
//
//	go test -run '^$' -bench Load -benchtime 5x ./server/
func BenchmarkLoad(b *testing.B) {
	brokers := []struct {
		name  string
		start func(testing.TB) string
	}{{"mosquitto", startMosquitto}, {"embedded", startEmbedded}}
	for _, br := range brokers {
		b.Run(br.name, func(b *testing.B) {
			const devices, perDevice = 5, 10
			url := br.start(b)
			var devs []config.Device
			var sims []*sim
			for i := range devices {
				d := testDevice(fmt.Sprintf("load%d", i))
				devs = append(devs, d)
				sims = append(sims, startSim(b, url, d, false))
			}
			f := newFixture(b, Options{Broker: transfer.BrokerConfig{URL: url}, Devices: devs, QueueLimit: perDevice})
			ctx := context.Background()
			var lost atomic.Int64
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				var wg sync.WaitGroup
				for i := range devices * perDevice {
					wg.Add(1)
					go func() {
						defer wg.Done()
						path := fmt.Sprintf("/image?device=load%d&url=%s/color/%d.png", i%devices, f.images, i)
						req, _ := http.NewRequestWithContext(ctx, "GET", f.base+path, nil)
						resp, err := http.DefaultClient.Do(req)
						if err != nil {
							lost.Add(1)
							return
						}
						var body [32]byte
						n, _ := resp.Body.Read(body[:])
						resp.Body.Close()
						if resp.StatusCode != 200 || string(body[:n]) != "{\"imageData\":1}\n" {
							lost.Add(1)
						}
					}()
				}
				wg.Wait()
				// Every answered request is an image its device reported
				// whole, right at FINISH; one that never comes is lost.
				for _, s := range sims {
					for range perDevice {
						select {
						case r := <-s.images:
							if !r.Complete {
								lost.Add(1)
							}
						case <-time.After(10 * time.Second):
							lost.Add(1)
						}
					}
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			total := b.N * devices * perDevice
			b.ReportMetric(float64(total)/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(lost.Load()), "lost")
			b.ReportMetric(0, "ns/op")
		})
	}
}
