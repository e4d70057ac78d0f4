package gui

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"imagebeam/codec"
	"imagebeam/config"
	"imagebeam/internal/human"
)

// preview is the middle of the window: the queue, the source image and the
// JPEG the device will get, their numbers, this send's image settings and
// the Send button.
type preview struct {
	g *GUI

	img    *codec.Image // the loaded image, decoded once
	source string
	result *codec.Result // what the preview device gets with the current settings
	opts   codec.Options // the options result was made with

	loadGen   int // the newest load; older ones are dropped when they finish
	encodeGen int
	debounce  *time.Timer

	queue []string
	qi    int

	url        *widget.Entry
	srcImage   *canvas.Image
	outImage   *canvas.Image
	srcInfo    *widget.Label
	outInfo    *widget.Label
	estimate   *widget.Label
	errText    *widget.Label
	spinner    *widget.Activity
	busy       *widget.Label
	quality    *widget.Slider
	qualityVal *widget.Label
	fit        *widget.Select
	rotate     *widget.Select
	gray       *widget.Check
	send       *widget.Button
	queueSel   *widget.Select
	queueNext  *widget.Button
	queueRow   fyne.CanvasObject
	empty      fyne.CanvasObject
	images     fyne.CanvasObject
	box        fyne.CanvasObject
	resetting  bool
}

func newPreview(g *GUI) *preview {
	p := &preview{g: g}
	p.url = widget.NewEntry()
	p.url.SetPlaceHolder(tr("preview.url_hint"))
	p.url.OnSubmitted = func(string) { p.fetch() }
	p.images = p.newImages()
	p.empty = emptyHint()
	p.queueRow = p.newQueueRow()

	p.estimate = widget.NewLabel("")
	p.estimate.Wrapping = fyne.TextWrapWord
	p.errText = widget.NewLabel("")
	p.errText.Importance = widget.DangerImportance
	p.errText.Wrapping = fyne.TextWrapWord
	p.errText.Hide()
	p.spinner = widget.NewActivity()
	p.busy = widget.NewLabel("")
	p.busy.Hide()
	p.send = widget.NewButtonWithIcon(tr("send.button"), theme.MailSendIcon(), g.sendSelected)
	p.send.Importance = widget.HighImportance

	status := container.NewHBox(p.spinner, p.busy)
	bottom := container.NewVBox(p.errText, status, p.newControls(), p.estimate, p.send)
	p.box = container.NewBorder(p.queueRow, bottom, nil, nil, container.NewStack(p.empty, p.images))
	p.resetToDevice()
	p.updateSend()
	return p
}

