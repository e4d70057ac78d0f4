package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"imagebeam/broker"
	"imagebeam/config"
	"imagebeam/simdevice"
	"imagebeam/transfer"
)

func runSimulate(ctx context.Context, env Env, args []string) error {
	fs := newFlags("simulate", "", "Run a simulated BASE device: it answers frames as docs/PROTOCOL.md says, saves\neach image and prints one JSON line per image (name, size, sha256, complete, path).\nFaults are injected with the given probabilities, repeatably for one --seed.")
	var bf brokerFlags
	bf.register(fs)
	to := fs.String("to-device", "mqttTestPub", "`topic` the device listens on")
	from := fs.String("from-device", "mqttTestSub", "`topic` the device answers on")
	chunk := fs.Int("chunk", 0, "chunk `bytes` (0: learn it from DATA 0)")
	qos := fs.Int("qos", 0, "MQTT QoS `0|1|2`")
	out := fs.String("out", "", "save images in this `folder` as NNN_<name> (never overwriting)")
	count := fs.Int("count", 0, "exit after `N` images (0: run until interrupted)")
	linger := fs.Duration("linger", 2*time.Second, "with --count, keep answering until no frame came for this `long` (set it above the sender's timeout, so a lost last answer is resent)")
	var f simdevice.Faults
	fs.Float64Var(&f.Drop, "drop", 0, "probability `P` that a frame is lost on the way in")
	fs.Float64Var(&f.DropAck, "drop-ack", 0, "probability `P` that an answer is lost")
	fs.Float64Var(&f.NAK, "nak", 0, "probability `P` of answering status 0 (incomplete)")
	fs.Float64Var(&f.Dup, "dup", 0, "probability `P` of answering twice")
	late := fs.String("late", "", "`P:DURATION`: probability of holding an answer back that long, e.g. 0.05:300ms")
	fs.Float64Var(&f.Garbage, "garbage", 0, "probability `P` of a malformed answer before the real one")
	fs.DurationVar(&f.Delay, "delay", 0, "fixed `delay` before every answer")
	fs.Uint64Var(&f.Seed, "seed", 1, "random `seed` for the faults")
	if _, err := parse(fs, env, args, 0); err != nil {
		return err
	}
	if *late != "" {
		var err error
		if f.Late, f.LateBy, err = simdevice.ParseLate(*late); err != nil {
			return err
		}
	}
	if err := f.Validate(); err != nil {
		return err
	}
	if *qos < 0 || *qos > 2 {
		return usagef("--qos %d is not 0, 1 or 2", *qos)
	}
	if *chunk < 0 || *chunk > transfer.MaxChunk {
		return usagef("--chunk %d is not between 0 and %d", *chunk, transfer.MaxChunk)
	}
	for _, t := range []string{*to, *from} {
		if err := transfer.CheckTopic(t); err != nil {
			return err
		}
	}
	settings, err := loadSettings(env)
	if err != nil {
		return err
	}
	cfg := bf.config(setFlags(fs), settings.Broker)
	cfg.ConnectWait = 10 * time.Second // a broker started at the same moment
	link, err := transfer.Dial(ctx, cfg, "simulate", *to, *from, byte(*qos))
	if err != nil {
		return err
	}
	defer link.Close()
	fmt.Fprintf(env.Stderr, "simulated device listening on %s, answering on %s via %s\n", *to, *from, link.Addr())
	return simulate(ctx, env, link, simdevice.Options{Chunk: *chunk, OutDir: *out, Count: *count, Linger: *linger, Faults: f})
}

// simulate runs the device and prints one JSON line per image.
func simulate(ctx context.Context, env Env, link simdevice.Link, opts simdevice.Options) error {
	images := make(chan simdevice.Received)
	done := make(chan error, 1)
	go func() {
		done <- simdevice.Run(ctx, link, opts, images)
		close(images)
	}()
	enc := json.NewEncoder(env.Stdout)
	for img := range images {
		_ = enc.Encode(img)
	}
	err := <-done
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return transfer.ErrCanceled
	}
	return err
}

