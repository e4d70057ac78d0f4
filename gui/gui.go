// Package gui is ImageBeam's window: get an image in, preview what the
// device will get, pick devices, send with live progress, resend from history.
//
// It holds no protocol logic: transfers run through transfer.Send in
// goroutines, and one consumer goroutine per transfer turns the events into
// widget updates through Options.Do (fyne.Do). Package gui never imports
// fyne.io/fyne/v2/app, so its tests run on the headless test driver;
// gui/desktop opens the real window.
package gui

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"imagebeam/codec"
	"imagebeam/config"
	"imagebeam/internal/buildinfo"
	_ "imagebeam/internal/posixlocale" // before Fyne's lang reads the locale: see its comment
	"imagebeam/internal/wait"
	"imagebeam/simdevice"
)

// Options configure the window. The zero value is what the desktop app uses.
type Options struct {
	// ConfigPath is the shared settings file; "" means config.Path().
	ConfigPath string
	// DataDir holds the history; "" means the app's storage root.
	DataDir string
	// Do runs f on the UI goroutine; nil means fyne.Do. Tests pass a queue
	// that the test goroutine drains, which is what the main loop does.
	Do func(f func())
	// BuiltinListen overrides the built-in broker's address (tests use
	// 127.0.0.1:0); "" means the settings file's.
	BuiltinListen string
	// SimFaults overrides the simulated device's faults; nil means a gentle
	// 10 ms answer delay and an occasional NAK, so a newcomer sees progress
	// and a retry.
	SimFaults *simdevice.Faults
	// Language is the window's language ("en", "zh_Hans"); "" means
	// IMAGEBEAM_LANG, the settings file's choice or the system's.
	Language string
}

// Preference keys (window-only state, kept by Fyne under the app ID).
const (
	prefLastFolder   = "lastFolder"
	prefWindowWidth  = "windowWidth"
	prefWindowHeight = "windowHeight"
)

// defaultSize is the first window size; later starts reuse the last one.
var defaultSize = fyne.NewSize(1280, 800)

// GUI is the ImageBeam window and everything it runs. Its fields belong to
// the UI goroutine; goroutines get copies and report back through do.
type GUI struct {
	app  fyne.App
	win  fyne.Window
	opts Options
	do   func(func())

	ctx    context.Context // ends when the window closes
	cancel context.CancelFunc

	cfgPath   string
	settings  *config.Settings
	saveBlock error // the settings file could not be read: do not overwrite it
	exposed   error // the settings file holds a password others can read

	backend *backend
	conn    *connIndicator
	devices *deviceList
	preview *preview
	xfers   *transferList
	history *historyView
	held    *heldImages

	focused bool
	// languagePick is the help dialog's language choice, nil until it opens.
	languagePick *widget.Select
	// consumers are the goroutines that turn transfers' events into card
	// updates and history entries; Shutdown waits for them.
	consumers sync.WaitGroup

	// Test hooks, nil in the app.
	onTransferEnd    func(*transferView)
	onTransferUpdate func(*transferView)
	onSimReceived    func(simdevice.Received)
	onPreview        func()
	onLoadError      func(error)
}

