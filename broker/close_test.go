package broker

import (
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCloseWhileClientsComeAndGo: Close returns while clients keep
// logging in and hanging up. Mochi 2.7.9 takes its clients' read lock
// twice when it disconnects a listener's clients, so a client leaving
// (a write lock) in between deadlocked Close; the guard now ends every
// connection before mochi looks.
func TestCloseWhileClientsComeAndGo(t *testing.T) {
	for round := range 20 {
		b, err := Start(Options{Listen: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		var stop atomic.Bool
		var wg sync.WaitGroup
		var logins atomic.Int64
		churning := make(chan struct{}) // closed after the 50th login
		var once sync.Once
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; !stop.Load(); i++ {
					c, err := net.DialTimeout("tcp", b.Addr(), time.Second)
					if err != nil {
						continue // the broker is closing
					}
					_ = c.SetDeadline(time.Now().Add(2 * time.Second))
					if _, err := c.Write(connectPacket(fmt.Sprintf("churn-%d-%d", w, i), 60)); err == nil {
						var ack [4]byte
						if _, err := io.ReadFull(c, ack[:]); err == nil {
							if logins.Add(1) == 50 {
								once.Do(func() { close(churning) })
							}
						}
					}
					c.Close()
				}
			}()
		}
		select {
		case <-churning:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: 50 logins did not happen within 10 s", round)
		}
		closed := make(chan struct{})
		go func() { b.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: Close did not return within 10 s while clients came and went", round)
		}
		stop.Store(true)
		wg.Wait()
	}
}
