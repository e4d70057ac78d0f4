package gui

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"imagebeam/broker"
	"imagebeam/codec"
	"imagebeam/config"
	"imagebeam/internal/human"
	"imagebeam/simdevice"
	"imagebeam/transfer"
)

func TestFirstStartSavesBuiltinBrokerAndSimulatedDevice(t *testing.T) {
	inEachLanguage(t, func(t *testing.T, lang string) {
		h := newHarnessIn(t, lang, nil)
		h.waitSim()

		s, err := config.Load(h.g.cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Broker.Builtin {
			t.Error("first start did not choose the built-in broker")
		}
		// The first device is named in the window's language.
		name := map[string]string{langEnglish: simName, langChinese: "模拟设备"}[lang]
		if len(s.Devices) != 1 || !s.Devices[0].Simulated || s.Devices[0].Name != name {
			t.Fatalf("devices after first start = %+v, want only the simulated device, %q", s.Devices, name)
		}
		if d := s.Devices[0]; d.ToDevice == "mqttTestPub" || d.FromDevice == "mqttTestSub" {
			t.Errorf("simulated device uses the real BASE's topics: %s %s", d.ToDevice, d.FromDevice)
		}
		connected := map[string]string{langEnglish: "Connected: built-in broker 127.0.0.1:", langChinese: "已连接：内置服务器 127.0.0.1:"}[lang]
		if !strings.HasPrefix(h.g.conn.text.Text, connected) {
			t.Errorf("indicator = %q, want %q…", h.g.conn.text.Text, connected)
		}
		w := test.NewTempWindow(t, h.g.devices.object())
		w.Resize(fyne.NewSize(320, 420))
		assertMarkup(t, lang, "devices_first_start.xml", w.Canvas())
	})
}

func TestDeviceFormAddEditDelete(t *testing.T) {
	h := newHarness(t, nil)
	l := h.g.devices

	cases := []struct {
		name  string
		fill  func(f *deviceForm)
		error string // the inline error's sentence (its key); "" = saved
		words string // part of the English sentence
	}{
		{"empty topic", func(f *deviceForm) { f.to.SetText("") }, "device.error.topic_empty", "“To device” topic is empty"},
		{"wildcard topic", func(f *deviceForm) { f.from.SetText("lab/+/answers") }, "device.error.topic_wildcard", "wildcard"},
		{"same topic both ways", func(f *deviceForm) { f.from.SetText(f.to.Text) }, "device.error.same_topic", "must differ"},
		{"name taken", func(f *deviceForm) { f.name.SetText("simulated DEVICE") }, "device.error.name_taken", "already named"},
		{"no name", func(f *deviceForm) { f.name.SetText("  ") }, "device.error.no_name", "name"},
		{"quality out of range", func(f *deviceForm) { f.quality.SetText("0") }, "device.error.out_of_range", "“JPEG quality” must be between 1 and 100"},
		{"chunk not a number", func(f *deviceForm) { f.chunk.SetText("lots") }, "device.error.not_a_number", "“Chunk (bytes)” must be a whole number"},
		{"bad timeout", func(f *deviceForm) { f.timeout.SetText("5") }, "device.error.timeout", "“Timeout” must be a duration"},
		{"bad BEGIN name", func(f *deviceForm) { f.begin.SetText("a;b.jpg") }, "device.error.begin_name", "BEGIN file name"},
		{"second simulator", func(f *deviceForm) {
			f.sim.SetChecked(true)
			f.to.SetText("imagebeam/sim2/to-device")
			f.from.SetText("imagebeam/sim2/from-device")
		}, "device.error.second_simulator", "only one simulator"},
		{"simulator on the BASE's topics", func(f *deviceForm) { f.sim.SetChecked(true) }, "device.error.sim_base_topics", "real BASE's topics"},
		{"valid", func(f *deviceForm) {}, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(h.g.settings.Devices)
			f := newDeviceForm(config.DefaultDevice())
			f.name.SetText("")
			test.Type(f.name, "Bench 3")
			closed := false
			f.onSave = func(d config.Device) error { return l.saveDevice(-1, d) }
			f.onClose = func() { closed = true }
			c.fill(f)
			test.Tap(f.save)
			if c.error == "" {
				if !closed || f.errText.Visible() {
					t.Fatalf("valid device not saved: %q", f.errText.Text)
				}
				if len(h.g.settings.Devices) != before+1 {
					t.Fatalf("devices: %d, want %d", len(h.g.settings.Devices), before+1)
				}
				return
			}
			if closed || !f.errText.Visible() || errorKey(f.err) != c.error || !strings.Contains(f.errText.Text, c.words) {
				t.Fatalf("error shown = %q (%s, visible %v, closed %v), want %s, which mentions %q", f.errText.Text, errorKey(f.err), f.errText.Visible(), closed, c.error, c.words)
			}
			if len(h.g.settings.Devices) != before {
				t.Fatal("an invalid device was saved")
			}
		})
	}

	// The form with an error, as the user sees it, in each language.
	inEachLanguage(t, func(t *testing.T, lang string) {
		inLanguage(t, lang)
		f := newDeviceForm(config.DefaultDevice())
		f.to.SetText("lab/#")
		f.onSave = func(d config.Device) error { return l.saveDevice(-1, d) }
		test.Tap(f.save)
		w := test.NewTempWindow(t, f.object())
		w.Resize(fyne.NewSize(560, 760))
		assertMarkup(t, lang, "device_form_error.xml", w.Canvas())
	})

	// Edit: rename Bench 3, through the form the Edit button opens.
	i := indexOf(h.g.settings.Devices, "Bench 3")
	ef := newDeviceForm(h.g.settings.Devices[i])
	ef.onSave = func(d config.Device) error { return l.saveDevice(i, d) }
	ef.name.SetText("Bench 4")
	ef.quality.SetText("70")
	test.Tap(ef.save)
	saved, err := config.Load(h.g.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := saved.Device("Bench 4")
	if !ok || d.Image.Quality != 70 {
		t.Fatalf("edited device in the settings file = %+v, %v", d, ok)
	}
	if _, ok := saved.Device("Bench 3"); ok {
		t.Fatal("the old name is still saved")
	}

	// Delete it.
	if err := l.deleteDevice(indexOf(h.g.settings.Devices, "Bench 4")); err != nil {
		t.Fatal(err)
	}
	saved, _ = config.Load(h.g.cfgPath)
	if _, ok := saved.Device("Bench 4"); ok || len(saved.Devices) != 1 {
		t.Fatalf("after delete the settings file has %+v", saved.Devices)
	}
}

func indexOf(ds []config.Device, name string) int {
	for i, d := range ds {
		if d.Name == name {
			return i
		}
	}
	return -1
}

func TestDropLoadsFileAndPreviewShowsNumbers(t *testing.T) {
	inEachLanguage(t, testDropLoadsFileAndPreviewShowsNumbers)
}

func testDropLoadsFileAndPreviewShowsNumbers(t *testing.T, lang string) {
	h := newHarnessIn(t, lang, nil)
	src := writeJPEG(t, h.dir, "photo.jpg", 1200, 900)
	h.load(src)

	// What the pipeline makes for the simulated device's profile.
	opts, err := simulatedDevice().Options()
	if err != nil {
		t.Fatal(err)
	}
	want, err := codec.Convert(context.Background(), src, codec.LoadOptions{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	p := h.g.preview
	if p.result.SHA256 != want.SHA256 {
		t.Errorf("preview JPEG differs from codec.Convert's")
	}
	info, _ := os.Stat(src)
	wantSrc := map[string]string{
		langEnglish: fmt.Sprintf("photo.jpg\n1200×900 JPEG, %s", human.Bytes(info.Size())),
		langChinese: fmt.Sprintf("photo.jpg\n1200×900 JPEG，%s", human.Bytes(info.Size())),
	}[lang]
	if p.srcInfo.Text != wantSrc {
		t.Errorf("source info = %q, want %q", p.srcInfo.Text, wantSrc)
	}
	wantOut := map[string]string{
		langEnglish: fmt.Sprintf("%d×%d JPEG, quality 85, %s\n%d packets of 1400 bytes", want.Width, want.Height, human.Bytes(int64(want.Bytes)), want.Packets),
		langChinese: fmt.Sprintf("%d×%d JPEG，质量 85，%s\n%d 个数据包，每包 1400 字节", want.Width, want.Height, human.Bytes(int64(want.Bytes)), want.Packets),
	}[lang]
	if !strings.HasPrefix(p.outInfo.Text, wantOut) {
		t.Errorf("output info = %q, want it to start %q", p.outInfo.Text, wantOut)
	}
	if want.Width != 800 || want.Height != 480 {
		t.Errorf("contain into 800×480 gave %d×%d", want.Width, want.Height)
	}
	wantSend := map[string]string{langEnglish: "Send to Simulated device", langChinese: "发送到“模拟设备”"}[lang]
	if !p.send.Visible() || p.send.Disabled() || p.send.Text != wantSend {
		t.Errorf("send button = %q, disabled %v, want %q", p.send.Text, p.send.Disabled(), wantSend)
	}

	// Changing the quality re-encodes the preview.
	prev := p.result
	p.quality.SetValue(40)
	h.waitFor("the re-encoded preview", func() bool { return p.result != prev })
	if p.result.Quality != 40 || p.result.Bytes >= prev.Bytes {
		t.Errorf("quality 40 gave q%d, %d bytes (was %d)", p.result.Quality, p.result.Bytes, prev.Bytes)
	}
	p.quality.SetValue(85)
	h.waitFor("the preview at quality 85", func() bool { return p.result.Quality == 85 })

	w := test.NewTempWindow(t, p.object())
	w.Resize(fyne.NewSize(620, 640))
	assertMarkup(t, lang, "preview_loaded.xml", w.Canvas())
}

func TestDropQueuesSeveralFiles(t *testing.T) {
	h := newHarness(t, nil)
	a := writeJPEG(t, h.dir, "a.jpg", 320, 200)
	b := writeJPEG(t, h.dir, "b.jpg", 200, 320)
	h.g.Open([]string{a, b})
	p := h.g.preview
	h.waitFor("a.jpg", func() bool { return p.result != nil && p.source == a })
	if !p.queueRow.Visible() || len(p.queue) != 2 {
		t.Fatalf("queue = %v, shown %v", p.queue, p.queueRow.Visible())
	}
	test.Tap(p.queueNext)
	h.waitFor("b.jpg", func() bool { return p.source == b })
}

func TestBadImageShowsErrorAndKeepsPrevious(t *testing.T) {
	h := newHarness(t, nil)
	good := writeJPEG(t, h.dir, "good.jpg", 640, 480)
	h.load(good)
	kept := h.g.preview.result

	bad := filepath.Join(h.dir, "notes.jpg")
	if err := os.WriteFile(bad, []byte("these are my lab notes, not a picture\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var loadErr error
	h.g.onLoadError = func(err error) { loadErr = err }
	h.g.OnDropped(fyne.Position{}, []fyne.URI{storage.NewFileURI(bad)})
	h.waitFor("the load error", func() bool { return loadErr != nil })

	p := h.g.preview
	if !p.errText.Visible() || !strings.Contains(p.errText.Text, "notes.jpg") || !strings.Contains(p.errText.Text, "not an image") {
		t.Errorf("error shown = %q (visible %v)", p.errText.Text, p.errText.Visible())
	}
	if p.result != kept || p.source != good || p.outImage.Image == nil {
		t.Error("the previous image was not kept")
	}
}

func TestSendToSimulatedDeviceReachesFullAndRecordsHistory(t *testing.T) {
	h := newHarness(t, nil)
	var got []simdevice.Received
	h.g.onSimReceived = func(r simdevice.Received) { got = append(got, r) }
	h.waitSim()
	h.load(writeJPEG(t, h.dir, "photo.jpg", 1600, 1000))
	sent := h.g.preview.result

	var updates int
	h.g.onTransferUpdate = func(*transferView) { updates++ }
	v := h.sendAndWait()
	if v.snap.Phase != "done" || v.bar.Value != 1 {
		t.Fatalf("transfer ended %q at %.0f%%: %v", v.snap.Phase, v.bar.Value*100, v.snap.Err)
	}
	if v.snap.AckedPackets != sent.Packets || !strings.Contains(v.counts.Text, fmt.Sprintf("%d / %d packets", sent.Packets, sent.Packets)) {
		t.Errorf("counts = %q, want %d packets", v.counts.Text, sent.Packets)
	}
	if !strings.Contains(v.status.Text, "Done") || v.cancelBtn.Visible() || !v.resendBtn.Visible() {
		t.Errorf("status %q, cancel shown %v, resend shown %v", v.status.Text, v.cancelBtn.Visible(), v.resendBtn.Visible())
	}
	h.waitFor("the simulated device's report", func() bool { return len(got) == 1 })
	if !got[0].Complete || got[0].SHA256 != sent.SHA256 {
		t.Errorf("device received %+v, want sha %s", got[0], sent.SHA256)
	}
	entries := h.g.history.entries
	if len(entries) != 1 || entries[0].Result != "done" || entries[0].SHA256 != sent.SHA256 || entries[0].Device != simName {
		t.Fatalf("history = %+v", entries)
	}
	if st := h.g.devices.statusOf(simName); st.state != devOK || st.rtt <= 0 || st.lastSeen.IsZero() {
		t.Errorf("device status after the send = %+v", st)
	}
	if !strings.HasPrefix(h.g.preview.estimate.Text, "Estimated send time to Simulated device") {
		t.Errorf("estimate = %q", h.g.preview.estimate.Text)
	}
	// The history survives a restart.
	if again := openHistory(h.g.history.store.dir).list(); len(again) != 1 || again[0].SHA256 != sent.SHA256 {
		t.Errorf("history read back = %+v", again)
	}
	t.Logf("%d UI updates for %d packets", updates, sent.Packets)

	// With an image, a finished transfer and its history, the window
	// still fits the smallest size the lab laptops use.
	if m := h.g.win.Content().MinSize(); m.Width > 1024 || m.Height > 640 {
		t.Errorf("the window needs at least %v, more than 1024×640", m)
	}
}

func TestResendFromHistorySendsIdenticalBytes(t *testing.T) {
	h := newHarness(t, nil)
	var got []simdevice.Received
	h.g.onSimReceived = func(r simdevice.Received) { got = append(got, r) }
	h.waitSim()
	h.load(writeJPEG(t, h.dir, "photo.jpg", 900, 600))
	first := h.sendAndWait()
	if first.snap.Phase != "done" {
		t.Fatalf("first send: %v", first.snap.Err)
	}
	// Load another image: the resend must still send the first one's bytes.
	h.load(writeJPEG(t, h.dir, "other.jpg", 640, 640))

	var ended *transferView
	h.g.onTransferEnd = func(v *transferView) { ended = v }
	h.g.history.resend(h.g.history.entries[0], "")
	h.waitFor("the resend", func() bool { return ended != nil && len(got) == 2 })
	if ended.snap.Phase != "done" || !ended.resend {
		t.Fatalf("resend ended %q (resend flag %v)", ended.snap.Phase, ended.resend)
	}
	if got[1].SHA256 != got[0].SHA256 || got[1].SHA256 != first.sha || !got[1].Complete {
		t.Errorf("resend delivered %s, first send %s", got[1].SHA256, got[0].SHA256)
	}
	if n := len(h.g.history.entries); n != 2 || !h.g.history.entries[0].Resend {
		t.Errorf("history after resend: %+v", h.g.history.entries)
	}
}

func TestCancelStopsTransferToSilentDevice(t *testing.T) {
	inEachLanguage(t, testCancelStopsTransferToSilentDevice)
}

func testCancelStopsTransferToSilentDevice(t *testing.T, lang string) {
	h := newHarnessIn(t, lang, nil)
	h.waitSim()
	silent := config.DefaultDevice()
	silent.Name = "Silent bench"
	silent.ToDevice, silent.FromDevice = "imagebeam/test/silent/to-device", "imagebeam/test/silent/from-device"
	silent.Timeout = config.Duration(time.Minute) // only Cancel can end it soon
	h.addDevice(silent)

	// Fixed bytes rather than the pipeline's output keep the card's master
	// independent of the codec; the device never looks at them.
	v := h.g.startTransfer(silent, bytes.Repeat([]byte{0xA5}, 20000), "/lab/photo.jpg", false)
	h.waitFor("BEGIN to go out", func() bool { return v.snap.Phase == "sending" })
	// Closing the window now asks first.
	h.g.closeRequested()
	if top := h.g.win.Canvas().Overlays().Top(); top == nil {
		t.Error("closing during a transfer did not ask")
	} else {
		top.Hide()
	}
	ended := false
	h.g.onTransferEnd = func(*transferView) { ended = true }
	test.Tap(v.cancelBtn)
	h.waitFor("the cancelled transfer to end", func() bool { return ended })

	if v.snap.Phase != "cancelled" {
		t.Fatalf("phase = %q (%v), want cancelled", v.snap.Phase, v.snap.Err)
	}
	partial := map[string]string{langEnglish: "partial image", langChinese: "不完整的图片"}[lang]
	if !strings.Contains(v.status.Text, partial) || !v.resendBtn.Visible() {
		t.Errorf("status = %q, resend shown %v, want it to say %q", v.status.Text, v.resendBtn.Visible(), partial)
	}
	cw := test.NewTempWindow(t, v.card)
	cw.Resize(fyne.NewSize(420, 300))
	assertMarkup(t, lang, "transfer_cancelled.xml", cw.Canvas())
	if e := h.g.history.entries; len(e) != 1 || e[0].Result != "cancelled" {
		t.Errorf("history = %+v", e)
	}
	if st := h.g.devices.statusOf("Silent bench"); st.state != devFailed || st.active != 0 {
		t.Errorf("device status = %+v", st)
	}
}

func TestBrokerDownShowsErrorState(t *testing.T) {
	inEachLanguage(t, testBrokerDownShowsErrorState)
}

func testBrokerDownShowsErrorState(t *testing.T, lang string) {
	// A port nobody listens on: bind one, then close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	h := newHarnessIn(t, lang, func(cfg string) {
		s := config.Default()
		s.Broker = config.Broker{URL: "tcp://" + addr}
		bench := config.DefaultDevice()
		bench.Name = "Bench 1"
		s.Devices = []config.Device{bench}
		if err := s.Save(cfg); err != nil {
			t.Fatal(err)
		}
	})
	c := h.g.conn
	h.waitFor("the error state", func() bool { return c.state == connError })
	unreachable := map[string]string{langEnglish: "The broker cannot be reached", langChinese: "连不上 MQTT 服务器"}[lang]
	if c.text.Text != tr("conn.state.error") || !c.banner.Visible() ||
		!strings.Contains(c.banner.Text, unreachable) || !strings.Contains(c.banner.Text, addr) {
		t.Errorf("indicator %q, banner %q (visible %v), want it to say %q", c.text.Text, c.banner.Text, c.banner.Visible(), unreachable)
	}

	assertMarkup(t, lang, "broker_error.xml", test.NewTempWindow(t, c.object()).Canvas())

	// A send fails with the same cause, in words.
	h.load(writeJPEG(t, h.dir, "photo.jpg", 320, 240))
	v := h.sendAndWait()
	if v.snap.Phase != "failed" || !strings.Contains(v.status.Text, unreachable) {
		t.Errorf("send to a dead broker: phase %q, status %q", v.snap.Phase, v.status.Text)
	}
}

func TestBrokerRestartKeepsTheNewSimulatorsState(t *testing.T) {
	h := newHarness(t, nil)
	h.waitSim()
	b := h.g.backend
	// Two restarts in a row: the first one's simulator is still connecting
	// when the second cancels it, and its "not running: cancelled" is
	// queued for the UI before the second start. It must not overwrite
	// what the second start's simulator says.
	b.restart(h.g.settings.Broker)
	b.restart(h.g.settings.Broker)
	h.waitSim()
	h.q.runPending()
	if b.simErr != "" {
		t.Fatalf("the running simulator is shown as %q", b.simErr)
	}
	words, _ := h.g.devices.describe(h.g.settings.Devices[0], h.g.devices.statusOf(h.g.settings.Devices[0].Name))
	if strings.Contains(words, "not running") {
		t.Fatalf("device list says %q while the simulator runs", words)
	}
}

func TestConsumeCoalescesUpdates(t *testing.T) {
	const frames = 20000
	events := make(chan transfer.Event, frames+1)
	start := time.Now()
	for i := 0; i < frames; i++ {
		events <- transfer.Progress{Time: start, AckedBytes: i * 1400, TotalBytes: frames * 1400, AckedPackets: i, TotalPackets: frames}
	}
	events <- transfer.Done{Time: start, Stats: transfer.Stats{Bytes: frames * 1400, Packets: frames}}
	close(events)
	var applies []progressSnap
	consume(events, transfer.NewTally(0, 0), uiInterval, func(s progressSnap) { applies = append(applies, s) })
	elapsed := time.Since(start)

	if limit := int(elapsed/uiInterval) + 2; len(applies) > limit {
		t.Errorf("%d UI updates in %s, want at most %d", len(applies), elapsed, limit)
	}
	last := applies[len(applies)-1]
	if !last.final || last.Phase != transfer.PhaseDone || last.AckedPackets != frames {
		t.Errorf("last update = %+v", last)
	}
	for _, a := range applies[:len(applies)-1] {
		if a.final {
			t.Error("an update before the last one is marked final")
		}
	}
}

func TestEventLogIsBounded(t *testing.T) {
	h := newHarness(t, nil)
	l := newEventLog(h.g, "x.log")
	for i := 0; i < 3; i++ {
		lines := make([]logLine, logLimit)
		for j := range lines {
			lines[j] = logLine{transfer.FrameSent{Function: transfer.FuncData, Number: i*logLimit + j}}
		}
		l.append(lines, 0)
	}
	if first := l.lines[0].ev.(transfer.FrameSent); len(l.lines) != logLimit || first.Number != 2*logLimit {
		t.Fatalf("kept %d lines starting %+v", len(l.lines), first)
	}
	if !strings.HasPrefix(l.text(), fmt.Sprintf("(%d earlier lines not kept)", 2*logLimit)) {
		t.Errorf("copied text starts %q", l.text()[:40])
	}
}

func TestFetchURLLoadsPreview(t *testing.T) {
	h := newHarness(t, nil)
	data, err := os.ReadFile(writeJPEG(t, h.dir, "web.jpg", 500, 400))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(data)
	}))
	defer srv.Close()
	p := h.g.preview
	test.Type(p.url, srv.URL+"/web.jpg")
	p.url.OnSubmitted(p.url.Text) // Enter
	h.waitFor("the fetched image", func() bool { return p.result != nil })
	if !strings.HasPrefix(p.srcInfo.Text, srv.URL+"/web.jpg\n500×400 JPEG") || p.url.Text != "" {
		t.Errorf("source info %q, URL field %q", p.srcInfo.Text, p.url.Text)
	}
}

