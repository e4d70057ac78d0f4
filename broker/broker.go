// Package broker runs an embedded MQTT broker so that ImageBeam works, and
// its tests run, without an external Mosquitto.
package broker

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"syscall"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// DefaultListen is where the broker listens when Options.Listen is empty:
// loopback only, the standard MQTT port.
const DefaultListen = "127.0.0.1:1883"

// Errors a caller can branch on with errors.Is.
var (
	// ErrAddrInUse means another program already listens on the address.
	ErrAddrInUse = errors.New("broker: address already in use")
	// ErrAuthRequired means the address is reachable from other machines but
	// no username and password were given.
	ErrAuthRequired = errors.New("broker: a username and password are required to listen beyond loopback")
	// ErrBadListen means the listen address cannot be parsed.
	ErrBadListen = errors.New("broker: bad listen address")
)

// Options configure the embedded broker.
type Options struct {
	// Listen is host:port; empty means DefaultListen. Port 0 picks a free
	// port (see Broker.Addr).
	Listen string
	// Username and Password, when set, are required from every client. They
	// must be set when Listen is not a loopback address.
	Username, Password string
	// Logger receives the broker's log; nil keeps it quiet.
	Logger *slog.Logger
}

// Validate checks the options without binding anything: the address parses,
// username and password come as a pair, and an address other machines can
// reach (0.0.0.0, ::, a LAN address, a host name) has them.
func (o Options) Validate() error {
	addr := o.listen()
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w %q: %v", ErrBadListen, addr, err)
	}
	if (o.Username == "") != (o.Password == "") {
		return errors.New("broker: give both a username and a password, or neither")
	}
	if o.Username == "" && !isLoopback(host) {
		return fmt.Errorf("%w: %s is reachable from other machines; set a username and password", ErrAuthRequired, addr)
	}
	return nil
}

func (o Options) listen() string {
	if o.Listen == "" {
		return DefaultListen
	}
	return o.Listen
}

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
	closeOnce sync.Once
}

// Start validates opts, binds the address and starts serving. The broker
// runs until Close.
func Start(opts Options) (*Broker, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	addr := opts.listen()
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
	hook := &authHook{}
	if opts.Username != "" {
		hook.username = []byte(opts.Username)
		hook.password = []byte(opts.Password)
	}
	if err := server.AddHook(hook, nil); err != nil {
		ln.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	if err := server.AddListener(listeners.NewNet("tcp", ln)); err != nil {
		ln.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	if err := server.Serve(); err != nil {
		server.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	return &Broker{server: server, addr: ln.Addr().String()}, nil
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
		opts.Logger.Info("broker listening", "address", b.Addr(), "auth", opts.Username != "")
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

// URL is the broker's address as a client URL, "tcp://host:port".
func (b *Broker) URL() string { return "tcp://" + b.addr }

// Close disconnects every client and stops listening. It is safe to call
// more than once.
func (b *Broker) Close() error {
	var err error
	b.closeOnce.Do(func() { err = b.server.Close() })
	return err
}

// authHook admits everyone when it holds no credentials, and otherwise only
// clients that present them. Authorised clients may use every topic.
type authHook struct {
	mqtt.HookBase
	username, password []byte
}

// ID names the hook in mochi's log.
func (h *authHook) ID() string { return "imagebeam-auth" }

// Provides says which hook methods this hook implements.
func (h *authHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnectAuthenticate, mqtt.OnACLCheck}, []byte{b})
}

// OnConnectAuthenticate checks the client's credentials in constant time.
func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	if h.username == nil {
		return true
	}
	userOK := subtle.ConstantTimeCompare(pk.Connect.Username, h.username)
	passOK := subtle.ConstantTimeCompare(pk.Connect.Password, h.password)
	return userOK&passOK == 1
}

// OnACLCheck allows every topic: authentication is the only gate.
func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	return true
}
