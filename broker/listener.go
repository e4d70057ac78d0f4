package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/mochi-mqtt/server/v2/listeners"
)

// guard is the broker's listener. Mochi trusts a connection from its first
// byte; guard applies, before mochi reads anything, what a broker on a
// shared network needs: a cap on open connections, a deadline for CONNECT,
// and TLS. It also closes the connections that never logged in when the
// broker closes, which mochi does not know about.
type guard struct {
	id  string
	ln  net.Listener
	log *slog.Logger

	maxConns       int
	connectTimeout time.Duration
	// tls is nil for plain TCP. plainLoopback lets peers on this computer
	// skip TLS on a TLS listener: loopback traffic never crosses the lab
	// network, and ImageBeam's own window and simulated device connect
	// that way.
	tls           *tls.Config
	plainLoopback bool

	mu     sync.Mutex
	conns  map[*guardedConn]struct{} // every open connection, logged in or not
	closed bool
	wg     sync.WaitGroup // one per connection goroutine
}

var _ listeners.Listener = (*guard)(nil)

func (g *guard) ID() string       { return g.id }
func (g *guard) Address() string  { return g.ln.Addr().String() }
func (g *guard) Protocol() string { return "tcp" }

// Init takes mochi's logger for the listener.
func (g *guard) Init(log *slog.Logger) error {
	if g.log == nil {
		g.log = log
	}
	return nil
}

// Serve accepts connections until Close. The per-connection work (the TLS
// handshake, mochi's CONNECT) runs in its own goroutine, so a slow or
// silent client never holds up the next one.
func (g *guard) Serve(establish listeners.EstablishFn) {
	backoff := 5 * time.Millisecond
	for {
		conn, err := g.ln.Accept()
		if err != nil {
			if g.isClosed() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors, say: wait and go on, as net/http
			// does, rather than stop serving for good as mochi's
			// listener would.
			g.log.Warn("accept failed", "error", err, "retry_in", backoff)
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		gc := g.admit(conn)
		if gc == nil {
			// Over the cap (or closing): refuse at once, before any
			// allocation for this client, so a flood costs only sockets.
			conn.Close()
			continue
		}
		go g.handle(gc, establish)
	}
}

// admit registers conn, or returns nil when the broker is closing or full.
func (g *guard) admit(conn net.Conn) *guardedConn {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || len(g.conns) >= g.maxConns {
		return nil
	}
	gc := &guardedConn{Conn: conn, g: g}
	g.conns[gc] = struct{}{}
	// Added under mu while !closed, so every Add happens before Close's Wait.
	g.wg.Add(1)
	return gc
}

func (g *guard) release(gc *guardedConn) {
	g.mu.Lock()
	delete(g.conns, gc)
	g.mu.Unlock()
}

func (g *guard) isClosed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}

func (g *guard) handle(gc *guardedConn, establish listeners.EstablishFn) {
	defer g.wg.Done()
	defer gc.Close()
	// The deadline covers the TLS handshake and the whole CONNECT packet.
	// Mochi replaces it with the keep-alive deadline once CONNECT is in.
	_ = gc.SetDeadline(time.Now().Add(g.connectTimeout))
	conn, err := g.secure(gc)
	if err != nil {
		g.log.Debug("connection refused before login", "remote", gc.RemoteAddr().String(), "error", err)
		return
	}
	if err := establish(g.id, conn); err != nil {
		// Hostile or broken clients end here; Debug keeps a flood of them
		// from flooding the log too.
		g.log.Debug("client connection ended", "remote", gc.RemoteAddr().String(), "error", err)
	}
}

// errPlainRefused is why a client that did not start TLS is dropped.
var errPlainRefused = errors.New("broker: the client did not start TLS, which this listener requires")

// secure returns the connection mochi should speak MQTT over: gc itself
// for plain TCP, a TLS connection whose handshake has completed, or (for
// a loopback peer on a TLS listener) whichever the client started with.
func (g *guard) secure(gc *guardedConn) (net.Conn, error) {
	if g.tls == nil {
		return gc, nil
	}
	var conn net.Conn = gc
	if g.plainLoopback && isLoopbackAddr(gc.RemoteAddr()) {
		// A TLS client opens with a handshake record (0x16); an MQTT
		// client with CONNECT (0x10). Reading one byte tells them apart.
		first := make([]byte, 1)
		if _, err := gc.Read(first); err != nil {
			return nil, err
		}
		conn = &prefixConn{Conn: gc, prefix: first}
		if first[0] != recordTypeHandshake {
			return conn, nil
		}
	}
	tc := tls.Server(conn, g.tls)
	if err := tc.HandshakeContext(context.Background()); err != nil { // bounded by the CONNECT deadline
		var rhe tls.RecordHeaderError
		if errors.As(err, &rhe) {
			return nil, errPlainRefused
		}
		return nil, err
	}
	return tc, nil
}

const recordTypeHandshake = 0x16

// Close stops accepting, closes every connection (logged in or still
// before CONNECT) and waits for their goroutines, so nothing of the
// listener outlives the broker; only then does it let mochi disconnect
// the clients it still lists. The order matters: mochi 2.7.9's
// GetByListener takes its clients' read lock twice, so a client that
// disconnects (a write lock waiting between the two) while mochi closes
// the listener's clients deadlocks the broker's Close. With every
// connection goroutine gone, nothing can take that write lock.
func (g *guard) Close(closeClients listeners.CloseFn) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	g.mu.Unlock()
	_ = g.ln.Close()
	defer closeClients(g.id)
	g.mu.Lock()
	open := make([]*guardedConn, 0, len(g.conns))
	for gc := range g.conns {
		open = append(open, gc)
	}
	g.mu.Unlock()
	for _, gc := range open {
		gc.Close()
	}
	g.wg.Wait()
}

// guardedConn frees its slot under the cap when closed, whoever closes it:
// mochi, the TLS layer or the guard.
type guardedConn struct {
	net.Conn
	g    *guard
	once sync.Once
}

func (c *guardedConn) Close() error {
	c.once.Do(func() { c.g.release(c) })
	return c.Conn.Close()
}

// prefixConn gives back the bytes read to tell TLS from plain MQTT.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

// isLoopbackAddr reports whether a peer address is on this computer.
func isLoopbackAddr(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}
