// Package desktop opens ImageBeam's window with Fyne's desktop driver. It is
// kept apart from package gui so that gui's tests never link GLFW.
package desktop

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"imagebeam/assets"
	"imagebeam/gui"
	"imagebeam/internal/buildinfo"
)

// Run opens the window with files (paths or URLs) loaded, runs until it is
// closed and returns the exit status.
func Run(files []string) int {
	a := app.NewWithID(buildinfo.AppID)
	a.SetIcon(fyne.NewStaticResource("icon.png", assets.IconPNG))
	a.Settings().SetTheme(gui.Theme())
	g := gui.New(a, gui.Options{})
	if len(files) > 0 {
		g.Open(files)
	}
	g.Window().ShowAndRun()
	g.Shutdown()
	return 0
}
