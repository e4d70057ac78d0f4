package gui

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"imagebeam/codec"
	"imagebeam/config"
	"imagebeam/internal/human"
	"imagebeam/internal/redact"
	"imagebeam/simdevice"
	"imagebeam/transfer"
)

// maxCards bounds the finished transfers kept on the Transfers tab.
const maxCards = 20

// transferList is the Transfers tab: one card per transfer, newest first.
type transferList struct {
	g     *GUI
	cards *fyne.Container
	views []*transferView
	empty *widget.Label
	tabs  *container.AppTabs
	next  int
	box   fyne.CanvasObject
}

func newTransferList(g *GUI) *transferList {
	t := &transferList{g: g}
	t.cards = container.NewVBox()
	t.empty = widget.NewLabel(tr("transfers.empty"))
	t.empty.Wrapping = fyne.TextWrapWord
	t.empty.Importance = widget.LowImportance
	t.box = container.NewBorder(t.empty, nil, nil, nil, container.NewVScroll(t.cards))
	return t
}

func (t *transferList) object() fyne.CanvasObject { return t.box }

func (t *transferList) active() int {
	n := 0
	for _, v := range t.views {
		if !v.finished {
			n++
		}
	}
	return n
}

func (t *transferList) cancelAll() {
	for _, v := range t.views {
		if !v.finished && v.cancel != nil {
			v.cancel()
		}
	}
}

func (t *transferList) add(v *transferView) {
	t.views = append([]*transferView{v}, t.views...)
	for len(t.views) > maxCards {
		i := len(t.views) - 1
		for i >= 0 && !t.views[i].finished {
			i--
		}
		if i < 0 {
			break
		}
		t.views = append(t.views[:i], t.views[i+1:]...)
	}
	objs := make([]fyne.CanvasObject, 0, len(t.views))
	for _, v := range t.views {
		objs = append(objs, v.card)
	}
	t.cards.Objects = objs
	t.cards.Refresh()
	t.empty.Hide()
	if t.tabs != nil {
		t.tabs.SelectIndex(0)
	}
}

// simReceived marks the newest transfer to the simulated device that has
// not yet heard from it: the device reassembled the image.
func (t *transferList) simReceived(r simdevice.Received) {
	for _, v := range t.views {
		if v.dev.Simulated && v.received == nil && v.sha == r.SHA256 {
			v.received = &r
			v.render()
			return
		}
	}
}

// transferView is one transfer's card. Its fields belong to the UI goroutine.
type transferView struct {
	g        *GUI
	id       int
	dev      config.Device
	image    []byte
	sha      string
	source   string
	resend   bool
	cancel   context.CancelFunc
	started  time.Time
	snap     progressSnap
	finished bool
	received *simdevice.Received

	dot       *canvas.Circle
	title     *widget.Label
	bar       *widget.ProgressBar
	counts    *widget.Label
	retries   *widget.Label
	status    *widget.Label
	cancelBtn *widget.Button
	resendBtn *widget.Button
	log       *eventLog
	card      fyne.CanvasObject
}

