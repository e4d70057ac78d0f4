// Package broker runs an embedded MQTT broker so that ImageBeam works, and
// its tests run, without an external Mosquitto.
package broker

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"

	"imagebeam/config"
)

// Limits that keep the broker safe to leave running on a shared network.
const (
	// DefaultMaxPacketSize bounds every MQTT packet a client sends, checked
	// on the fixed header before mochi allocates the packet. An image frame
	// is 9 bytes of header plus one chunk, at most 32767 bytes (1400 by
	// default); 64 KiB holds the largest frame with room for its topic and
	// properties, and for other clients' messages (status, logs) of the
	// same order, while 1000 clients announcing it cost 64 MB at most.
	DefaultMaxPacketSize = 64 << 10
	// DefaultMaxConnections caps open TCP connections, logged in or not. A
	// lab has tens of devices; beyond the cap a new connection is closed at
	// once, so a flood costs sockets, not memory.
	DefaultMaxConnections = 1000
	// DefaultConnectTimeout is how long a connection may take from accept
	// to a complete CONNECT (TLS handshake included). A real client needs
	// milliseconds; a connection that says nothing is closed after it.
	DefaultConnectTimeout = 10 * time.Second
)

// maxRemainingLength is MQTT's largest packet (a 4-byte length field).
const maxRemainingLength = 268435455

// Errors a caller can branch on with errors.Is.
var (
	// ErrAddrInUse means another program already listens on the address.
	ErrAddrInUse = errors.New("broker: address already in use")
	// ErrAuthRequired means the address is reachable from other machines but
	// no username and password were given.
	ErrAuthRequired = errors.New("broker: a username and password are required to listen beyond loopback")
	// ErrBadListen means the listen address cannot be parsed.
	ErrBadListen = errors.New("broker: bad listen address")
	// ErrBadOptions means another option is out of range or inconsistent,
	// or a TLS file or device logins file cannot be used.
	ErrBadOptions = errors.New("broker: bad option")
)

// Options configure the embedded broker.
type Options struct {
	// Listen is host:port; empty means config.DefaultListen (loopback only,
	// the standard MQTT port). Port 0 picks a free port (see Broker.Addr).
	Listen string
	// Username and Password, when set, are required from every client. They
	// must be set when Listen is not a loopback address. This shared login
	// (the one ImageBeam itself uses) may publish and subscribe anywhere.
	Username, Password string
	// DeviceLogins are further logins, each limited to one device's two
	// topics. They need the shared login too.
	DeviceLogins []DeviceLogin

	// TLS serves TLS on a loopback address too; beyond loopback it is
	// always on. CertFile and KeyFile are the certificate and key (PEM) to
	// present, and turn TLS on as well; without them the broker makes a
	// self-signed certificate once and keeps it in CertDir (empty: the
	// folder of the settings file) as GeneratedCertName and
	// GeneratedKeyName. On a TLS listener beyond loopback, clients on this
	// computer may still connect without TLS: that traffic never crosses
	// the network.
	TLS               bool
	CertFile, KeyFile string
	CertDir           string

	// MaxPacketSize bounds an MQTT packet in bytes; 0 means
	// DefaultMaxPacketSize. A client that announces more is disconnected
	// before anything is allocated for the packet.
	MaxPacketSize int
	// MaxConnections caps open connections; 0 means DefaultMaxConnections.
	MaxConnections int
	// ConnectTimeout is how long a client has to complete CONNECT; 0 means
	// DefaultConnectTimeout. After CONNECT, the client's keep-alive rules.
	ConnectTimeout time.Duration

	// Logger receives the broker's log; nil keeps it quiet.
	Logger *slog.Logger
}

