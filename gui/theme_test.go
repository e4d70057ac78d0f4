package gui

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"golang.org/x/image/font/sfnt"
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

// TestWindowTextIsInTheShippedFont parses every string literal of the
// window's code and checks that the font the app ships (Fyne's Noto Sans,
// regular and bold) has each of its characters. A character it lacks is
// drawn from whatever system font has it: another width on every machine
// (the markup masters then depend on the machine), and a missing-glyph box
// where none has it (seen on Windows for arrows).
func TestWindowTextIsInTheShippedFont(t *testing.T) {
	var fonts []*sfnt.Font
	for _, res := range []fyne.Resource{theme.DefaultTextFont(), theme.DefaultTextBoldFont()} {
		f, err := sfnt.Parse(res.Content())
		if err != nil {
			t.Fatalf("%s: %v", res.Name(), err)
		}
		fonts = append(fonts, f)
	}
	var buf sfnt.Buffer
	has := func(r rune) bool {
		for _, f := range fonts {
			if i, err := f.GlyphIndex(&buf, r); err != nil || i == 0 {
				return false
			}
		}
		return true
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, name, src, 0)
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
				if !has(r) {
					t.Errorf("%s: %q (U+%04X) is not in the shipped font: use a character it has, or an icon", fset.Position(lit.Pos()), r, r)
				}
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("found no string literals to check")
	}
}
