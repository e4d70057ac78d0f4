package gui

import (
	_ "embed"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// Theme is Fyne's default theme, light or dark as the system says, with the
// colours that ImageBeam writes text in made readable: Fyne's own success
// green, warning orange, error red, primary blue and disabled grey fall
// below 4.5:1 against a white background (the green "Done" was 1.6:1).
// Every colour the window uses is one of the theme's semantic names, so
// this table is the only place a colour is chosen; TestThemeTextContrast
// checks it in both variants. Its fonts are withCJK's.
func Theme() fyne.Theme { return readableTheme{withCJK(theme.DefaultTheme())} }

// The Chinese font the window ships: Noto Sans CJK SC cut down to the
// characters of the Chinese translation that Noto Sans lacks (made by
// scripts/cjk-font.sh, SIL Open Font License: fonts/OFL.txt). About 140 KB
// a weight.
var (
	//go:embed fonts/ImageBeamCJK-Regular.otf
	cjkRegular []byte
	//go:embed fonts/ImageBeamCJK-Bold.otf
	cjkBold []byte

	cjkRegularFont = fyne.NewStaticResource("ImageBeamCJK-Regular.otf", cjkRegular)
	cjkBoldFont    = fyne.NewStaticResource("ImageBeamCJK-Bold.otf", cjkBold)
)

// withCJK is th drawing the window's Chinese with the font it ships. Fyne
// looks a character up in the theme's font first, then in its own Noto Sans
// for the style (the CJK font has no Latin letters, digits or spaces, so
// those, and the line height, stay Noto Sans's), and only then in the
// system's fonts. So the window's own words look the same, and take the
// same room, on every machine, with or without Chinese fonts installed,
// and the markup masters do not depend on the machine; Chinese file and
// device names still fall back to the system's fonts. The tests draw with
// withCJK(test.Theme()).
func withCJK(th fyne.Theme) fyne.Theme { return cjkFonts{th} }

type cjkFonts struct{ fyne.Theme }

func (t cjkFonts) Font(s fyne.TextStyle) fyne.Resource {
	switch {
	case s.Symbol:
		return t.Theme.Font(s)
	case s.Bold:
		return cjkBoldFont
	}
	return cjkRegularFont
}

type readableTheme struct{ fyne.Theme }

func (t readableTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if c, ok := readableColors[v][n]; ok {
		return c
	}
	return t.Theme.Color(n, v)
}

func rgb(hex uint32) color.NRGBA {
	return color.NRGBA{R: uint8(hex >> 16), G: uint8(hex >> 8), B: uint8(hex), A: 0xff}
}

// readableColors overrides the defaults that fail the contrast check. The
// light foreground is darker than Fyne's #565656 so that disabled text,
// which must stay readable as a hint, still looks lighter than live text.
var readableColors = map[fyne.ThemeVariant]map[fyne.ThemeColorName]color.Color{
	theme.VariantLight: {
		theme.ColorNameForeground:          rgb(0x202020),
		theme.ColorNameDisabled:            rgb(0x6a6a6a),
		theme.ColorNamePlaceHolder:         rgb(0x6a6a6a),
		theme.ColorNamePrimary:             rgb(0x1558b0),
		theme.ColorNameHyperlink:           rgb(0x1558b0),
		theme.ColorNameSuccess:             rgb(0x1b6e2a),
		theme.ColorNameWarning:             rgb(0x8f4a00),
		theme.ColorNameError:               rgb(0xb3261e),
		theme.ColorNameForegroundOnPrimary: rgb(0xffffff),
		theme.ColorNameForegroundOnSuccess: rgb(0xffffff),
		theme.ColorNameForegroundOnWarning: rgb(0xffffff),
		theme.ColorNameForegroundOnError:   rgb(0xffffff),
	},
	theme.VariantDark: {
		theme.ColorNameDisabled:            rgb(0x9a9a9a),
		theme.ColorNamePrimary:             rgb(0x6ea8fe),
		theme.ColorNameHyperlink:           rgb(0x6ea8fe),
		theme.ColorNameSuccess:             rgb(0x5cd65c),
		theme.ColorNameWarning:             rgb(0xffa726),
		theme.ColorNameError:               rgb(0xff6b5e),
		theme.ColorNameForegroundOnPrimary: rgb(0x171718),
		theme.ColorNameForegroundOnSuccess: rgb(0x171718),
		theme.ColorNameForegroundOnWarning: rgb(0x171718),
		theme.ColorNameForegroundOnError:   rgb(0x171718),
	},
}
