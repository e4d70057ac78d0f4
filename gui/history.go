package gui

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"imagebeam/codec"
	"imagebeam/config"
	"imagebeam/internal/atomicfile"
	"imagebeam/internal/human"
	"imagebeam/transfer"
)

// History bounds: the oldest entries go first when either is exceeded.
const (
	historyMaxEntries = 300
	historyMaxBytes   = 200 << 20 // stored images, each kept once
)

// historyEntry is one recorded transfer.
type historyEntry struct {
	ID     string         `json:"id"`
	Time   time.Time      `json:"time"`
	Device string         `json:"device"`
	Source string         `json:"source"`
	Bytes  int            `json:"bytes"`
	SHA256 string         `json:"sha256"`
	Result transfer.Phase `json:"result"`          // done, failed or cancelled
	Error  string         `json:"error,omitempty"` // in English, as the logs write it
	// Reason is the translation key of Error's sentence, so that the
	// History tab says it in the window's language ("" before 0.2.0).
	Reason      string    `json:"reason,omitempty"`
	DurationMs  float64   `json:"duration_ms"`
	Retries     int       `json:"retries"`
	Throughput  float64   `json:"throughput"`
	RTTMedianMs float64   `json:"rtt_median_ms"`
	LastSeen    time.Time `json:"last_seen,omitzero"` // the device's last answer
	Resend      bool      `json:"resend,omitempty"`
}

func (e *historyEntry) fill(t transfer.Tally) {
	e.Result = t.Phase
	if t.Err != nil {
		e.Error = t.Err.Error()
		e.Reason = errorKey(t.Err)
	}
	e.DurationMs = t.Stats.DurationMs
	e.Retries = t.Stats.Retransmits
	e.Throughput = t.Stats.Throughput
	e.RTTMedianMs = t.Stats.RTTMedianMs
	e.LastSeen = t.LastSeen
}

// historyStore keeps the history under its folder: history.json, the exact
// bytes sent (images/<sha256>.jpg) and thumbnails. It is safe for
// concurrent use: transfers record from their consumer goroutines.
type historyStore struct {
	mu      sync.Mutex
	dir     string
	entries []historyEntry // oldest first
	seq     int
	err     error // the last failure to read or write, shown in the tab
}

func openHistory(dir string) *historyStore {
	h := &historyStore{dir: dir}
	b, err := os.ReadFile(filepath.Join(dir, "history.json"))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		h.err = err
	default:
		if err := json.Unmarshal(b, &h.entries); err != nil {
			h.err = wrapError("history.error.damaged", args{"Path": filepath.Join(dir, "history.json")}, err)
			h.entries = nil
		}
	}
	h.seq = len(h.entries)
	return h
}

func (h *historyStore) imagePath(sha string) string {
	return filepath.Join(h.dir, "images", sha+".jpg")
}

func (h *historyStore) thumbPath(sha string) string {
	return filepath.Join(h.dir, "thumbs", sha+".jpg")
}

// add records e with the image bytes that were sent.
func (h *historyStore) add(e historyEntry, image []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	e.ID = fmt.Sprintf("%d-%d", e.Time.UnixNano(), h.seq)
	if err := h.writeImage(e.SHA256, image); err != nil {
		h.err = err
	}
	h.entries = append(h.entries, e)
	h.prune()
	if err := h.save(); err != nil {
		h.err = err
	}
}

func (h *historyStore) writeImage(sha string, image []byte) error {
	p := h.imagePath(sha)
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	for _, d := range []string{"images", "thumbs"} {
		if err := os.MkdirAll(filepath.Join(h.dir, d), 0o700); err != nil {
			return err
		}
	}
	if err := atomicfile.Write(p, image, 0o600); err != nil {
		return err
	}
	if thumb := makeThumb(image); thumb != nil {
		_ = atomicfile.Write(h.thumbPath(sha), thumb, 0o600)
	}
	return nil
}

// makeThumb is a thumbSide-pixel JPEG of the image for the history list.
func makeThumb(data []byte) []byte {
	ctx := context.Background()
	im, err := codec.LoadBytes(ctx, data, codec.LoadOptions{Target: &codec.Options{Width: thumbSide, Height: thumbSide}, Budget: imageBudget})
	if err != nil {
		return nil
	}
	o := codec.Options{Width: thumbSide, Quality: 70, Reencode: true}
	if info := im.Info(); info.Height > info.Width {
		o = codec.Options{Height: thumbSide, Quality: 70, Reencode: true}
	}
	r, err := im.Encode(ctx, o)
	if err != nil {
		return nil
	}
	return r.JPEG
}

// prune drops the oldest entries beyond the bounds and the images no entry uses.
func (h *historyStore) prune() {
	for {
		used := map[string]int{}
		total := 0
		for _, e := range h.entries {
			if _, ok := used[e.SHA256]; !ok {
				used[e.SHA256] = e.Bytes
				total += e.Bytes
			}
		}
		if len(h.entries) <= historyMaxEntries && total <= historyMaxBytes || len(h.entries) <= 1 {
			break
		}
		old := h.entries[0]
		h.entries = h.entries[1:]
		if !h.uses(old.SHA256) {
			os.Remove(h.imagePath(old.SHA256))
			os.Remove(h.thumbPath(old.SHA256))
		}
	}
}

