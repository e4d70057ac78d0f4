package transfer

import (
	"io"
	"net"
	"syscall"
)

// quickAck returns conn's reader that, for a TCP connection and while
// on() says so, asks the kernel after every read to acknowledge at once
// rather than wait to piggyback the ACK (TCP_QUICKACK lasts until the
// kernel decides again, so it is asked each time).
func quickAck(conn net.Conn, on func() bool) io.Reader {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return conn
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return conn
	}
	return &quickAckReader{r: conn, rc: rc, on: on}
}

type quickAckReader struct {
	r  io.Reader
	rc syscall.RawConn
	on func() bool
}

func (q *quickAckReader) Read(p []byte) (int, error) {
	n, err := q.r.Read(p)
	if n > 0 && q.on() {
		_ = q.rc.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
		})
	}
	return n, err
}
