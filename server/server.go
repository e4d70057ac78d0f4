// Package server is ImageBeam's HTTP API: the old service's GET /image
// endpoint made safe, and the endpoints beside it (uploads, devices,
// transfers and their events as server-sent events).
package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"imagebeam/codec"
	"imagebeam/config"
	"imagebeam/holdings"
	"imagebeam/internal/redact"
	"imagebeam/internal/wait"
	"imagebeam/transfer"
)

// Defaults used when an Options field is left at its zero value.
const (
	// DefaultQueueLimit is how many transfers may wait for one device
	// behind the one it is sending.
	DefaultQueueLimit = 8
	// DefaultMaxBody caps an uploaded image (the pipeline's input cap).
	DefaultMaxBody = codec.DefaultMaxInputBytes
	// DefaultHistory is how many finished transfers GET /transfers/{id}
	// still knows.
	DefaultHistory = 1000
	// DefaultMaxMemory is the memory budget when Options.Load has none:
	// what image preparations and uploads being read may hold at once.
	DefaultMaxMemory = 1 << 30

	// DefaultReadHeaderTimeout bounds reading a request's headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultReadTimeout bounds reading a whole request, upload included
	// (64 MiB at about 4 Mbit/s). It ends with the body: net/http clears
	// the deadline once the body is read, so a waiting request outlives it.
	DefaultReadTimeout = 2 * time.Minute
	// DefaultIdleTimeout closes keep-alive connections left idle.
	DefaultIdleTimeout = 2 * time.Minute
	// writeTimeout bounds each write of an answer or of an SSE event, so a
	// client that stops reading cannot hold a handler for ever. There is no
	// server-wide WriteTimeout: it runs from the end of the request headers,
	// and a waiting GET /image (queue, retries, reconnect wait) or an event
	// stream easily outlives any fixed value; the client would get a reset
	// instead of its answer.
	writeTimeout = 30 * time.Second
	// keepAlive is how often an idle event stream gets a comment line, so
	// proxies do not close it.
	keepAlive = 15 * time.Second
)

// ErrOptions means the server cannot start with these options.
var ErrOptions = errors.New("server: invalid options")

// Options configure a Server.
type Options struct {
	// Broker is where every device is reached.
	Broker transfer.BrokerConfig
	// Devices are the devices clients may name with ?device=NAME.
	Devices []config.Device
	// Default names the device used without ?device; "" is the first.
	Default string
	// Token, when set, is required as "Authorization: Bearer TOKEN".
	Token string
	// CORS lists the origins (scheme://host[:port]) whose browser pages may
	// call the API, with credentials. "*" is refused. Requests from every
	// other origin are refused (403).
	CORS []string
	// Hosts are the host names, besides IP addresses and localhost, that
	// requests may name in their Host header (this computer's name, say);
	// others get 403, which stops DNS-rebinding pages.
	Hosts []string
	// QueueLimit is how many transfers may wait per device; 0 means
	// DefaultQueueLimit. One more is answered 429.
	QueueLimit int
	// MaxBody caps an uploaded image in bytes; 0 means DefaultMaxBody. It
	// is lowered to what the memory budget keeps for inputs.
	MaxBody int64
	// History is how many finished transfers are kept; 0 means DefaultHistory.
	History int
	// Load bounds URL fetches and decoding (timeouts, size and pixel caps,
	// and the memory budget: nil means one of DefaultMaxMemory). Uploads
	// wait for their bytes' share of the same budget before being read.
	Load codec.LoadOptions
	// ReadTimeout overrides DefaultReadTimeout in HTTPServer (tests).
	ReadTimeout time.Duration
	// AccessLog, when set, gets one entry per request.
	AccessLog func(AccessEntry)
	// Log, when set, gets one line per failed transfer with the whole
	// error, which a remote caller does not always get (see publicError).
	Log *slog.Logger
	// Groups are the groups clients may name with group=NAME on POST
	// /image. A member that is not among Devices fails the request that
	// names the group (404), not the server.
	Groups []config.Group
	// Holdings, when set, records the image each device acknowledged
	// whole; GET /devices shows it and GET /devices/{name}/last.jpg
	// serves it.
	Holdings *holdings.Store
}