func TestPasteLoadsPathFromClipboard(t *testing.T) {
	h := newHarness(t, nil)
	src := writeJPEG(t, h.dir, "pasted.jpg", 300, 200)
	h.g.app.Clipboard().SetContent(src + "\n")
	h.g.pasteSource()
	h.waitFor("the pasted file", func() bool { return h.g.preview.source == src && h.g.preview.result != nil })
}

func TestSameImageAgainAsksFirst(t *testing.T) {
	h := newHarness(t, nil)
	h.waitSim()
	h.load(writeJPEG(t, h.dir, "photo.jpg", 640, 480))
	if v := h.sendAndWait(); v.snap.Phase != "done" {
		t.Fatalf("first send: %v", v.snap.Err)
	}
	if h.g.win.Canvas().Overlays().Top() != nil {
		t.Fatal("a dialog is open before the second send")
	}
	n := len(h.g.xfers.views)
	test.Tap(h.g.preview.send)
	if h.g.win.Canvas().Overlays().Top() == nil || len(h.g.xfers.views) != n {
		t.Fatal("sending the same image again did not ask first")
	}
	// An explicit resend does not ask.
	h.g.win.Canvas().Overlays().Top().Hide()
	h.g.history.resend(h.g.history.entries[0], "")
	h.waitFor("the resend to start", func() bool { return len(h.g.xfers.views) == n+1 })
	if h.g.win.Canvas().Overlays().Top() != nil {
		t.Error("the resend asked first")
	}
}

