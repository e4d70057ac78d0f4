package transfer

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
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
// subscribes to another. The sender publishes frames to the device topic
// and reads feedback; the simulated device does the reverse. A Hub shares
// one connection among many such topic pairs.
type MQTTLink struct {
	conn connector
	pub  string
	sub  string
	qos  byte
	in   chan []byte

	mu      sync.Mutex
	state   LinkState
	lastErr error
	changed chan struct{} // closed and replaced on every state change

	dropped atomic.Int64
}

// incomingBuffer bounds the messages waiting for the consumer. Stop-and-wait
// keeps it near empty; past it, messages are dropped (and counted) rather
// than blocking paho's network goroutine.
const incomingBuffer = 1024

// Dial connects to the broker, subscribes to subTopic and waits for the
// broker's SUBACK, so nothing the peer answers is lost. After that the
// link reconnects by itself and subscribes again after every reconnect.
func Dial(ctx context.Context, cfg BrokerConfig, role, subTopic, pubTopic string, qos byte) (*MQTTLink, error) {
	cfg = cfg.withDefaults(role)
	if err := ValidateBrokerURL(cfg.URL); err != nil {
		return nil, err
	}
	if qos > 2 {
		return nil, fmt.Errorf("transfer: QoS %d is not 0, 1 or 2", qos)
	}
	tlsCfg, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	l := &MQTTLink{
		conn:    connector{addr: redact.URL(cfg.URL), password: cfg.Password},
		pub:     pubTopic,
		sub:     subTopic,
		qos:     qos,
		in:      make(chan []byte, incomingBuffer),
		changed: make(chan struct{}),
	}
	opts := brokerOptions(cfg, tlsCfg).
		SetOnConnectHandler(l.onConnect).
		SetConnectionLostHandler(l.onLost).
		SetReconnectingHandler(func(c mqtt.Client, _ *mqtt.ClientOptions) {
			if l.conn.current(c) {
				l.setState(StateReconnecting, nil)
			}
		})
	if err := l.conn.connect(ctx, opts, cfg); err != nil {
		return nil, err
	}
	// The SUBACK arrives in onConnect's goroutine: wait for it.
	if err := l.WaitUp(ctx, cfg.ConnectTimeout); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// brokerOptions are paho's options for cfg, without handlers: a clean
// session that reconnects by itself.
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
		SetOrderMatters(false).
		SetAutoReconnect(true).
		SetConnectRetry(false). // connect retries itself, so that a refused login is reported at once
		SetMaxReconnectInterval(2 * time.Second).
		SetCustomOpenConnectionFn(func(uri *url.URL, o mqtt.ClientOptions) (net.Conn, error) { return openConn(uri, o, nil) })
	if tlsCfg != nil {
		opts.SetTLSConfig(tlsCfg)
	}
	return opts
}

// connector is the connection half that MQTTLink and Hub share: it makes
// connection attempts and knows which paho client is the current one.
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

// onConnect runs in its own goroutine after every (re)connection.
func (l *MQTTLink) onConnect(c mqtt.Client) {
	if !l.conn.current(c) {
		return
	}
	tok := c.Subscribe(l.sub, l.qos, l.onMessage)
	if !tok.WaitTimeout(10 * time.Second) {
		l.setState(StateReconnecting, fmt.Errorf("transfer: no SUBACK for %q from %s", l.sub, l.conn.addr))
		return
	}
	if err := tok.Error(); err != nil {
		// The connection went away under the SUBSCRIBE: paho reconnects.
		l.setState(StateReconnecting, fmt.Errorf("transfer: subscribing to %q on %s failed: %s", l.sub, l.conn.addr, l.conn.scrub(err)))
		return
	}
	if st, ok := tok.(*mqtt.SubscribeToken); ok {
		for _, code := range st.Result() {
			if code >= 0x80 {
				l.setState(StateRefused, fmt.Errorf("%w: %s refused the subscription to %q (not allowed for this login?)", ErrNotAuthorized, l.conn.addr, l.sub))
				return
			}
		}
	}
	l.setState(StateUp, nil)
}

func (l *MQTTLink) onLost(c mqtt.Client, err error) {
	if !l.conn.current(c) {
		return
	}
	l.setState(StateReconnecting, fmt.Errorf("transfer: lost the connection to %s: %s", l.conn.addr, l.conn.scrub(err)))
}

// onMessage never blocks: paho calls it from its network goroutine.
func (l *MQTTLink) onMessage(_ mqtt.Client, m mqtt.Message) {
	select {
	case l.in <- m.Payload():
	default:
		l.dropped.Add(1)
	}
}

func (l *MQTTLink) setState(s LinkState, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state == StateClosed || l.state == StateRefused {
		return // final states
	}
	l.state, l.lastErr = s, err
	close(l.changed)
	l.changed = make(chan struct{})
}

// State returns the connection state, a channel closed at the next change
// and the reason for the last loss (nil when up).
func (l *MQTTLink) State() (LinkState, <-chan struct{}, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state, l.changed, l.lastErr
}

// WaitUp waits until the link is up, for at most d.
func (l *MQTTLink) WaitUp(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		s, ch, err := l.State()
		switch s {
		case StateUp:
			return nil
		case StateRefused:
			return err
		case StateClosed:
			return ErrLinkClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%w while connecting to %s", ErrCanceled, l.conn.addr)
		case <-t.C:
			if err != nil {
				return fmt.Errorf("%w: %w", ErrBrokerUnreachable, err)
			}
			return fmt.Errorf("%w: %s did not confirm the subscription within %s", ErrBrokerUnreachable, l.conn.addr, d)
		}
	}
}

// Incoming delivers the payloads that arrive on the subscribed topic.
func (l *MQTTLink) Incoming() <-chan []byte { return l.in }

// Dropped counts incoming messages dropped because the consumer lagged.
func (l *MQTTLink) Dropped() int64 { return l.dropped.Load() }

// Addr is the broker URL this link talks to.
func (l *MQTTLink) Addr() string { return l.conn.addr }

// Publish sends payload to the link's publish topic and waits until the
// client has handed it to the broker (QoS 0) or the broker acknowledged it
// (QoS 1 and 2). That never means the device has it.
func (l *MQTTLink) Publish(ctx context.Context, payload []byte) error {
	s, changed, _ := l.State()
	if s != StateUp {
		return ErrNotConnected
	}
	client := l.conn.get()
	if client == nil {
		return ErrNotConnected
	}
	tok := client.Publish(l.pub, l.qos, false, payload)
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("%w: %s", ErrPublish, l.conn.scrub(err))
		}
		return nil
	case <-changed:
		// The connection dropped while paho held the message; its token
		// may never complete. The caller waits for the link and resends.
		return ErrNotConnected
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close disconnects from the broker. It is safe to call more than once.
func (l *MQTTLink) Close() {
	l.mu.Lock()
	if l.state == StateClosed {
		l.mu.Unlock()
		return
	}
	l.state = StateClosed
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
	if client := l.conn.get(); client != nil {
		client.Disconnect(100)
	}
}
