package gui

import (
	"context"
	"net"
	"net/url"
	"strconv"
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
	// modeBuiltin and modeExternal are mode's two choices, in words.
	modeBuiltin, modeExternal string
}

func showBrokerDialog(g *GUI) {
	f := newBrokerForm(g, g.settings.Broker)
	d := dialog.NewCustomWithoutButtons(tr("broker.title"), f.box, g.win)
	f.onClose = d.Hide
	d.Resize(fyne.NewSize(600, 620))
	d.Show()
}

func newBrokerForm(g *GUI, b config.Broker) *brokerForm {
	f := &brokerForm{g: g, modeBuiltin: tr("broker.mode.builtin"), modeExternal: tr("broker.mode.external")}
	// A login written into the URL moves to the login fields, where the
	// password is masked; saving keeps it there.
	b = moveURLLogin(b)
	f.builtinBox = f.newBuiltinFields(b)
	f.externalBox = f.newExternalFields(b)
	f.user = newEntry(b.Username, tr("broker.hint.optional"))
	f.pass = widget.NewPasswordEntry()
	f.pass.SetText(b.Password)
	f.pass.SetPlaceHolder(tr("broker.hint.password"))
	login := widget.NewForm(widget.NewFormItem(tr("broker.field.username"), f.user), widget.NewFormItem(tr("broker.field.password"), f.pass))
	f.msg = widget.NewLabel("")
	f.msg.Wrapping = fyne.TextWrapWord
	f.msg.Hide()

	f.mode = widget.NewRadioGroup([]string{f.modeBuiltin, f.modeExternal}, func(string) { f.showMode() })
	f.setBuiltin(b.Builtin)
	f.test = widget.NewButtonWithIcon(tr("broker.test"), theme.MediaPlayIcon(), f.testConnection)
	f.save = widget.NewButtonWithIcon(tr("button.save"), theme.ConfirmIcon(), f.submit)
	f.save.Importance = widget.HighImportance
	cancel := widget.NewButtonWithIcon(tr("button.cancel"), theme.CancelIcon(), func() {
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

// builtin reports whether the form is set to the built-in broker.
func (f *brokerForm) builtin() bool { return f.mode.Selected == f.modeBuiltin }

// setBuiltin chooses the built-in broker, or an external one.
func (f *brokerForm) setBuiltin(on bool) {
	if on {
		f.mode.SetSelected(f.modeBuiltin)
	} else {
		f.mode.SetSelected(f.modeExternal)
	}
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
	f.lan = widget.NewCheck(tr("broker.lan.check"), func(bool) { f.showMode() })
	f.lan.SetChecked(host != "" && host != "127.0.0.1" && host != "localhost" && host != "::1")
	f.lanAddr = widget.NewLabel("")
	f.lanAddr.Wrapping = fyne.TextWrapWord
	return container.NewVBox(
		widget.NewForm(widget.NewFormItem(tr("broker.field.port"), f.port)),
		f.lan, f.lanAddr,
	)
}

// newExternalFields makes what an external broker needs: its URL, TLS
// files, client ID and keep-alive, and the insecure switch with its warning.
func (f *brokerForm) newExternalFields(b config.Broker) *fyne.Container {
	f.url = newEntry(b.URL, tr("broker.hint.url"))
	f.caFile = newEntry(b.CAFile, tr("broker.hint.ca_file"))
	f.certFile = newEntry(b.CertFile, tr("broker.hint.cert_file"))
	f.keyFile = newEntry(b.KeyFile, tr("broker.hint.key_file"))
	f.clientID = newEntry(b.ClientID, tr("broker.hint.client_id"))
	ka := ""
	if b.KeepAlive > 0 {
		ka = time.Duration(b.KeepAlive).String()
	}
	f.keepAlive = newEntry(ka, tr("broker.hint.keep_alive"))
	f.insecureWarn = widget.NewLabel(tr("broker.insecure.warning"))
	f.insecureWarn.Wrapping = fyne.TextWrapWord
	f.insecureWarn.Importance = widget.DangerImportance
	f.insecure = widget.NewCheck(tr("broker.insecure.check"), func(bool) { f.showMode() })
	f.insecure.SetChecked(b.Insecure)
	return container.NewVBox(widget.NewForm(
		widget.NewFormItem(tr("broker.field.url"), f.url),
		widget.NewFormItem(tr("broker.field.ca_file"), f.caFile),
		widget.NewFormItem(tr("broker.field.cert_file"), f.certFile),
		widget.NewFormItem(tr("broker.field.key_file"), f.keyFile),
		widget.NewFormItem(tr("broker.field.client_id"), f.clientID),
		widget.NewFormItem(tr("broker.field.keep_alive"), f.keepAlive),
	), f.insecure, f.insecureWarn)
}

func (f *brokerForm) showMode() {
	if f.mode == nil {
		return
	}
	if f.builtin() {
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
		urls := args{"URLs": strings.Join(lanURLs(port), tr("list.or"))}
		text := tr("broker.lan.no_certificate", urls)
		if br := f.g.backend.builtin; br != nil && br.Fingerprint() != "" {
			urls["CertFile"], urls["Fingerprint"] = br.CertFile(), br.Fingerprint()
			text = tr("broker.lan.certificate", urls)
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
		out = append(out, tr("broker.lan.unknown_address", args{"Port": port}))
	}
	return out
}

// profile reads the fields into a broker profile, or says what is wrong.
func (f *brokerForm) profile() (config.Broker, error) {
	b := f.g.settings.Broker
	b.Builtin = f.builtin()
	b.Username = strings.TrimSpace(f.user.Text)
	b.Password = f.pass.Text
	if (b.Username == "") != (b.Password == "") {
		return b, newError("broker.error.login_half")
	}
	if b.Builtin {
		port := strings.TrimSpace(f.port.Text)
		if port == "" {
			port = "1883"
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return b, newError("broker.error.port", args{"Value": port})
		}
		host := "127.0.0.1"
		if f.lan.Checked {
			host = "0.0.0.0"
			if b.Username == "" {
				return b, newError("broker.error.lan_login")
			}
		}
		b.Listen = net.JoinHostPort(host, port)
		if err := (broker.Options{Listen: b.Listen, Username: b.Username, Password: b.Password}).Validate(); err != nil {
			return b, err
		}
		return b, nil
	}
	b.URL = strings.TrimSpace(f.url.Text)
	if b.URL == "" {
		return b, newError("broker.error.url_empty")
	}
	if err := transfer.ValidateBrokerURL(b.URL); err != nil {
		return b, newError("broker.error.url", args{"URL": redact.URL(b.URL)})
	}
	b.CAFile, b.CertFile, b.KeyFile = strings.TrimSpace(f.caFile.Text), strings.TrimSpace(f.certFile.Text), strings.TrimSpace(f.keyFile.Text)
	b.ClientID = strings.TrimSpace(f.clientID.Text)
	b.Insecure = f.insecure.Checked
	b.KeepAlive = 0
	if ka := strings.TrimSpace(f.keepAlive.Text); ka != "" {
		d, err := time.ParseDuration(ka)
		if err != nil || d < time.Second {
			return b, newError("broker.error.keep_alive", args{"Value": ka})
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
		f.say(errorWithDetail(err), widget.DangerImportance)
		return
	}
	cfg := b.Transfer()
	if b.Builtin {
		if f.g.backend.builtin != nil && sameBuiltin(f.g.settings.Broker, b) {
			f.say(tr("broker.test.builtin_running", args{"Address": f.g.backend.builtin.Addr()}), widget.SuccessImportance)
			return
		}
		f.say(tr("broker.test.builtin_on_save"), widget.MediumImportance)
		return
	}
	f.say(tr("broker.test.connecting", args{"URL": redact.URL(cfg.URL)}), widget.MediumImportance)
	f.test.Disable()
	go func() {
		ctx, cancel := context.WithTimeout(f.g.ctx, 10*time.Second)
		defer cancel()
		cfg.ConnectTimeout = 5 * time.Second
		hub, err := transfer.NewHub(cfg, "test")
		if err == nil {
			err = hub.Connect(ctx)
			hub.Close()
		}
		f.g.do(func() {
			f.test.Enable()
			if err != nil {
				f.say(tr("broker.test.failed", args{"Reason": errorWithDetail(err)}), widget.DangerImportance)
				return
			}
			f.say(tr("broker.test.ok", args{"URL": redact.URL(cfg.URL)}), widget.SuccessImportance)
		})
	}()
}

func sameBuiltin(a, b config.Broker) bool {
	return a.Builtin && b.Builtin && a.Listen == b.Listen && a.Username == b.Username && a.Password == b.Password
}

func (f *brokerForm) submit() {
	b, err := f.profile()
	if err != nil {
		f.say(errorWithDetail(err), widget.DangerImportance)
		return
	}
	if err := f.g.applyBroker(b); err != nil {
		f.say(errorWithDetail(err), widget.DangerImportance)
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
