package gui

import (
	"context"
	"errors"
	"image/color"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"imagebeam/broker"
	"imagebeam/config"
	"imagebeam/internal/redact"
	"imagebeam/simdevice"
	"imagebeam/transfer"
)

// backend runs what the window needs besides transfers: the built-in broker
// (when chosen), the simulated device on it, and the window's one
// connection to the broker (a transfer.Hub), whose state feeds the
// connection indicator and which every transfer of the window shares. Its
// fields belong to the UI goroutine.
type backend struct {
	g       *GUI
	builtin *broker.Broker
	cfg     transfer.BrokerConfig // what transfers connect to
	// release lets go of the window's hold on the shared hub for cfg:
	// transfers still running keep it (and its connection) until they end.
	release func()
	// fallback is the address the built-in broker could not take, when it
	// is not where the settings say.
	fallback string
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	simUp    chan struct{} // closed when the simulated device is subscribed
	simErr   string        // why the simulated device is not running, in words
	// gen counts starts. A goroutine of an earlier start may still report
	// (a "cancelled" queued just before a restart): it reports through
	// b.current, which drops news from any start but the latest.
	gen int
}

func newBackend(g *GUI) *backend { return &backend{g: g, simUp: make(chan struct{})} }

// start brings up the broker profile p. The built-in broker binds here, on
// the UI goroutine (a millisecond); everything that waits on the network
// runs in goroutines.
func (b *backend) start(p config.Broker) {
	ctx, cancel := context.WithCancel(b.g.ctx)
	b.cancel = cancel
	b.gen++
	report := b.current(ctx, b.gen)
	b.simUp = make(chan struct{})
	b.simErr = ""
	b.fallback = ""
	b.builtin = nil
	b.cfg = p.Transfer()
	label := tr("conn.broker.external", args{"Address": redact.URL(b.cfg.URL)})
	if p.Builtin {
		listen := p.Listen
		if b.g.opts.BuiltinListen != "" {
			listen = b.g.opts.BuiltinListen
		}
		if listen == "" {
			listen = config.DefaultListen
		}
		// The generated TLS certificate of lab-network mode lives next to
		// the settings file, wherever that is.
		certDir := filepath.Dir(b.g.cfgPath)
		br, err := broker.Start(broker.Options{Listen: listen, Username: p.Username, Password: p.Password, CertDir: certDir})
		if errors.Is(err, broker.ErrAddrInUse) {
			// Debian's mosquitto often holds 1883. The simulated device must
			// stay on our own broker, so take a free loopback port instead.
			b.fallback = listen
			br, err = broker.Start(broker.Options{Listen: "127.0.0.1:0"})
		}
		if err != nil {
			b.g.conn.set(connError, wrapError("conn.builtin_failed", nil, err))
			b.simErr = tr("device.sim.no_broker")
			b.g.devices.refresh()
			return
		}
		b.builtin = br
		// Keep config's URL when it names the port the broker got: device
		// locks are keyed by the URL, and `imagebeam send --device` must
		// queue behind the window.
		if _, port, _ := net.SplitHostPort(br.Addr()); !strings.HasSuffix(b.cfg.URL, ":"+port) {
			b.cfg.URL = "tcp://" + net.JoinHostPort("127.0.0.1", port)
		}
		label = tr("conn.broker.builtin", args{"Address": br.Addr()})
	}
	b.g.conn.label = label
	b.g.conn.fallback = b.fallback
	b.g.conn.set(connConnecting, nil)

	cfg := b.cfg
	// The window's transfers ask transfer.Send for the hub of this very
	// cfg and role, so they share the connection the indicator shows.
	hub, release, err := transfer.AcquireHub(cfg, "gui")
	if err != nil {
		b.g.conn.set(connError, err)
	} else {
		b.release = release
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.monitor(ctx, hub, report)
		}()
	}
	if sim, ok := b.simDevice(); ok {
		if !p.Builtin {
			b.simErr = tr("device.sim.off_external")
		} else {
			faults := simdevice.Faults{Delay: 10 * time.Millisecond, NAK: 0.01, Seed: uint64(time.Now().UnixNano())}
			if b.g.opts.SimFaults != nil {
				faults = *b.g.opts.SimFaults
			}
			up := b.simUp
			b.wg.Add(1)
			go func() {
				defer b.wg.Done()
				b.runSim(ctx, cfg, sim, faults, up, report)
			}()
		}
	}
	b.g.devices.refresh()
}

// stop ends the monitor and the simulator and closes the built-in broker.
func (b *backend) stop() {
	if b.cancel != nil {
		b.cancel()
	}
	b.wg.Wait()
	if b.release != nil {
		b.release()
		b.release = nil
	}
	if b.builtin != nil {
		_ = b.builtin.Close()
		b.builtin = nil
	}
}

// restart applies a new broker profile.
func (b *backend) restart(p config.Broker) {
	b.stop()
	b.start(p)
}

func (b *backend) simDevice() (config.Device, bool) {
	for _, d := range b.g.settings.Devices {
		if d.Simulated {
			return d, true
		}
	}
	return config.Device{}, false
}

// current returns how the goroutines of start number gen report to the UI:
// f runs on the UI goroutine unless ctx has ended or a later start has
// replaced this one by then.
func (b *backend) current(ctx context.Context, gen int) func(f func()) {
	return func(f func()) {
		if ctx.Err() != nil {
			return
		}
		b.g.do(func() {
			if b.gen == gen && ctx.Err() == nil {
				f()
			}
		})
	}
}