// newImages makes the source and the device's image side by side, each
// with its numbers below; hidden until an image is loaded.
func (p *preview) newImages() fyne.CanvasObject {
	picture := func() *canvas.Image {
		img := canvas.NewImageFromImage(nil)
		img.FillMode = canvas.ImageFillContain
		img.SetMinSize(fyne.NewSize(160, 120))
		return img
	}
	numbers := func() *widget.Label {
		l := widget.NewLabel("")
		l.Wrapping = fyne.TextWrapWord
		return l
	}
	pane := func(title string, img *canvas.Image, info *widget.Label) fyne.CanvasObject {
		t := widget.NewLabelWithStyle(title, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		return container.NewBorder(t, info, nil, nil, img)
	}
	p.srcImage, p.srcInfo = picture(), numbers()
	p.outImage, p.outInfo = picture(), numbers()
	images := container.NewGridWithColumns(2,
		pane(tr("preview.source"), p.srcImage, p.srcInfo),
		pane(tr("preview.output"), p.outImage, p.outInfo))
	images.Hide()
	return images
}

// emptyHint is what the preview shows before the first image.
func emptyHint() fyne.CanvasObject {
	hint := widget.NewLabelWithStyle(tr("preview.empty"), fyne.TextAlignCenter, fyne.TextStyle{})
	hint.Wrapping = fyne.TextWrapWord
	icon := canvas.NewImageFromResource(theme.FileImageIcon())
	icon.FillMode = canvas.ImageFillContain
	icon.SetMinSize(fyne.NewSquareSize(64))
	// The hint spans the pane's width: inside a Center container a
	// wrapping label only gets its minimum width, one word a line.
	return container.NewVBox(layout.NewSpacer(), container.NewCenter(icon), hint, layout.NewSpacer())
}

// newQueueRow makes the queue's picker, Next and Clear; hidden while the
// queue holds one image or none.
func (p *preview) newQueueRow() fyne.CanvasObject {
	p.queueSel = newSelect(nil, func(s string) {
		for i, q := range p.queue {
			if queueLabel(i, q) == s && i != p.qi {
				p.qi = i
				p.load(q)
			}
		}
	})
	p.queueNext = widget.NewButtonWithIcon(tr("preview.queue.next"), theme.NavigateNextIcon(), p.next)
	clear := widget.NewButtonWithIcon("", theme.ContentClearIcon(), p.clearQueue)
	row := container.NewBorder(nil, nil, widget.NewLabel(tr("preview.queue")), container.NewHBox(p.queueNext, clear), p.queueSel)
	row.Hide()
	return row
}

// newControls makes this send's image settings: quality, grayscale, the
// reset to the device's own, fit and rotation. Each change re-encodes the
// preview.
func (p *preview) newControls() fyne.CanvasObject {
	p.quality = widget.NewSlider(1, 100)
	p.quality.Step = 1
	p.qualityVal = widget.NewLabel("")
	p.quality.OnChanged = func(v float64) {
		p.qualityVal.SetText(strconv.Itoa(int(v)))
		p.settingsChanged()
	}
	p.fit = newSelect(fitOptions(), func(string) { p.settingsChanged() })
	p.rotate = newSelect(rotateOptions, func(string) { p.settingsChanged() })
	p.gray = widget.NewCheck(tr("preview.grayscale"), func(bool) { p.settingsChanged() })
	reset := widget.NewButtonWithIcon("", theme.ViewRefreshIcon(), p.resetToDevice)
	return container.NewVBox(
		container.NewBorder(nil, nil, widget.NewLabel(tr("preview.quality")), container.NewHBox(p.qualityVal, p.gray, reset), p.quality),
		container.NewGridWithColumns(2,
			container.NewBorder(nil, nil, widget.NewLabel(tr("preview.fit")), nil, p.fit),
			container.NewBorder(nil, nil, widget.NewLabel(tr("preview.rotate")), nil, p.rotate)),
	)
}

func (p *preview) object() fyne.CanvasObject { return p.box }

func (p *preview) urlBar() fyne.CanvasObject {
	fetch := widget.NewButtonWithIcon(tr("preview.fetch"), theme.DownloadIcon(), p.fetch)
	return container.NewBorder(nil, nil, nil, fetch, p.url)
}

func queueLabel(i int, src string) string {
	return fmt.Sprintf("%d. %s", i+1, sourceName(src))
}

// enqueue adds sources to the queue and loads the first of them.
func (p *preview) enqueue(sources []string) {
	first := len(p.queue)
	p.queue = append(p.queue, sources...)
	p.qi = first
	p.refreshQueue()
	p.load(sources[0])
}

func (p *preview) refreshQueue() {
	labels := make([]string, len(p.queue))
	for i, q := range p.queue {
		labels[i] = queueLabel(i, q)
	}
	p.queueSel.SetOptions(labels)
	if p.qi < len(labels) {
		p.queueSel.SetSelectedIndex(p.qi)
	}
	if len(p.queue) > 1 {
		p.queueRow.Show()
	} else {
		p.queueRow.Hide()
	}
	if p.qi+1 < len(p.queue) {
		p.queueNext.Enable()
	} else {
		p.queueNext.Disable()
	}
}

func (p *preview) next() {
	if p.qi+1 < len(p.queue) {
		p.qi++
		p.refreshQueue()
		p.load(p.queue[p.qi])
	}
}

func (p *preview) clearQueue() {
	if p.qi < len(p.queue) {
		p.queue = []string{p.queue[p.qi]}
	} else {
		p.queue = nil
	}
	p.qi = 0
	p.refreshQueue()
}

func (p *preview) fetch() {
	src := strings.TrimSpace(p.url.Text)
	if src == "" {
		return
	}
	p.g.Open([]string{src})
}

func (p *preview) showOpenDialog() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			p.g.showError(err)
			return
		}
		if r == nil {
			return
		}
		u := r.URI()
		_ = r.Close()
		if parent, err := storage.Parent(u); err == nil {
			p.g.app.Preferences().SetString(prefLastFolder, parent.String())
		}
		p.g.OnDropped(fyne.Position{}, []fyne.URI{u})
	}, p.g.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".JPG", ".JPEG", ".PNG"}))
	if last := p.g.app.Preferences().StringWithFallback(prefLastFolder, ""); last != "" {
		if u, err := storage.ParseURI(last); err == nil {
			if l, err := storage.ListerForURI(u); err == nil {
				d.SetLocation(l)
			}
		}
	}
	d.Resize(fyne.NewSize(760, 520))
	d.Show()
}

// deviceOptions are the pipeline options for device d with this send's
// settings (quality, fit, rotation, grayscale) from the controls.
func (p *preview) deviceOptions(d config.Device) (codec.Options, error) {
	o, err := d.Options()
	if err != nil {
		return o, err
	}
	o.Quality = int(p.quality.Value)
	o.Fit = selectedFit(p.fit)
	o.Rotate, _ = parseRotation(p.rotate.Selected) // "" (none chosen) is 0
	o.Grayscale = p.gray.Checked
	return o, nil
}

