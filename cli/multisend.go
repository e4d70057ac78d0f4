package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"imagebeam/config"
	"imagebeam/holdings"
	"imagebeam/internal/human"
	"imagebeam/transfer"
)

// target is one device of a multi-device send.
type target struct {
	profile config.Device
	dev     transfer.Device
	image   []byte // shared by the devices of one image profile
}

// sendMany sends one image to several devices (--device given more than
// once, --group, --all) over one broker connection, at most --parallel at
// once. The image is prepared once per distinct image profile. It shows a
// line per device as they go and a table at the end, and fails (exit 1)
// unless every device acknowledged the whole image, with one line per
// device that did not.
func (f *sendFlags) sendMany(ctx context.Context, env Env, set map[string]bool, source string) error {
	if set["to-device"] || set["from-device"] {
		return usagef("--to-device and --from-device name one device's topics; with several devices use saved devices (--device NAME, --group, --all)")
	}
	settings, err := loadSettings(env)
	if err != nil {
		return err
	}
	targets, err := f.targets(set, settings)
	if err != nil {
		return err
	}
	if f.image.fetch, err = settings.Fetch.Policy(nil, nil); err != nil {
		return err
	}
	brokerCfg := f.broker.config(set, settings.Broker)
	if err := transfer.ValidateBrokerURL(brokerCfg.URL); err != nil {
		return err
	}
	if err := f.prepareAll(ctx, env, source, targets); err != nil {
		return err
	}
	hub, release, err := transfer.AcquireHub(brokerCfg, "send")
	if err != nil {
		return err
	}
	defer release()
	view := f.multiView(env, targets)
	results := f.run(ctx, env, hub, targets, view)
	view.finish()
	return report(env, targets, results, f.asJSON)
}

// targets resolves --device, --group and --all into saved devices, each
// once in the order named, with the device and image flags over each.
func (f *sendFlags) targets(set map[string]bool, settings *config.Settings) ([]*target, error) {
	profiles, err := f.named(settings)
	if err != nil {
		return nil, err
	}
	out := make([]*target, len(profiles))
	for i, p := range profiles {
		f.device.apply(set, &p)
		prof, dev, err := f.profile(set, p)
		if err != nil {
			return nil, err
		}
		out[i] = &target{profile: prof, dev: dev}
	}
	return out, nil
}

// named is the saved devices --device, --group and --all name, each once,
// in the order named.
func (f *sendFlags) named(settings *config.Settings) ([]config.Device, error) {
	var profiles []config.Device
	add := func(d config.Device) {
		if !slices.ContainsFunc(profiles, func(p config.Device) bool { return strings.EqualFold(p.Name, d.Name) }) {
			profiles = append(profiles, d)
		}
	}
	for _, name := range f.device.devices {
		d, err := settings.Resolve(name)
		if err != nil {
			return nil, err
		}
		add(d)
	}
	for _, g := range f.groups {
		devs, err := settings.ResolveGroup(g)
		if err != nil {
			return nil, err
		}
		for _, d := range devs {
			add(d)
		}
	}
	if f.all {
		if len(settings.Devices) == 0 {
			return nil, fmt.Errorf("%w: --all: no devices are saved yet; add one in the window or the settings file", config.ErrUnknownDevice)
		}
		for _, d := range settings.Devices {
			add(d)
		}
	}
	if len(profiles) == 0 {
		return nil, usagef("no device to send to: the group is empty")
	}
	return profiles, nil
}

// prepareAll reads the image once (--raw) or prepares it once for each
// distinct image profile among the targets.
func (f *sendFlags) prepareAll(ctx context.Context, env Env, source string, targets []*target) error {
	if f.raw {
		chunk := 0
		for _, t := range targets {
			chunk = max(chunk, t.dev.Settings.Chunk)
		}
		img, err := readImage(env, source, chunk)
		if err != nil {
			return err
		}
		for _, t := range targets {
			t.image = img
		}
		return nil
	}
	if source == "-" {
		return usagef("standard input is only read with --raw")
	}
	type profileKey struct {
		image config.Image
		chunk int
	}
	prepared := map[profileKey][]byte{}
	for _, t := range targets {
		k := profileKey{t.profile.Image, t.profile.Chunk}
		if img, ok := prepared[k]; ok {
			t.image = img
			continue
		}
		res, err := prepare(ctx, source, t.profile, &f.image)
		if err != nil {
			return err
		}
		prepared[k] = res.JPEG
		t.image = res.JPEG
		if !f.asJSON {
			fmt.Fprintf(env.Stderr, "prepared for %s: %s\n", profileNames(targets, t.profile), res.Summary())
		}
	}
	return nil
}

// profileNames names the targets that share t's image profile.
func profileNames(targets []*target, p config.Device) string {
	var names []string
	for _, t := range targets {
		if t.profile.Image == p.Image && t.profile.Chunk == p.Chunk {
			names = append(names, t.profile.Name)
		}
	}
	return strings.Join(names, ", ")
}