func (h *historyStore) uses(sha string) bool {
	for _, e := range h.entries {
		if e.SHA256 == sha {
			return true
		}
	}
	return false
}

func (h *historyStore) save() error {
	if err := os.MkdirAll(h.dir, 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(h.entries, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(h.dir, "history.json"), b, 0o600)
}

// list returns the entries, newest first.
func (h *historyStore) list() []historyEntry {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]historyEntry, len(h.entries))
	for i, e := range h.entries {
		out[len(out)-1-i] = e
	}
	return out
}

func (h *historyStore) problem() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// image returns the exact bytes an entry sent.
func (h *historyStore) image(sha string) ([]byte, error) {
	b, err := os.ReadFile(h.imagePath(sha))
	if err != nil {
		return nil, wrapError("history.error.image_gone", nil, err)
	}
	return b, nil
}

// writeCSV exports the history, newest first.
func writeCSV(w io.Writer, entries []historyEntry) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"time", "device", "source", "bytes", "sha256", "result", "error", "duration_ms", "retries", "throughput_bytes_per_s", "rtt_median_ms", "resend"})
	for _, e := range entries {
		_ = cw.Write([]string{
			e.Time.Format(time.RFC3339), e.Device, e.Source, strconv.Itoa(e.Bytes), e.SHA256, string(e.Result), e.Error,
			strconv.FormatFloat(e.DurationMs, 'f', 1, 64), strconv.Itoa(e.Retries),
			strconv.FormatFloat(e.Throughput, 'f', 0, 64), strconv.FormatFloat(e.RTTMedianMs, 'f', 2, 64),
			strconv.FormatBool(e.Resend),
		})
	}
	cw.Flush()
	return cw.Error()
}

// historyView is the History tab.
type historyView struct {
	g       *GUI
	store   *historyStore
	entries []historyEntry // newest first, as shown
	thumbs  *thumbCache
	list    *widget.List
	note    *widget.Label
	box     fyne.CanvasObject
}

func newHistoryView(g *GUI, dir string) *historyView {
	h := &historyView{g: g, store: openHistory(dir)}
	h.thumbs = newThumbCache(g.ctx, g.do, h.thumbReady)
	h.list = widget.NewList(func() int { return len(h.entries) }, h.createRow, h.updateRow)
	h.note = widget.NewLabel("")
	h.note.Wrapping = fyne.TextWrapWord
	h.note.Importance = widget.LowImportance
	export := widget.NewButtonWithIcon(tr("history.export"), theme.DocumentSaveIcon(), h.exportCSV)
	h.box = container.NewBorder(container.NewBorder(nil, nil, nil, export, h.note), nil, nil, nil, h.list)
	h.refresh()
	return h
}

func (h *historyView) object() fyne.CanvasObject { return h.box }

// refresh reloads the entries, and forgets the thumbnails of the images
// the history no longer lists.
func (h *historyView) refresh() {
	h.entries = h.store.list()
	listed := make(map[string]bool, len(h.entries))
	for _, e := range h.entries {
		listed[e.SHA256] = true
	}
	h.thumbs.keep(listed)
	switch err := h.store.problem(); {
	case err != nil:
		h.note.SetText(tr("history.problem", args{"Problem": errorWithDetail(err)}))
		h.note.Importance = widget.WarningImportance
	case len(h.entries) == 0:
		h.note.SetText(tr("history.empty"))
	default:
		h.note.SetText(trn("history.count", len(h.entries)))
	}
	h.note.Refresh()
	h.list.Refresh()
}

// learnDevices fills the devices' last-seen, round trip and last image
// from the history, oldest first, at startup.
func (h *historyView) learnDevices() {
	for i := len(h.entries) - 1; i >= 0; i-- {
		e := h.entries[i]
		st := h.g.devices.statusOf(e.Device)
		if !e.LastSeen.IsZero() {
			st.lastSeen = e.LastSeen
		}
		if e.RTTMedianMs > 0 {
			st.rtt = time.Duration(e.RTTMedianMs * float64(time.Millisecond))
		}
		if e.Result == "done" {
			st.lastOKSHA = e.SHA256
			st.state = devOK
		} else {
			st.state = devFailed
		}
	}
}

// historyRow is one recorded transfer in the History tab: the image's
// thumbnail, a line saying when, where and how it went, a line of
// details, and the buttons that send it again.
type historyRow struct {
	widget.BaseWidget
	thumb   *canvas.Image
	title   *widget.Label
	details *widget.Label
	resend  *widget.Button
	sendTo  *widget.Button
	body    fyne.CanvasObject
}