func (p *preview) previewDevice() config.Device {
	if d, ok := p.g.devices.previewDevice(); ok {
		return d
	}
	return config.DefaultDevice()
}

// resetToDevice sets the controls to the preview device's defaults.
func (p *preview) resetToDevice() {
	d := p.previewDevice()
	p.resetting = true
	q := d.Image.Quality
	if q == 0 {
		q = codec.DefaultQuality
	}
	p.quality.SetValue(float64(q))
	p.qualityVal.SetText(strconv.Itoa(q))
	fit, _ := codec.ParseFit(d.Image.Fit)
	selectFit(p.fit, fit)
	p.rotate.SetSelected(rotationLabel(d.Image.Rotate))
	p.gray.SetChecked(d.Image.Grayscale)
	p.resetting = false
	p.settingsChanged()
}

// deviceChanged follows a new preview device: its defaults, its estimate.
func (p *preview) deviceChanged() {
	p.resetToDevice()
	p.updateSend()
}

func (p *preview) targetsChanged() { p.updateSend() }

func (p *preview) updateSend() {
	t := p.g.devices.targets()
	switch len(t) {
	case 0:
		p.send.SetText(tr("send.button.no_device"))
		p.send.Disable()
		return
	case 1:
		p.send.SetText(tr("send.button.one", args{"Device": t[0].Name}))
	default:
		p.send.SetText(trn("send.button.many", len(t)))
	}
	if p.img == nil {
		p.send.Disable()
	} else {
		p.send.Enable()
	}
}

// settingsChanged re-encodes the preview a moment after the last change,
// so dragging the quality slider does not queue a dozen encodes.
func (p *preview) settingsChanged() {
	if p.resetting || p.img == nil {
		return
	}
	p.encodeGen++
	if p.debounce != nil {
		p.debounce.Stop()
	}
	gen := p.encodeGen
	p.debounce = time.AfterFunc(120*time.Millisecond, func() {
		p.g.do(func() {
			if gen == p.encodeGen {
				p.encode()
			}
		})
	})
}

// imageBudget bounds the memory the window's image loads, previews and
// history thumbnails take at once. The window stays open for days beside
// the broker and the transfers, and takes whatever URL is pasted into it,
// so it gets serve's 1 GiB rather than the one-shot convert's 2 GiB.
var imageBudget = codec.NewBudget(1<<30, "")

// loaded is what a load or an encode hands back to the UI goroutine.
type loaded struct {
	img      *codec.Image
	source   string
	result   *codec.Result
	opts     codec.Options
	srcThumb image.Image
	outThumb image.Image
	err      error
}

// load decodes src off the UI goroutine; a failure keeps what was shown.
func (p *preview) load(src string) {
	p.loadGen++
	gen := p.loadGen
	p.setBusy(tr("preview.loading", args{"Source": sourceName(src)}))
	opts, err := p.deviceOptions(p.previewDevice())
	if err != nil {
		opts = codec.Options{}
	}
	ctx := p.g.ctx
	policy, _ := p.g.settings.Fetch.Policy(nil, nil) // checked when the settings were read
	go func() {
		out := loaded{source: src, opts: opts}
		lo := codec.LoadOptions{Target: &opts, Budget: imageBudget, FetchPolicy: &policy}
		out.img, out.err = codec.Load(ctx, src, lo)
		if out.err == nil {
			out.srcThumb = sourceThumb(ctx, out.img)
			out.result, out.err = out.img.Encode(ctx, opts)
		}
		if out.err == nil {
			out.outThumb, _ = jpeg.Decode(bytes.NewReader(out.result.JPEG))
		}
		p.g.do(func() {
			if gen != p.loadGen {
				return
			}
			p.setBusy("")
			if out.err != nil {
				p.showError(wrapError("preview.error.load", args{"Source": sourceName(src)}, out.err))
				return
			}
			p.img, p.source = out.img, out.source
			p.srcImage.Image = out.srcThumb
			p.srcImage.Refresh()
			p.apply(out)
			p.url.SetText("")
		})
	}()
}

// encode makes the JPEG for the current settings off the UI goroutine.
func (p *preview) encode() {
	d := p.previewDevice()
	opts, err := p.deviceOptions(d)
	if err != nil {
		p.showError(err)
		return
	}
	img, gen, ctx := p.img, p.encodeGen, p.g.ctx
	p.setBusy(tr("preview.updating"))
	go func() {
		out := loaded{opts: opts}
		out.result, out.err = img.Encode(ctx, opts)
		if out.err == nil {
			out.outThumb, _ = jpeg.Decode(bytes.NewReader(out.result.JPEG))
		}
		p.g.do(func() {
			if gen != p.encodeGen || img != p.img {
				return
			}
			p.setBusy("")
			if out.err != nil {
				p.showError(out.err)
				return
			}
			p.apply(out)
		})
	}()
}

