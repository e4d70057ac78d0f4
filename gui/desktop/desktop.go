// Package desktop opens ImageBeam's window with Fyne's desktop driver. It is
// kept apart from package gui so that gui's tests never link GLFW.
package desktop

import (
	"os"
	"time"

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
	// Fyne 2.7.1 can miss its own end: about one close in 20 to 100 (seen
	// under Wine), a focus event queued while the window is destroyed waits
	// for a main loop that has already stopped, and ShowAndRun never
	// returns. The window is gone and everything is saved by then, but the
	// process would keep the built-in broker's port. So once the window has
	// closed, shut down and exit when the normal way out takes too long.
	g.Window().SetOnClosed(func() {
		time.AfterFunc(exitGrace, func() {
			g.Shutdown()
			os.Exit(0)
		})
	})
	g.Window().ShowAndRun()
	g.Shutdown()
	return 0
}

// exitGrace is how long the process may take to end after its window
// closed: Shutdown itself waits at most a few seconds.
const exitGrace = 15 * time.Second