func newHistoryRow() *historyRow {
	r := &historyRow{thumb: canvas.NewImageFromImage(nil)}
	r.thumb.FillMode = canvas.ImageFillContain
	r.thumb.SetMinSize(fyne.NewSquareSize(48))
	r.title = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	r.title.Truncation = fyne.TextTruncateEllipsis
	r.details = captionLabel()
	r.resend = widget.NewButtonWithIcon(tr("transfer.resend"), theme.MediaReplayIcon(), nil)
	r.sendTo = widget.NewButton(tr("history.send_to"), nil)
	text := container.New(&tightVBox{}, r.title, r.details)
	r.body = container.NewBorder(nil, nil, r.thumb, nil, container.NewVBox(text, container.NewHBox(r.resend, r.sendTo)))
	r.ExtendBaseWidget(r)
	return r
}

// CreateRenderer is fyne.Widget's: the row draws its body.
func (r *historyRow) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(r.body) }

func (h *historyView) createRow() fyne.CanvasObject { return newHistoryRow() }

func (h *historyView) updateRow(id widget.ListItemID, o fyne.CanvasObject) {
	if id >= len(h.entries) {
		return
	}
	e := h.entries[id]
	r := o.(*historyRow)
	result := map[transfer.Phase]string{transfer.PhaseDone: tr("history.result.done"), transfer.PhaseFailed: tr("history.result.failed"),
		transfer.PhaseCancelled: tr("history.result.cancelled")}[e.Result]
	r.title.SetText(tr("history.row.title", args{"Time": ago(e.Time), "Device": e.Device, "Result": result}))
	r.title.Importance = map[transfer.Phase]widget.Importance{transfer.PhaseDone: widget.SuccessImportance, transfer.PhaseFailed: widget.DangerImportance, transfer.PhaseCancelled: widget.WarningImportance}[e.Result]
	r.title.Refresh()
	details := []string{sizeText(int64(e.Bytes)), human.Duration(time.Duration(e.DurationMs * float64(time.Millisecond))), trn("history.row.retries", e.Retries)}
	if src := sourceName(e.Source); src != "" {
		details = append(details, src)
	}
	if why := e.reasonText(); why != "" {
		details = append(details, why)
	}
	r.details.SetText(strings.Join(details, " · "))
	path := h.store.thumbPath(e.SHA256)
	r.thumb.Image = h.thumbs.get(e.SHA256, func() image.Image { return readThumb(path) }) // nil until it is read; thumbReady redraws the row
	r.thumb.Refresh()
	r.resend.OnTapped = func() { h.resend(e, "") }
	r.sendTo.OnTapped = func() { h.showSendTo(e) }
}

// reasonText is why the transfer did not end well, in the window's
// language when the entry names a sentence it has; entries written before
// 0.2.0 keep their English.
func (e *historyEntry) reasonText() string {
	if e.Reason != "" && hasKey(e.Reason) {
		return tr(e.Reason)
	}
	return errorDetail(errors.New(e.Error))
}

// thumbReady redraws the rows that show the image sha, whose thumbnail
// has been read.
func (h *historyView) thumbReady(sha string) {
	for id, e := range h.entries {
		if e.SHA256 == sha {
			h.list.RefreshItem(id)
		}
	}
}

// resend sends an entry's exact bytes again, to its own device or to
// device. The stored image is read off the UI goroutine; the transfer
// starts, or the error shows, when it has been read.
func (h *historyView) resend(e historyEntry, device string) {
	if device == "" {
		device = e.Device
	}
	d, ok := h.g.settings.Device(device)
	if !ok {
		h.g.showError(newError("history.error.no_device", args{"Device": device}))
		return
	}
	store, ctx := h.store, h.g.ctx
	go func() {
		data, err := store.image(e.SHA256)
		if ctx.Err() != nil {
			return // the window is closing: start nothing
		}
		h.g.do(func() {
			switch {
			case ctx.Err() != nil:
			case err != nil:
				h.g.showError(err)
			default:
				h.g.startTransfer(d, data, e.Source, true)
			}
		})
	}()
}

// resendLast resends the last image sent to d.
func (h *historyView) resendLast(d config.Device) {
	for _, e := range h.entries {
		if e.Device == d.Name {
			h.resend(e, "")
			return
		}
	}
	h.g.showError(newError("history.error.nothing_sent", args{"Device": d.Name}))
}

func (h *historyView) showSendTo(e historyEntry) {
	var names []string
	for _, d := range h.g.settings.Devices {
		names = append(names, d.Name)
	}
	sel := newSelect(names, nil)
	if len(names) > 0 {
		sel.SetSelectedIndex(0)
	}
	dialog.ShowCustomConfirm(tr("history.send_to.title"), tr("send.button"), tr("button.cancel"), sel, func(ok bool) {
		if ok && sel.Selected != "" {
			h.resend(e, sel.Selected)
		}
	}, h.g.win)
}

func (h *historyView) exportCSV() {
	entries := h.entries
	h.g.saveFile("imagebeam-history.csv", func(w io.Writer) error { return writeCSV(w, entries) })
}
