package gui

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"imagebeam/broker"
	"imagebeam/config"
	"imagebeam/internal/redact"
	"imagebeam/transfer"
)

const (
	modeBuiltin  = "Built-in broker (this computer)"
	modeExternal = "External broker"
)

// brokerForm edits the broker profile of the shared settings file.
type brokerForm struct {
	g                          *GUI
	mode                       *widget.RadioGroup
	lan                        *widget.Check
	port                       *widget.Entry
	url, user, clientID        *widget.Entry
	pass                       *widget.Entry
	caFile, certFile, keyFile  *widget.Entry
	keepAlive                  *widget.Entry
	insecure                   *widget.Check
	insecureWarn, lanAddr, msg *widget.Label
	test, save                 *widget.Button
	builtinBox, externalBox    *fyne.Container
	box                        fyne.CanvasObject
	onClose                    func()
}

func showBrokerDialog(g *GUI) {
	f := newBrokerForm(g, g.settings.Broker)
	d := dialog.NewCustomWithoutButtons("Broker", f.box, g.win)
	f.onClose = d.Hide
	d.Resize(fyne.NewSize(600, 620))
	d.Show()
}

func newBrokerForm(g *GUI, b config.Broker) *brokerForm {
	f := &brokerForm{g: g}
	// A login written into the URL moves to the login fields, where the
	// password is masked; saving keeps it there.
	b = moveURLLogin(b)
	f.builtinBox = f.newBuiltinFields(b)
	f.externalBox = f.newExternalFields(b)
	f.user = newEntry(b.Username, "optional")
	f.pass = widget.NewPasswordEntry()
	f.pass.SetText(b.Password)
	f.pass.SetPlaceHolder("optional (stored in the settings file, mode 0600)")
	login := widget.NewForm(widget.NewFormItem("Username", f.user), widget.NewFormItem("Password", f.pass))
	f.msg = widget.NewLabel("")
	f.msg.Wrapping = fyne.TextWrapWord
	f.msg.Hide()

	f.mode = widget.NewRadioGroup([]string{modeBuiltin, modeExternal}, func(string) { f.showMode() })
	if b.Builtin {
		f.mode.SetSelected(modeBuiltin)
	} else {
		f.mode.SetSelected(modeExternal)
	}
	f.test = widget.NewButtonWithIcon("Test connection", theme.MediaPlayIcon(), f.testConnection)
	f.save = widget.NewButtonWithIcon("Save", theme.ConfirmIcon(), f.submit)
	f.save.Importance = widget.HighImportance
	cancel := widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() {
		if f.onClose != nil {
			f.onClose()
		}
	})
	buttons := container.NewHBox(f.test, layoutSpacer(), cancel, f.save)
	form := container.NewVBox(f.mode, f.builtinBox, f.externalBox, login)
	f.box = container.NewBorder(nil, container.NewVBox(f.msg, buttons), nil, nil, container.NewVScroll(form))
	f.showMode()
	return f
}

// newBuiltinFields makes what the built-in broker needs: its port, and
// whether the lab network may connect (with the addresses to use).
func (f *brokerForm) newBuiltinFields(b config.Broker) *fyne.Container {
	listen := b.Listen
	if listen == "" {
		listen = config.DefaultListen
	}
	host, port, _ := net.SplitHostPort(listen)
	f.port = newEntry(port, "1883")
	f.lan = widget.NewCheck("Open to the lab network (all interfaces; username and password required)", func(bool) { f.showMode() })
	f.lan.SetChecked(host != "" && host != "127.0.0.1" && host != "localhost" && host != "::1")
	f.lanAddr = widget.NewLabel("")
	f.lanAddr.Wrapping = fyne.TextWrapWord
	return container.NewVBox(
		widget.NewForm(widget.NewFormItem("Port", f.port)),
		f.lan, f.lanAddr,
	)
}