func TestSecondTransferToBusyDeviceWaits(t *testing.T) {
	h := newHarness(t, nil)
	h.waitSim()
	silent := config.DefaultDevice()
	silent.Name = "Silent bench"
	silent.ToDevice, silent.FromDevice = "imagebeam/test/busy/to-device", "imagebeam/test/busy/from-device"
	silent.Timeout = config.Duration(time.Minute)
	h.addDevice(silent)
	h.g.devices.checked = map[string]bool{"Silent bench": true}
	h.load(writeJPEG(t, h.dir, "photo.jpg", 320, 240))
	img := h.g.preview.result.JPEG

	first := h.g.startTransfer(silent, img, "photo.jpg", false)
	h.waitFor("the first transfer to send", func() bool { return first.snap.Phase == "sending" })
	second := h.g.startTransfer(silent, img, "photo.jpg", false)
	h.waitFor("the second transfer to wait", func() bool { return second.snap.Phase == "waiting" })
	if !strings.Contains(second.status.Text, "Waiting") {
		t.Errorf("waiting status = %q", second.status.Text)
	}
	if st := h.g.devices.statusOf("Silent bench"); st.active != 2 {
		t.Errorf("active transfers on the device = %d", st.active)
	}
	ended := 0
	h.g.onTransferEnd = func(*transferView) { ended++ }
	h.g.xfers.cancelAll()
	h.waitFor("both to end", func() bool { return ended == 2 })
	if first.snap.Phase != "cancelled" || second.snap.Phase != "cancelled" {
		t.Errorf("phases after cancel: %q, %q", first.snap.Phase, second.snap.Phase)
	}
}