// New builds the window for app a: reads the settings (a first start gets
// the built-in broker and a simulated device), starts the broker and
// simulator in the background, and lays out the widgets. Call Window().Show
// or ShowAndRun, then Shutdown.
func New(a fyne.App, opts Options) *GUI {
	g := &GUI{app: a, opts: opts, do: opts.Do, focused: true}
	if g.do == nil {
		g.do = fyne.Do
	}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	firstStart := g.loadSettings()
	startLanguage(opts.Language, g.settings.Language)
	if firstStart {
		g.firstStart()
	}
	g.win = a.NewWindow("ImageBeam")

	dataDir := opts.DataDir
	if dataDir == "" {
		dataDir = storageDir(a)
	}
	g.conn = newConnIndicator(g)
	g.held = newHeldImages(g)
	g.history = newHistoryView(g, filepath.Join(dataDir, "history"))
	g.devices = newDeviceList(g)
	g.preview = newPreview(g)
	g.xfers = newTransferList(g)
	g.history.learnDevices()
	g.devices.selectFirst()

	g.win.SetContent(g.layout())
	g.win.SetOnDropped(g.OnDropped)
	g.win.SetCloseIntercept(g.closeRequested)
	g.win.SetMaster()
	prefs := a.Preferences()
	g.win.Resize(fyne.NewSize(
		float32(prefs.FloatWithFallback(prefWindowWidth, float64(defaultSize.Width))),
		float32(prefs.FloatWithFallback(prefWindowHeight, float64(defaultSize.Height)))))
	g.addShortcuts()
	a.Lifecycle().SetOnEnteredForeground(func() { g.focused = true })
	a.Lifecycle().SetOnExitedForeground(func() { g.focused = false })

	g.backend = newBackend(g)
	g.backend.start(g.settings.Broker)
	g.held.watch()
	if g.exposed != nil {
		g.conn.setSettingsProblem(g.exposed)
	}
	if g.saveBlock != nil {
		g.conn.setSettingsProblem(g.saveBlock)
	}
	return g
}

// Window is the main window.
func (g *GUI) Window() fyne.Window { return g.win }

// Shutdown cancels running transfers and stops the simulator and the
// built-in broker. The desktop app calls it after the main loop ends.
func (g *GUI) Shutdown() {
	g.cancel()
	g.xfers.cancelAll()
	// After the main loop has ended a goroutine can hang in fyne.Do; an
	// exit must not wait for it forever.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = wait.For(ctx, func() {
		g.backend.stop()
		g.consumers.Wait() // a cancelled transfer still records its history
	})
}

// Open loads files or URLs given on the command line, the same way a drop does.
func (g *GUI) Open(files []string) {
	var uris []fyne.URI
	for _, f := range files {
		if codec.IsURL(f) {
			if u, err := storage.ParseURI(f); err == nil {
				uris = append(uris, u)
				continue
			}
		}
		if abs, err := filepath.Abs(f); err == nil {
			f = abs
		}
		uris = append(uris, storage.NewFileURI(f))
	}
	g.OnDropped(fyne.Position{}, uris)
}

// OnDropped is the window's drop handler, also used for command-line files:
// the first file is loaded, the rest wait in the queue.
func (g *GUI) OnDropped(_ fyne.Position, uris []fyne.URI) {
	var sources []string
	for _, u := range uris {
		if u.Scheme() == "file" {
			sources = append(sources, u.Path())
		} else {
			sources = append(sources, u.String())
		}
	}
	if len(sources) == 0 {
		return
	}
	g.preview.enqueue(sources)
}

func storageDir(a fyne.App) string {
	if root := a.Storage().RootURI(); root != nil && root.Scheme() == "file" {
		return root.Path()
	}
	if dir, err := os.UserConfigDir(); err == nil {
		return filepath.Join(dir, "imagebeam")
	}
	return filepath.Join(os.TempDir(), "imagebeam")
}

// loadSettings reads the shared settings file and reports whether this
// is a first start (there is no file).
func (g *GUI) loadSettings() (first bool) {
	g.cfgPath = g.opts.ConfigPath
	if g.cfgPath == "" {
		p, err := config.Path()
		if err != nil {
			g.saveBlock = err
			g.settings = config.Default()
			return false
		}
		g.cfgPath = p
	}
	_, statErr := os.Stat(g.cfgPath)
	s, err := config.Load(g.cfgPath)
	if err != nil {
		g.saveBlock = wrapError("settings.unreadable", nil, err)
		g.settings = config.Default()
		return false
	}
	g.settings = s
	if w := s.ExposureWarning(g.cfgPath); w != "" {
		// The command from config's sentence: it quotes the path for the shell.
		cmd := "chmod 600 " + g.cfgPath
		if i := strings.LastIndex(w, "chmod 600 "); i >= 0 {
			cmd = w[i:]
		}
		g.exposed = newError("settings.exposed", args{"Path": g.cfgPath, "Command": cmd})
	}
	return errors.Is(statErr, os.ErrNotExist)
}

