package gui

import (
	"fmt"
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
		g.preview.deviceChanged()
	}
	l.list.OnUnselected = func(widget.ListItemID) {
		l.selected = -1
		l.updateButtons()
	}
	add := widget.NewButtonWithIcon("Add", theme.ContentAddIcon(), func() { l.showForm(-1, false) })
	l.edit = widget.NewButtonWithIcon("Edit", theme.DocumentCreateIcon(), func() { l.showForm(l.selected, false) })
	l.dup = widget.NewButtonWithIcon("Duplicate", theme.ContentCopyIcon(), func() { l.showForm(l.selected, true) })
	l.del = widget.NewButtonWithIcon("Delete", theme.DeleteIcon(), l.confirmDelete)
	l.resend = widget.NewButtonWithIcon("Resend last", theme.MediaReplayIcon(), func() {
		if d, ok := l.selectedDevice(); ok {
			g.history.resendLast(d)
		}
	})
	title := widget.NewLabelWithStyle("Devices", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	hint := widget.NewLabel("Tick the devices to send to.")
	hint.Importance = widget.LowImportance
	buttons := container.NewGridWithColumns(2, add, l.edit, l.dup, l.del)
	l.box = container.NewBorder(container.NewVBox(title, hint), container.NewVBox(buttons, l.resend), nil, nil, l.list)
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
// topics and state.
type deviceRow struct {
	widget.BaseWidget
	check  *widget.Check
	dot    *canvas.Circle
	name   *widget.Label
	topics *widget.Label
	state  *widget.Label
	body   fyne.CanvasObject
}

func newDeviceRow() *deviceRow {
	r := &deviceRow{check: widget.NewCheck("", nil), dot: newDot()}
	r.name = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	r.name.Truncation = fyne.TextTruncateEllipsis
	r.topics = captionLabel()
	r.state = captionLabel()
	text := container.New(&tightVBox{}, r.name, r.topics, r.state)
	r.body = container.NewBorder(nil, nil, container.NewHBox(r.check, dotBox(r.dot)), nil, text)
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
		l.g.preview.targetsChanged()
	}
	r.name.SetText(d.Name)
	r.topics.SetText("to " + d.ToDevice + " · from " + d.FromDevice)
	words, col := l.describe(d, l.statusOf(d.Name))
	r.state.SetText(words)
	r.dot.FillColor = theme.Color(col)
	r.dot.Refresh()
}

func (l *deviceList) describe(d config.Device, st *devStatus) (string, fyne.ThemeColorName) {
	var words string
	col := theme.ColorNameDisabled
	switch st.state {
	case devSending:
		words, col = "sending…", theme.ColorNamePrimary
	case devWaiting:
		words, col = "waiting for the device", theme.ColorNameWarning
	case devOK:
		words, col = "last send OK", theme.ColorNameSuccess
	case devFailed:
		words, col = "last send failed", theme.ColorNameError
	default:
		words = "idle"
	}
	if !st.lastSeen.IsZero() {
		words += " · seen " + ago(st.lastSeen)
	}
	if d.Simulated {
		switch {
		case l.g.backend == nil:
		case l.g.backend.simErr != "":
			words = "simulator " + l.g.backend.simErr
			col = theme.ColorNameError
		default:
			words = "simulated by ImageBeam · " + words
		}
	}
	return words, col
}