func TestBuiltinBrokerFallsBackWhenPortIsTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().String()
	h := &harness{t: t, q: newUIQueue(), dir: t.TempDir()}
	h.g = New(newTestApp(t), Options{
		ConfigPath: filepath.Join(h.dir, "settings.json"), DataDir: filepath.Join(h.dir, "data"),
		Do: h.q.do, BuiltinListen: taken, SimFaults: &simdevice.Faults{}, Language: langEnglish,
	})
	t.Cleanup(h.g.Shutdown)
	h.waitSim()
	c := h.g.conn
	if c.fallback == "" || !c.banner.Visible() || !strings.Contains(c.banner.Text, taken+" is used by another program") {
		t.Errorf("banner = %q (visible %v)", c.banner.Text, c.banner.Visible())
	}
	if h.g.backend.cfg.URL == "tcp://"+taken {
		t.Error("transfers still go to the taken port")
	}
	// The settings file keeps the user's choice; the free port is for this run.
	if s, _ := config.Load(h.g.cfgPath); s.Broker.Listen != config.DefaultListen {
		t.Errorf("saved listen address = %q", s.Broker.Listen)
	}
}

func TestBrokerFormValidatesAndApplies(t *testing.T) {
	h := newHarness(t, nil)
	h.waitSim()
	f := newBrokerForm(h.g, h.g.settings.Broker)
	closed := false
	f.onClose = func() { closed = true }
	f.setBuiltin(false)
	if f.externalBox.Hidden || !f.builtinBox.Hidden {
		t.Fatal("external broker fields not shown")
	}
	for _, c := range []struct{ url, want string }{
		{"", "enter the broker's url"},
		{"http://10.0.0.5", "bad broker url"},
	} {
		f.url.SetText(c.url)
		test.Tap(f.save)
		if closed || !strings.Contains(strings.ToLower(f.msg.Text), c.want) {
			t.Errorf("URL %q: message %q, want %q", c.url, f.msg.Text, c.want)
		}
	}
	f.insecure.SetChecked(true)
	if !f.insecureWarn.Visible() {
		t.Error("no warning for insecure TLS")
	}
	f.setBuiltin(true)
	f.lan.SetChecked(true)
	test.Tap(f.save)
	if closed || !strings.Contains(f.msg.Text, "username and password") {
		t.Errorf("LAN broker without login: %q", f.msg.Text)
	}
	if !f.lanAddr.Visible() || !strings.Contains(f.lanAddr.Text, "ssl://") {
		t.Errorf("LAN address hint = %q", f.lanAddr.Text)
	}

	// Apply an external broker nobody listens on: the indicator follows.
	f.setBuiltin(false)
	f.insecure.SetChecked(false)
	f.url.SetText("tcp://127.0.0.1:9")
	test.Tap(f.save)
	if !closed {
		t.Fatalf("valid profile not saved: %q", f.msg.Text)
	}
	h.waitFor("the error state", func() bool { return h.g.conn.state == connError })
	if s, _ := config.Load(h.g.cfgPath); s.Broker.Builtin || s.Broker.URL != "tcp://127.0.0.1:9" {
		t.Errorf("saved broker = %+v", s.Broker)
	}
	if h.g.backend.simErr == "" {
		t.Error("the simulator still runs with an external broker")
	}
}