// deviceResult is how one device's transfer ended.
type deviceResult struct {
	tally transfer.Tally
	err   error
}

// run sends to every target, at most --parallel at once, in the targets'
// order. Each transfer's own goroutine folds its events into its tally
// and shows them, under one lock: no goroutine in between, whose wake-up
// for every event would cost more CPU than the event. A device that
// acknowledged the whole image is recorded in the holdings store.
func (f *sendFlags) run(ctx context.Context, env Env, hub *transfer.Hub, targets []*target, view multiView) []deviceResult {
	parallel := f.parallel
	if parallel == 0 || parallel > len(targets) {
		parallel = len(targets)
	}
	store := openHoldings(env)
	results := make([]deviceResult, len(targets))
	for i, t := range targets {
		results[i].tally = transfer.NewTally(len(t.image), t.dev.Settings.Chunk)
	}
	var mu sync.Mutex // guards results and view
	queue := make(chan int, len(targets))
	for i := range targets {
		queue <- i
	}
	close(queue)
	var wg sync.WaitGroup
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range queue {
				t, r := targets[i], &results[i]
				mu.Lock()
				view.show(i, &r.tally, nil)
				mu.Unlock()
				for e := range hub.StartSend(ctx, t.dev, t.image, transfer.SendOptions{NoWait: f.noWait}) {
					mu.Lock()
					r.tally.Add(e)
					if fe, ok := e.(transfer.Failed); ok {
						r.err = fe.Err
					}
					view.show(i, &r.tally, e)
					mu.Unlock()
					if d, ok := e.(transfer.Done); ok && store != nil {
						putHolding(env, store, hub.URL(), t.dev, t.image, d.Time)
					}
				}
			}
		}()
	}
	wg.Wait()
	return results
}

// report prints the table of results (not with --json) and one line per
// device that failed, and returns the error that makes the exit status 1.
func report(env Env, targets []*target, results []deviceResult, asJSON bool) error {
	if !asJSON {
		tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "device\tresult\ttime\tretries (timeout/nak/reconnect)\tRTT median")
		for i, t := range targets {
			r := results[i]
			rtt := "-"
			if r.tally.Stats.RTTMedianMs > 0 {
				rtt = fmt.Sprintf("%.2f ms", r.tally.Stats.RTTMedianMs)
			}
			fmt.Fprintf(tw, "%s\t%s\t%.2f s\t%d/%d/%d\t%s\n", t.profile.Name, r.tally.Phase, r.tally.Stats.Duration.Seconds(),
				r.tally.Retries(transfer.CauseTimeout), r.tally.Retries(transfer.CauseNAK), r.tally.Retries(transfer.CauseReconnect), rtt)
		}
		_ = tw.Flush()
	}
	failed := 0
	for i, t := range targets {
		if err := results[i].err; err != nil || results[i].tally.Phase != transfer.PhaseDone {
			if err == nil {
				err = errors.New("ended without the device's acknowledgement")
			}
			failed++
			fmt.Fprintf(env.Stderr, "imagebeam send: %s: %s\n", t.profile.Name, oneLine(err))
		}
	}
	if failed > 0 {
		return fmt.Errorf("%w: %d of %d devices did not acknowledge the image", errReported, failed, len(targets))
	}
	return nil
}

// openHoldings opens the store of what devices hold; when it cannot, it
// says so once and sends anyway.
func openHoldings(env Env) *holdings.Store {
	store, err := holdings.OpenDefault()
	if err != nil {
		fmt.Fprintf(env.Stderr, "warning: what the devices hold will not be recorded: %s\n", oneLine(err))
		return nil
	}
	return store
}

// recordHolding records that dev acknowledged image, for the window and
// serve to show.
func recordHolding(env Env, brokerURL string, dev transfer.Device, image []byte, at time.Time) {
	if store := openHoldings(env); store != nil {
		putHolding(env, store, brokerURL, dev, image, at)
	}
}

func putHolding(env Env, store *holdings.Store, brokerURL string, dev transfer.Device, image []byte, at time.Time) {
	key := transfer.DeviceKey(brokerURL, dev.ToDevice, dev.FromDevice)
	if _, err := store.Put(key, dev.Name, image, at); err != nil {
		fmt.Fprintf(env.Stderr, "warning: %s got the image, but it could not be recorded: %s\n", dev.Name, oneLine(err))
	}
}

// multiView shows the transfers of a multi-device send as they go.
type multiView interface {
	show(i int, t *transfer.Tally, e transfer.Event) // e is nil when the transfer starts
	finish()
}

