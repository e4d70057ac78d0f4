package gui

import "testing"

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
		back, err := parseRotation(text)
		if text != c.text || err != nil || back != c.back {
			t.Errorf("%d° is written %q and read back as %d (%v), want %q and %d", c.deg, text, back, err, c.text, c.back)
		}
	}
	for i, o := range rotateOptions {
		if deg, err := parseRotation(o); err != nil || deg != 90*i {
			t.Errorf("option %q reads as %d (%v)", o, deg, err)
		}
	}
	for _, bad := range []string{"", "90", "ninety°", "90° "} {
		if deg, err := parseRotation(bad); err == nil || deg != 0 {
			t.Errorf("parseRotation(%q) = %d, %v; want 0 and an error", bad, deg, err)
		}
	}
}
