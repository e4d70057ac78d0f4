package gui

import (
	"fmt"
	"image"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"imagebeam/codec"
	"imagebeam/config"
	"imagebeam/transfer"
)

// Device states shown by the status dot.
const (
	devIdle    = "idle"
	devWaiting = "waiting"
	devSending = "sending"
	devOK      = "ok"
	devFailed  = "failed"
)

// devStatus is what the window knows about a device at run time.
type devStatus struct {
	state     string
	lastSeen  time.Time     // the device's last feedback
	rtt       time.Duration // median round trip of the last transfer
	lastOKSHA string        // SHA-256 of the last image it acknowledged whole
	active    int           // transfers running or waiting
}

// deviceList is the side panel: the saved devices with a tick box each
// (the send targets), a status dot and the last-seen time.
type deviceList struct {
	g        *GUI
	list     *widget.List
	selected int // index into settings.Devices, -1 for none
	checked  map[string]bool
	status   map[string]*devStatus
	edit     *widget.Button
	dup      *widget.Button
	del      *widget.Button
	resend   *widget.Button
	held     *heldPanel   // what the selected device holds
	groups   *groupPicker // ticks a saved group
	box      fyne.CanvasObject
}

func newDeviceList(g *GUI) *deviceList {
	l := &deviceList{g: g, selected: -1, checked: map[string]bool{}, status: map[string]*devStatus{}}
	l.list = widget.NewList(
		func() int { return len(g.settings.Devices) },
		l.createRow,
		l.updateRow,
	)
	l.list.OnSelected = func(id widget.ListItemID) {
		l.selected = id
		d := g.settings.Devices[id]
		if l.countChecked() == 0 {
			l.checked[d.Name] = true
			l.list.RefreshItem(id)
		}
		l.updateButtons()
		l.held.show(d, true)
		g.preview.deviceChanged()
	}
	l.list.OnUnselected = func(widget.ListItemID) {
		l.selected = -1
		l.updateButtons()
		l.held.show(config.Device{}, false)
	}
	add := widget.NewButtonWithIcon(tr("devices.add"), theme.ContentAddIcon(), func() { l.showForm(-1, false) })
	l.edit = widget.NewButtonWithIcon(tr("devices.edit"), theme.DocumentCreateIcon(), func() { l.showForm(l.selected, false) })
	l.dup = widget.NewButtonWithIcon(tr("devices.duplicate"), theme.ContentCopyIcon(), func() { l.showForm(l.selected, true) })
	l.del = widget.NewButtonWithIcon(tr("devices.delete"), theme.DeleteIcon(), l.confirmDelete)
	l.resend = widget.NewButtonWithIcon(tr("devices.resend_last"), theme.MediaReplayIcon(), l.resendLast)
	title := widget.NewLabelWithStyle(tr("devices.title"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	hint := widget.NewLabel(tr("devices.hint"))
	hint.Importance = widget.LowImportance
	buttons := container.NewGridWithColumns(2, add, l.edit, l.dup, l.del)
	l.held = newHeldPanel(g)
	l.groups = newGroupPicker(g, l)
	l.box = container.NewBorder(container.NewVBox(title, hint, l.groups.object()), container.NewVBox(l.held.object(), buttons, l.resend), nil, nil, l.list)
	if len(g.settings.Devices) > 0 {
		l.checked[g.settings.Devices[0].Name] = true
	}
	l.updateButtons()
	return l
}

func (l *deviceList) object() fyne.CanvasObject { return l.box }

// selectFirst selects the first device, so a first start is ready to send.
func (l *deviceList) selectFirst() {
	if len(l.g.settings.Devices) > 0 {
		l.list.Select(0)
	}
}

// deviceRow is one device in the list: its tick box, status dot, name,
// topics, state, and what it holds (a thumbnail, when and the SHA-256).
type deviceRow struct {
	widget.BaseWidget
	check  *widget.Check
	dot    *canvas.Circle
	name   *widget.Label
	topics *widget.Label
	state  *widget.Label
	holds  *widget.Label
	thumb  *canvas.Image
	// thumbBox holds thumb, hidden while there is no picture to show.
	thumbBox *fyne.Container
	body     fyne.CanvasObject
}

// rowThumbSide is the side of a row's thumbnail of what the device holds.
const rowThumbSide = 40

func newDeviceRow() *deviceRow {
	r := &deviceRow{check: widget.NewCheck("", nil), dot: newDot()}
	r.name = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	r.name.Truncation = fyne.TextTruncateEllipsis
	r.topics = captionLabel()
	r.state = captionLabel()
	r.holds = captionLabel()
	r.thumb = canvas.NewImageFromImage(nil)
	r.thumb.FillMode = canvas.ImageFillContain
	r.thumbBox = container.NewCenter(container.NewGridWrap(fyne.NewSquareSize(rowThumbSide), r.thumb))
	r.thumbBox.Hide()
	text := container.New(&tightVBox{}, r.name, r.topics, r.state, r.holds)
	r.body = container.NewBorder(nil, nil, container.NewHBox(r.check, dotBox(r.dot)), r.thumbBox, text)
	r.ExtendBaseWidget(r)
	return r
}

// captionLabel is a one-line label in the caption size, cut with an
// ellipsis when it does not fit.
func captionLabel() *widget.Label {
	l := widget.NewLabel("")
	l.Truncation = fyne.TextTruncateEllipsis
	l.SizeName = theme.SizeNameCaptionText
	return l
}

// CreateRenderer is fyne.Widget's: the row draws its body.
func (r *deviceRow) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(r.body) }

func (l *deviceList) createRow() fyne.CanvasObject { return newDeviceRow() }

func (l *deviceList) updateRow(id widget.ListItemID, o fyne.CanvasObject) {
	if id >= len(l.g.settings.Devices) {
		return
	}
	d := l.g.settings.Devices[id]
	r := o.(*deviceRow)
	r.check.OnChanged = nil
	r.check.SetChecked(l.checked[d.Name])
	r.check.OnChanged = func(on bool) {
		l.checked[d.Name] = on
		l.groups.ticksChanged()
		l.g.preview.targetsChanged()
	}
	r.name.SetText(d.Name)
	r.topics.SetText(tr("devices.topics", args{"To": d.ToDevice, "From": d.FromDevice}))
	words, col := l.describe(d, l.statusOf(d.Name))
	r.state.SetText(words)
	r.dot.FillColor = theme.Color(col)
	r.dot.Refresh()
	var pic image.Image
	if rec, ok := l.g.held.of(d); ok {
		r.holds.SetText(tr("devices.holds", args{"SHA": rec.SHA256[:12], "Time": ago(rec.Time.Local())}))
		pic = l.g.held.picture(rec)
	} else {
		r.holds.SetText(tr("devices.holds.none"))
	}
	if r.thumb.Image != pic {
		r.thumb.Image = pic
		r.thumb.Refresh()
	}
	if pic == nil {
		r.thumbBox.Hide()
	} else {
		r.thumbBox.Show()
	}
}

// describe says what the device is doing, or last did, in a few words.
func (l *deviceList) describe(d config.Device, st *devStatus) (string, fyne.ThemeColorName) {
	var words string
	col := theme.ColorNameDisabled
	switch st.state {
	case devSending:
		words, col = tr("devices.state.sending"), theme.ColorNamePrimary
	case devWaiting:
		words, col = tr("devices.state.waiting"), theme.ColorNameWarning
	case devOK:
		words, col = tr("devices.state.ok"), theme.ColorNameSuccess
	case devFailed:
		words, col = tr("devices.state.failed"), theme.ColorNameError
	default:
		words = tr("devices.state.idle")
	}
	if !st.lastSeen.IsZero() {
		words = tr("devices.state.seen", args{"State": words, "Time": ago(st.lastSeen)})
	}
	if d.Simulated {
		switch {
		case l.g.backend == nil:
		case l.g.backend.simErr != "":
			words = l.g.backend.simErr
			col = theme.ColorNameError
		default:
			words = tr("devices.state.simulated", args{"State": words})
		}
	}
	return words, col
}

// ago says when t was, briefly: "14:03:12" today, else the date and the
// minute ("2 Jan 15:04", "1月2日 15:04": the layout is a translation).
func ago(t time.Time) string {
	if time.Since(t) < 24*time.Hour {
		return t.Format(time.TimeOnly)
	}
	return t.Format(tr("time.date_layout"))
}

func (l *deviceList) statusOf(name string) *devStatus {
	st, ok := l.status[name]
	if !ok {
		st = &devStatus{state: devIdle}
		l.status[name] = st
	}
	return st
}

func (l *deviceList) refresh() {
	l.list.Refresh()
	l.updateButtons()
	l.held.show(l.selectedDevice())
}

// resendLast sends the selected device again what it holds (the exact
// bytes it last acknowledged whole), or, when nothing is recorded, the
// last image sent to it.
func (l *deviceList) resendLast() {
	d, ok := l.selectedDevice()
	if !ok {
		return
	}
	if rec, held := l.g.held.of(d); held {
		l.g.held.resend(rec, []config.Device{d})
		return
	}
	l.g.history.resendLast(d)
}

func (l *deviceList) countChecked() int {
	n := 0
	for _, d := range l.g.settings.Devices {
		if l.checked[d.Name] {
			n++
		}
	}
	return n
}

// targets are the ticked devices, or the selected one when none is ticked.
func (l *deviceList) targets() []config.Device {
	var out []config.Device
	for _, d := range l.g.settings.Devices {
		if l.checked[d.Name] {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		if d, ok := l.selectedDevice(); ok {
			out = append(out, d)
		}
	}
	return out
}

func (l *deviceList) selectedDevice() (config.Device, bool) {
	if l.selected < 0 || l.selected >= len(l.g.settings.Devices) {
		return config.Device{}, false
	}
	return l.g.settings.Devices[l.selected], true
}

// previewDevice is the device whose image profile the preview follows:
// the selected one, else the first ticked one.
func (l *deviceList) previewDevice() (config.Device, bool) {
	if d, ok := l.selectedDevice(); ok {
		return d, true
	}
	t := l.targets()
	if len(t) == 0 {
		return config.Device{}, false
	}
	return t[0], true
}

func (l *deviceList) updateButtons() {
	_, ok := l.selectedDevice()
	for _, b := range []*widget.Button{l.edit, l.dup, l.del, l.resend} {
		if ok {
			b.Enable()
		} else {
			b.Disable()
		}
	}
}

func (l *deviceList) confirmDelete() {
	d, ok := l.selectedDevice()
	if !ok {
		return
	}
	msg := tr("devices.delete.message", args{"Name": d.Name})
	if d.Simulated {
		msg = tr("devices.delete.simulated", args{"To": simToDevice, "From": simFromDevice})
	}
	l.g.confirm(tr("devices.delete.title"), msg, tr("devices.delete"), func() { l.deleteDevice(l.selected) })
}

// deleteDevice removes device i and saves the settings.
func (l *deviceList) deleteDevice(i int) error {
	s := l.g.settings
	if i < 0 || i >= len(s.Devices) {
		return nil
	}
	old := s.Devices
	d := s.Devices[i]
	s.Devices = append(append([]config.Device{}, old[:i]...), old[i+1:]...)
	if err := l.g.saveSettings(); err != nil {
		s.Devices = old
		l.g.showError(err)
		return err
	}
	delete(l.checked, d.Name)
	l.list.UnselectAll()
	l.selected = -1
	if d.Simulated {
		l.g.backend.restart(s.Broker)
	}
	l.refresh()
	l.g.preview.deviceChanged()
	return nil
}

// saveDevice stores d as device i (-1 adds it) after checking that its
// name is unique, and saves the settings.
func (l *deviceList) saveDevice(i int, d config.Device) error {
	s := l.g.settings
	for j, o := range s.Devices {
		if j != i && strings.EqualFold(o.Name, d.Name) {
			return newError("device.error.name_taken", args{"Name": o.Name})
		}
	}
	if d.Simulated {
		for j, o := range s.Devices {
			if j != i && o.Simulated {
				return newError("device.error.second_simulator", args{"Name": o.Name})
			}
		}
	}
	old := append([]config.Device{}, s.Devices...)
	var before config.Device
	if i >= 0 {
		before = s.Devices[i]
		s.Devices[i] = d
		if before.Name != d.Name && l.checked[before.Name] {
			delete(l.checked, before.Name)
			l.checked[d.Name] = true
		}
	} else {
		s.Devices = append(s.Devices, d)
		i = len(s.Devices) - 1
	}
	if err := l.g.saveSettings(); err != nil {
		s.Devices = old
		return err
	}
	if before.Simulated || d.Simulated {
		if before.ToDevice != d.ToDevice || before.FromDevice != d.FromDevice || before.Simulated != d.Simulated || before.QoS != d.QoS {
			l.g.backend.restart(s.Broker)
		}
	}
	l.refresh()
	l.list.Select(i)
	l.g.preview.deviceChanged()
	return nil
}

// showForm opens the device dialog: i = -1 adds, dup copies device i.
func (l *deviceList) showForm(i int, dup bool) {
	var d config.Device
	title := tr("device.title.add")
	switch {
	case i < 0:
		d = config.DefaultDevice()
		d.Name = l.freeName(tr("device.new_name"))
	case dup:
		d = l.g.settings.Devices[i]
		d.Name = l.freeName(tr("device.copy_name", args{"Name": d.Name}))
		d.Simulated = false
		title = tr("device.title.duplicate")
		i = -1
	default:
		d = l.g.settings.Devices[i]
		title = tr("device.title.edit")
	}
	f := newDeviceForm(d)
	var dlg dialog.Dialog
	f.onSave = func(nd config.Device) error { return l.saveDevice(i, nd) }
	f.onClose = func() { dlg.Hide() }
	dlg = dialog.NewCustomWithoutButtons(title, f.object(), l.g.win)
	dlg.Resize(fyne.NewSize(560, 600))
	dlg.Show()
	l.g.win.Canvas().Focus(f.name)
}

func (l *deviceList) freeName(base string) string {
	name := base
	for n := 2; ; n++ {
		if _, taken := l.g.settings.Device(name); !taken {
			return name
		}
		name = fmt.Sprintf("%s %d", base, n)
	}
}

// deviceForm edits one device. Save checks every field and keeps the
// dialog open with the first problem in words.
type deviceForm struct {
	name, to, from, begin          *widget.Entry
	chunk, timeout, retries        *widget.Entry
	width, height, quality, budget *widget.Entry
	adaptive, gray, upscale, sim   *widget.Check
	qos, fit, rotate               *widget.Select
	errText                        *widget.Label
	err                            error // what errText says, nil when it is hidden
	save, cancel                   *widget.Button
	orig                           config.Device
	onSave                         func(config.Device) error
	onClose                        func()
	box                            fyne.CanvasObject
}

var (
	qosOptions    = []string{"0", "1", "2"}
	fits          = []codec.Fit{codec.FitContain, codec.FitCover, codec.FitStretch, codec.FitNone}
	rotateOptions = []string{rotationLabel(0), rotationLabel(90), rotationLabel(180), rotationLabel(270)}
)

// fitLabel is how the window names a fit ("contain (letterbox)").
func fitLabel(f codec.Fit) string {
	switch f {
	case codec.FitCover:
		return tr("fit.cover")
	case codec.FitStretch:
		return tr("fit.stretch")
	case codec.FitNone:
		return tr("fit.none")
	}
	return tr("fit.contain")
}

// fitOptions are the fits as a Select lists them, in the order of fits.
func fitOptions() []string {
	out := make([]string, len(fits))
	for i, f := range fits {
		out[i] = fitLabel(f)
	}
	return out
}

// selectedFit is the fit a Select made of fitOptions shows; contain when
// none is chosen.
func selectedFit(s *widget.Select) codec.Fit {
	if i := s.SelectedIndex(); i >= 0 && i < len(fits) {
		return fits[i]
	}
	return codec.FitContain
}

// selectFit shows fit f in a Select made of fitOptions.
func selectFit(s *widget.Select, f codec.Fit) {
	s.SetSelectedIndex(max(slices.Index(fits, f), 0))
}

// rotationLabel is how the window writes a clockwise rotation, "90°": any
// multiple of 90, negative or beyond a turn, as 0, 90, 180 or 270.
func rotationLabel(deg int) string { return strconv.Itoa(((deg%360)+360)%360) + "°" }

// parseRotation reads a rotationLabel back; ok is false for anything else.
func parseRotation(s string) (deg int, ok bool) {
	n, ok := strings.CutSuffix(s, "°")
	deg, err := strconv.Atoi(n)
	if !ok || err != nil {
		return 0, false
	}
	return deg, true
}

func newDeviceForm(d config.Device) *deviceForm {
	f := &deviceForm{orig: d}
	num := func(n int, hint string) *widget.Entry { return newEntry(strconv.Itoa(n), hint) }
	check := func(label string, on bool) *widget.Check {
		c := widget.NewCheck(label, nil)
		c.SetChecked(on)
		return c
	}
	f.name = newEntry(d.Name, "")
	f.to = newEntry(d.ToDevice, tr("device.hint.to"))
	f.from = newEntry(d.FromDevice, tr("device.hint.from"))
	f.begin = newEntry(d.BeginName, "")
	f.chunk = num(d.Chunk, "")
	f.timeout = newEntry(time.Duration(d.Timeout).String(), "")
	f.retries = num(d.Retries, "")
	f.width = num(d.Image.Width, tr("device.hint.keep"))
	f.height = num(d.Image.Height, tr("device.hint.keep"))
	f.quality = num(d.Image.Quality, "")
	f.budget = num(d.Image.MaxBytes, tr("device.hint.no_limit"))
	f.adaptive = check(tr("device.check.adaptive"), d.Adaptive)
	f.gray = check(tr("device.check.grayscale"), d.Image.Grayscale)
	f.upscale = check(tr("device.check.upscale"), d.Image.Upscale)
	f.sim = check(tr("device.check.simulated"), d.Simulated)
	f.qos = newSelect(qosOptions, nil)
	f.qos.SetSelected(strconv.Itoa(d.QoS))
	f.fit = newSelect(fitOptions(), nil)
	fit, _ := codec.ParseFit(d.Image.Fit)
	selectFit(f.fit, fit)
	f.rotate = newSelect(rotateOptions, nil)
	f.rotate.SetSelected(rotationLabel(d.Image.Rotate))
	f.errText = widget.NewLabel("")
	f.errText.Importance = widget.DangerImportance
	f.errText.Wrapping = fyne.TextWrapWord
	f.errText.Hide()
	f.save = widget.NewButtonWithIcon(tr("button.save"), theme.ConfirmIcon(), f.submit)
	f.save.Importance = widget.HighImportance
	f.cancel = widget.NewButtonWithIcon(tr("button.cancel"), theme.CancelIcon(), func() {
		if f.onClose != nil {
			f.onClose()
		}
	})
	f.box = f.layout()
	return f
}

// layout puts the fields in a scrolling form, the error and the buttons
// below it.
func (f *deviceForm) layout() fyne.CanvasObject {
	form := widget.NewForm(
		widget.NewFormItem(tr("device.field.name"), f.name),
		widget.NewFormItem(tr("device.field.to"), f.to),
		widget.NewFormItem(tr("device.field.from"), f.from),
		widget.NewFormItem(tr("device.field.begin_name"), f.begin),
		widget.NewFormItem(tr("device.field.chunk"), f.chunk),
		widget.NewFormItem(tr("device.field.timeout"), f.timeout),
		widget.NewFormItem("", f.adaptive),
		widget.NewFormItem(tr("device.field.retries"), f.retries),
		widget.NewFormItem(tr("device.field.qos"), f.qos),
		widget.NewFormItem(tr("device.field.size"), container.NewGridWithColumns(2, f.width, f.height)),
		widget.NewFormItem(tr("device.field.fit"), f.fit),
		widget.NewFormItem(tr("device.field.quality"), f.quality),
		widget.NewFormItem(tr("device.field.byte_budget"), f.budget),
		widget.NewFormItem(tr("device.field.rotation"), f.rotate),
		widget.NewFormItem("", container.NewHBox(f.gray, f.upscale)),
		widget.NewFormItem("", f.sim),
	)
	buttons := container.NewHBox(layoutSpacer(), f.cancel, f.save)
	return container.NewBorder(nil, container.NewVBox(f.errText, buttons), nil, nil, container.NewVScroll(form))
}

func (f *deviceForm) object() fyne.CanvasObject { return f.box }

// device reads the fields into a device, or says what is wrong.
func (f *deviceForm) device() (config.Device, error) {
	d := f.orig
	d.Name = strings.TrimSpace(f.name.Text)
	d.ToDevice = f.to.Text
	d.FromDevice = f.from.Text
	d.BeginName = strings.TrimSpace(f.begin.Text)
	d.Adaptive = f.adaptive.Checked
	d.Simulated = f.sim.Checked
	d.Image.Grayscale = f.gray.Checked
	d.Image.Upscale = f.upscale.Checked
	d.Image.Fit = string(selectedFit(f.fit))
	d.QoS, _ = strconv.Atoi(f.qos.Selected)
	d.Image.Rotate, _ = parseRotation(f.rotate.Selected) // "" (none chosen) is 0
	if d.Name == "" {
		return d, newError("device.error.no_name")
	}
	for _, t := range []struct{ field, topic string }{{"device.field.to", d.ToDevice}, {"device.field.from", d.FromDevice}} {
		if err := checkTopic(tr(t.field), t.topic); err != nil {
			return d, err
		}
	}
	if d.ToDevice == d.FromDevice {
		return d, newError("device.error.same_topic")
	}
	ints := []struct {
		field    string
		e        *widget.Entry
		dst      *int
		min, max int
	}{
		{"device.field.chunk", f.chunk, &d.Chunk, 1, transfer.MaxChunk},
		{"device.field.retries", f.retries, &d.Retries, 0, 1000},
		{"device.field.width", f.width, &d.Image.Width, 0, config.MaxDimension},
		{"device.field.height", f.height, &d.Image.Height, 0, config.MaxDimension},
		{"device.field.quality", f.quality, &d.Image.Quality, 1, 100},
		{"device.field.byte_budget", f.budget, &d.Image.MaxBytes, 0, 1 << 30},
	}
	for _, n := range ints {
		v, err := strconv.Atoi(strings.TrimSpace(n.e.Text))
		if err != nil {
			return d, newError("device.error.not_a_number", args{"Field": tr(n.field), "Value": n.e.Text})
		}
		if v < n.min || v > n.max {
			return d, newError("device.error.out_of_range", args{"Field": tr(n.field), "Min": n.min, "Max": n.max, "Value": v})
		}
		*n.dst = v
	}
	t, err := time.ParseDuration(strings.TrimSpace(f.timeout.Text))
	if err != nil || t <= 0 {
		return d, newError("device.error.timeout", args{"Value": f.timeout.Text})
	}
	d.Timeout = config.Duration(t)
	if err := transfer.CheckName(d.BeginName); err != nil {
		return d, wrapError("device.error.begin_name", args{"Value": d.BeginName}, err)
	}
	if d.Simulated && (d.ToDevice == "mqttTestPub" || d.FromDevice == "mqttTestSub") {
		return d, newError("device.error.sim_base_topics")
	}
	if err := d.Validate(); err != nil {
		return d, err
	}
	return d, nil
}

// checkTopic says in the window's words what config.Device.Validate would
// refuse in a topic, naming its field.
func checkTopic(field, topic string) error {
	switch {
	case topic == "":
		return newError("device.error.topic_empty", args{"Field": field})
	case strings.ContainsAny(topic, "+#"):
		return newError("device.error.topic_wildcard", args{"Field": field})
	case strings.ContainsRune(topic, 0):
		return newError("device.error.topic_nul", args{"Field": field})
	case len(topic) > 65535:
		return newError("device.error.topic_long", args{"Field": field})
	}
	return nil
}

func (f *deviceForm) submit() {
	d, err := f.device()
	if err == nil && f.onSave != nil {
		err = f.onSave(d)
	}
	f.err = err
	if err != nil {
		f.errText.SetText(errorWithDetail(err))
		f.errText.Show()
		return
	}
	f.errText.Hide()
	if f.onClose != nil {
		f.onClose()
	}
}