// AccessEntry is one request, for the access log. It never holds the
// query (an image URL may carry credentials) nor any header.
type AccessEntry struct {
	Time       time.Time
	Remote     string
	Method     string
	Path       string
	Device     string // "" when the request named none
	Transfer   string // transfer id, when one was made
	Status     int    // 0 when the client went away before the answer
	Duration   time.Duration
	ClientGone bool
	Error      string // the error sentence answered, if any
}

// Server is the HTTP API. It runs transfers on its own context, not the
// requests': a client that disconnects does not stop its transfer.
type Server struct {
	opts     Options
	devices  []*device       // Options.Devices order, default first
	profiles []config.Device // the same, as config.Resolve takes them
	byName   map[string]*device
	origins  map[string]bool
	hosts    map[string]bool // Options.Hosts, lower case
	tokenSum [32]byte
	handler  http.Handler

	ctx    context.Context // transfers run on it; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // workers and preparations
	// budget bounds the memory of preparations and uploads, and how many
	// preparations decode at once (one a core).
	budget *codec.Budget

	// beforeUploadWait, when set (tests), is called as an upload starts
	// waiting for its memory, its body unread.
	beforeUploadWait func()

	// hub is the server's one connection to the broker, shared by every
	// transfer; it subscribes to a device's feedback topic only while a
	// transfer to it runs.
	hub *transfer.Hub

	mu       sync.Mutex
	closing  bool
	queues   map[string]*queue // by transfer.DeviceKey
	jobs     map[string]*job
	finished []string // ids in the order they finished, oldest first
}

// device is a configured device, ready to use.
type device struct {
	cfg  config.Device
	tr   transfer.Device
	opts codec.Options
	key  string // transfer.DeviceKey: one queue per broker + topic pair
}

// New checks opts and returns a server ready to serve.
func New(opts Options) (*Server, error) {
	opts, err := withDefaults(opts)
	if err != nil {
		return nil, err
	}
	s := &Server{
		budget: opts.Load.Budget,
		opts:   opts,
		byName: map[string]*device{},
		queues: map[string]*queue{},
		jobs:   map[string]*job{},
	}
	if err := s.addDevices(opts.Devices, opts.Default); err != nil {
		return nil, err
	}
	if s.origins, err = originSet(opts.CORS); err != nil {
		return nil, err
	}
	if s.hosts, err = hostSet(opts.Hosts); err != nil {
		return nil, err
	}
	if opts.Token != "" {
		s.tokenSum = sha256.Sum256([]byte(opts.Token))
	}
	if s.hub, err = transfer.NewHub(opts.Broker, "serve"); err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.handler = s.logged(s.browserGuard(s.cors(s.authorized(s.routes()))))
	return s, nil
}

// withDefaults fills the zero fields of opts with the defaults and checks
// the limits and the broker URL.
func withDefaults(opts Options) (Options, error) {
	if len(opts.Devices) == 0 {
		opts.Devices = []config.Device{config.DefaultDevice()}
	}
	if opts.QueueLimit == 0 {
		opts.QueueLimit = DefaultQueueLimit
	}
	if opts.MaxBody == 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.History == 0 {
		opts.History = DefaultHistory
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = DefaultReadTimeout
	}
	switch {
	case opts.QueueLimit < 0:
		return opts, fmt.Errorf("%w: the queue limit %d is negative", ErrOptions, opts.QueueLimit)
	case opts.MaxBody < 0:
		return opts, fmt.Errorf("%w: the body size cap %d is negative", ErrOptions, opts.MaxBody)
	case opts.History < 0:
		return opts, fmt.Errorf("%w: the history size %d is negative", ErrOptions, opts.History)
	}
	if err := transfer.ValidateBrokerURL(opts.Broker.URL); err != nil {
		return opts, err
	}
	if opts.Load.Budget == nil {
		opts.Load.Budget = codec.NewBudget(DefaultMaxMemory, "")
	}
	opts.MaxBody = min(opts.MaxBody, opts.Load.Budget.InputLimit()-1)
	return opts, nil
}

