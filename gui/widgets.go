package gui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/layout"
)

// tightVBox stacks objects vertically without padding: a device row's
// three lines read as one item.
type tightVBox struct{}

func (tightVBox) MinSize(objects []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objects {
		if !o.Visible() {
			continue
		}
		m := o.MinSize()
		s.Width = max(s.Width, m.Width)
		s.Height += m.Height - 8
	}
	return s
}

func (tightVBox) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	y := float32(0)
	for _, o := range objects {
		if !o.Visible() {
			continue
		}
		h := o.MinSize().Height
		o.Move(fyne.NewPos(0, y-4))
		o.Resize(fyne.NewSize(size.Width, h))
		y += h - 8
	}
}

func layoutSpacer() fyne.CanvasObject { return layout.NewSpacer() }