// newExternalFields makes what an external broker needs: its URL, TLS
// files, client ID and keep-alive, and the insecure switch with its warning.
func (f *brokerForm) newExternalFields(b config.Broker) *fyne.Container {
	f.url = newEntry(b.URL, "tcp://10.0.0.5:1883, ssl://broker.lab:8883, ws://…, wss://…")
	f.caFile = newEntry(b.CAFile, "PEM file; empty = system roots")
	f.certFile = newEntry(b.CertFile, "client certificate (PEM), optional")
	f.keyFile = newEntry(b.KeyFile, "client key (PEM), optional")
	f.clientID = newEntry(b.ClientID, "empty = a unique ID per connection")
	ka := ""
	if b.KeepAlive > 0 {
		ka = time.Duration(b.KeepAlive).String()
	}
	f.keepAlive = newEntry(ka, "30s")
	f.insecureWarn = widget.NewLabel("Warning: the broker's certificate is not checked. Anyone on the path can read and change the images. Use only for testing.")
	f.insecureWarn.Wrapping = fyne.TextWrapWord
	f.insecureWarn.Importance = widget.DangerImportance
	f.insecure = widget.NewCheck("Do not verify the broker's certificate (insecure)", func(bool) { f.showMode() })
	f.insecure.SetChecked(b.Insecure)
	return container.NewVBox(widget.NewForm(
		widget.NewFormItem("URL", f.url),
		widget.NewFormItem("CA file", f.caFile),
		widget.NewFormItem("Client certificate", f.certFile),
		widget.NewFormItem("Client key", f.keyFile),
		widget.NewFormItem("Client ID", f.clientID),
		widget.NewFormItem("Keep-alive", f.keepAlive),
	), f.insecure, f.insecureWarn)
}

func (f *brokerForm) showMode() {
	if f.mode == nil {
		return
	}
	if f.mode.Selected == modeBuiltin {
		f.builtinBox.Show()
		f.externalBox.Hide()
	} else {
		f.builtinBox.Hide()
		f.externalBox.Show()
	}
	if f.insecure.Checked {
		f.insecureWarn.Show()
	} else {
		f.insecureWarn.Hide()
	}
	port := strings.TrimSpace(f.port.Text)
	if f.lan.Checked {
		text := "Devices on the lab network connect over TLS to " + strings.Join(lanURLs(port), " or ") + " with the username and password below."
		if br := f.g.backend.builtin; br != nil && br.Fingerprint() != "" {
			text += " They trust the certificate " + br.CertFile() + "; its SHA-256 fingerprint is " + br.Fingerprint() + "."
		} else {
			text += " ImageBeam makes the broker's certificate when you save, and shows its fingerprint here."
		}
		f.lanAddr.SetText(text)
		f.lanAddr.Show()
	} else {
		f.lanAddr.Hide()
	}
}

// lanURLs are the broker URLs other machines can use: one per non-loopback
// IPv4 address, TLS (the built-in broker always speaks TLS beyond loopback).
func lanURLs(port string) []string {
	var out []string
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			out = append(out, "ssl://"+net.JoinHostPort(ipn.IP.String(), port))
		}
	}
	if len(out) == 0 {
		out = append(out, "ssl://<this computer's address>:"+port)
	}
	return out
}