// addDevices checks the devices and makes them ready to use, the one named
// def (by config.Resolve's rule; "" for none) first, the others in order.
func (s *Server) addDevices(devices []config.Device, def string) error {
	for _, d := range devices {
		if err := d.Validate(); err != nil {
			return err
		}
		co, err := d.Options()
		if err != nil {
			return err
		}
		if _, err := config.Resolve(s.profiles, d.Name); err == nil {
			return fmt.Errorf("%w: two devices are named %q", ErrOptions, d.Name)
		}
		dev := &device{cfg: d, tr: d.Transfer(), opts: co, key: transfer.DeviceKey(s.opts.Broker.URL, d.ToDevice, d.FromDevice)}
		s.byName[d.Name] = dev
		s.devices = append(s.devices, dev)
		s.profiles = append(s.profiles, d)
	}
	if def == "" {
		return nil
	}
	d, err := config.Resolve(s.profiles, def)
	if err != nil {
		return fmt.Errorf("%w: the default device %q is not among the devices", ErrOptions, def)
	}
	i := slices.IndexFunc(s.profiles, func(p config.Device) bool { return p.Name == d.Name })
	s.devices, s.profiles = toFront(s.devices, i), toFront(s.profiles, i)
	return nil
}

// toFront returns a copy of list with its element i first and the others
// in their order.
func toFront[T any](list []T, i int) []T {
	return append(append([]T{list[i]}, list[:i]...), list[i+1:]...)
}

// originSet checks the CORS origins and returns them as browsers send them.
func originSet(cors []string) (map[string]bool, error) {
	set := map[string]bool{}
	for _, o := range cors {
		n, err := normalizeOrigin(o)
		if err != nil {
			return nil, err
		}
		set[n] = true
	}
	return set, nil
}

// hostSet checks the extra host names and returns them in lower case,
// without a trailing dot.
func hostSet(hosts []string) (map[string]bool, error) {
	set := map[string]bool{}
	for _, h := range hosts {
		h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
		if h == "" || strings.ContainsAny(h, ":/ ") {
			return nil, fmt.Errorf("%w: host name %q is not a plain name such as labpc or labpc.example.org", ErrOptions, h)
		}
		set[h] = true
	}
	return set, nil
}

// routes are the API's endpoints.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /image", s.getImage)
	mux.HandleFunc("POST /image", s.postImage)
	mux.HandleFunc("GET /devices", s.getDevices)
	mux.HandleFunc("GET /devices/{name}/last.jpg", s.getLastImage)
	mux.HandleFunc("GET /status", s.getStatus)
	mux.HandleFunc("GET /transfers", s.listTransfers)
	mux.HandleFunc("GET /transfers/{id}", s.getTransfer)
	mux.HandleFunc("GET /transfers/{id}/events", s.streamEvents)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusNotFound, "there is no such endpoint: see GET /image, POST /image, GET /devices, GET /transfers/{id}")
	})
	return mux
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// HTTPServer returns an http.Server for s with the header, read and idle
// timeouts set, and deliberately no WriteTimeout (see writeTimeout).
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: DefaultReadHeaderTimeout,
		ReadTimeout:       s.opts.ReadTimeout,
		IdleTimeout:       DefaultIdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
}

// Active is how many transfers are queued or sending.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.jobs) - len(s.finished)
}

// Shutdown refuses new transfers (503) and waits for the queued and
// running ones to finish. When ctx ends first it cancels them (they fail
// with "transfer: cancelled", their waiting clients get 503), waits for
// them to stop and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	err := wait.For(ctx, s.wg.Wait)
	s.cancel()
	if err != nil {
		s.wg.Wait()
	}
	s.hub.Close()
	return err
}