// ago says when t was, briefly: "14:03:12" today, else the date.
func ago(t time.Time) string {
	if time.Since(t) < 24*time.Hour {
		return t.Format("15:04:05")
	}
	return t.Format("2 Jan 15:04")
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
	msg := fmt.Sprintf("Delete the device %q? Its history stays.", d.Name)
	if d.Simulated {
		msg = "Delete the simulated device? This turns the simulator off. Add a device with the topics imagebeam/sim/to-device and imagebeam/sim/from-device and tick \"Simulated\" to bring it back."
	}
	dialog.ShowConfirm("Delete device", msg, func(yes bool) {
		if yes {
			l.deleteDevice(l.selected)
		}
	}, l.g.win)
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
			return fmt.Errorf("another device is already named %q; names must be unique", o.Name)
		}
	}
	if d.Simulated {
		for j, o := range s.Devices {
			if j != i && o.Simulated {
				return fmt.Errorf("%q is already the simulated device; there is only one simulator", o.Name)
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
	title := "Add device"
	switch {
	case i < 0:
		d = config.DefaultDevice()
		d.Name = l.freeName("New device")
	case dup:
		d = l.g.settings.Devices[i]
		d.Name = l.freeName(d.Name + " copy")
		d.Simulated = false
		title = "Duplicate device"
		i = -1
	default:
		d = l.g.settings.Devices[i]
		title = "Edit device"
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
	save, cancel                   *widget.Button
	orig                           config.Device
	onSave                         func(config.Device) error
	onClose                        func()
	box                            fyne.CanvasObject
}

var (
	qosOptions    = []string{"0", "1", "2"}
	fitOptions    = []string{string(codec.FitContain), string(codec.FitCover), string(codec.FitStretch), string(codec.FitNone)}
	rotateOptions = []string{rotationLabel(0), rotationLabel(90), rotationLabel(180), rotationLabel(270)}
)

// rotationLabel is how the window writes a clockwise rotation, "90°": any
// multiple of 90, negative or beyond a turn, as 0, 90, 180 or 270.
func rotationLabel(deg int) string { return strconv.Itoa(((deg%360)+360)%360) + "°" }

// parseRotation reads a rotationLabel back.
func parseRotation(s string) (int, error) {
	n, ok := strings.CutSuffix(s, "°")
	deg, err := strconv.Atoi(n)
	if !ok || err != nil {
		return 0, fmt.Errorf("%q is not a rotation such as 90°", s)
	}
	return deg, nil
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
	f.to = newEntry(d.ToDevice, "e.g. mqttTestPub")
	f.from = newEntry(d.FromDevice, "e.g. mqttTestSub")
	f.begin = newEntry(d.BeginName, "")
	f.chunk = num(d.Chunk, "")
	f.timeout = newEntry(time.Duration(d.Timeout).String(), "")
	f.retries = num(d.Retries, "")
	f.width = num(d.Image.Width, "0 = keep")
	f.height = num(d.Image.Height, "0 = keep")
	f.quality = num(d.Image.Quality, "")
	f.budget = num(d.Image.MaxBytes, "0 = no limit")
	f.adaptive = check("Adaptive (from measured round trips, at most the timeout)", d.Adaptive)
	f.gray = check("Grayscale", d.Image.Grayscale)
	f.upscale = check("Scale small images up", d.Image.Upscale)
	f.sim = check("Simulated: answered by ImageBeam on the built-in broker", d.Simulated)
	f.qos = widget.NewSelect(qosOptions, nil)
	f.qos.SetSelected(strconv.Itoa(d.QoS))
	f.fit = widget.NewSelect(fitOptions, nil)
	fit, _ := codec.ParseFit(d.Image.Fit)
	f.fit.SetSelected(string(fit))
	f.rotate = widget.NewSelect(rotateOptions, nil)
	f.rotate.SetSelected(rotationLabel(d.Image.Rotate))
	f.errText = widget.NewLabel("")
	f.errText.Importance = widget.DangerImportance
	f.errText.Wrapping = fyne.TextWrapWord
	f.errText.Hide()
	f.save = widget.NewButtonWithIcon("Save", theme.ConfirmIcon(), f.submit)
	f.save.Importance = widget.HighImportance
	f.cancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() {
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
		widget.NewFormItem("Name", f.name),
		widget.NewFormItem("To device", f.to),
		widget.NewFormItem("From device", f.from),
		widget.NewFormItem("BEGIN file name", f.begin),
		widget.NewFormItem("Chunk (bytes)", f.chunk),
		widget.NewFormItem("Timeout", f.timeout),
		widget.NewFormItem("", f.adaptive),
		widget.NewFormItem("Retries per frame", f.retries),
		widget.NewFormItem("QoS", f.qos),
		widget.NewFormItem("Width × height", container.NewGridWithColumns(2, f.width, f.height)),
		widget.NewFormItem("Fit", f.fit),
		widget.NewFormItem("JPEG quality", f.quality),
		widget.NewFormItem("Byte budget", f.budget),
		widget.NewFormItem("Rotation", f.rotate),
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
	d.Image.Fit = f.fit.Selected
	d.QoS, _ = strconv.Atoi(f.qos.Selected)
	d.Image.Rotate, _ = parseRotation(f.rotate.Selected) // "" (none chosen) is 0
	if d.Name == "" {
		return d, fmt.Errorf("give the device a name")
	}
	ints := []struct {
		what     string
		e        *widget.Entry
		dst      *int
		min, max int
	}{
		{"chunk", f.chunk, &d.Chunk, 1, transfer.MaxChunk},
		{"retries", f.retries, &d.Retries, 0, 1000},
		{"width", f.width, &d.Image.Width, 0, config.MaxDimension},
		{"height", f.height, &d.Image.Height, 0, config.MaxDimension},
		{"quality", f.quality, &d.Image.Quality, 1, 100},
		{"byte budget", f.budget, &d.Image.MaxBytes, 0, 1 << 30},
	}
	for _, n := range ints {
		v, err := strconv.Atoi(strings.TrimSpace(n.e.Text))
		if err != nil {
			return d, fmt.Errorf("%s must be a whole number, not %q", n.what, n.e.Text)
		}
		if v < n.min || v > n.max {
			return d, fmt.Errorf("%s must be between %d and %d, not %d", n.what, n.min, n.max, v)
		}
		*n.dst = v
	}
	t, err := time.ParseDuration(strings.TrimSpace(f.timeout.Text))
	if err != nil || t <= 0 {
		return d, fmt.Errorf("timeout must be a duration such as 5s or 250ms, not %q", f.timeout.Text)
	}
	d.Timeout = config.Duration(t)
	if d.Simulated && (d.ToDevice == "mqttTestPub" || d.FromDevice == "mqttTestSub") {
		return d, fmt.Errorf("the simulated device must not use the real BASE's topics (mqttTestPub/mqttTestSub), or it could answer frames meant for hardware")
	}
	if err := d.Validate(); err != nil {
		return d, err
	}
	return d, nil
}

func (f *deviceForm) submit() {
	d, err := f.device()
	if err == nil && f.onSave != nil {
		err = f.onSave(d)
	}
	if err != nil {
		f.errText.SetText(plainError(err))
		f.errText.Show()
		return
	}
	f.errText.Hide()
	if f.onClose != nil {
		f.onClose()
	}
}

// plainError drops the package prefixes ("config: unusable settings: ")
// that help a developer but read oddly in a dialog.
func plainError(err error) string {
	s := err.Error()
	for _, p := range []string{"config: unusable settings: ", "transfer: invalid settings: ", "config: ", "transfer: ", "codec: ", "broker: "} {
		s = strings.ReplaceAll(s, p, "")
	}
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}
