package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"imagebeam/codec"
	"imagebeam/config"
	"imagebeam/internal/redact"
	"imagebeam/server"
	"imagebeam/transfer"
)

// defaultServeListen is loopback: the old service listened on 0.0.0.0:5000,
// which --listen 0.0.0.0:5000 restores (with --token, please).
const defaultServeListen = "127.0.0.1:5000"

// defaultGrace is how long Ctrl-C lets queued and running transfers finish.
const defaultGrace = 30 * time.Second

// listFlag is a flag that may be given several times.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// serveFlags are serve's flags.
type serveFlags struct {
	broker                          brokerFlags
	listen, device, to, from, token string
	cors, fetchAllow, fetchDeny     listFlag
	hosts                           listFlag
	queue, history                  int
	maxBody, maxPixels              int64
	grace, fetchTimeout             time.Duration
	maxMemory                       byteSize
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	f.broker.register(fs)
	def := config.DefaultDevice()
	fs.StringVar(&f.listen, "listen", defaultServeListen, "`address` to listen on (0.0.0.0:5000 is where the old service listened; use --token then)")
	fs.StringVar(&f.device, "device", "", "saved device `NAME` used when a request names none (default: the first saved device, else the old service's)")
	fs.StringVar(&f.to, "to-device", def.ToDevice, "`topic` the default device listens on")
	fs.StringVar(&f.from, "from-device", def.FromDevice, "`topic` the default device answers on")
	fs.StringVar(&f.token, "token", "", "require \"Authorization: Bearer `TOKEN`\" (better: set IMAGEBEAM_TOKEN, which ps cannot show)")
	fs.Var(&f.cors, "cors", "allow browser pages from this `origin` (scheme://host[:port]) with credentials; repeatable (pages of every other origin get 403)")
	fs.Var(&f.fetchAllow, "fetch-allow", "let image URLs reach these address `ranges` (CIDR,…), e.g. a link-local lab network; repeatable, added to the settings file's")
	fs.Var(&f.fetchDeny, "fetch-deny", "keep image URLs away from these address `ranges` (CIDR,…), e.g. 10.0.0.0/8; repeatable, added to the settings file's")
	fs.Var(&f.hosts, "host", "also answer requests that call this server by this host `name` (besides IP addresses, localhost and this computer's name); repeatable")
	fs.IntVar(&f.queue, "queue", server.DefaultQueueLimit, "transfers that may wait per device; one more is answered 429")
	fs.Int64Var(&f.maxBody, "max-body", server.DefaultMaxBody, "largest upload in `bytes`")
	fs.IntVar(&f.history, "history", server.DefaultHistory, "finished transfers kept for GET /transfers/{id}")
	fs.DurationVar(&f.grace, "grace", defaultGrace, "on Ctrl-C, how long queued and running transfers may still finish")
	fs.DurationVar(&f.fetchTimeout, "fetch-timeout", codec.DefaultFetchTimeout, "how long fetching one image URL may take")
	fs.Int64Var(&f.maxPixels, "max-pixels", 0, "refuse images with more `pixels` than this (0: 100 million)")
	f.maxMemory = defaultServeMemory
	fs.Var(&f.maxMemory, "max-memory", "memory `size` all image preparations and uploads may hold at once (e.g. 2GiB); an image that needs more is refused (422)")
}

// validate checks the limits and takes the token from IMAGEBEAM_TOKEN
// when --token is not given.
func (f *serveFlags) validate() error {
	if f.queue < 1 || f.maxBody < 1 || f.history < 1 || f.grace < 0 || f.fetchTimeout <= 0 || f.maxMemory <= 0 {
		return usagef("--queue, --max-body, --history, --fetch-timeout and --max-memory must be positive, --grace must not be negative")
	}
	if f.token == "" {
		f.token = os.Getenv("IMAGEBEAM_TOKEN")
	}
	return nil
}

// server makes the server the flags and the settings file describe.
func (f *serveFlags) server(env Env, set map[string]bool) (*server.Server, server.Options, error) {
	settings, err := loadSettings(env)
	if err != nil {
		return nil, server.Options{}, err
	}
	devices, err := serveDevices(settings, f.device, set, f.to, f.from)
	if err != nil {
		return nil, server.Options{}, err
	}
	policy, err := settings.Fetch.Policy(f.fetchAllow, f.fetchDeny)
	if err != nil {
		return nil, server.Options{}, usagef("%v", err)
	}
	brokerCfg := f.broker.config(set, settings.Broker)
	if err := transfer.ValidateBrokerURL(brokerCfg.URL); err != nil {
		return nil, server.Options{}, err
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, nil))
	opts := server.Options{
		Broker: brokerCfg, Devices: devices, Default: devices[0].Name,
		Token: f.token, CORS: f.cors, Hosts: serveHosts(f.hosts, f.listen), QueueLimit: f.queue, MaxBody: f.maxBody, History: f.history,
		Load:      codec.LoadOptions{FetchTimeout: f.fetchTimeout, MaxPixels: f.maxPixels, Budget: memoryBudget(f.maxMemory), FetchPolicy: &policy},
		AccessLog: func(e server.AccessEntry) { logRequest(log, e) },
		Log:       log,
		Groups:    settings.Groups,
		Holdings:  openHoldings(env),
	}
	srv, err := server.New(opts)
	if errors.Is(err, server.ErrOptions) {
		return nil, opts, usagef("%v", err)
	}
	return srv, opts, err
}

