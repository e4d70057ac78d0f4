package gui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"imagebeam/config"
)

func TestRotationLabelsReadBack(t *testing.T) {
	for _, c := range []struct {
		deg  int
		text string
		back int
	}{
		{0, "0°", 0}, {90, "90°", 90}, {180, "180°", 180}, {270, "270°", 270},
		{-90, "270°", 270}, {450, "90°", 90}, {-360, "0°", 0},
	} {
		text := rotationLabel(c.deg)
		back, ok := parseRotation(text)
		if text != c.text || !ok || back != c.back {
			t.Errorf("%d° is written %q and read back as %d (%v), want %q and %d", c.deg, text, back, ok, c.text, c.back)
		}
	}
	for i, o := range rotateOptions {
		if deg, ok := parseRotation(o); !ok || deg != 90*i {
			t.Errorf("option %q reads as %d (%v)", o, deg, ok)
		}
	}
	for _, bad := range []string{"", "90", "ninety°", "90° "} {
		if deg, ok := parseRotation(bad); ok || deg != 0 {
			t.Errorf("parseRotation(%q) = %d, %v; want 0 and false", bad, deg, ok)
		}
	}
}

// A device row's tick box is what decides the send targets.
func TestTickingADeviceRowMakesItATarget(t *testing.T) {
	h := newHarness(t, nil)
	bench := config.DefaultDevice()
	bench.Name = "Bench 1"
	h.addDevice(bench)
	w := test.NewTempWindow(t, h.g.devices.object())
	w.Resize(fyne.NewSize(320, 420))
	rows := shown[*deviceRow](w.Content())
	if len(rows) != 2 || rows[1].name.Text != "Bench 1" {
		t.Fatalf("the list shows %d rows", len(rows))
	}
	tapBox(rows[1].check)
	if names := targetNames(h.g.devices.targets()); names != simName+", Bench 1" {
		t.Errorf("after ticking Bench 1 the targets are %s", names)
	}
	tapBox(rows[0].check)
	if names := targetNames(h.g.devices.targets()); names != "Bench 1" {
		t.Errorf("after unticking the simulated device the targets are %s", names)
	}
}

// tapBox taps a check's box, which sits in the middle of a tall row
// (test.Tap taps its top corner, outside the box).
func tapBox(c *widget.Check) {
	test.TapAt(c, fyne.NewPos(c.MinSize().Height/2, c.Size().Height/2))
}

func targetNames(ds []config.Device) string {
	var names []string
	for _, d := range ds {
		names = append(names, d.Name)
	}
	return strings.Join(names, ", ")
}
