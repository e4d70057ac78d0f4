package gui

import (
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
// checks it in both variants.
func Theme() fyne.Theme { return readableTheme{theme.DefaultTheme()} }

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