// multiView picks JSON lines, one bar per device on a terminal, or
// plain lines prefixed with the device's name.
func (f *sendFlags) multiView(env Env, targets []*target) multiView {
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.profile.Name
	}
	switch {
	case f.asJSON:
		return &jsonLines{out: newLineBuffer(env.Stdout), names: names}
	case isTerminal(env.Stderr):
		cols := 0
		if fd, ok := env.Stderr.(*os.File); ok {
			cols, _, _ = term.GetSize(int(fd.Fd()))
		}
		return newMultiBars(env.Stderr, names, cols)
	}
	logs := make([]*plainLog, len(names))
	for i, n := range names {
		logs[i] = newPlainLog(&prefixWriter{w: env.Stderr, prefix: n + ": "})
	}
	return &plainLines{logs: logs}
}

// jsonLines prints each event as its docs/EVENTS.md JSON with the
// device's name first: {"device":"Bench 3","type":"acked",…}.
type jsonLines struct {
	out   *lineBuffer
	names []string
}

func (j *jsonLines) show(i int, _ *transfer.Tally, e transfer.Event) {
	if e == nil {
		return
	}
	b, err := json.Marshal(e)
	if err != nil || len(b) < 2 {
		return
	}
	name, _ := json.Marshal(j.names[i])
	line := make([]byte, 0, len(b)+len(name)+12)
	line = append(line, `{"device":`...)
	line = append(line, name...)
	line = append(line, ',')
	line = append(line, b[1:]...)
	j.out.add(append(line, '\n'), urgent(e))
}

func (j *jsonLines) finish() { j.out.flush() }

// plainLines is send's plain log, a line at a time, prefixed per device.
type plainLines struct{ logs []*plainLog }

func (p *plainLines) show(i int, t *transfer.Tally, e transfer.Event) {
	switch e := e.(type) {
	case nil:
	case transfer.Done:
		fmt.Fprintf(p.logs[i].w, "done in %s\n", human.Duration(e.Stats.Duration))
	case transfer.Failed:
		fmt.Fprintf(p.logs[i].w, "failed: %s\n", oneLine(e.Err))
	default:
		p.logs[i].show(*t, e)
	}
}

func (p *plainLines) finish() {}

// multiBars draws one line per device on a terminal, like a download
// tool's bars: the block is redrawn in place (cursor up, then each line
// cleared and written) at most 10 times a second, and once more when a
// transfer ends.
type multiBars struct {
	w       io.Writer
	names   []string
	width   int // of the name column
	cols    int // terminal width; 0 unknown
	state   []string
	tallies []*transfer.Tally
	started []bool
	drawn   bool
	last    time.Time
}

func newMultiBars(w io.Writer, names []string, cols int) *multiBars {
	m := &multiBars{w: w, names: names, cols: cols, state: make([]string, len(names)),
		tallies: make([]*transfer.Tally, len(names)), started: make([]bool, len(names))}
	for _, n := range names {
		m.width = max(m.width, len([]rune(n)))
	}
	m.width = min(m.width, 24)
	return m
}

func (m *multiBars) show(i int, t *transfer.Tally, e transfer.Event) {
	m.tallies[i] = t
	force := false
	switch e := e.(type) {
	case nil:
		m.started[i] = true
		force = true
	case transfer.Waiting:
		m.state[i] = "waiting: another transfer is using the device"
	case transfer.LinkDown:
		m.state[i] = "waiting for the broker: " + e.Error
		force = true
	case transfer.Connected:
		m.state[i] = ""
	case transfer.Done, transfer.Failed:
		force = true
	}
	if !force && time.Since(m.last) < 100*time.Millisecond {
		return
	}
	m.redraw()
}

// line is device i's line.
func (m *multiBars) line(i int) string {
	t := m.tallies[i]
	var s string
	switch {
	case !m.started[i]:
		s = "queued"
	case t == nil:
		s = "connecting"
	case t.Phase == transfer.PhaseDone:
		s = fmt.Sprintf("done in %s, %s", human.Duration(t.Stats.Duration), human.Count(t.Stats.Retransmits, "retry", "retries"))
	case t.Phase.Final():
		s = "failed: " + oneLine(t.Err)
	case m.state[i] != "":
		s = m.state[i]
	case t.Phase == transfer.PhaseSending:
		s = barLine(*t)
	default:
		s = string(t.Phase)
	}
	name := []rune(m.names[i])
	if len(name) > m.width {
		name = append(name[:m.width-1], '…')
	}
	l := fmt.Sprintf("%-*s  %s", m.width, string(name), s)
	if r := []rune(l); m.cols > 1 && len(r) >= m.cols {
		l = string(r[:m.cols-1])
	}
	return l
}

func (m *multiBars) redraw() {
	m.last = time.Now()
	var b strings.Builder
	if m.drawn {
		fmt.Fprintf(&b, "\033[%dA", len(m.names))
	}
	for i := range m.names {
		b.WriteString("\r\033[K")
		b.WriteString(m.line(i))
		b.WriteByte('\n')
	}
	m.drawn = true
	_, _ = io.WriteString(m.w, b.String())
}

func (m *multiBars) finish() { m.redraw() }
