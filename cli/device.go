package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
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

// simulateFlags are simulate's flags.
type simulateFlags struct {
	broker            brokerFlags
	to, from, out     string
	chunk, qos, count int
	linger            time.Duration
	faults            simdevice.Faults
	late              string
	// A bench: several devices in one process.
	devices         int
	prefix, saveAll string
}

func (f *simulateFlags) register(fs *flag.FlagSet) {
	f.broker.register(fs)
	fs.StringVar(&f.to, "to-device", "mqttTestPub", "`topic` the device listens on")
	fs.StringVar(&f.from, "from-device", "mqttTestSub", "`topic` the device answers on")
	fs.IntVar(&f.chunk, "chunk", 0, "chunk `bytes` (0: learn it from DATA 0)")
	fs.IntVar(&f.qos, "qos", 0, "MQTT QoS `0|1|2`")
	fs.StringVar(&f.out, "out", "", "save images in this `folder` as NNN_<name> (never overwriting)")
	fs.IntVar(&f.count, "count", 0, "exit after `N` images (0: run until interrupted)")
	fs.DurationVar(&f.linger, "linger", 2*time.Second, "with --count, keep answering until no frame came for this `long` (set it above the sender's timeout, so a lost last answer is resent)")
	fs.Float64Var(&f.faults.Drop, "drop", 0, "probability `P` that a frame is lost on the way in")
	fs.Float64Var(&f.faults.DropAck, "drop-ack", 0, "probability `P` that an answer is lost")
	fs.Float64Var(&f.faults.NAK, "nak", 0, "probability `P` of answering status 0 (incomplete)")
	fs.Float64Var(&f.faults.Dup, "dup", 0, "probability `P` of answering twice")
	fs.StringVar(&f.late, "late", "", "`P:DURATION`: probability of holding an answer back that long, e.g. 0.05:300ms")
	fs.Float64Var(&f.faults.Garbage, "garbage", 0, "probability `P` of a malformed answer before the real one")
	fs.DurationVar(&f.faults.Delay, "delay", 0, "fixed `delay` before every answer")
	fs.Uint64Var(&f.faults.Seed, "seed", 1, "random `seed` for the faults")
	fs.IntVar(&f.devices, "devices", 0, "simulate a bench of `N` devices over one connection, on topics PREFIX/NN/to and PREFIX/NN/from (with --count: N images each)")
	fs.StringVar(&f.prefix, "prefix", "imagebeam/bench", "topic `prefix` of the --devices bench")
	fs.StringVar(&f.saveAll, "save-group", "", "save the --devices bench in the settings file as devices \"NAME NN\" and the group `NAME`")
}

// validate checks the faults (--late included), the QoS, the chunk size
// and the topics.
func (f *simulateFlags) validate() error {
	if f.late != "" {
		var err error
		if f.faults.Late, f.faults.LateBy, err = simdevice.ParseLate(f.late); err != nil {
			return err
		}
	}
	if err := f.faults.Validate(); err != nil {
		return err
	}
	if f.qos < 0 || f.qos > 2 {
		return usagef("--qos %d is not 0, 1 or 2", f.qos)
	}
	if f.chunk < 0 || f.chunk > transfer.MaxChunk {
		return usagef("--chunk %d is not between 0 and %d", f.chunk, transfer.MaxChunk)
	}
	if f.devices < 0 || f.devices > maxBench {
		return usagef("--devices %d is not between 1 and %d", f.devices, maxBench)
	}
	if f.saveAll != "" && f.devices == 0 {
		return usagef("--save-group saves a bench: give --devices N too")
	}
	if f.devices > 0 {
		if err := transfer.CheckTopic(f.prefix + "/0/to"); err != nil {
			return fmt.Errorf("--prefix: %w", err)
		}
	}
	for _, t := range []string{f.to, f.from} {
		if err := transfer.CheckTopic(t); err != nil {
			return err
		}
	}
	return nil
}

