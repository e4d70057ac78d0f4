package cli

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBrokerWithTLSAndDeviceLoginsPrintsNoPassword(t *testing.T) {
	logins := filepath.Join(t.TempDir(), "logins.json")
	os.WriteFile(logins, []byte(`[{"username": "bench3", "password": "device-pw-3", "to_device": "lab/bench3/in", "from_device": "lab/bench3/out"}]`), 0o600)
	t.Setenv("IMAGEBEAM_PASSWORD", "admin-pw")
	// A settings folder of its own: the certificate is made next to the
	// settings file, and must be new for this test whatever ran before.
	t.Setenv("IMAGEBEAM_CONFIG", filepath.Join(t.TempDir(), "settings.json"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	done := make(chan error, 1)
	go func() {
		done <- runBroker(ctx, Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: pw},
			[]string{"--listen", "127.0.0.1:0", "--tls", "--username", "lab", "--device-logins", logins})
		pw.Close()
	}()
	var out []string
	for len(out) < 4 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the broker stopped: %v\n%s", <-done, strings.Join(out, "\n"))
			}
			out = append(out, l)
		case <-time.After(10 * time.Second):
			t.Fatalf("start-up lines missing:\n%s", strings.Join(out, "\n"))
		}
	}
	cancel()
	go func() {
		for range lines { // drain, so the broker never blocks on stderr
		}
	}()
	if err := <-done; err != nil {
		t.Fatalf("interrupted broker returned %v", err)
	}
	text := strings.Join(out, "\n")
	for _, want := range []string{"ssl://127.0.0.1:", "broker-cert.pem, made now", "SHA-256 fingerprint ", "device login bench3 (subscribes lab/bench3/in, publishes lab/bench3/out)"} {
		if !strings.Contains(text, want) {
			t.Errorf("start-up lines lack %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "device-pw-3") || strings.Contains(text, "admin-pw") {
		t.Errorf("a password was printed:\n%s", text)
	}
}

func TestBrokerBadSecurityOptionsAreUsageErrors(t *testing.T) {
	logins := filepath.Join(t.TempDir(), "logins.json")
	os.WriteFile(logins, []byte(`[{"username": "d", "password": "secret-pw", "to_device": "a/#", "from_device": "b"}]`), 0o600)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"certificate without key", []string{"--tls-cert", "c.pem"}, "key"},
		{"missing certificate", []string{"--tls-cert", "none.pem", "--tls-key", "none.key"}, "none.pem"},
		{"wildcard in a device login", []string{"--username", "lab", "--password", "x", "--device-logins", logins}, "wildcard"},
		{"missing logins file", []string{"--username", "lab", "--password", "x", "--device-logins", "none.json"}, "none.json"},
		{"no packets", []string{"--max-packet-size", "0"}, "at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(append([]string{"broker", "--listen", "127.0.0.1:0"}, tt.args...)...)
			if r.code != ExitUsage || !strings.Contains(r.stderr, tt.want) || strings.Contains(r.stderr, "secret-pw") {
				t.Fatalf("got %+v, want exit %d naming %q", r, ExitUsage, tt.want)
			}
		})
	}
}
