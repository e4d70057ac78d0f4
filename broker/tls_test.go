package broker

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// connectTLS connects with cfg and returns the client or the error.
func connectTLS(t *testing.T, url, user, pass string, cfg *tls.Config) (paho.Client, error) {
	t.Helper()
	return connectWith(t, clientOptions(url, fmt.Sprintf("test-tls-%d", time.Now().UnixNano()), user, pass).SetTLSConfig(cfg))
}

// pinned trusts exactly the certificate with this fingerprint, whatever
// its names: what a device configured with the fingerprint does.
func pinned(fingerprint string) *tls.Config {
	return &tls.Config{
		InsecureSkipVerify: true, // replaced by the pin below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if got := Fingerprint(cs.PeerCertificates[0].Raw); got != fingerprint {
				return fmt.Errorf("certificate %s is not the pinned %s", got, fingerprint)
			}
			return nil
		},
	}
}

// trusting verifies the broker against certFile as the only CA, names
// included: what a device given the certificate file does.
func trusting(t *testing.T, certFile string) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", certFile)
	}
	return &tls.Config{RootCAs: pool}
}

// roundTrip checks that c can subscribe and receive its own message.
func roundTrip(t *testing.T, c paho.Client, topic string) {
	t.Helper()
	got := make(chan []byte, 1)
	wait(t, c.Subscribe(topic, 0, func(_ paho.Client, m paho.Message) {
		select {
		case got <- m.Payload():
		default:
		}
	}))
	wait(t, c.Publish(topic, 0, false, []byte("over tls")))
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("message not delivered")
	}
}

func TestGeneratedCertificate(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Listen: "127.0.0.1:0", TLS: true, CertDir: dir, Username: "lab", Password: "secret"}
	b := startBroker(t, opts)
	if !strings.HasPrefix(b.URL(), "ssl://127.0.0.1:") || !b.CertCreated() {
		t.Fatalf("URL %q, created %v: want ssl:// and a new certificate", b.URL(), b.CertCreated())
	}
	certFile := filepath.Join(dir, GeneratedCertName)
	if b.CertFile() != certFile || b.LoopbackURL() != "" {
		t.Fatalf("CertFile %q, LoopbackURL %q; want %q and none (TLS asked for on loopback)", b.CertFile(), b.LoopbackURL(), certFile)
	}
	if fi, err := os.Stat(filepath.Join(dir, GeneratedKeyName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	pair, err := tls.LoadX509KeyPair(certFile, filepath.Join(dir, GeneratedKeyName))
	if err != nil {
		t.Fatal(err)
	}
	if want := Fingerprint(pair.Certificate[0]); b.Fingerprint() != want || len(want) != 95 {
		t.Fatalf("Fingerprint %q, want the certificate file's %q", b.Fingerprint(), want)
	}

	t.Run("pinned fingerprint", func(t *testing.T) {
		c, err := connectTLS(t, b.URL(), "lab", "secret", pinned(b.Fingerprint()))
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, c, "t/pinned")
	})
	t.Run("certificate as CA", func(t *testing.T) {
		c, err := connectTLS(t, b.URL(), "lab", "secret", trusting(t, certFile))
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, c, "t/ca")
	})
	t.Run("wrong password over TLS", func(t *testing.T) {
		if _, err := connectTLS(t, b.URL(), "lab", "wrong", pinned(b.Fingerprint())); err == nil {
			t.Fatal("connected with a wrong password")
		}
	})
	t.Run("plain TCP is refused", func(t *testing.T) {
		if _, err := connect(t, "tcp://"+b.Addr(), "lab", "secret"); err == nil {
			t.Fatal("a plain TCP client connected to the TLS listener")
		}
	})
	t.Run("kept across restarts", func(t *testing.T) {
		again := startBroker(t, opts)
		if again.Fingerprint() != b.Fingerprint() || again.CertCreated() {
			t.Fatalf("second start: fingerprint %s (created %v), want the kept %s", again.Fingerprint(), again.CertCreated(), b.Fingerprint())
		}
	})
}

func TestUserCertificate(t *testing.T) {
	// Pairs made elsewhere (here by the generator, under other names).
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "lab.pem"), filepath.Join(dir, "lab.key")
	made, err := generateServerCert(dir, certFile, keyFile, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	otherDir := t.TempDir()
	if _, err := generateServerCert(otherDir, filepath.Join(otherDir, "other.pem"), filepath.Join(otherDir, "other.key"), ""); err != nil {
		t.Fatal(err)
	}

	// On loopback: the certificate alone asks for TLS.
	b := startBroker(t, Options{CertFile: certFile, KeyFile: keyFile})
	if b.Fingerprint() != made.fingerprint || b.CertFile() != certFile || b.CertCreated() {
		t.Fatalf("fingerprint %s file %s created %v; want the user's %s, %s", b.Fingerprint(), b.CertFile(), b.CertCreated(), made.fingerprint, certFile)
	}
	c, err := connectTLS(t, b.URL(), "", "", trusting(t, certFile))
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c, "t/user")

	_, err = Start(Options{Listen: "127.0.0.1:0", CertFile: certFile, KeyFile: filepath.Join(otherDir, "other.key")})
	if !errors.Is(err, ErrBadOptions) || !strings.Contains(err.Error(), "lab.pem") || !strings.Contains(err.Error(), "other.key") {
		t.Fatalf("mismatched pair: err = %v, want ErrBadOptions naming both files", err)
	}
}

func TestLoopbackPeerMaySkipTLSOnALabListener(t *testing.T) {
	// Start treats a listener beyond loopback this way; tests stay on
	// 127.0.0.1, so they ask for it directly.
	b, err := start(Options{Listen: "127.0.0.1:0", TLS: true, CertDir: t.TempDir(), Username: "lab", Password: "secret"}, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if b.LoopbackURL() != "tcp://"+b.Addr() {
		t.Fatalf("LoopbackURL %q, want tcp://%s", b.LoopbackURL(), b.Addr())
	}
	plain, err := connect(t, b.LoopbackURL(), "lab", "secret")
	if err != nil {
		t.Fatalf("plain TCP from this computer: %v", err)
	}
	roundTrip(t, plain, "t/plain")
	secure, err := connectTLS(t, b.URL(), "lab", "secret", pinned(b.Fingerprint()))
	if err != nil {
		t.Fatalf("TLS from this computer: %v", err)
	}
	roundTrip(t, secure, "t/secure")
}

func TestBadCertificateFilesAreNamed(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		cert, key  string
		wantInText string
	}{
		{"missing certificate", filepath.Join(dir, "none.pem"), bad, "none.pem"},
		{"not PEM", bad, bad, "bad.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Start(Options{Listen: "127.0.0.1:0", CertFile: tt.cert, KeyFile: tt.key})
			if !errors.Is(err, ErrBadOptions) || !strings.Contains(err.Error(), tt.wantInText) {
				t.Fatalf("err = %v, want ErrBadOptions naming %s", err, tt.wantInText)
			}
		})
	}
}

func TestHalfAGeneratedPairIsReportedNotReplaced(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, GeneratedKeyName)
	if err := os.WriteFile(key, []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Start(Options{Listen: "127.0.0.1:0", TLS: true, CertDir: dir})
	if !errors.Is(err, ErrBadOptions) || !strings.Contains(err.Error(), GeneratedCertName) || !strings.Contains(err.Error(), "delete both") {
		t.Fatalf("err = %v, want ErrBadOptions naming the missing certificate and the way out", err)
	}
	if b, _ := os.ReadFile(key); string(b) != "kept" {
		t.Fatal("the key file was replaced")
	}
}
