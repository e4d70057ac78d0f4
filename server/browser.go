package server

import (
	"fmt"
	"net"
	"net/http"
	"strings"
)

// A server on loopback still faces the browser on the same desktop: any web
// page can make it send requests, and a DNS-rebinding page can read the
// answers. browserGuard refuses both, as Jupyter's server does, while
// clients that are not browsers (curl, Python, the lab's scripts) send
// neither Origin nor Sec-Fetch-Site and keep working unchanged:
//
//   - Host must name this server: an IP address (a rebinding page can only
//     use a name it controls), localhost, or a name in Options.Hosts.
//   - A request a browser marks as coming from another site (Origin, or
//     Sec-Fetch-Site on requests without Origin, such as an <img> pointing
//     at GET /image?url=…) is refused unless its origin is listed with
//     --cors. This covers the reading endpoints and the event streams too.
func (s *Server) browserGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.knownHost(r.Host) {
			writeError(w, r, http.StatusForbidden, fmt.Sprintf("this server does not answer to the host name %q; add it with --host if it is this server's name", hostOnly(r.Host)))
			return
		}
		origin := r.Header.Get("Origin")
		switch {
		case origin != "":
			if !s.origins[strings.ToLower(origin)] {
				writeError(w, r, http.StatusForbidden, "requests from web pages of other sites are refused; list the page's origin with --cors to allow it")
				return
			}
		case crossSite(r.Header.Get("Sec-Fetch-Site")):
			writeError(w, r, http.StatusForbidden, "requests from web pages of other sites are refused; list the page's origin with --cors to allow it")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// crossSite reports a browser's Sec-Fetch-Site value for a request that
// another page started. "none" is the user typing the URL; "same-origin"
// cannot happen (this server serves no pages) but is harmless.
func crossSite(v string) bool {
	return v != "" && v != "none" && v != "same-origin"
}

// knownHost reports whether a Host header names this server.
func (s *Server) knownHost(host string) bool {
	h := strings.ToLower(hostOnly(host))
	if h == "" {
		return false // HTTP/1.1 requires Host; only a hand-made request lacks it
	}
	if h == "localhost" || net.ParseIP(h) != nil {
		return true
	}
	return s.hosts[strings.TrimSuffix(h, ".")]
}

// hostOnly is the host of a Host header, without port or IPv6 brackets.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}
