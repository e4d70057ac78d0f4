package gui

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"image/color"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	xfont "golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// luminance is WCAG 2's relative luminance of c.
func luminance(c color.Color) float64 {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(n.R) + 0.7152*lin(n.G) + 0.0722*lin(n.B)
}

// over paints c (maybe translucent) on the opaque base.
func over(c, base color.Color) color.Color {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	b := color.NRGBAModel.Convert(base).(color.NRGBA)
	a := float64(n.A) / 255
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x)*a + float64(y)*(1-a))) }
	return color.NRGBA{R: mix(n.R, b.R), G: mix(n.G, b.G), B: mix(n.B, b.B), A: 0xff}
}

func contrast(fg, bg color.Color) float64 {
	l1, l2 := luminance(fg), luminance(bg)
	if l1 < l2 {
		l1, l2 = l2, l1
	}
	return (l1 + 0.05) / (l2 + 0.05)
}

// TestThemeTextContrast checks every colour the window writes text in
// against every surface it is written on, in the light and the dark
// variant: WCAG's 4.5:1 for body text.
func TestThemeTextContrast(t *testing.T) {
	th := Theme()
	texts := []fyne.ThemeColorName{
		theme.ColorNameForeground, theme.ColorNameDisabled, theme.ColorNamePlaceHolder, theme.ColorNameHyperlink,
		theme.ColorNamePrimary, theme.ColorNameSuccess, theme.ColorNameWarning, theme.ColorNameError,
	}
	surfaces := []fyne.ThemeColorName{
		theme.ColorNameBackground, theme.ColorNameOverlayBackground, theme.ColorNameInputBackground,
		theme.ColorNameMenuBackground, theme.ColorNameHeaderBackground,
	}
	// Buttons of each importance write their label on their own colour.
	onColour := map[fyne.ThemeColorName]fyne.ThemeColorName{
		theme.ColorNamePrimary: theme.ColorNameForegroundOnPrimary,
		theme.ColorNameSuccess: theme.ColorNameForegroundOnSuccess,
		theme.ColorNameWarning: theme.ColorNameForegroundOnWarning,
		theme.ColorNameError:   theme.ColorNameForegroundOnError,
	}
	for _, v := range []fyne.ThemeVariant{theme.VariantLight, theme.VariantDark} {
		name := map[fyne.ThemeVariant]string{theme.VariantLight: "light", theme.VariantDark: "dark"}[v]
		bg := th.Color(theme.ColorNameBackground, v)
		check := func(what string, fg, surface color.Color) {
			t.Helper()
			if r := contrast(fg, surface); r < 4.5 {
				t.Errorf("%s: %s has contrast %.2f:1, want at least 4.5:1", name, what, r)
			}
		}
		for _, s := range surfaces {
			for _, c := range texts {
				check(fmt.Sprintf("%s text on %s", c, s), th.Color(c, v), over(th.Color(s, v), bg))
			}
		}
		// Selected and hovered list rows, and plain buttons.
		for _, s := range []fyne.ThemeColorName{theme.ColorNameSelection, theme.ColorNameHover, theme.ColorNameButton} {
			check(fmt.Sprintf("foreground on %s", s), th.Color(theme.ColorNameForeground, v), over(th.Color(s, v), bg))
		}
		for c, on := range onColour {
			check(fmt.Sprintf("%s on %s", on, c), th.Color(on, v), th.Color(c, v))
		}
	}
}

// fontHas is whether every one of fonts has the character.
func fontHas(t *testing.T, resources ...[]byte) func(r rune) bool {
	t.Helper()
	var fonts []*sfnt.Font
	for _, b := range resources {
		f, err := sfnt.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		fonts = append(fonts, f)
	}
	var buf sfnt.Buffer
	return func(r rune) bool {
		for _, f := range fonts {
			if i, err := f.GlyphIndex(&buf, r); err != nil || i == 0 {
				return false
			}
		}
		return true
	}
}

// lineMetrics are a font's ascent, descent and line height at 1000 ppem.
func lineMetrics(t *testing.T, b []byte) xfont.Metrics {
	t.Helper()
	f, err := sfnt.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.Metrics(nil, fixed.I(1000), xfont.HintingNone)
	if err != nil {
		t.Fatal(err)
	}
	return xfont.Metrics{Height: m.Height, Ascent: m.Ascent, Descent: m.Descent}
}

// TestTranslationTextIsInTheShippedFonts checks that the fonts the window
// ships draw every character of every sentence it shows: English (and the
// string literals of its code, such as "°" and " · ") in Fyne's Noto Sans,
// regular and bold; every other language in Noto Sans or the CJK font
// (fonts/, withCJK), in each weight. A character they lack is drawn from
// whatever system font has it: another width on every machine (the
// markup masters then depend on the machine), and a missing-glyph box
// where none has it (seen on Windows for arrows).
func TestTranslationTextIsInTheShippedFonts(t *testing.T) {
	latin := fontHas(t, theme.DefaultTextFont().Content(), theme.DefaultTextBoldFont().Content())
	regular := [2]func(rune) bool{fontHas(t, theme.DefaultTextFont().Content()), fontHas(t, cjkRegular)}
	bold := [2]func(rune) bool{fontHas(t, theme.DefaultTextBoldFont().Content()), fontHas(t, cjkBold)}
	checked := 0
	for _, tag := range languageTags() {
		for key, forms := range readTranslations(t, tag) {
			for _, text := range forms {
				for _, r := range text {
					if r == '\n' || r == '\t' {
						continue
					}
					checked++
					switch {
					case tag == langEnglish && !latin(r):
						t.Errorf("en.json: %q: %q (U+%04X) is not in Noto Sans: use a character it has, or an icon", key, r, r)
					case tag != langEnglish && (!regular[0](r) && !regular[1](r) || !bold[0](r) && !bold[1](r)):
						t.Errorf("%s.json: %q: %q (U+%04X) is in neither Noto Sans nor the CJK font: run scripts/cjk-font.sh", tag, key, r, r)
					}
				}
			}
		}
	}
	// The CJK font must not take over Latin text. It has the spaces (the
	// shaper draws a space after a Chinese character from it), and so the
	// line's metrics (Fyne measures them on the space): Noto Sans's.
	for _, c := range []struct{ cjk, latin []byte }{{cjkRegular, theme.DefaultTextFont().Content()}, {cjkBold, theme.DefaultTextBoldFont().Content()}} {
		cjk := fontHas(t, c.cjk)
		for _, r := range "aA0.,:" {
			if cjk(r) {
				t.Errorf("the CJK font has %q: English would be drawn in it", r)
			}
		}
		for _, r := range " \u00a0\u3000" {
			if !cjk(r) {
				t.Errorf("the CJK font lacks the space U+%04X: it would be a box after Chinese", r)
			}
		}
		if got, want := lineMetrics(t, c.cjk), lineMetrics(t, c.latin); got != want {
			t.Errorf("the CJK font's line metrics are %+v, Noto Sans's %+v: run scripts/cjk-font.sh", got, want)
		}
	}

	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || (lit.Kind != token.STRING && lit.Kind != token.CHAR) {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for _, r := range s {
				if r == '\n' || r == '\t' {
					continue
				}
				checked++
				if !latin(r) {
					t.Errorf("%s: %q (U+%04X) is not in the shipped font: use a character it has, or an icon", fset.Position(lit.Pos()), r, r)
				}
			}
			return true
		})
	}
	if checked < 1000 {
		t.Fatalf("checked only %d characters", checked)
	}
}
