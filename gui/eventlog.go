package gui

import (
	"io"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// eventLog shows a transfer's last logLimit events: frame sent, ack, retry,
// NAK. Older lines are dropped, so a long transfer never slows the window.
type eventLog struct {
	g       *GUI
	lines   []logLine
	dropped int
	list    *widget.List
	follow  *widget.Check // keep the newest line in view; off to read back
	file    string
	box     fyne.CanvasObject
}

func newEventLog(g *GUI, file string) *eventLog {
	l := &eventLog{g: g, file: file}
	l.list = widget.NewList(
		func() int { return len(l.lines) },
		func() fyne.CanvasObject {
			t := widget.NewLabel("")
			t.SizeName = theme.SizeNameCaptionText
			t.TextStyle.Monospace = true
			t.Truncation = fyne.TextTruncateEllipsis
			return t
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id < len(l.lines) {
				o.(*widget.Label).SetText(l.lines[id].shown())
			}
		},
	)
	l.list.HideSeparators = true
	size := canvas.NewRectangle(nil)
	size.SetMinSize(fyne.NewSize(200, 160))
	copyBtn := widget.NewButtonWithIcon(tr("log.copy"), theme.ContentCopyIcon(), func() {
		g.app.Clipboard().SetContent(l.text())
	})
	save := widget.NewButtonWithIcon(tr("log.save"), theme.DocumentSaveIcon(), l.export)
	l.follow = widget.NewCheck(tr("log.follow"), nil)
	l.follow.Checked = true // before OnChanged: the list is not drawn yet
	l.follow.OnChanged = func(on bool) {
		if on {
			l.list.ScrollToBottom()
		}
	}
	l.box = container.NewBorder(nil, container.NewHBox(copyBtn, save, l.follow), nil, nil, container.NewStack(size, l.list))
	return l
}

func (l *eventLog) object() fyne.CanvasObject { return l.box }

func (l *eventLog) append(lines []logLine, dropped int) {
	if len(lines) == 0 && dropped == 0 {
		return
	}
	l.dropped += dropped
	l.lines = append(l.lines, lines...)
	if over := len(l.lines) - logLimit; over > 0 {
		l.lines = append([]logLine(nil), l.lines[over:]...)
		l.dropped += over
	}
	l.list.Refresh()
	if l.follow.Checked {
		l.list.ScrollToBottom()
	}
}

// text is the log as Copy and Save… give it: in English, with the lower
// layers' own error text (see logLine).
func (l *eventLog) text() string {
	var b strings.Builder
	if l.dropped > 0 {
		b.WriteString(english.n("log.dropped", l.dropped) + "\n")
	}
	for _, s := range l.lines {
		b.WriteString(s.exported())
		b.WriteByte('\n')
	}
	return b.String()
}

func (l *eventLog) export() {
	text := l.text()
	l.g.saveFile(l.file, func(w io.Writer) error {
		_, err := io.WriteString(w, text)
		return err
	})
}

// saveFile asks where to save name and writes it with write; a failure is
// shown, a cancelled dialog does nothing.
func (g *GUI) saveFile(name string, write func(io.Writer) error) {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil {
			g.showError(err)
			return
		}
		if w == nil {
			return
		}
		err = write(w)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			g.showError(err)
		}
	}, g.win)
	d.SetFileName(name)
	d.Show()
}