func runSimulate(ctx context.Context, env Env, args []string) error {
	fs := newFlags("simulate", "", "Run a simulated BASE device: it answers frames as docs/PROTOCOL.md says, saves\neach image and prints one JSON line per image (name, size, sha256, complete, path).\nFaults are injected with the given probabilities, repeatably for one --seed.")
	var f simulateFlags
	f.register(fs)
	if _, err := parse(fs, env, args, 0); err != nil {
		return err
	}
	if err := f.validate(); err != nil {
		return err
	}
	settings, err := loadSettings(env)
	if err != nil {
		return err
	}
	set := setFlags(fs)
	if f.devices > 0 && (set["to-device"] || set["from-device"]) {
		return usagef("--devices derives each device's topics from --prefix; --to-device and --from-device name one device's")
	}
	cfg := f.broker.config(set, settings.Broker)
	cfg.ConnectWait = 10 * time.Second // a broker started at the same moment
	if f.devices > 0 {
		return simulateBench(ctx, env, cfg, &f)
	}
	link, err := transfer.Dial(ctx, cfg, "simulate", f.to, f.from, byte(f.qos))
	if err != nil {
		return err
	}
	defer link.Close()
	fmt.Fprintf(env.Stderr, "simulated device listening on %s, answering on %s via %s\n", f.to, f.from, link.Addr())
	return simulate(ctx, env, link, simdevice.Options{Chunk: f.chunk, OutDir: f.out, Count: f.count, Linger: f.linger, Faults: f.faults})
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

// brokerHelp is broker's description in its -h.
const brokerHelp = `Run ImageBeam's embedded MQTT broker until interrupted.

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
--max-packet-size bytes; connections beyond --max-connections are closed at once.`

func runBroker(ctx context.Context, env Env, args []string) error {
	fs := newFlags("broker", "", brokerHelp)
	var opts broker.Options
	fs.StringVar(&opts.Listen, "listen", config.DefaultListen, "`address` to listen on")
	fs.StringVar(&opts.Username, "username", "", "login `name` clients must give")
	fs.StringVar(&opts.Password, "password", "", "login `password` (or IMAGEBEAM_PASSWORD)")
	fs.BoolVar(&opts.TLS, "tls", false, "speak TLS on a loopback address too (beyond loopback it always does)")
	fs.StringVar(&opts.CertFile, "tls-cert", "", "TLS certificate `file` (PEM) to present instead of the self-signed one; with --tls-key")
	fs.StringVar(&opts.KeyFile, "tls-key", "", "`file` with the private key (PEM) of --tls-cert")
	logins := fs.String("device-logins", "", "JSON `file` of device logins, each limited to its device's two topics")
	fs.IntVar(&opts.MaxPacketSize, "max-packet-size", broker.DefaultMaxPacketSize, "largest MQTT packet a client may send, in `bytes`")
	fs.IntVar(&opts.MaxConnections, "max-connections", broker.DefaultMaxConnections, "most open client `connections`; more are closed at once")
	if _, err := parse(fs, env, args, 0); err != nil {
		return err
	}
	if opts.Password == "" {
		opts.Password = os.Getenv("IMAGEBEAM_PASSWORD")
	}
	if opts.MaxPacketSize < 1 || opts.MaxConnections < 1 {
		return usagef("--max-packet-size and --max-connections must be at least 1")
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

// The demo's simulated device: its topics, and the sender's timeout for it.
const (
	demoTo, demoFrom = "imagebeam/demo/to-device", "imagebeam/demo/from-device"
	demoTimeout      = 200 * time.Millisecond
)

func runDemo(ctx context.Context, env Env, args []string) error {
	fs := newFlags("demo", "[IMAGE]", "Start the embedded broker on a free loopback port and a simulated device with a\nfew faults, then send IMAGE (or a generated test picture) to it with live\nprogress. Nothing leaves this computer.")
	faulty := fs.Bool("faults", true, "let the simulated device drop, NAK and garble some answers")
	pos, err := parse(fs, env, args, -1)
	if err != nil {
		return err
	}
	img, err := demoImage(env, pos)
	if err != nil {
		return err
	}
	b, err := broker.Start(broker.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		return err
	}
	defer b.Close()
	fmt.Fprintf(env.Stderr, "embedded broker on %s\n", b.URL())
	// The device and the sender both log to stderr, from two goroutines.
	env.Stderr = &lockedWriter{w: env.Stderr}
	dev, err := startDemoDevice(ctx, env, b.URL(), *faulty)
	if err != nil {
		return err
	}
	defer dev.link.Close()

	sendArgs := []string{"--raw", "--broker", b.URL(), "--to-device", demoTo, "--from-device", demoFrom, "--timeout", demoTimeout.String(), "--adaptive", "-"}
	sendEnv := env
	sendEnv.Stdin = bytes.NewReader(img)
	if err := runSend(ctx, sendEnv, sendArgs); err != nil {
		return err
	}
	if err := <-dev.done; err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "the image the device saved is in %s\n", filepath.Clean(dev.out))
	return nil
}

// demoImage is the image named on the command line, if any, or a
// generated test picture.
func demoImage(env Env, pos []string) ([]byte, error) {
	if len(pos) > 1 {
		return nil, usagef("demo takes at most one image")
	}
	var img []byte
	if len(pos) == 1 {
		var err error
		if img, err = readImage(env, pos[0], transfer.DefaultChunk); err != nil {
			return nil, err
		}
	}
	if img == nil {
		img = demoPicture()
	}
	return img, nil
}

// demoDevice is the demo's simulated device, which stops after one image.
type demoDevice struct {
	link *transfer.MQTTLink
	out  string     // the folder it saves the image in
	done chan error // its result, once it has stopped
}

// startDemoDevice connects a simulated device, with a few faults if
// faulty, to the broker at url and runs it in its own goroutine; it
// reports what it receives on env.Stderr.
func startDemoDevice(ctx context.Context, env Env, url string, faulty bool) (*demoDevice, error) {
	link, err := transfer.Dial(ctx, transfer.BrokerConfig{URL: url}, "simulate", demoTo, demoFrom, 0)
	if err != nil {
		return nil, err
	}
	out, err := os.MkdirTemp("", "imagebeam-demo-")
	if err != nil {
		link.Close()
		return nil, err
	}
	faults := simdevice.Faults{Seed: uint64(time.Now().UnixNano())}
	if faulty {
		faults.Drop, faults.DropAck, faults.NAK, faults.Dup, faults.Garbage = 0.02, 0.02, 0.02, 0.02, 0.02
	}
	simEnv := env
	simEnv.Stdout = &prefixWriter{w: env.Stderr, prefix: "simulated device received: "}
	d := &demoDevice{link: link, out: out, done: make(chan error, 1)}
	go func() {
		d.done <- simulate(ctx, simEnv, link, simdevice.Options{OutDir: out, Count: 1, Linger: 500 * time.Millisecond, Faults: faults})
	}()
	fmt.Fprintf(env.Stderr, "simulated device on %s / %s, saving to %s\n", demoTo, demoFrom, out)
	return d, nil
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