func TestHistoryIsBoundedAndExportsCSV(t *testing.T) {
	dir := t.TempDir()
	s := openHistory(dir)
	img := []byte("not really a jpeg, but bytes to keep")
	for i := 0; i < historyMaxEntries+5; i++ {
		s.add(historyEntry{Time: time.Unix(int64(i), 0), Device: "Bench", SHA256: fmt.Sprintf("%064d", i%3), Bytes: len(img), Result: "done"}, img)
	}
	got := s.list()
	if len(got) != historyMaxEntries || got[0].Time.Unix() != historyMaxEntries+4 || got[len(got)-1].Time.Unix() != 5 {
		t.Fatalf("kept %d entries, newest %v, oldest %v", len(got), got[0].Time, got[len(got)-1].Time)
	}
	var b strings.Builder
	if err := writeCSV(&b, got[:2]); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "time,device,source,bytes,sha256,result") || !strings.Contains(lines[1], ",Bench,") {
		t.Errorf("CSV = %q", b.String())
	}
}

func TestUnreadableSettingsAreShownAndNotOverwritten(t *testing.T) {
	broken := []byte("{\"version\": 1, \"devices\": [\n")
	h := newHarness(t, func(cfg string) {
		if err := os.WriteFile(cfg, broken, 0o600); err != nil {
			t.Fatal(err)
		}
	})
	c := h.g.conn
	if !c.banner.Visible() || !strings.Contains(c.banner.Text, "not valid JSON") {
		t.Errorf("banner = %q (visible %v)", c.banner.Text, c.banner.Visible())
	}
	d := config.DefaultDevice()
	d.Name = "Bench 9"
	if err := h.g.devices.saveDevice(-1, d); err == nil {
		t.Error("saving a device over an unreadable settings file succeeded")
	}
	if got, _ := os.ReadFile(h.g.cfgPath); !bytes.Equal(got, broken) {
		t.Errorf("the settings file was changed to %q", got)
	}
}

