// Package testbroker starts a real Mosquitto broker on a free loopback port
// for integration tests and benchmarks.
package testbroker

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Mosquitto is a mosquitto process that a test started and owns.
type Mosquitto struct {
	t    testing.TB
	bin  string
	conf string
	port int
	cmd  *exec.Cmd
	exit chan error
}

// Options tune the broker's configuration.
type Options struct {
	// NoDelay sets set_tcp_nodelay true (Mosquitto's default is false,
	// which costs ~40 ms per round trip at QoS 1; see docs/PROTOCOL.md).
	NoDelay bool
}

// StartMosquitto starts mosquitto on 127.0.0.1 and a free port, and stops it
// when the test ends. Without mosquitto installed the test is skipped,
// unless CI is set: then it fails, so CI never passes by skipping.
func StartMosquitto(t testing.TB, opts Options) *Mosquitto {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
			if _, statErr := os.Stat(p); statErr == nil {
				bin, err = p, nil
				break
			}
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("mosquitto is not installed (apt-get install mosquitto); CI must run the broker tests")
		}
		t.Skip("mosquitto is not installed; apt-get install mosquitto to run this test")
	}
	m := &Mosquitto{t: t, bin: bin, port: freePort(t)}
	m.conf = filepath.Join(t.TempDir(), "mosquitto.conf")
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n", m.port)
	if opts.NoDelay {
		conf += "set_tcp_nodelay true\n"
	}
	if err := os.WriteFile(m.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	m.start()
	t.Cleanup(m.Stop)
	return m
}

// URL is the broker's address for an MQTT client.
func (m *Mosquitto) URL() string { return fmt.Sprintf("tcp://127.0.0.1:%d", m.port) }

// Addr is host:port.
func (m *Mosquitto) Addr() string { return fmt.Sprintf("127.0.0.1:%d", m.port) }

// start runs mosquitto and returns once it logs that it is running.
func (m *Mosquitto) start() {
	m.t.Helper()
	cmd := exec.Command(m.bin, "-c", m.conf)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		m.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		m.t.Fatalf("start mosquitto: %v", err)
	}
	m.cmd = cmd
	m.exit = make(chan error, 1)
	ready := make(chan struct{})
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			if !signalled {
				log.WriteString(line + "\n")
			}
			if !signalled && strings.Contains(line, " running") {
				signalled = true
				close(ready)
			}
		}
		m.exit <- cmd.Wait()
	}()
	select {
	case <-ready:
	case err := <-m.exit:
		m.t.Fatalf("mosquitto exited at start (%v):\n%s", err, log.String())
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		m.t.Fatalf("mosquitto did not start within 10 s")
	}
}

// Stop kills the broker and waits for it to exit. It is safe to call twice.
func (m *Mosquitto) Stop() {
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Kill()
	<-m.exit
	m.cmd = nil
}

// Restart starts the broker again on the same port after Stop.
func (m *Mosquitto) Restart() {
	m.t.Helper()
	m.Stop()
	m.start()
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
