package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"imagebeam/config"
	"imagebeam/internal/human"
	"imagebeam/transfer"
)

// deviceFlags are a device profile's settings as flags.
type deviceFlags struct {
	device                 string   // the one device resolve uses
	devices                listFlag // --device, repeatable
	toDevice, fromDevice   string
	name                   string
	chunk, retries, qos    int
	timeout, reconnectWait time.Duration
	adaptive               bool
}

func (d *deviceFlags) register(fs *flag.FlagSet) {
	def := config.DefaultDevice()
	fs.Var(&d.devices, "device", "saved device `NAME` from the settings file (flags below override it); repeatable")
	fs.StringVar(&d.toDevice, "to-device", def.ToDevice, "`topic` the device listens on")
	fs.StringVar(&d.fromDevice, "from-device", def.FromDevice, "`topic` the device answers on")
	fs.StringVar(&d.name, "name", def.BeginName, "file `name` announced in BEGIN")
	fs.IntVar(&d.chunk, "chunk", def.Chunk, "data `bytes` per packet")
	fs.DurationVar(&d.timeout, "timeout", time.Duration(def.Timeout), "resend a frame after this long without an answer")
	fs.BoolVar(&d.adaptive, "adaptive", false, "derive the timeout from measured round trips (at most --timeout)")
	fs.IntVar(&d.retries, "retries", def.Retries, "resends allowed per frame")
	fs.IntVar(&d.qos, "qos", def.QoS, "MQTT QoS `0|1|2` (1 and 2 are slow on a Mosquitto with Nagle on; see README)")
	fs.DurationVar(&d.reconnectWait, "reconnect-wait", transfer.DefaultReconnectWait, "how long to wait for a lost broker connection")
}

// resolve picks the saved device (if --device) and applies the flags
// given on the command line over it.
func (d *deviceFlags) resolve(set map[string]bool, settings *config.Settings) (config.Device, error) {
	dev := config.DefaultDevice()
	if d.device != "" {
		saved, err := settings.Resolve(d.device)
		if err != nil {
			return config.Device{}, err
		}
		dev = saved
	}
	d.apply(set, &dev)
	return dev, nil
}

// apply puts the device flags given on the command line over dev.
func (d *deviceFlags) apply(set map[string]bool, dev *config.Device) {
	override(set, "to-device", &dev.ToDevice, d.toDevice)
	override(set, "from-device", &dev.FromDevice, d.fromDevice)
	override(set, "name", &dev.BeginName, d.name)
	override(set, "chunk", &dev.Chunk, d.chunk)
	override(set, "timeout", &dev.Timeout, config.Duration(d.timeout))
	override(set, "adaptive", &dev.Adaptive, d.adaptive)
	override(set, "retries", &dev.Retries, d.retries)
	override(set, "qos", &dev.QoS, d.qos)
}

// sendFlags are send's flags.
type sendFlags struct {
	broker              brokerFlags
	device              deviceFlags
	image               imageFlags
	raw, asJSON, noWait bool
	groups              listFlag
	all                 bool
	parallel            int
}

func (f *sendFlags) register(fs *flag.FlagSet) {
	f.broker.register(fs)
	f.device.register(fs)
	f.image.register(fs)
	fs.BoolVar(&f.raw, "raw", false, "send the file's bytes unchanged, without the image pipeline")
	fs.BoolVar(&f.asJSON, "json", false, "print one JSON object per event on stdout (docs/EVENTS.md)")
	fs.BoolVar(&f.noWait, "no-wait", false, "fail at once with \"device busy\" if another transfer is using the device")
	fs.Var(&f.groups, "group", "send to every device of the saved group `NAME`; repeatable")
	fs.BoolVar(&f.all, "all", false, "send to every saved device")
	fs.IntVar(&f.parallel, "parallel", 0, "send to at most `N` devices at once (0: all at once)")
}

func runSend(ctx context.Context, env Env, args []string) error {
	fs := newFlags("send", "IMAGE", "Send IMAGE (a file or an http(s) URL; with --raw a file or - for standard input)\nto a device and wait for its acknowledgement of the whole image. Without --raw\nthe image is first made into the JPEG the device's image profile asks for.\nExit 0 only when the device acked FINISH.")
	var f sendFlags
	f.register(fs)
	pos, err := parse(fs, env, args, 1)
	if err != nil {
		return err
	}
	if f.parallel < 0 {
		return usagef("--parallel %d is negative; 0 sends to every device at once", f.parallel)
	}
	set := setFlags(fs)
	if len(f.device.devices) > 1 || len(f.groups) > 0 || f.all {
		return f.sendMany(ctx, env, set, pos[0])
	}
	if len(f.device.devices) == 1 {
		f.device.device = f.device.devices[0]
	}
	job, err := f.job(ctx, env, set, pos[0])
	if err != nil {
		return err
	}
	if err := sendJob(ctx, env, job, f.asJSON); err != nil {
		return err
	}
	if f.device.device != "" {
		recordHolding(env, job.Broker.URL, job.Device, job.Image, time.Now())
	}
	return nil
}

