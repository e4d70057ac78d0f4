package transfer

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"os"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/net/proxy"
)

// openConn opens the network connection to the broker as paho would
// (tcp, ssl, ws and wss, proxies from the environment), and reads it
// through a buffer. paho reads each packet's fixed header a byte at a
// time straight from the socket: three system calls for every 8-byte
// answer, more CPU than the rest of the answer's handling. Buffered, one
// read takes an answer whole, or several that arrived together.
//
// On Linux, while shared() says that several transfers share the
// connection, it also acknowledges what it read at once (quickAck):
// Mosquitto leaves Nagle's algorithm on by default, so with many devices'
// answers on one connection it holds each answer back until the previous
// one is acknowledged. One transfer alone needs no such thing (its next
// frame carries the acknowledgement) and saves the system call.
func openConn(uri *url.URL, opts mqtt.ClientOptions, shared func() bool) (net.Conn, error) {
	dialer := opts.Dialer
	if dialer == nil {
		dialer = &net.Dialer{Timeout: opts.ConnectTimeout}
	}
	var conn net.Conn
	var err error
	switch uri.Scheme {
	case "ws", "wss":
		dial := *uri // gorilla/websocket refuses a URL with a login
		dial.User = nil
		var tlsCfg *tls.Config
		if uri.Scheme == "wss" {
			tlsCfg = opts.TLSConfig
		}
		return mqtt.NewWebsocket(dial.String(), tlsCfg, opts.ConnectTimeout, opts.HTTPHeaders, opts.WebsocketOptions)
	case "mqtt", "tcp":
		conn, err = proxy.FromEnvironmentUsing(dialer).Dial("tcp", uri.Host)
	case "ssl", "tls", "mqtts":
		if os.Getenv("all_proxy") == "" {
			conn, err = tls.DialWithDialer(dialer, "tcp", uri.Host, opts.TLSConfig)
			break
		}
		var raw net.Conn
		if raw, err = proxy.FromEnvironment().Dial("tcp", uri.Host); err != nil {
			break
		}
		tc := tls.Client(raw, opts.TLSConfig)
		if err = tc.Handshake(); err != nil {
			_ = raw.Close()
			break
		}
		conn = tc
	default:
		return nil, errors.New("unknown protocol " + uri.Scheme)
	}
	if err != nil {
		return nil, err
	}
	return &bufferedConn{Conn: conn, r: bufio.NewReaderSize(quickAck(conn, shared), 16<<10)}, nil
}

// bufferedConn is a connection read through a buffer.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