// profile reads the fields into a broker profile, or says what is wrong.
func (f *brokerForm) profile() (config.Broker, error) {
	b := f.g.settings.Broker
	b.Builtin = f.mode.Selected == modeBuiltin
	b.Username = strings.TrimSpace(f.user.Text)
	b.Password = f.pass.Text
	if b.Builtin {
		port := strings.TrimSpace(f.port.Text)
		if port == "" {
			port = "1883"
		}
		host := "127.0.0.1"
		if f.lan.Checked {
			host = "0.0.0.0"
		}
		b.Listen = net.JoinHostPort(host, port)
		if err := (broker.Options{Listen: b.Listen, Username: b.Username, Password: b.Password}).Validate(); err != nil {
			return b, err
		}
		return b, nil
	}
	b.URL = strings.TrimSpace(f.url.Text)
	if b.URL == "" {
		return b, fmt.Errorf("enter the broker's URL, e.g. tcp://10.0.0.5:1883")
	}
	if err := transfer.ValidateBrokerURL(b.URL); err != nil {
		return b, err
	}
	b.CAFile, b.CertFile, b.KeyFile = strings.TrimSpace(f.caFile.Text), strings.TrimSpace(f.certFile.Text), strings.TrimSpace(f.keyFile.Text)
	b.ClientID = strings.TrimSpace(f.clientID.Text)
	b.Insecure = f.insecure.Checked
	b.KeepAlive = 0
	if ka := strings.TrimSpace(f.keepAlive.Text); ka != "" {
		d, err := time.ParseDuration(ka)
		if err != nil || d < time.Second {
			return b, fmt.Errorf("keep-alive must be a duration of at least 1s, such as 30s, not %q", ka)
		}
		b.KeepAlive = config.Duration(d)
	}
	return b, nil
}

func (f *brokerForm) say(text string, imp widget.Importance) {
	f.msg.SetText(text)
	f.msg.Importance = imp
	f.msg.Show()
	f.msg.Refresh()
}

// testConnection connects once with the form's settings, off the UI goroutine.
func (f *brokerForm) testConnection() {
	b, err := f.profile()
	if err != nil {
		f.say(plainError(err), widget.DangerImportance)
		return
	}
	cfg := b.Transfer()
	if b.Builtin {
		if f.g.backend.builtin != nil && sameBuiltin(f.g.settings.Broker, b) {
			f.say("The built-in broker is running on "+f.g.backend.builtin.Addr()+".", widget.SuccessImportance)
			return
		}
		f.say("The built-in broker starts with these settings when you save.", widget.MediumImportance)
		return
	}
	f.say("Connecting to "+redact.URL(cfg.URL)+"…", widget.MediumImportance)
	f.test.Disable()
	go func() {
		ctx, cancel := context.WithTimeout(f.g.ctx, 10*time.Second)
		defer cancel()
		cfg.ConnectTimeout = 5 * time.Second
		link, err := transfer.Dial(ctx, cfg, "test", monitorTopic, monitorTopic, 0)
		if err == nil {
			link.Close()
		}
		f.g.do(func() {
			f.test.Enable()
			if err != nil {
				f.say("Failed: "+err.Error(), widget.DangerImportance)
				return
			}
			f.say("Connected to "+redact.URL(cfg.URL)+": the broker accepted the login and the subscription.", widget.SuccessImportance)
		})
	}()
}

func sameBuiltin(a, b config.Broker) bool {
	return a.Builtin && b.Builtin && a.Listen == b.Listen && a.Username == b.Username && a.Password == b.Password
}

func (f *brokerForm) submit() {
	b, err := f.profile()
	if err != nil {
		f.say(plainError(err), widget.DangerImportance)
		return
	}
	if err := f.g.applyBroker(b); err != nil {
		f.say(plainError(err), widget.DangerImportance)
		return
	}
	if f.onClose != nil {
		f.onClose()
	}
}

// applyBroker saves a new broker profile and restarts the connection,
// the built-in broker and the simulator to match.
func (g *GUI) applyBroker(b config.Broker) error {
	old := g.settings.Broker
	g.settings.Broker = b
	if err := g.saveSettings(); err != nil {
		g.settings.Broker = old
		return err
	}
	g.backend.restart(b)
	return nil
}

// moveURLLogin moves a user name and password written into the broker URL
// (tcp://user:pw@host) into the profile's login fields, unless those are
// set already, and leaves the URL without them.
func moveURLLogin(b config.Broker) config.Broker {
	u, err := url.Parse(b.URL)
	if err != nil || u.User == nil {
		return b
	}
	if b.Username == "" && b.Password == "" {
		b.Username = u.User.Username()
		b.Password, _ = u.User.Password()
	}
	b.URL = redact.URL(b.URL)
	return b
}