// Validate checks the options without binding or reading anything: the
// address parses, username and password come as a pair, an address other
// machines can reach (0.0.0.0, ::, a LAN address, a host name) has them,
// and the limits, TLS files and device logins are consistent.
func (o Options) Validate() error {
	addr := o.listen()
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w %q: %v", ErrBadListen, addr, err)
	}
	if (o.Username == "") != (o.Password == "") {
		return fmt.Errorf("%w: give both a username and a password, or neither", ErrBadOptions)
	}
	if o.Username == "" && !isLoopback(host) {
		return fmt.Errorf("%w: %s is reachable from other machines; set a username and password", ErrAuthRequired, addr)
	}
	switch {
	case o.MaxPacketSize < 0 || o.MaxPacketSize > maxRemainingLength:
		return fmt.Errorf("%w: maximum packet size %d is not between 1 and %d bytes", ErrBadOptions, o.MaxPacketSize, maxRemainingLength)
	case o.MaxConnections < 0:
		return fmt.Errorf("%w: maximum connections %d is negative", ErrBadOptions, o.MaxConnections)
	case o.ConnectTimeout < 0:
		return fmt.Errorf("%w: CONNECT timeout %s is negative", ErrBadOptions, o.ConnectTimeout)
	case (o.CertFile == "") != (o.KeyFile == ""):
		return fmt.Errorf("%w: give both a TLS certificate and its key file, or neither", ErrBadOptions)
	case len(o.DeviceLogins) > 0 && o.Username == "":
		return fmt.Errorf("%w: device logins need the shared username and password too", ErrBadOptions)
	}
	names := map[string]bool{o.Username: true}
	for _, d := range o.DeviceLogins {
		if err := d.validate(); err != nil {
			return err
		}
		if names[d.Username] {
			return fmt.Errorf("%w: username %q is used by two logins", ErrBadOptions, d.Username)
		}
		names[d.Username] = true
	}
	return nil
}

func (o Options) listen() string {
	if o.Listen == "" {
		return config.DefaultListen
	}
	return o.Listen
}

// beyondLoopback reports whether other machines can reach the address;
// Validate has checked that it parses.
func (o Options) beyondLoopback() bool {
	host, _, _ := net.SplitHostPort(o.listen())
	return !isLoopback(host)
}

// useTLS reports whether the broker serves TLS.
func (o Options) useTLS() bool { return o.TLS || o.CertFile != "" || o.beyondLoopback() }

// isLoopback reports whether host only accepts connections from this
// machine. Host names other than "localhost" are treated as reachable,
// because they may resolve to any interface.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Broker is a running embedded broker.
type Broker struct {
	server    *mqtt.Server
	addr      string
	cert      *serverCert // nil for plain TCP
	local     string      // LoopbackURL
	closeOnce sync.Once
}

// Start validates opts, binds the address and starts serving. The broker
// runs until Close.
func Start(opts Options) (*Broker, error) {
	return start(opts, opts.beyondLoopback())
}