// firstStart gives a first start the built-in broker and the simulated
// device, named in the window's language, and saves them at once so that
// `imagebeam send --device` sees them too.
func (g *GUI) firstStart() {
	g.settings.Broker = config.Broker{Builtin: true, Listen: config.DefaultListen}
	g.settings.Devices = append(g.settings.Devices, simulatedDevice())
	_ = g.saveSettings() // a read-only config folder must not stop the window
}

// saveSettings writes the settings file, unless it could not be read.
func (g *GUI) saveSettings() error {
	if g.saveBlock != nil {
		return g.saveBlock
	}
	return g.settings.Save(g.cfgPath)
}

// Topics of the simulated device: its own, never the real BASE's.
const (
	simToDevice   = "imagebeam/sim/to-device"
	simFromDevice = "imagebeam/sim/from-device"
)

// simulatedDevice is the device a first start adds, named in the window's
// language (a name is the user's data from then on).
func simulatedDevice() config.Device {
	d := config.DefaultDevice()
	d.Name = tr("device.simulated_name")
	d.ToDevice, d.FromDevice = simToDevice, simFromDevice
	d.Simulated = true
	d.Timeout = config.Duration(time.Second)
	d.Adaptive = true
	d.Image.Width, d.Image.Height = 800, 480
	return d
}

func (g *GUI) layout() fyne.CanvasObject {
	open := widget.NewButtonWithIcon(tr("main.open"), theme.FolderOpenIcon(), g.preview.showOpenDialog)
	help := widget.NewButtonWithIcon("", theme.HelpIcon(), g.showHelp)
	top := container.NewBorder(nil, nil, open, container.NewHBox(g.conn.object(), help), g.preview.urlBar())

	main := container.NewHSplit(g.preview.object(), g.activity())
	main.Offset = 0.58
	body := container.NewHSplit(g.devices.object(), main)
	body.Offset = 0.24
	return container.NewBorder(container.NewVBox(top, g.conn.banner, widget.NewSeparator()), nil, nil, nil, body)
}

func (g *GUI) activity() fyne.CanvasObject {
	tabs := container.NewAppTabs(
		container.NewTabItemWithIcon(tr("main.tab.transfers"), theme.UploadIcon(), g.xfers.object()),
		container.NewTabItemWithIcon(tr("main.tab.history"), theme.HistoryIcon(), g.history.object()),
	)
	g.xfers.tabs = tabs
	return tabs
}

func (g *GUI) addShortcuts() {
	c := g.win.Canvas()
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyO, Modifier: fyne.KeyModifierShortcutDefault},
		func(fyne.Shortcut) { g.preview.showOpenDialog() })
	send := func(fyne.Shortcut) { g.sendSelected() }
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierShortcutDefault}, send)
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyEnter, Modifier: fyne.KeyModifierShortcutDefault}, send)
	c.AddShortcut(&fyne.ShortcutPaste{}, func(fyne.Shortcut) { g.pasteSource() })
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyF1}, func(fyne.Shortcut) { g.showHelp() })
}

// pasteSource loads a path or URL from the clipboard (Ctrl+V outside a text field).
func (g *GUI) pasteSource() {
	text := strings.TrimSpace(g.app.Clipboard().Content())
	if text == "" {
		return
	}
	var files []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "file://"))
		if line != "" {
			files = append(files, line)
		}
	}
	g.Open(files)
}