func runServe(ctx context.Context, env Env, args []string) error {
	fs := newFlags("serve", "", "Serve the old service's endpoint GET /image?url=… (answering {\"imageData\": 1}\nonce the device acked the whole image) and the API beside it: POST /image\n(device= more than once, or group=NAME, sends to several devices), GET /devices,\nGET /devices/{name}/last.jpg, GET /transfers/{id} and GET /transfers/{id}/events.\nCtrl-C stops taking requests and lets queued and running transfers finish\nfor --grace, then cancels them; Ctrl-C again cancels them at once.")
	var f serveFlags
	f.register(fs)
	if _, err := parse(fs, env, args, 0); err != nil {
		return err
	}
	if err := f.validate(); err != nil {
		return err
	}
	srv, opts, err := f.server(env, setFlags(fs))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("%w: cannot listen on %s: %v", errBadInput, f.listen, unwrapOp(err))
	}
	hs := srv.HTTPServer()
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	serving(env, ln.Addr(), opts)
	select {
	case err := <-served:
		srv.Close()
		return err
	case <-ctx.Done():
	}
	return shutdown(env, srv, hs, f.grace)
}

// serving says where serve listens, which device it sends to by default
// and through which broker, and warns when anyone beyond this computer may
// send without a token.
func serving(env Env, addr net.Addr, opts server.Options) {
	d := opts.Devices[0]
	fmt.Fprintf(env.Stdout, "listening on http://%s\n", addr)
	fmt.Fprintf(env.Stderr, "default device %q (%s → %s) via %s; %d devices; queue %d per device\n",
		d.Name, d.ToDevice, d.FromDevice, redact.URL(opts.Broker.URL), len(opts.Devices), opts.QueueLimit)
	if opts.Token == "" && !isLoopback(addr) {
		fmt.Fprintf(env.Stderr, "warning: listening beyond loopback without --token: anyone who reaches %s can send images to the devices\n", addr)
	}
}

// shutdown stops taking requests and lets the queued and running
// transfers finish within grace (their waiting clients get their answer),
// then cancels the rest; a second Ctrl-C cancels at once.
func shutdown(env Env, srv *server.Server, hs *http.Server, grace time.Duration) error {
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt)
	defer signal.Stop(again)
	gctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	go func() {
		select {
		case <-again:
			fmt.Fprintln(env.Stderr, "cancelling the transfers")
			cancel()
		case <-gctx.Done():
		}
	}()
	if n := srv.Active(); n > 0 {
		fmt.Fprintf(env.Stderr, "shutting down: %d transfers may finish within %s (Ctrl-C again cancels them)\n", n, grace)
	}
	httpDone := make(chan error, 1)
	go func() { httpDone <- hs.Shutdown(gctx) }()
	err := srv.Shutdown(gctx)
	// Every transfer has ended now, so the waiting handlers are writing
	// their answers: give them a moment, then close what is left (event
	// streams of other clients, idle keep-alives).
	if err != nil {
		fmt.Fprintf(env.Stderr, "cancelled the transfers still running after %s\n", grace)
		wctx, wcancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer wcancel()
		_ = hs.Shutdown(wctx)
	}
	select {
	case <-httpDone:
	case <-time.After(2 * time.Second):
	}
	_ = hs.Close()
	return nil
}

// serveDevices returns the devices to serve, the default first: --device,
// or the old service's device with --to-device/--from-device, or the first
// saved device, or (nothing saved) the old service's device.
func serveDevices(settings *config.Settings, name string, set map[string]bool, to, from string) ([]config.Device, error) {
	saved := append([]config.Device(nil), settings.Devices...)
	topics := set["to-device"] || set["from-device"]
	var def config.Device
	switch {
	case name != "":
		var err error
		if def, err = settings.Resolve(name); err != nil {
			return nil, err
		}
	case topics:
		def = config.DefaultDevice()
		if d, ok := settings.Device(def.Name); ok {
			def = d // the flags override the saved device of that name
		}
	case len(saved) > 0:
		def = saved[0]
	default:
		def = config.DefaultDevice()
	}
	override(set, "to-device", &def.ToDevice, to)
	override(set, "from-device", &def.FromDevice, from)
	if err := def.Validate(); err != nil {
		return nil, err
	}
	out := []config.Device{def}
	for _, d := range saved {
		if d.Name != def.Name {
			out = append(out, d)
		}
	}
	return out, nil
}

// serveHosts are the host names serve answers to besides IP addresses and
// localhost: the --host names, the --listen host when it is a name, and
// this computer's name (which no DNS-rebinding page can use).
func serveHosts(flagged []string, listen string) []string {
	hosts := append([]string(nil), flagged...)
	if h, _, err := net.SplitHostPort(listen); err == nil && h != "" && net.ParseIP(h) == nil {
		hosts = append(hosts, h)
	}
	if name, err := os.Hostname(); err == nil && name != "" {
		hosts = append(hosts, name)
		if short, _, ok := strings.Cut(name, "."); ok {
			hosts = append(hosts, short)
		}
	}
	return hosts
}

// logRequest writes one access-log line: never the query (an image URL may
// carry credentials) nor a header (the token).
func logRequest(log *slog.Logger, e server.AccessEntry) {
	attrs := []any{"method", e.Method, "path", e.Path, "device", e.Device}
	if e.ClientGone {
		attrs = append(attrs, "status", "client-gone")
	} else {
		attrs = append(attrs, "status", e.Status)
	}
	attrs = append(attrs, "duration", e.Duration.Round(time.Microsecond), "remote", e.Remote)
	if e.Transfer != "" {
		attrs = append(attrs, "transfer", e.Transfer)
	}
	if e.Error != "" {
		attrs = append(attrs, "error", e.Error)
	}
	log.Info("request", attrs...)
}

func isLoopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Err
	}
	return err
}