// allText collects every text o draws: labels, entries, rich text, at any
// depth of containers and widgets.
func allText(o fyne.CanvasObject) string {
	var b strings.Builder
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *canvas.Text:
			b.WriteString(x.Text + "\n")
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c)
			}
		case fyne.Widget:
			if e, ok := x.(*widget.Entry); ok && !e.Password {
				b.WriteString(e.Text + "\n") // the text, also where the renderer scrolls it away
			}
			for _, c := range test.WidgetRenderer(x).Objects() {
				walk(c)
			}
		}
	}
	walk(o)
	return b.String()
}

func TestWindowShowsNoBrokerPassword(t *testing.T) {
	const secret = "Gui-Br0ker-Pw-1e77c3"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: every route shows an error
	h := newHarness(t, func(cfg string) {
		s := config.Default()
		s.Broker = config.Broker{URL: "tcp://lab:" + secret + "@" + addr}
		bench := config.DefaultDevice()
		bench.Name = "Bench 1"
		s.Devices = []config.Device{bench}
		if err := s.Save(cfg); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(cfg, 0o644); err != nil {
			t.Fatal(err)
		}
	})
	c := h.g.conn
	h.waitFor("the error state", func() bool { return c.state == connError })
	if !strings.Contains(c.banner.Text, "chmod 600") {
		t.Errorf("no warning about the readable settings file: %q", c.banner.Text)
	}
	h.load(writeJPEG(t, h.dir, "photo.jpg", 320, 240))
	v := h.sendAndWait()
	var seen strings.Builder
	seen.WriteString(allText(h.g.win.Content()) + allText(v.card) + v.log.text())
	for _, l := range v.log.lines {
		seen.WriteString(l.shown() + "\n")
	}
	for _, e := range h.g.history.store.entries {
		seen.WriteString(e.Error + e.Source + "\n")
	}
	f := newBrokerForm(h.g, h.g.settings.Broker)
	seen.WriteString(allText(f.box))
	if f.pass.Text != secret || f.user.Text != "lab" {
		t.Errorf("the broker dialog did not move the URL's login to its fields: user %q", f.user.Text)
	}
	if strings.Contains(seen.String(), secret) {
		t.Fatalf("the window shows the broker password:\n%s", seen.String())
	}
	if !strings.Contains(seen.String(), "tcp://"+addr) {
		t.Fatalf("the window does not name the broker at all:\n%s", seen.String())
	}
}

func TestLabNetworkBrokerDialogShowsTheCertificateFingerprint(t *testing.T) {
	h := newHarness(t, nil)
	h.waitSim()
	// A built-in broker that speaks TLS, as it does on the lab network.
	br, err := broker.Start(broker.Options{Listen: "127.0.0.1:0", TLS: true, CertDir: h.dir})
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	running := h.g.backend.builtin
	h.g.backend.builtin = br
	defer func() { h.g.backend.builtin = running }()
	f := newBrokerForm(h.g, h.g.settings.Broker)
	f.lan.SetChecked(true)
	if fp := br.Fingerprint(); fp == "" || !strings.Contains(f.lanAddr.Text, fp) || !strings.Contains(f.lanAddr.Text, br.CertFile()) {
		t.Fatalf("the lab-network hint %q does not show the certificate %s and its fingerprint %s", f.lanAddr.Text, br.CertFile(), fp)
	}
}
