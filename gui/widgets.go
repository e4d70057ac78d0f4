package gui

import (
	"fmt"
	"time"

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

// humanBytes writes a byte count as the codec does: KB and MB of 1000.
func humanBytes(n int) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d bytes", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f KB", float64(n)/1000)
	default:
		return fmt.Sprintf("%.2f MB", float64(n)/1e6)
	}
}

// humanRate writes bytes per second.
func humanRate(bps float64) string {
	if bps <= 0 {
		return "–"
	}
	return humanBytes(int(bps)) + "/s"
}

// humanDuration rounds a duration for people: 850 ms, 3.4 s, 2 min 5 s.
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	default:
		d = d.Round(time.Second)
		return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
	}
}
