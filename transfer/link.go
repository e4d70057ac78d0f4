package transfer

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"imagebeam/internal/redact"
)

// Errors of the MQTT link. Each is wrapped with the broker's address and the
// underlying cause.
var (
	ErrBrokerUnreachable = errors.New("transfer: broker unreachable")
	ErrNotAuthorized     = errors.New("transfer: broker refused the connection")
	ErrBrokerURL         = errors.New("transfer: bad broker URL")
	ErrTLSFiles          = errors.New("transfer: cannot load TLS files")
	ErrLinkClosed        = errors.New("transfer: link closed")
	ErrNotConnected      = errors.New("transfer: not connected to the broker")
	ErrPublish           = errors.New("transfer: publish failed")
)

// DefaultBrokerAddress is where the built-in broker listens, on loopback
// and the standard MQTT port, unless told otherwise. It is defined here, in
// the package that config and broker both import, and nowhere else.
const DefaultBrokerAddress = "127.0.0.1:1883"

// DefaultBrokerURL is where ImageBeam looks for a broker unless told
// otherwise: the built-in broker's address.
const DefaultBrokerURL = "tcp://" + DefaultBrokerAddress

// BrokerConfig says how to reach the MQTT broker.
type BrokerConfig struct {
	URL      string // tcp://, mqtt://, ssl://, tls://, mqtts://, ws:// or wss://; default DefaultBrokerURL
	Username string
	Password string // never logged; IMAGEBEAM_PASSWORD fills it when empty

	CAFile   string // PEM bundle that signs the broker's certificate (default: system roots)
	CertFile string // client certificate (PEM), with KeyFile
	KeyFile  string
	Insecure bool // skip verification of the broker's certificate

	ClientID  string        // default NewClientID(role)
	KeepAlive time.Duration // default 30 s

	// ConnectTimeout bounds one connection attempt (default 5 s).
	ConnectTimeout time.Duration
	// ConnectWait is how long Dial keeps retrying a broker that cannot be
	// reached (one that is starting, say). Zero makes one attempt. A broker
	// that refuses the login is never retried.
	ConnectWait time.Duration
}

// NewClientID returns an MQTT client ID unique to this process:
// imagebeam-<role>-<host>-<random>. Two ImageBeam processes (the window and
// a send, say) never knock each other off the broker.
func NewClientID(role string) string {
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return -1
	}, host)
	if len(host) > 24 {
		host = host[:24]
	}
	if host == "" {
		host = "host"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "imagebeam-" + role + "-" + host + "-" + hex.EncodeToString(b[:])
}

// ValidateBrokerURL checks a broker URL's form, without connecting. Its
// error quotes the URL without the login it may hold.
func ValidateBrokerURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%w %q: expected a URL such as %s", ErrBrokerURL, redact.URL(raw), DefaultBrokerURL)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
		return nil
	}
	return fmt.Errorf("%w %q: the scheme must be tcp, ssl, ws or wss", ErrBrokerURL, redact.URL(raw))
}

func (c BrokerConfig) withDefaults(role string) BrokerConfig {
	if c.URL == "" {
		c.URL = DefaultBrokerURL
	}
	if c.Password == "" {
		c.Password = os.Getenv("IMAGEBEAM_PASSWORD")
	}
	if c.ClientID == "" {
		c.ClientID = NewClientID(role)
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = 30 * time.Second
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 5 * time.Second
	}
	return c
}

func (c BrokerConfig) tlsConfig() (*tls.Config, error) {
	u, _ := url.Parse(c.URL)
	secure := u.Scheme == "ssl" || u.Scheme == "tls" || u.Scheme == "mqtts" || u.Scheme == "wss"
	if !secure {
		return nil, nil
	}
	cfg := &tls.Config{InsecureSkipVerify: c.Insecure} //nolint:gosec // an explicit, documented user switch
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: CA file: %v", ErrTLSFiles, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: CA file %s holds no PEM certificate", ErrTLSFiles, c.CAFile)
		}
		cfg.RootCAs = pool
	}
	if c.CertFile != "" || c.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: client certificate and key: %v", ErrTLSFiles, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// LinkState is the state of a link's broker connection.
type LinkState int

// Link states, in the order a link usually passes through them.
const (
	StateConnecting LinkState = iota
	StateUp                   // connected and subscribed
	StateReconnecting
	// StateRefused is final: the broker refused the subscription (an ACL
	// that does not grant the topic). Reconnecting would not change that.
	StateRefused
	StateClosed
)

func (s LinkState) String() string {
	return [...]string{"connecting", "connected", "reconnecting", "refused", "closed"}[s]
}

// MQTTLink is one MQTT connection that publishes to one topic and
// subscribes to another: a Hub of its own with one HubLink attached. The
// sender publishes frames to the device topic and reads feedback; the
// simulated device does the reverse. Close closes the connection too.
type MQTTLink struct {
	*HubLink
}

// incomingBuffer bounds the messages waiting for the consumer. Stop-and-wait
// keeps it near empty; past it, messages are dropped (and counted) rather
// than blocking paho's network goroutine.
const incomingBuffer = 1024