func runBroker(ctx context.Context, env Env, args []string) error {
	fs := newFlags("broker", "", `Run ImageBeam's embedded MQTT broker until interrupted.

Beyond loopback (e.g. --listen 0.0.0.0:1883 for devices on the lab network) a
login is required and the broker speaks TLS: with --tls-cert/--tls-key, or with
a self-signed certificate it makes once and keeps next to the settings file
(broker-cert.pem, key broker-key.pem readable by you only). It prints the
certificate's SHA-256 fingerprint for devices to pin, or give them the
certificate file as their CA. Clients on this computer may still connect
without TLS on tcp://127.0.0.1:PORT.

The --username login may use every topic (ImageBeam uses it). --device-logins
adds one login per device, limited to that device's topics: a JSON file
  [{"username": "bench3", "password": "…", "to_device": "lab/bench3/in",
    "from_device": "lab/bench3/out"}]
A device login may subscribe only to to_device and publish only to from_device.
Passwords are never printed.

Every client must finish CONNECT within 10 s and send packets of at most
--max-packet-size bytes; connections beyond --max-connections are closed at once.`)
	listen := fs.String("listen", config.DefaultListen, "`address` to listen on")
	user := fs.String("username", "", "login `name` clients must give")
	pass := fs.String("password", "", "login `password` (or IMAGEBEAM_PASSWORD)")
	useTLS := fs.Bool("tls", false, "speak TLS on a loopback address too (beyond loopback it always does)")
	certFile := fs.String("tls-cert", "", "TLS certificate `file` (PEM) to present instead of the self-signed one; with --tls-key")
	keyFile := fs.String("tls-key", "", "`file` with the private key (PEM) of --tls-cert")
	logins := fs.String("device-logins", "", "JSON `file` of device logins, each limited to its device's two topics")
	maxPacket := fs.Int("max-packet-size", broker.DefaultMaxPacketSize, "largest MQTT packet a client may send, in `bytes`")
	maxConns := fs.Int("max-connections", broker.DefaultMaxConnections, "most open client `connections`; more are closed at once")
	if _, err := parse(fs, env, args, 0); err != nil {
		return err
	}
	if *pass == "" {
		*pass = os.Getenv("IMAGEBEAM_PASSWORD")
	}
	if *maxPacket < 1 || *maxConns < 1 {
		return usagef("--max-packet-size and --max-connections must be at least 1")
	}
	opts := broker.Options{
		Listen: *listen, Username: *user, Password: *pass,
		TLS: *useTLS, CertFile: *certFile, KeyFile: *keyFile,
		MaxPacketSize: *maxPacket, MaxConnections: *maxConns,
	}
	if *logins != "" {
		var err error
		if opts.DeviceLogins, err = broker.LoadDeviceLogins(*logins); err != nil {
			return brokerError(err)
		}
	}
	err := broker.Run(ctx, opts, func(b *broker.Broker) { brokerStarted(env.Stderr, b, opts) })
	if ctx.Err() != nil {
		return nil // interrupted is how a broker normally ends
	}
	return brokerError(err)
}

// brokerError makes the broker's bad options (TLS files, device logins,
// limits) bad usage, exit 2, like a bad --listen.
func brokerError(err error) error {
	if errors.Is(err, broker.ErrBadOptions) {
		return usagef("%v", err)
	}
	return err
}

