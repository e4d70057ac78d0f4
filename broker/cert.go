package broker

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"imagebeam/config"
	"imagebeam/internal/atomicfile"
)

// The certificate the broker makes for itself, kept in CertDir.
const (
	GeneratedCertName = "broker-cert.pem"
	GeneratedKeyName  = "broker-key.pem"
)

// certLifetime is long because devices pin the certificate (or trust it
// as their CA): a renewal means reconfiguring every device.
const certLifetime = 10 * 365 * 24 * time.Hour

// serverCert is the certificate the broker presents.
type serverCert struct {
	tls         tls.Certificate
	path        string // the certificate file
	fingerprint string
	created     bool // generated during this start
}

// loadServerCert loads the user's pair when given, else the generated
// certificate in dir, making it on first use.
func loadServerCert(certFile, keyFile, dir, listenHost string) (*serverCert, error) {
	if certFile != "" {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, certError(certFile, keyFile, err)
		}
		return newServerCert(c, certFile, false)
	}
	if dir == "" {
		p, err := config.Path()
		if err != nil {
			return nil, fmt.Errorf("broker: no folder to keep the TLS certificate in: %w", err)
		}
		dir = filepath.Dir(p)
	}
	certFile, keyFile = filepath.Join(dir, GeneratedCertName), filepath.Join(dir, GeneratedKeyName)
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if errors.Is(err, fs.ErrNotExist) {
		_, certErr := os.Stat(certFile)
		_, keyErr := os.Stat(keyFile)
		if errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist) {
			return generateServerCert(dir, certFile, keyFile, listenHost)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w; delete both %s and %s to make a new certificate (devices must then trust the new one)",
			certError(certFile, keyFile, err), certFile, keyFile)
	}
	return newServerCert(c, certFile, false)
}

func certError(certFile, keyFile string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%w: cannot read %s: %v", ErrBadOptions, pe.Path, pe.Err)
	}
	// tls's own messages name the problem ("private key does not match
	// public key", "failed to find any PEM data") but not the files.
	return fmt.Errorf("%w: TLS certificate %s with key %s: %v", ErrBadOptions, certFile, keyFile, err)
}

func newServerCert(c tls.Certificate, path string, created bool) (*serverCert, error) {
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("%w: TLS certificate %s: %v", ErrBadOptions, path, err)
	}
	if time.Now().After(leaf.NotAfter) {
		return nil, fmt.Errorf("%w: TLS certificate %s expired on %s", ErrBadOptions, path, leaf.NotAfter.Format(time.DateOnly))
	}
	c.Leaf = leaf
	return &serverCert{tls: c, path: path, fingerprint: Fingerprint(leaf.Raw), created: created}, nil
}

// Fingerprint is the SHA-256 digest of a DER certificate as colon-separated
// hex pairs, the form openssl x509 -fingerprint -sha256 and browsers show.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	var b strings.Builder
	for i, x := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", x)
	}
	return b.String()
}

// generateServerCert makes a self-signed ECDSA P-256 certificate (small
// and quick to verify on a microcontroller) and writes it: the key
// readable by the user only, the certificate for anyone (it goes to the
// devices). The key is written first, so a crash in between leaves a key
// without a certificate, which loadServerCert reports, never a certificate
// whose key is lost.
func generateServerCert(dir, certFile, keyFile, listenHost string) (*serverCert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("broker: cannot make a TLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("broker: cannot make a TLS certificate: %w", err)
	}
	host, _ := os.Hostname()
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "ImageBeam broker on " + host, Organization: []string{"ImageBeam"}},
		NotBefore:    now.Add(-time.Hour), // a device clock slightly behind still accepts it
		NotAfter:     now.Add(certLifetime),
		// Self-signed and marked as a CA, so a device can be given this
		// file as its trusted CA: some TLS stacks accept only a CA there.
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	tmpl.DNSNames, tmpl.IPAddresses = subjectNames(host, listenHost)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("broker: cannot make a TLS certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("broker: cannot encode the TLS key: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("broker: cannot create %s for the TLS certificate: %w", dir, err)
	}
	if err := atomicfile.Write(keyFile, keyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("broker: cannot write the TLS key %s: %w", keyFile, err)
	}
	if err := atomicfile.Write(certFile, certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("broker: cannot write the TLS certificate %s: %w", certFile, err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("broker: the TLS certificate just made does not load: %w", err)
	}
	return newServerCert(c, certFile, true)
}

// subjectNames lists the names devices may reach this computer by when
// they verify the host name: localhost, the host name, the listen address,
// and the addresses of the interfaces now. Addresses change (DHCP), which
// is why the start-up line gives the fingerprint to pin instead.
func subjectNames(host, listenHost string) (dns []string, ips []net.IP) {
	dns = []string{"localhost"}
	if host != "" && host != "localhost" {
		dns = append(dns, host)
		if !strings.Contains(host, ".") {
			dns = append(dns, host+".local")
		}
	}
	ips = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	if ip := net.ParseIP(listenHost); ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
		ips = append(ips, ip)
	} else if ip == nil && listenHost != "" && listenHost != "localhost" && listenHost != host {
		dns = append(dns, listenHost)
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() && !n.IP.Equal(net.ParseIP(listenHost)) {
			ips = append(ips, n.IP)
		}
	}
	return dns, ips
}