// showHelp shows the keyboard shortcuts, the language setting, the
// settings file and the version (F1).
func (g *GUI) showHelp() {
	text := widget.NewRichTextFromMarkdown(tr("help.text"))
	text.Wrapping = fyne.TextWrapWord
	version, commit, date := buildinfo.Stamp()
	ver := widget.NewLabel(tr("help.version", args{"Version": version, "Commit": commit, "Date": date}))
	ver.Importance = widget.LowImportance
	settings := widget.NewLabel(tr("help.settings_file", args{"Path": g.cfgPath}))
	settings.Wrapping = fyne.TextWrapBreak
	content := container.NewVBox(text, g.newLanguagePicker(), settings, ver)
	d := dialog.NewCustom(tr("help.title"), tr("button.close"), content, g.win)
	d.Resize(fyne.NewSize(560, 520))
	d.Show()
}

// newLanguagePicker chooses the window's language: the system's or one of
// the translation files'. The choice is saved in the settings file and
// takes effect at the next start: the widgets keep the words they were
// made with.
func (g *GUI) newLanguagePicker() fyne.CanvasObject {
	tags := append([]string{""}, languageTags()...)
	labels := make([]string, len(tags))
	for i, t := range tags {
		labels[i] = tr("language.system")
		if t != "" {
			labels[i] = languageName(t)
		}
	}
	note := widget.NewLabel("")
	note.Wrapping = fyne.TextWrapWord
	note.Importance = widget.LowImportance
	note.Hide()
	if env := os.Getenv(languageEnv); env != "" {
		note.SetText(tr("language.env_override", args{"Variable": languageEnv + "=" + env}))
		note.Show()
	}
	pick := newSelect(labels, nil)
	pick.SetSelectedIndex(max(slices.Index(tags, g.settings.Language), 0))
	pick.OnChanged = func(string) {
		tag := tags[pick.SelectedIndex()]
		if tag == g.settings.Language {
			return
		}
		old := g.settings.Language
		g.settings.Language = tag
		if err := g.saveSettings(); err != nil {
			g.settings.Language = old
			note.SetText(errorText(err))
			note.Importance = widget.DangerImportance
		} else {
			note.SetText(tr("language.restart"))
			note.Importance = widget.LowImportance
		}
		note.Show()
		note.Refresh()
	}
	g.languagePick = pick
	return container.NewVBox(widget.NewForm(widget.NewFormItem(tr("language.label"), pick)), note)
}

// closeRequested asks before closing while transfers run.
func (g *GUI) closeRequested() {
	if s := g.win.Canvas().Size(); s.Width > 0 && s.Height > 0 {
		g.app.Preferences().SetFloat(prefWindowWidth, float64(s.Width))
		g.app.Preferences().SetFloat(prefWindowHeight, float64(s.Height))
	}
	n := g.xfers.active()
	if n == 0 {
		g.close()
		return
	}
	g.confirm(tr("close.title"), trn("close.message", n), tr("close.confirm"), func() {
		g.xfers.cancelAll()
		g.close()
	})
}

// close closes the window. The focus hooks go first: the window's
// destruction loses the focus, and Fyne 2.7.1 may queue that hook after
// its main loop has stopped, where nothing runs it.
func (g *GUI) close() {
	g.app.Lifecycle().SetOnEnteredForeground(nil)
	g.app.Lifecycle().SetOnExitedForeground(nil)
	g.win.Close()
}

// notify sends a desktop notification when the window is not focused.
func (g *GUI) notify(title, content string) {
	if !g.focused {
		g.app.SendNotification(fyne.NewNotification(title, content))
	}
}

// showError shows err in a dialog: its sentence and its English detail.
// confirm asks title's question msg, with the button action (a verb) and
// Cancel; yes runs when action is chosen.
func (g *GUI) confirm(title, msg, action string, yes func()) {
	c := dialog.NewConfirm(title, msg, func(ok bool) {
		if ok {
			yes()
		}
	}, g.win)
	c.SetConfirmText(action)
	c.SetDismissText(tr("button.cancel"))
	c.Show()
}

func (g *GUI) showError(err error) {
	dialog.ShowError(shownError{err}, g.win)
}