// sourceThumb is the source image scaled to 640 pixels for the preview,
// rendered straight from the decoded image (no JPEG in between).
func sourceThumb(ctx context.Context, im *codec.Image) image.Image {
	o := codec.Options{Width: 640}
	if info := im.Info(); info.Height > info.Width {
		o = codec.Options{Height: 640}
	}
	img, err := im.Render(ctx, o)
	if err != nil {
		return nil
	}
	return img
}

func (p *preview) apply(out loaded) {
	p.errText.Hide()
	p.result, p.opts = out.result, out.opts
	p.outImage.Image = out.outThumb
	p.outImage.Refresh()
	r := out.result
	info := p.img.Info()
	p.srcInfo.SetText(tr("preview.source_info", args{"Source": sourceName(p.source), "Width": info.Width, "Height": info.Height,
		"Format": info.Format, "Size": sizeText(int64(info.Bytes))}))
	a := args{"Width": r.Width, "Height": r.Height, "Quality": r.Quality, "Size": sizeText(int64(r.Bytes)), "Chunk": r.ChunkSize}
	text := trn("preview.output_info.reencoded", r.Packets, a)
	if !r.Reencoded {
		text = trn("preview.output_info.as_is", r.Packets, a)
	}
	if notes := outputNotes(info, out.opts, r); len(notes) > 0 {
		text += "\n" + strings.Join(notes, tr("list.notes"))
	}
	p.outInfo.SetText(text)
	p.updateEstimate()
	p.empty.Hide()
	p.images.Show()
	p.updateSend()
	if p.g.onPreview != nil {
		p.g.onPreview()
	}
}

// updateEstimate guesses the send time from the device's last measured
// round trip: one round trip per frame, BEGIN and FINISH included.
func (p *preview) updateEstimate() {
	if p.result == nil {
		p.estimate.SetText("")
		return
	}
	d := p.previewDevice()
	st := p.g.devices.statusOf(d.Name)
	if st.rtt <= 0 {
		p.estimate.SetText(tr("preview.estimate.unknown", args{"Device": d.Name}))
		return
	}
	est := time.Duration(p.result.Packets+2) * st.rtt
	p.estimate.SetText(trn("preview.estimate", p.result.Packets+2, args{"Device": d.Name,
		"Duration": human.Duration(est), "RTT": human.Duration(st.rtt)}))
}

// outputNotes say what the pipeline did to the image that the user may
// not expect, in the window's words (codec's own Notes are English).
func outputNotes(info codec.Info, o codec.Options, r *codec.Result) []string {
	var notes []string
	if info.Animated {
		notes = append(notes, tr("preview.note.animated"))
	}
	if !r.Reencoded {
		return append(notes, tr("preview.note.as_is"))
	}
	if info.Orientation > 1 {
		notes = append(notes, tr("preview.note.orientation", args{"Orientation": info.Orientation}))
	}
	if o.Rotate != 0 {
		notes = append(notes, tr("preview.note.rotated", args{"Degrees": rotationLabel(o.Rotate)}))
	}
	if info.Transparent {
		notes = append(notes, tr("preview.note.transparency"))
	}
	switch {
	case r.Shrunk:
		notes = append(notes, tr("preview.note.shrunk", args{"Width": r.Width, "Height": r.Height, "Budget": sizeText(int64(o.MaxBytes))}))
	case o.MaxBytes > 0 && o.Quality > 0 && r.Quality < o.Quality:
		notes = append(notes, tr("preview.note.quality_lowered", args{"From": o.Quality, "To": r.Quality, "Budget": sizeText(int64(o.MaxBytes))}))
	}
	if !o.Upscale && !r.Shrunk && o.Fit != codec.FitNone && (o.Width > 0 || o.Height > 0) &&
		(o.Width == 0 || r.Width < o.Width) && (o.Height == 0 || r.Height < o.Height) {
		notes = append(notes, tr("preview.note.not_upscaled", args{"Width": r.Width, "Height": r.Height}))
	}
	if info.Format == codec.FormatJPEG && !info.Baseline {
		notes = append(notes, tr("preview.note.not_baseline"))
	}
	return notes
}

// showError shows why a load or an encode failed, and keeps what was shown.
func (p *preview) showError(err error) {
	p.setBusy("")
	p.errText.SetText(errorWithDetail(err))
	p.errText.Show()
	if p.g.onLoadError != nil {
		p.g.onLoadError(err)
	}
}

func (p *preview) setBusy(what string) {
	if what == "" {
		p.spinner.Stop()
		p.spinner.Hide()
		p.busy.Hide()
		return
	}
	p.busy.SetText(what)
	p.busy.Show()
	p.spinner.Show()
	p.spinner.Start()
}