// Dial connects to the broker, subscribes to subTopic and waits for the
// broker's SUBACK, so nothing the peer answers is lost. After that the
// link reconnects by itself and subscribes again after every reconnect.
func Dial(ctx context.Context, cfg BrokerConfig, role, subTopic, pubTopic string, qos byte) (*MQTTLink, error) {
	h, err := NewHub(cfg, role)
	if err != nil {
		return nil, err
	}
	l, err := h.attach(ctx, subTopic, pubTopic, qos)
	if err == nil {
		err = l.waitUp(ctx, h.cfg.ConnectTimeout)
	}
	if err != nil {
		h.Close() // closes l too, without unsubscribing first
		return nil, err
	}
	return &MQTTLink{l}, nil
}

// WaitUp waits until the link is up, for at most d.
func (l *MQTTLink) WaitUp(ctx context.Context, d time.Duration) error { return l.waitUp(ctx, d) }

// Close disconnects from the broker. It is safe to call more than once.
func (l *MQTTLink) Close() { l.h.Close() }

// brokerOptions are paho's options for cfg, without handlers or a way to
// open the connection: a clean session that reconnects by itself.
func brokerOptions(cfg BrokerConfig, tlsCfg *tls.Config) *mqtt.ClientOptions {
	opts := mqtt.NewClientOptions().
		AddBroker(cfg.URL).
		SetClientID(cfg.ClientID).
		SetUsername(cfg.Username).
		SetPassword(cfg.Password).
		SetKeepAlive(cfg.KeepAlive).
		SetPingTimeout(cfg.ConnectTimeout).
		SetConnectTimeout(cfg.ConnectTimeout).
		SetWriteTimeout(cfg.ConnectTimeout).
		SetCleanSession(true).
		SetAutoReconnect(true).
		SetConnectRetry(false). // connect retries itself, so that a refused login is reported at once
		SetMaxReconnectInterval(2 * time.Second)
	if tlsCfg != nil {
		opts.SetTLSConfig(tlsCfg)
	}
	return opts
}

// connector is a Hub's connection half: it makes connection attempts and
// knows which paho client is the current one.
type connector struct {
	addr     string // the broker URL without its login: safe to print
	password string // only to scrub it from a library's error text

	mu     sync.Mutex
	client mqtt.Client
}

// get returns the current client, nil before the first connection.
func (c *connector) get() mqtt.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.client
}

// connect makes connection attempts until one is accepted, the broker
// refuses the login, ctx ends or cfg.ConnectWait has passed; without
// ConnectWait it makes one.
func (c *connector) connect(ctx context.Context, opts *mqtt.ClientOptions, cfg BrokerConfig) error {
	var deadline <-chan time.Time
	if cfg.ConnectWait > 0 {
		t := time.NewTimer(cfg.ConnectWait)
		defer t.Stop()
		deadline = t.C
	}
	for {
		err := c.connectOnce(ctx, opts, cfg.ConnectTimeout)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrBrokerUnreachable) || deadline == nil {
			return err
		}
		retry := time.NewTimer(250 * time.Millisecond)
		select {
		case <-ctx.Done():
			retry.Stop()
			return fmt.Errorf("%w while connecting to %s", ErrCanceled, c.addr)
		case <-deadline:
			retry.Stop()
			return err
		case <-retry.C:
		}
	}
}

// connectOnce makes one connection attempt with a client of its own, so
// that an attempt given up on can never come back to life: its client stops
// being the current one (its handlers are ignored from then on) and is told
// to disconnect, which paho does once the attempt has finished, also when
// the broker accepts it after all.
func (c *connector) connectOnce(ctx context.Context, opts *mqtt.ClientOptions, timeout time.Duration) error {
	client := mqtt.NewClient(opts)
	c.mu.Lock()
	c.client = client // before Connect: onConnect may run before tok.Done
	c.mu.Unlock()
	tok := client.Connect()
	t := time.NewTimer(timeout + time.Second)
	defer t.Stop()
	abandon := func() {
		c.mu.Lock()
		if c.client == client {
			c.client = nil
		}
		c.mu.Unlock()
		client.Disconnect(0)
	}
	select {
	case <-tok.Done():
	case <-ctx.Done():
		abandon()
		return fmt.Errorf("%w while connecting to %s", ErrCanceled, c.addr)
	case <-t.C:
		abandon()
		return fmt.Errorf("%w: %s did not answer within %s", ErrBrokerUnreachable, c.addr, timeout)
	}
	err := tok.Error()
	if err == nil {
		return nil
	}
	c.mu.Lock()
	if c.client == client {
		c.client = nil
	}
	c.mu.Unlock()
	switch {
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword):
		return fmt.Errorf("%w: %s rejected the username or password", ErrNotAuthorized, c.addr)
	case errors.Is(err, packets.ErrorRefusedNotAuthorised):
		return fmt.Errorf("%w: %s says this client is not authorised", ErrNotAuthorized, c.addr)
	case errors.Is(err, packets.ErrorRefusedIDRejected):
		return fmt.Errorf("%w: %s rejected the client ID", ErrNotAuthorized, c.addr)
	case errors.Is(err, packets.ErrorRefusedBadProtocolVersion):
		return fmt.Errorf("%w: %s does not speak MQTT 3.1.1", ErrNotAuthorized, c.addr)
	}
	return fmt.Errorf("%w: %s: %s", ErrBrokerUnreachable, c.addr, c.scrub(err))
}

// scrub is err's text without the password, in case a library quoted it.
func (c *connector) scrub(err error) string {
	return redact.Secrets(redact.URL(err.Error()), c.password)
}

// current reports whether cl is the current client, not one from an
// attempt given up on (whose handlers may still run once).
func (c *connector) current(cl mqtt.Client) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return cl == c.client
}