// monitor brings the hub's connection up, trying again every 3 s until
// it is up once (the hub reconnects by itself after that), and reports
// its state until ctx ends.
func (b *backend) monitor(ctx context.Context, hub *transfer.Hub, report func(func())) {
	for {
		err := hub.Connect(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		report(func() { b.g.conn.set(connError, err) })
		select {
		case <-ctx.Done():
			return
		case <-time.After(3 * time.Second):
		}
	}
	for {
		st, changed, err := hub.Watch()
		switch st {
		case transfer.StateUp:
			report(func() { b.g.conn.set(connUp, nil) })
		case transfer.StateConnecting, transfer.StateReconnecting:
			report(func() { b.g.conn.set(connReconnecting, err) })
		case transfer.StateRefused:
			report(func() { b.g.conn.set(connError, err) })
		case transfer.StateClosed:
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
}

// runSim answers frames on the simulated device's topics until ctx ends.
func (b *backend) runSim(ctx context.Context, cfg transfer.BrokerConfig, dev config.Device, faults simdevice.Faults, up chan struct{}, report func(func())) {
	cfg.ConnectWait = 10 * time.Second
	link, err := transfer.Dial(ctx, cfg, "simulate", dev.ToDevice, dev.FromDevice, byte(dev.QoS))
	if err != nil {
		report(func() {
			b.simErr = tr("device.sim.failed", args{"Reason": errorText(err)})
			b.g.devices.refresh()
		})
		return
	}
	defer link.Close()
	close(up)
	images := make(chan simdevice.Received, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = simdevice.Run(ctx, link, simdevice.Options{Faults: faults}, images)
	}()
	for {
		select {
		case r := <-images:
			b.g.do(func() { // an image that arrived is news whatever happened since
				b.g.xfers.simReceived(r)
				if b.g.onSimReceived != nil {
					b.g.onSimReceived(r)
				}
			})
		case <-done:
			return
		}
	}
}

// Connection indicator states.
type connState int

const (
	connConnecting connState = iota
	connUp
	connReconnecting
	connError
)

// connIndicator is the always-visible broker status: a dot and one line.
type connIndicator struct {
	g        *GUI
	dot      *canvas.Circle
	text     *widget.Label
	button   *widget.Button
	box      fyne.CanvasObject
	state    connState
	label    string // which broker, in words
	fallback string // the address the built-in broker could not take
	reason   error  // why it is not up
	problem  error  // a settings problem shown after the state
	banner   *widget.Label
}

func newConnIndicator(g *GUI) *connIndicator {
	c := &connIndicator{g: g, label: tr("conn.broker.unknown")}
	c.dot = canvas.NewCircle(theme.Color(theme.ColorNameDisabled))
	c.text = widget.NewLabel(tr("conn.starting"))
	c.text.Truncation = fyne.TextTruncateEllipsis
	c.banner = widget.NewLabel("")
	c.banner.Wrapping = fyne.TextWrapWord
	c.banner.Hide()
	c.button = widget.NewButtonWithIcon(tr("conn.button"), theme.SettingsIcon(), func() { showBrokerDialog(g) })
	c.box = container.NewHBox(dotBox(c.dot), container.NewGridWrap(fyne.NewSize(300, c.text.MinSize().Height), c.text), c.button)
	return c
}

func (c *connIndicator) object() fyne.CanvasObject { return c.box }

func (c *connIndicator) setSettingsProblem(err error) {
	c.problem = err
	c.render()
}

// set shows state s; reason says why the broker is not up (nil: unknown).
func (c *connIndicator) set(s connState, reason error) {
	c.state, c.reason = s, reason
	c.render()
}

func (c *connIndicator) render() {
	var text string
	var col fyne.ThemeColorName
	who := args{"Broker": c.label}
	switch c.state {
	case connConnecting:
		text, col = tr("conn.state.connecting", who), theme.ColorNameWarning
	case connUp:
		text, col = tr("conn.state.up", who), theme.ColorNameSuccess
		if c.fallback != "" {
			col = theme.ColorNameWarning
		}
	case connReconnecting:
		text, col = tr("conn.state.reconnecting", who), theme.ColorNameWarning
	case connError:
		text, col = tr("conn.state.error"), theme.ColorNameError
	}
	c.text.SetText(text)
	c.dot.FillColor = theme.Color(col)
	c.dot.Refresh()

	// The one-line indicator truncates; the banner below it says it all.
	var lines []string
	switch c.state {
	case connError:
		lines = append(lines, tr("conn.banner.error", args{"Broker": c.label, "Reason": errorText(c.reason)}))
		if d := errorDetail(c.reason); d != "" {
			lines = append(lines, tr("error.details", args{"Detail": d}))
		}
	case connReconnecting:
		if c.reason != nil {
			lines = append(lines, tr("conn.banner.reconnecting", args{"Reason": errorText(c.reason)}))
		}
	}
	if c.fallback != "" {
		lines = append(lines, tr("conn.banner.fallback", args{"Taken": c.fallback, "Broker": c.label}))
	}
	if c.problem != nil {
		lines = append(lines, tr("conn.banner.settings", args{"Problem": errorWithDetail(c.problem)}))
	}
	c.banner.SetText(strings.Join(lines, "\n"))
	c.banner.Importance = widget.WarningImportance
	if c.state == connError || c.problem != nil {
		c.banner.Importance = widget.DangerImportance
	}
	if len(lines) == 0 {
		c.banner.Hide()
	} else {
		c.banner.Show()
	}
	c.banner.Refresh()
	c.button.Importance = widget.MediumImportance
	if len(lines) > 0 {
		c.button.Importance = widget.WarningImportance
	}
	c.button.Refresh()
}

// dotBox gives a status dot its fixed size, centred vertically.
func dotBox(c *canvas.Circle) fyne.CanvasObject {
	return container.NewCenter(container.NewGridWrap(fyne.NewSquareSize(12), c))
}

func newDot() *canvas.Circle {
	return canvas.NewCircle(color.Transparent)
}