// start is Start with the choice of letting loopback peers skip TLS made
// by the caller, so that tests on 127.0.0.1 can exercise both.
func start(opts Options, plainLoopback bool) (*Broker, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	addr := opts.listen()
	var cert *serverCert
	if opts.useTLS() {
		host, _, _ := net.SplitHostPort(addr)
		var err error
		if cert, err = loadServerCert(opts.CertFile, opts.KeyFile, opts.CertDir, host); err != nil {
			return nil, err
		}
	}
	// Binding here rather than inside mochi makes "address in use" a
	// synchronous, recognisable error and lets Addr report the real port.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, listenError(addr, err)
	}

	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	caps := mqtt.NewDefaultServerCapabilities()
	// Mochi checks this on the fixed header, before it allocates the
	// packet: without it, a client that sent 5 bytes announcing 256 MB got
	// 256 MB allocated for it, before any login.
	caps.MaximumPacketSize = uint32(cmp.Or(opts.MaxPacketSize, DefaultMaxPacketSize))
	// Mochi makes each client's write queue at accept, before CONNECT: 8192
	// slots (64 KB) by default, most of what a silent connection costs.
	// Stop-and-wait keeps a few packets queued per client at most; 1024
	// still holds a burst of 1024 frames for a slow subscriber to "#".
	caps.MaximumClientWritesPending = 1024
	// Frames are small and strictly one at a time, so the defaults for
	// inflight and queued writes never throttle a transfer; buffers are
	// sized so a default 1400-byte chunk plus MQTT framing is read in one
	// call. Mochi flushes each packet as soon as its queue is empty and Go
	// sets TCP_NODELAY on accepted connections, so there is no Nagle delay
	// of the kind PROTOCOL.md describes for Mosquitto.
	server := mqtt.New(&mqtt.Options{
		Capabilities:             caps,
		ClientNetReadBufferSize:  4096,
		ClientNetWriteBufferSize: 4096,
		Logger:                   logger,
	})
	hook := newAuthHook(opts, func(id string) (string, bool) {
		cl, ok := server.Clients.Get(id)
		if !ok {
			return "", false
		}
		return string(cl.Properties.Username), true
	})
	if err := server.AddHook(hook, nil); err != nil {
		ln.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	g := &guard{
		id:             "tcp",
		ln:             ln,
		log:            logger,
		maxConns:       cmp.Or(opts.MaxConnections, DefaultMaxConnections),
		connectTimeout: cmp.Or(opts.ConnectTimeout, DefaultConnectTimeout),
		conns:          map[*guardedConn]struct{}{},
	}
	if cert != nil {
		g.tls = &tls.Config{Certificates: []tls.Certificate{cert.tls}, MinVersion: tls.VersionTLS12}
		g.plainLoopback = plainLoopback
	}
	if err := server.AddListener(g); err != nil {
		ln.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	if err := server.Serve(); err != nil {
		server.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	b := &Broker{server: server, addr: ln.Addr().String(), cert: cert}
	host, port, _ := net.SplitHostPort(b.addr)
	switch ip := net.ParseIP(host); {
	case cert == nil || (g.plainLoopback && isLoopback(host)):
		b.local = "tcp://" + b.addr
	case g.plainLoopback && ip != nil && ip.IsUnspecified():
		b.local = "tcp://" + net.JoinHostPort("127.0.0.1", port)
	}
	return b, nil
}

func listenError(addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) || errors.Is(err, syscall.Errno(10048)) { // 10048: WSAEADDRINUSE on Windows
		hint := "another program may be using it"
		if _, port, _ := net.SplitHostPort(addr); port == "1883" {
			hint = "another MQTT broker (Debian's mosquitto service often holds 1883) may be running"
		}
		return fmt.Errorf("%w: %s is taken — %s; stop it or pick another address with --listen", ErrAddrInUse, addr, hint)
	}
	return fmt.Errorf("broker: cannot listen on %s: %w", addr, err)
}

// Run starts a broker, calls started (if not nil) once it listens, and
// serves until ctx is done, then closes it and returns nil. It is the body
// of `imagebeam broker`; started is where the command prints the address.
func Run(ctx context.Context, opts Options, started func(*Broker)) error {
	b, err := Start(opts)
	if err != nil {
		return err
	}
	if opts.Logger != nil {
		opts.Logger.Info("broker listening", "url", b.URL(), "auth", opts.Username != "",
			"device_logins", len(opts.DeviceLogins), "tls_fingerprint", b.Fingerprint())
	}
	if started != nil {
		started(b)
	}
	<-ctx.Done()
	return b.Close()
}

// Addr is the address the broker listens on, with the real port when
// Options.Listen asked for port 0.
func (b *Broker) Addr() string { return b.addr }

// URL is the broker's address as a client URL: "ssl://host:port" when it
// serves TLS, else "tcp://host:port".
func (b *Broker) URL() string {
	if b.cert != nil {
		return "ssl://" + b.addr
	}
	return "tcp://" + b.addr
}

// LoopbackURL is a plain-TCP URL for clients on this computer: URL when
// the broker speaks plain TCP, tcp://127.0.0.1:port when it speaks TLS on
// all interfaces (loopback peers may skip TLS), and "" when every client
// must use TLS (TLS on loopback asked for, or a listener bound to one
// LAN address, which loopback cannot reach).
func (b *Broker) LoopbackURL() string { return b.local }

// Fingerprint is the SHA-256 fingerprint of the broker's TLS certificate
// (colon-separated hex, as openssl shows it), for devices to pin or users
// to compare; "" when the broker serves plain TCP.
func (b *Broker) Fingerprint() string {
	if b.cert == nil {
		return ""
	}
	return b.cert.fingerprint
}

// CertFile is the TLS certificate the broker presents (the generated one
// or the user's), the file to give devices as their trusted CA; "" for
// plain TCP. CertCreated reports whether this start generated it.
func (b *Broker) CertFile() string {
	if b.cert == nil {
		return ""
	}
	return b.cert.path
}

// CertCreated reports whether this start generated the certificate, so a
// caller can say that devices must be given the new one.
func (b *Broker) CertCreated() bool { return b.cert != nil && b.cert.created }

// Clients is the number of clients connected now.
func (b *Broker) Clients() int { return int(b.server.Info.Clone().ClientsConnected) }

// Close disconnects every client and stops listening. It is safe to call
// more than once.
func (b *Broker) Close() error {
	var err error
	b.closeOnce.Do(func() { err = b.server.Close() })
	return err
}
