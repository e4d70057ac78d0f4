package gui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// tightVBox stacks labels vertically without padding between them: a
// device row's three lines read as one item. A label insets its text by
// the theme's inner padding on every side; tightVBox lets neighbours
// overlap by half of each inset, so the lines of text stay one inner
// padding apart and the stack keeps half an inset above and below,
// whatever padding the theme has.
type tightVBox struct{}

// overlap is how much of o's height the stack takes back: half of its
// inner padding at its top and half at its bottom.
func (tightVBox) overlap(o fyne.CanvasObject) float32 {
	if w, ok := o.(fyne.Widget); ok {
		return theme.SizeForWidget(theme.SizeNameInnerPadding, w)
	}
	return theme.InnerPadding()
}

func (t tightVBox) MinSize(objects []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objects {
		if !o.Visible() {
			continue
		}
		m := o.MinSize()
		s.Width = max(s.Width, m.Width)
		s.Height += m.Height - t.overlap(o)
	}
	return s
}

func (t tightVBox) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	y := float32(0)
	for _, o := range objects {
		if !o.Visible() {
			continue
		}
		h, trim := o.MinSize().Height, t.overlap(o)
		o.Move(fyne.NewPos(0, y-trim/2))
		o.Resize(fyne.NewSize(size.Width, h))
		y += h - trim
	}
}

func layoutSpacer() fyne.CanvasObject { return layout.NewSpacer() }

// newEntry is an entry holding text, showing hint while it is empty.
func newEntry(text, hint string) *widget.Entry {
	e := widget.NewEntry()
	e.SetText(text)
	e.SetPlaceHolder(hint)
	return e
}

// newSelect is a Select of options that says "(Select one)" in the
// window's language while none is chosen: Fyne's own placeholder is a
// constant in English.
func newSelect(options []string, changed func(string)) *widget.Select {
	s := widget.NewSelect(options, changed)
	s.PlaceHolder = tr("select.placeholder")
	return s
}
