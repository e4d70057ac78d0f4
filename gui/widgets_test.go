package gui

import (
	"fmt"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// innerPaddingTheme is the default theme with another inner padding.
type innerPaddingTheme struct {
	fyne.Theme
	pad float32
}

func (t innerPaddingTheme) Size(n fyne.ThemeSizeName) float32 {
	if n == theme.SizeNameInnerPadding {
		return t.pad
	}
	return t.Theme.Size(n)
}

// A label insets its text by the inner padding: in a tightVBox the lines
// of text are one inner padding apart, with half of one above the first
// and below the last, whatever the theme's padding.
func TestTightVBoxFollowsTheThemesInnerPadding(t *testing.T) {
	for _, pad := range []float32{theme.DefaultTheme().Size(theme.SizeNameInnerPadding), 2, 20} {
		t.Run(fmt.Sprint(pad), func(t *testing.T) {
			a := test.NewTempApp(t)
			a.Settings().SetTheme(innerPaddingTheme{theme.DefaultTheme(), pad})
			name := widget.NewLabelWithStyle("Bench 3", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
			topics, state := widget.NewLabel("to lab/in · from lab/out"), widget.NewLabel("idle")
			topics.SizeName, state.SizeName = theme.SizeNameCaptionText, theme.SizeNameCaptionText
			labels := []*widget.Label{name, topics, state}
			box := container.New(&tightVBox{}, name, topics, state)
			box.Resize(box.MinSize())

			// Where each label's text is, in the box.
			top := func(l *widget.Label) float32 { return l.Position().Y + pad }
			bottom := func(l *widget.Label) float32 { return l.Position().Y + l.Size().Height - pad }
			if got := top(labels[0]); got != pad/2 {
				t.Errorf("the first line starts %v below the top, want %v", got, pad/2)
			}
			for i := 1; i < len(labels); i++ {
				if gap := top(labels[i]) - bottom(labels[i-1]); gap != pad {
					t.Errorf("lines %d and %d are %v apart, want %v", i, i+1, gap, pad)
				}
			}
			if got := box.MinSize().Height - bottom(labels[2]); got != pad/2 {
				t.Errorf("the last line ends %v above the bottom, want %v", got, pad/2)
			}
		})
	}
}
