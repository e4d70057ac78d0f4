package codec

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// newServer starts an HTTP server on 127.0.0.1 with one handler per path.
func newServer(t *testing.T, routes map[string]http.HandlerFunc) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	for p, h := range routes {
		mux.HandleFunc(p, h)
	}
	srv := httptest.NewUnstartedServer(mux)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func TestLoadURL(t *testing.T) {
	jpg := readTestdata(t, "quadrants.jpg")
	release := make(chan struct{})
	srv := newServer(t, map[string]http.HandlerFunc{
		"/photo.jpg": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream") // sniffed, not trusted
			w.Write(jpg)
		},
		"/missing.jpg": func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
		"/page": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write(readTestdata(t, "page.html"))
		},
		"/endless": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(jpg[:100])
			chunk := make([]byte, 32<<10)
			for {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		},
		"/slow": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write(jpg[:100])
			w.(http.Flusher).Flush()
			select { // the rest never comes: until the client gives up
			case <-r.Context().Done():
			case <-release:
			}
		},
		"/loop": func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop2", http.StatusFound) },
		"/loop2": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/loop", http.StatusMovedPermanently)
		},
		"/moved": func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/photo.jpg", http.StatusFound) },
	})
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	host := strings.TrimPrefix(srv.URL, "http://")

	// A closed port: listen, note the address, close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/x.jpg"
	ln.Close()

	ok := []string{"/photo.jpg", "/moved"}
	for _, p := range ok {
		im, err := Load(context.Background(), srv.URL+p, LoadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if info := im.Info(); info.Format != FormatJPEG || info.Width != 64 || info.Source != srv.URL+p {
			t.Errorf("%s: info %+v", p, info)
		}
	}

	lo := LoadOptions{MaxInputBytes: 1 << 20, FetchTimeout: 300 * time.Millisecond}
	tests := []struct {
		name, url string
		want      error
		mention   []string
	}{
		{"404", srv.URL + "/missing.jpg", ErrFetch, []string{"404 Not Found", host}},
		{"HTML body", srv.URL + "/page", ErrNotImage, []string{"text/html", host}},
		{"never-ending body", srv.URL + "/endless", ErrTooLarge, []string{"1 MiB", host}},
		{"body slower than the timeout", srv.URL + "/slow", ErrFetch, []string{"within 300ms", host}},
		{"redirect loop", srv.URL + "/loop", ErrFetch, []string{"redirected more than 5 times", host}},
		{"unreachable host", closed, ErrFetch, []string{"cannot connect", "refused"}},
		{"not http", "ftp://example.invalid/x.jpg", ErrOpen, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(context.Background(), tt.url, lo)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("%q does not mention %q", err, m)
				}
			}
		})
	}
	if _, err := LoadURL(context.Background(), "ftp://example.invalid/x.jpg", lo); !errors.Is(err, ErrFetch) {
		t.Errorf("LoadURL with ftp: %v", err)
	}
	if !errors.Is(func() error { _, err := Load(context.Background(), srv.URL+"/slow", lo); return err }(), context.DeadlineExceeded) {
		t.Error("a timeout does not wrap context.DeadlineExceeded")
	}
}

func TestLoadURLCancelled(t *testing.T) {
	srv := newServer(t, map[string]http.HandlerFunc{
		"/": func(w http.ResponseWriter, r *http.Request) { w.Write(readTestdata(t, "quadrants.png")) },
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := LoadURL(ctx, srv.URL+"/", LoadOptions{})
	if !errors.Is(err, ErrFetch) || !errors.Is(err, context.Canceled) {
		t.Errorf("got %v", err)
	}
}

func TestLoadURLDeclaredTooLarge(t *testing.T) {
	srv := newServer(t, map[string]http.HandlerFunc{
		"/": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "5000000")
			w.Write([]byte("\xff\xd8\xff"))
		},
	})
	_, err := LoadURL(context.Background(), srv.URL+"/", LoadOptions{MaxInputBytes: 1000})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("got %v", err)
	}
}

func TestFetchPolicyIsCheckedAfterResolutionAndOnRedirects(t *testing.T) {
	jpg := readTestdata(t, "quadrants.jpg")
	var hits atomic.Int32
	target := newServer(t, map[string]http.HandlerFunc{
		"/photo.jpg": func(w http.ResponseWriter, r *http.Request) { hits.Add(1); w.Write(jpg) },
	})
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(target.URL, "http://"))
	// The front server (127.0.0.1, allowed) redirects to IPv6 loopback,
	// which the third case closes: the policy must see the redirect's
	// address too. (Nothing is dialled: the check refuses before connect.)
	front := newServer(t, map[string]http.HandlerFunc{
		"/to-v6": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://[::1]:"+port+"/photo.jpg", http.StatusFound)
		},
	})
	closeLoopback, err := ParseFetchPolicy(nil, []string{"127.0.0.1/32", "::1/128"})
	if err != nil {
		t.Fatal(err)
	}
	closeV6, err := ParseFetchPolicy(nil, []string{"::1/128"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		url    string
		policy *FetchPolicy
	}{
		// 0.0.0.0 is refused by default; Linux would dial it as loopback,
		// so a broken check stays on this machine and shows in hits.
		{"the unspecified address", "http://0.0.0.0:" + port + "/photo.jpg", nil},
		{"a name that resolves to a closed address", "http://localhost:" + port + "/photo.jpg", &closeLoopback},
		{"a redirect to a closed address", front.URL + "/to-v6", &closeV6},
	} {
		_, err := LoadURL(ctx, c.url, LoadOptions{FetchPolicy: c.policy, ConnectTimeout: 5 * time.Second})
		if !errors.Is(err, ErrFetchPolicy) {
			t.Errorf("%s: %v, want ErrFetchPolicy", c.name, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the closed server was reached %d times", n)
	}
	// The default policy lets loopback through.
	if _, err := LoadURL(ctx, "http://localhost:"+port+"/photo.jpg", LoadOptions{}); err != nil {
		t.Fatalf("the default policy refused loopback: %v", err)
	}
}

func TestRedirectFromHTTPSToHTTPIsRefused(t *testing.T) {
	jpg := readTestdata(t, "quadrants.jpg")
	plain := newServer(t, map[string]http.HandlerFunc{
		"/photo.jpg": func(w http.ResponseWriter, r *http.Request) { w.Write(jpg) },
	})
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/photo.jpg", http.StatusFound)
	}))
	defer secure.Close()
	_, err := LoadURL(context.Background(), secure.URL+"/photo.jpg", LoadOptions{HTTPClient: secure.Client()})
	if !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), "from https to http") {
		t.Fatalf("err = %v, want a refused https→http redirect", err)
	}
}