// job is what send sends: the device's profile from the settings file (or
// the default) with the flags given over it, the broker, and the image,
// made into the JPEG that profile asks for unless --raw.
func (f *sendFlags) job(ctx context.Context, env Env, set map[string]bool, source string) (transfer.Job, error) {
	settings, err := loadSettings(env)
	if err != nil {
		return transfer.Job{}, err
	}
	profile, err := f.device.resolve(set, settings)
	if err != nil {
		return transfer.Job{}, err
	}
	profile, dev, err := f.profile(set, profile)
	if err != nil {
		return transfer.Job{}, err
	}
	if f.image.fetch, err = settings.Fetch.Policy(nil, nil); err != nil {
		return transfer.Job{}, err
	}
	brokerCfg := f.broker.config(set, settings.Broker)
	if err := transfer.ValidateBrokerURL(brokerCfg.URL); err != nil {
		return transfer.Job{}, err
	}
	image, err := f.imageBytes(ctx, env, source, profile)
	if err != nil {
		return transfer.Job{}, err
	}
	return transfer.Job{Broker: brokerCfg, Device: dev, Image: image, NoWait: f.noWait, Role: "send"}, nil
}

// profile finishes a device's profile, whose device flags are already
// over it: the image flags go over it too, it is checked, and it is
// returned with the device as the transfer engine takes it.
func (f *sendFlags) profile(set map[string]bool, prof config.Device) (config.Device, transfer.Device, error) {
	f.image.apply(set, &prof.Image)
	if err := prof.Validate(); err != nil {
		return config.Device{}, transfer.Device{}, err
	}
	dev := prof.Transfer()
	dev.Settings.ReconnectWait = f.device.reconnectWait
	return prof, dev, nil
}

// imageBytes reads source as it is with --raw, or prepares it for the
// device's profile.
func (f *sendFlags) imageBytes(ctx context.Context, env Env, source string, profile config.Device) ([]byte, error) {
	if f.raw {
		return readImage(env, source, profile.Chunk)
	}
	if source == "-" {
		return nil, usagef("standard input is only read with --raw")
	}
	res, err := prepare(ctx, source, profile, &f.image)
	if err != nil {
		return nil, err
	}
	if !f.asJSON {
		fmt.Fprintf(env.Stderr, "prepared %s\n", res.Summary())
	}
	return res.JPEG, nil
}

// sendJob sends job, showing its events as they come, and ends with the
// summary line.
func sendJob(ctx context.Context, env Env, job transfer.Job, asJSON bool) error {
	show := printer(env, asJSON)
	tally := transfer.NewTally(len(job.Image), job.Device.Settings.Chunk)
	var last transfer.Event
	for e := range transfer.StartSend(ctx, job) {
		tally.Add(e)
		show(tally, e)
		last = e
	}
	if _, err := transfer.Outcome(last); err != nil {
		return err
	}
	if !asJSON {
		fmt.Fprintln(env.Stdout, summary(job.Device, tally))
	}
	return nil
}

// readImage reads the image to send, a file or standard input for "-", up
// to what the protocol carries at this chunk size plus one byte, whatever
// the file says its size is (a device, a FIFO, /dev/zero): one byte over is
// enough for CheckSize to refuse it.
func readImage(env Env, path string, chunk int) ([]byte, error) {
	limit := int64(transfer.MaxImageSize(min(max(chunk, 1), transfer.MaxChunk))) + 1
	if path == "-" {
		b, err := io.ReadAll(io.LimitReader(env.Stdin, limit))
		if err != nil {
			return nil, fmt.Errorf("%w: cannot read standard input: %v", errBadInput, err)
		}
		return b, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot read %s: %v", errBadInput, path, unwrapPath(err))
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is a folder, not an image file", errBadInput, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot read %s: %v", errBadInput, path, unwrapPath(err))
	}
	defer f.Close()
	// A regular file's size is a good first guess for the buffer (read
	// whole, it is not grown and copied a dozen times); the limit still
	// decides, whatever the file says.
	var buf bytes.Buffer
	if fi.Mode().IsRegular() {
		buf.Grow(int(min(fi.Size(), limit)) + bytes.MinRead)
	}
	_, err = buf.ReadFrom(io.LimitReader(f, limit))
	b := buf.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: cannot read %s: %v", errBadInput, path, unwrapPath(err))
	}
	return b, nil
}