// brokerStarted prints where clients connect and how devices recognise the
// broker; never a password.
func brokerStarted(w io.Writer, b *broker.Broker, opts broker.Options) {
	fmt.Fprintf(w, "ImageBeam broker listening on %s (Ctrl-C stops it)\n", b.URL())
	if fp := b.Fingerprint(); fp != "" {
		made := ""
		if b.CertCreated() {
			made = ", made now"
		}
		fmt.Fprintf(w, "TLS certificate %s%s; give it to devices as their CA, or pin its\nSHA-256 fingerprint %s\n", b.CertFile(), made, fp)
	}
	if u := b.LoopbackURL(); u != "" && u != b.URL() {
		fmt.Fprintf(w, "clients on this computer may also connect without TLS on %s\n", u)
	}
	for _, d := range opts.DeviceLogins {
		fmt.Fprintf(w, "device login %s\n", d)
	}
}

func runDemo(ctx context.Context, env Env, args []string) error {
	fs := newFlags("demo", "[IMAGE]", "Start the embedded broker on a free loopback port and a simulated device with a\nfew faults, then send IMAGE (or a generated test picture) to it with live\nprogress. Nothing leaves this computer.")
	faulty := fs.Bool("faults", true, "let the simulated device drop, NAK and garble some answers")
	pos, err := parse(fs, env, args, -1)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("demo takes at most one image")
	}
	var img []byte
	if len(pos) == 1 {
		if img, err = readImage(env, pos[0], transfer.DefaultChunk); err != nil {
			return err
		}
	}
	if img == nil {
		img = demoPicture()
	}

	b, err := broker.Start(broker.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		return err
	}
	defer b.Close()
	fmt.Fprintf(env.Stderr, "embedded broker on %s\n", b.URL())

	cfg := transfer.BrokerConfig{URL: b.URL()}
	const to, from = "imagebeam/demo/to-device", "imagebeam/demo/from-device"
	devLink, err := transfer.Dial(ctx, cfg, "simulate", to, from, 0)
	if err != nil {
		return err
	}
	defer devLink.Close()
	out, err := os.MkdirTemp("", "imagebeam-demo-")
	if err != nil {
		return err
	}
	faults := simdevice.Faults{Seed: uint64(time.Now().UnixNano())}
	if *faulty {
		faults.Drop, faults.DropAck, faults.NAK, faults.Dup, faults.Garbage = 0.02, 0.02, 0.02, 0.02, 0.02
	}
	// The device and the sender both log to stderr, from two goroutines.
	env.Stderr = &lockedWriter{w: env.Stderr}
	simEnv := env
	simEnv.Stdout = &prefixWriter{w: env.Stderr, prefix: "simulated device received: "}
	simDone := make(chan error, 1)
	go func() {
		simDone <- simulate(ctx, simEnv, devLink, simdevice.Options{OutDir: out, Count: 1, Linger: 500 * time.Millisecond, Faults: faults})
	}()
	fmt.Fprintf(env.Stderr, "simulated device on %s / %s, saving to %s\n", to, from, out)

	s := transfer.DefaultSettings()
	s.Timeout = 200 * time.Millisecond
	sendArgs := []string{"--raw", "--broker", b.URL(), "--to-device", to, "--from-device", from, "--timeout", s.Timeout.String(), "--adaptive", "-"}
	sendEnv := env
	sendEnv.Stdin = bytes.NewReader(img)
	if err := runSend(ctx, sendEnv, sendArgs); err != nil {
		return err
	}
	if err := <-simDone; err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "the image the device saved is in %s\n", filepath.Clean(out))
	return nil
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// prefixWriter prefixes each write (one JSON line) for the demo's log.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if _, err := p.w.Write(append([]byte(p.prefix), b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// demoPicture draws a 1024×768 test picture with noise, so it compresses
// like a photo (about 300 KB).
func demoPicture() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 1024, 768))
	noise := make([]byte, 1024*768)
	_, _ = rand.Read(noise)
	for y := range 768 {
		for x := range 1024 {
			n := noise[y*1024+x] / 8
			img.Set(x, y, color.RGBA{uint8(x/4) + n, uint8(y/3) + n, uint8((x+y)/7) + n, 255})
		}
	}
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85})
	return buf.Bytes()
}