func (g *GUI) newTransferView(d config.Device, image []byte, source string, resend bool) *transferView {
	sum := sha256.Sum256(image)
	g.xfers.next++
	v := &transferView{g: g, id: g.xfers.next, dev: d, image: image, sha: hex.EncodeToString(sum[:]), source: source, resend: resend, started: time.Now()}
	v.dot = newDot()
	name := d.Name
	if src := sourceName(source); src != "" {
		name = tr("transfer.title", args{"Device": d.Name, "Source": src})
	}
	if resend {
		name = tr("transfer.title_resend", args{"Title": name})
	}
	v.title = widget.NewLabelWithStyle(name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	v.title.Truncation = fyne.TextTruncateEllipsis
	v.bar = widget.NewProgressBar()
	v.counts = widget.NewLabel("")
	v.counts.Wrapping = fyne.TextWrapWord
	v.retries = widget.NewLabel("")
	v.retries.Wrapping = fyne.TextWrapWord
	v.status = widget.NewLabel("")
	v.status.Wrapping = fyne.TextWrapWord
	v.cancelBtn = widget.NewButtonWithIcon(tr("button.cancel"), theme.CancelIcon(), func() {
		if v.cancel != nil {
			v.cancel()
		}
	})
	v.resendBtn = widget.NewButtonWithIcon(tr("transfer.resend"), theme.MediaReplayIcon(), func() {
		g.startTransfer(v.dev, v.image, v.source, true)
	})
	v.resendBtn.Hide()
	v.log = newEventLog(g, fmt.Sprintf("imagebeam-transfer-%d.log", v.id))
	head := container.NewBorder(nil, nil, dotBox(v.dot), container.NewHBox(v.cancelBtn, v.resendBtn), v.title)
	logItem := widget.NewAccordionItem(tr("transfer.event_log"), v.log.object())
	v.card = container.NewVBox(head, v.bar, v.counts, v.retries, v.status, widget.NewAccordion(logItem), widget.NewSeparator())
	v.snap.Tally = transfer.NewTally(len(image), d.Chunk)
	v.render()
	return v
}

// sourceName is how the window names where an image came from: a file's
// base name, or a URL without the login it may carry.
func sourceName(src string) string {
	if src == "" || codec.IsURL(src) {
		return redact.URL(src)
	}
	return filepath.Base(src)
}

// sendSelected sends the previewed image to the ticked devices (Ctrl+Enter).
func (g *GUI) sendSelected() {
	p := g.preview
	if p.img == nil || p.result == nil {
		p.showError(newError("send.error.no_image"))
		return
	}
	targets := g.devices.targets()
	if len(targets) == 0 {
		p.showError(newError("send.error.no_device"))
		return
	}
	var dups []string
	for _, d := range targets {
		opts, err := p.deviceOptions(d)
		if err == nil && opts == p.opts && g.devices.statusOf(d.Name).lastOKSHA == p.result.SHA256 {
			dups = append(dups, d.Name)
		}
	}
	send := func() {
		for _, d := range targets {
			g.sendTo(d)
		}
	}
	if len(dups) == 0 {
		send()
		return
	}
	msg := trn("send.again.message", len(dups), args{"Devices": strings.Join(dups, tr("list.separator"))})
	g.confirm(tr("send.again.title"), msg, tr("send.again.confirm"), send)
}

// sendTo sends the previewed image to d, encoded with d's own profile when
// it differs from the preview device's.
func (g *GUI) sendTo(d config.Device) {
	p := g.preview
	opts, err := p.deviceOptions(d)
	if err != nil {
		g.showError(err)
		return
	}
	if opts == p.opts && p.result != nil {
		g.startTransfer(d, p.result.JPEG, p.source, false)
		return
	}
	img, src, ctx := p.img, p.source, g.ctx
	go func() {
		res, err := img.Encode(ctx, opts)
		g.do(func() {
			if err != nil {
				g.showError(wrapError("send.error.encode", args{"Device": d.Name}, err))
				return
			}
			g.startTransfer(d, res.JPEG, src, false)
		})
	}()
}

// startTransfer runs one transfer: transfer.Send in a goroutine, and one
// consumer goroutine that coalesces its events into card updates.
func (g *GUI) startTransfer(d config.Device, image []byte, source string, resend bool) *transferView {
	v := g.newTransferView(d, image, source, resend)
	g.xfers.add(v)
	st := g.devices.statusOf(d.Name)
	st.active++
	st.state = devSending
	g.devices.refresh()

	ctx, cancel := context.WithCancel(g.ctx)
	v.cancel = cancel
	job := transfer.Job{Broker: g.backend.cfg, Device: d.Transfer(), Image: image, Role: "gui"}
	var events <-chan transfer.Event
	if d.Simulated && g.backend.builtin == nil {
		err := wrapError("send.error.sim_needs_builtin", nil, transfer.ErrSettings)
		ch := make(chan transfer.Event, 1)
		ch <- transfer.Failed{Time: time.Now(), Err: err, Error: err.Error(), Stats: transfer.Stats{Bytes: len(image)}}
		close(ch)
		events = ch
	} else {
		events = transfer.StartSend(ctx, job)
	}
	entry := historyEntry{Device: d.Name, Source: redact.URL(source), Bytes: len(image), SHA256: v.sha, Resend: resend, Time: v.started}
	key := g.held.keyOf(d)
	g.consumers.Add(1)
	go func() {
		defer g.consumers.Done()
		consume(events, v.snap.Tally, uiInterval, func(s progressSnap) {
			if s.final {
				cancel()
				entry.fill(s.Tally)
				g.history.store.add(entry, image) // file I/O stays off the UI goroutine
				if s.Phase == transfer.PhaseDone {
					g.held.record(d, key, image, time.Now())
				}
			}
			g.do(func() { v.update(s) })
		})
	}()
	return v
}

// update applies one coalesced snapshot to the card.
func (v *transferView) update(s progressSnap) {
	logs, dropped := s.logs, s.logsDropped
	v.snap = s
	v.log.append(logs, dropped)
	st := v.g.devices.statusOf(v.dev.Name)
	if !s.LastSeen.IsZero() {
		st.lastSeen = s.LastSeen
	}
	if !s.final {
		if s.Phase == transfer.PhaseWaiting {
			st.state = devWaiting
		} else {
			st.state = devSending
		}
		v.render()
		v.g.devices.refresh()
		if v.g.onTransferUpdate != nil {
			v.g.onTransferUpdate(v)
		}
		return
	}
	v.finished = true
	st.active--
	switch s.Phase {
	case transfer.PhaseDone:
		st.state = devOK
		st.lastOKSHA = v.sha
		if s.Stats.RTTMedian > 0 {
			st.rtt = s.Stats.RTTMedian
		}
		v.g.notify(tr("notify.sent.title"), tr("notify.sent.body", args{"Device": v.dev.Name, "Size": sizeText(int64(s.Stats.Bytes)), "Duration": human.Duration(s.Stats.Duration)}))
	default:
		st.state = devFailed
		v.g.notify(tr("notify.failed.title"), tr("notify.failed.body", args{"Device": v.dev.Name, "Reason": errorText(s.Err)}))
	}
	if st.active > 0 {
		st.state = devSending
	}
	v.render()
	v.g.devices.refresh()
	v.g.preview.updateEstimate()
	v.g.history.refresh()
	if v.g.onTransferEnd != nil {
		v.g.onTransferEnd(v)
	}
}

// render draws the card from v.snap.
func (v *transferView) render() {
	s := v.snap
	v.bar.SetValue(s.Fraction())
	counts := trn("transfer.counts", s.Stats.Packets, args{"Acked": s.AckedPackets,
		"AckedSize": sizeText(int64(s.Stats.AckedBytes)), "TotalSize": sizeText(int64(s.Stats.Bytes))})
	if !v.finished && s.Speed > 0 {
		counts += "\n" + tr("transfer.speed", args{"Rate": rateText(s.Speed), "Left": human.Duration(s.ETA)})
	}
	v.counts.SetText(counts)
	st := s.Stats
	retries := args{"Timeouts": st.Timeouts, "NAKs": st.NAKs, "Reconnects": st.Reconnects, "Malformed": st.Malformed, "Stale": st.Stale}
	if st.Reconnects > 0 {
		v.retries.SetText(tr("transfer.retries_reconnects", retries))
	} else {
		v.retries.SetText(tr("transfer.retries", retries))
	}

	col := theme.ColorNamePrimary
	var status string
	switch s.Phase {
	case transfer.PhaseConnecting:
		status = tr("transfer.status.connecting")
	case transfer.PhaseWaiting:
		status, col = tr("transfer.status.waiting"), theme.ColorNameWarning
	case transfer.PhaseSending:
		status = tr("transfer.status.sending")
		if s.LinkDown != "" {
			status, col = tr("transfer.status.link_down", args{"Detail": s.LinkDown}), theme.ColorNameWarning
		}
	case transfer.PhaseDone:
		status = trn("transfer.status.done", st.Retransmits, args{
			"Size": sizeText(int64(st.Bytes)), "Duration": human.Duration(st.Duration), "Rate": rateText(st.Throughput),
			"Median": millis(ui, st.RTTMedian, 1), "Min": millis(ui, st.RTTMin, 1), "P99": millis(ui, st.RTTP99, 1)})
		col = theme.ColorNameSuccess
		if v.received != nil {
			if v.received.Complete && v.received.SHA256 == v.sha {
				status += tr("transfer.status.sim_checked")
			} else {
				status += tr("transfer.status.sim_incomplete")
			}
		}
	case transfer.PhaseCancelled:
		status, col = tr("transfer.status.cancelled"), theme.ColorNameWarning
	case transfer.PhaseFailed:
		status, col = tr("transfer.status.failed", args{"Reason": errorText(s.Err)}), theme.ColorNameError
	}
	v.status.SetText(status)
	v.status.Importance = importanceFor(col)
	v.status.Refresh()
	v.dot.FillColor = theme.Color(col)
	v.dot.Refresh()
	if v.finished {
		v.cancelBtn.Hide()
		v.resendBtn.Show()
	}
}

func importanceFor(c fyne.ThemeColorName) widget.Importance {
	switch c {
	case theme.ColorNameSuccess:
		return widget.SuccessImportance
	case theme.ColorNameWarning:
		return widget.WarningImportance
	case theme.ColorNameError:
		return widget.DangerImportance
	}
	return widget.MediumImportance
}

// millis writes d in milliseconds with decimals digits after the point,
// "–" when it was not measured.
func millis(w *words, d time.Duration, decimals int) string {
	if d <= 0 {
		return "–"
	}
	ms := strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', decimals, 64)
	return w.t("unit.milliseconds", args{"Value": ms})
}