// unwrapPath drops the operation and path that an fs error repeats.
func unwrapPath(err error) error {
	var pe *os.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return pe.Err
	case errors.As(err, &le):
		return le.Err
	}
	return err
}

// summary is send's last line, from the transfer's tally.
func summary(dev transfer.Device, t transfer.Tally) string {
	st := t.Stats
	return fmt.Sprintf("sent %s (%s) to %s in %s: %s, %s (%d timeouts, %d NAKs, %d reconnects), %d malformed and %d stale answers ignored, RTT median %.2f ms, p99 %.2f ms",
		human.Bytes(int64(st.Bytes)), human.Count(st.Packets, "packet", "packets"), dev.ToDevice, human.Duration(st.Duration), human.Rate(st.Throughput),
		human.Count(st.Retransmits, "retransmission", "retransmissions"), t.Retries(transfer.CauseTimeout), t.Retries(transfer.CauseNAK),
		t.Retries(transfer.CauseReconnect), st.Malformed, st.Stale, st.RTTMedianMs, st.RTTP99Ms)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// printer chooses how send shows a transfer: JSON events, a progress bar
// on a terminal, or plain lines for logs and pipes.
func printer(env Env, asJSON bool) func(transfer.Tally, transfer.Event) {
	switch {
	case asJSON:
		out := newLineBuffer(env.Stdout)
		enc := json.NewEncoder(out)
		return func(_ transfer.Tally, e transfer.Event) {
			_ = enc.Encode(e)
			if urgent(e) {
				out.flush()
			}
		}
	case isTerminal(env.Stderr):
		return newProgressBar(env.Stderr).show
	}
	return newPlainLog(env.Stderr).show
}

// progressBar redraws one status line on a terminal from the transfer's
// tally, at most 10 times a second.
type progressBar struct {
	w    io.Writer
	last time.Time
}

func newProgressBar(w io.Writer) *progressBar { return &progressBar{w: w} }

func (b *progressBar) show(t transfer.Tally, e transfer.Event) {
	switch e := e.(type) {
	case transfer.Waiting:
		fmt.Fprintf(b.w, "waiting: another transfer is using %s\n", e.Device)
	case transfer.LinkDown:
		fmt.Fprintf(b.w, "\r\033[Kwaiting for the broker: %s\n", e.Error)
	case transfer.Progress:
		if time.Since(b.last) < 100*time.Millisecond && e.AckedBytes < e.TotalBytes {
			return
		}
		b.last = time.Now()
		fmt.Fprint(b.w, "\r\033[K"+barLine(t))
	case transfer.Done, transfer.Failed:
		fmt.Fprint(b.w, "\r\033[K")
	}
}

// barLine is the progress bar's line: "[#####.....] 50%  5/10 packets  1.2 MiB/s  3 retries".
func barLine(t transfer.Tally) string {
	const width = 30
	frac := t.Fraction()
	full := int(frac * width)
	return fmt.Sprintf("[%s%s] %3.0f%%  %d/%d packets  %s  %s",
		strings.Repeat("#", full), strings.Repeat(".", width-full), frac*100,
		t.AckedPackets, t.Stats.Packets, human.Rate(t.Speed), human.Count(t.Stats.Retransmits, "retry", "retries"))
}

// plainLog prints notable events as lines, for logs and pipes.
type plainLog struct {
	w       io.Writer
	nextPct int
}

func newPlainLog(w io.Writer) *plainLog { return &plainLog{w: w, nextPct: 10} }

func (l *plainLog) show(t transfer.Tally, e transfer.Event) {
	switch e := e.(type) {
	case transfer.Waiting:
		fmt.Fprintf(l.w, "waiting: another transfer is using %s\n", e.Device)
	case transfer.Connected:
		fmt.Fprintf(l.w, "connected to %s\n", e.Broker)
	case transfer.LinkDown:
		fmt.Fprintf(l.w, "waiting for the broker: %s\n", e.Error)
	case transfer.Retry:
		fmt.Fprintf(l.w, "resending %s %d (attempt %d, %s; %s so far)\n", e.Function, e.Number, e.Attempt, e.Cause,
			human.Count(t.Stats.Retransmits, "retry", "retries"))
	case transfer.Progress:
		if pct := int(t.Fraction() * 100); pct >= l.nextPct {
			fmt.Fprintf(l.w, "%d%% (%d/%d packets, %s)\n", pct, t.AckedPackets, t.Stats.Packets, human.Rate(t.Speed))
			l.nextPct = pct/10*10 + 10
		}
	}
}