// Close cancels every transfer at once and waits for them to stop.
func (s *Server) Close() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = s.Shutdown(ctx)
}

// device returns the named device, or the default for "".
func (s *Server) device(name string) (*device, error) {
	if name == "" {
		return s.devices[0], nil
	}
	d, err := config.Resolve(s.profiles, name)
	if err != nil {
		return nil, err
	}
	return s.byName[d.Name], nil
}

// normalizeOrigin checks a --cors origin and returns it as browsers send it.
func normalizeOrigin(o string) (string, error) {
	if o == "*" {
		return "", fmt.Errorf("%w: CORS origin \"*\" with credentials would let every web page use the API; list the origins", ErrOptions)
	}
	u, err := url.Parse(strings.TrimSuffix(o, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("%w: CORS origin %q is not scheme://host[:port], e.g. https://lab.example.org", ErrOptions, o)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// reqInfo is what a handler tells the access log.
type reqInfo struct {
	device, transfer, err string
	gone                  bool
}

type infoKey struct{}

func info(r *http.Request) *reqInfo {
	if i, ok := r.Context().Value(infoKey{}).(*reqInfo); ok {
		return i
	}
	return &reqInfo{}
}

// statusWriter records the status for the access log. Unwrap lets
// http.ResponseController reach the Flusher and deadlines underneath.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &reqInfo{}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), infoKey{}, ri)))
		if s.opts.AccessLog == nil {
			return
		}
		s.opts.AccessLog(AccessEntry{
			Time: start, Remote: r.RemoteAddr, Method: r.Method, Path: r.URL.Path,
			Device: ri.device, Transfer: ri.transfer, Status: sw.status,
			Duration: time.Since(start), ClientGone: ri.gone, Error: ri.err,
		})
	})
}

// cors answers preflights and adds the CORS headers for the configured
// origins only, with credentials, like flask-cors' supports_credentials.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		h := w.Header()
		if len(s.origins) > 0 {
			h.Add("Vary", "Origin")
		}
		allowed := origin != "" && s.origins[strings.ToLower(origin)]
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Expose-Headers", "Location, X-Transfer-Id")
		}
		if r.Method == http.MethodOptions {
			// A preflight carries no credentials, so it is answered before
			// the token check; without an allowed origin it gets no CORS
			// headers and the browser refuses the real request.
			if allowed && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID")
				h.Set("Access-Control-Max-Age", "600")
			}
			h.Set("Allow", "GET, POST, OPTIONS")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authorized checks the bearer token in constant time (both sides hashed
// first, so not even the length leaks).
func (s *Server) authorized(next http.Handler) http.Handler {
	if s.opts.Token == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, tok, found := strings.Cut(r.Header.Get("Authorization"), " ")
		if !found || !strings.EqualFold(scheme, "Bearer") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="imagebeam"`)
			writeError(w, r, http.StatusUnauthorized, "this server needs a token: send the header Authorization: Bearer <token>")
			return
		}
		sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
		if subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="imagebeam", error="invalid_token"`)
			writeError(w, r, http.StatusUnauthorized, "the token is wrong")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// writeJSON answers v with status, within writeTimeout.
func writeJSON(w http.ResponseWriter, status int, v any) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeTimeout))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeError answers {"error": msg}, with "imageData": 0 on /image as the
// old service's callers expect.
func writeError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	msg = redact.Text(msg)
	info(r).err = msg
	if r.URL.Path == "/image" {
		writeJSON(w, status, imageAnswer{ImageData: 0, Error: msg})
		return
	}
	writeJSON(w, status, struct {
		Error string `json:"error"`
	}{msg})
}

// imageAnswer is the /image answer: exactly {"imageData": 1} on success
// for GET, as the old service answered.
type imageAnswer struct {
	ImageData int       `json:"imageData"`
	Error     string    `json:"error,omitempty"`
	Transfer  *Transfer `json:"transfer,omitempty"` // POST only
}
