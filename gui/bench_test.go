package gui

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"imagebeam/config"
	"imagebeam/holdings"
	"imagebeam/simdevice"
	"imagebeam/transfer"
)

// The window's connection indicator and its transfers share one MQTT
// connection: while two transfers run (one to the simulated device, one
// to a silent device), the built-in broker has two clients, the window
// and the simulated device.
func TestWindowTransfersShareTheIndicatorsConnection(t *testing.T) {
	h := newHarness(t, nil)
	h.waitSim()
	silent := config.DefaultDevice()
	silent.Name, silent.ToDevice, silent.FromDevice = "Silent bench", "silent/to", "silent/from"
	h.addDevice(silent)
	h.g.devices.checked[simName] = true
	h.g.devices.checked[silent.Name] = true
	h.load(writeJPEG(t, h.dir, "photo.jpg", 1600, 1000))

	// The silent device's transfer runs on (its first timeout is 5 s)
	// when the simulated device has its image.
	clients := -1
	h.g.onSimReceived = func(simdevice.Received) { clients = h.g.backend.builtin.Clients() }
	h.g.sendSelected()
	h.waitFor("the simulated device's image", func() bool { return clients >= 0 })
	for _, v := range h.g.xfers.views {
		if !v.finished {
			v.cancel()
		}
	}
	if clients != 2 {
		t.Fatalf("the broker had %d clients during the transfers, want 2 (the window and the simulated device)", clients)
	}
}

// heldRow is the device list's row of device name, once drawn.
func (h *harness) heldRow(name string) *deviceRow {
	h.t.Helper()
	for _, r := range shown[*deviceRow](h.g.devices.list) {
		if r.name.Text == name {
			return r
		}
	}
	h.t.Fatalf("no row shows %q", name)
	return nil
}

// After a send, the device's row shows a thumbnail of what it holds, when
// and its SHA-256; selecting it shows it larger with the whole SHA-256;
// Resend last sends those very bytes; and it is all in the holdings store
// that send and serve share, so a restart keeps it. A record another
// process writes shows after the store is read again.
func TestDeviceListShowsWhatEachDeviceHolds(t *testing.T) {
	h := newHarness(t, nil)
	var got []simdevice.Received
	h.g.onSimReceived = func(r simdevice.Received) { got = append(got, r) }
	h.waitSim()
	h.load(writeJPEG(t, h.dir, "photo.jpg", 1600, 1000))
	sent := h.g.preview.result
	if v := h.sendAndWait(); v.snap.Phase != transfer.PhaseDone {
		t.Fatalf("send: %v", v.snap.Err)
	}
	sim, _ := h.g.settings.Device(simName)
	h.waitFor("the record and its picture", func() bool {
		r, ok := h.g.held.of(sim)
		return ok && r.SHA256 == sent.SHA256 && h.g.held.pics.images[r.SHA256] != nil
	})
	row := h.heldRow(simName)
	if !strings.Contains(row.holds.Text, sent.SHA256[:12]) || !row.thumbBox.Visible() || row.thumb.Image == nil {
		t.Errorf("row says %q, thumbnail shown %v", row.holds.Text, row.thumbBox.Visible())
	}
	p := h.g.devices.held
	if !p.box.Visible() || p.pic.Image == nil || !strings.Contains(p.sha.Text, sent.SHA256) || !strings.Contains(p.when.Text, "Holds this since") {
		t.Errorf("selected device's panel: shown %v, %q, %q", p.box.Visible(), p.when.Text, p.sha.Text)
	}

	// Another process (send, serve) records what a second device holds.
	other := config.DefaultDevice()
	other.Name, other.ToDevice, other.FromDevice = "Bench 2", "bench2/to", "bench2/from"
	h.addDevice(other)
	store, err := holdings.Open(filepath.Join(h.dir, "holdings"))
	if err != nil {
		t.Fatal(err)
	}
	img := []byte(sent.JPEG)
	if _, err := store.Put(h.g.held.keyOf(other), other.Name, img, time.Now()); err != nil {
		t.Fatal(err)
	}
	go h.g.held.reload()
	h.waitFor("the other process's record", func() bool { _, ok := h.g.held.of(other); return ok })

	// Resend last sends what the device holds, though the preview shows
	// another image by now.
	h.g.devices.list.Select(0)
	h.load(writeJPEG(t, h.dir, "other.jpg", 640, 640))
	var ended *transferView
	h.g.onTransferEnd = func(v *transferView) { ended = v }
	test.Tap(h.g.devices.resend)
	h.waitFor("the resend", func() bool { return ended != nil && len(got) == 2 })
	if ended.snap.Phase != transfer.PhaseDone || !ended.resend || got[1].SHA256 != sent.SHA256 {
		t.Fatalf("resend ended %q, device got %s, want %s", ended.snap.Phase, got[1].SHA256, sent.SHA256)
	}

	// What the window recorded is in the store, for the next start.
	rec, ok, err := store.Get(h.g.held.keyOf(sim))
	if err != nil || !ok || rec.SHA256 != sent.SHA256 || rec.Device != simName {
		t.Fatalf("store has %+v %v %v", rec, ok, err)
	}
}

// A saved group is ticked from the picker; the ticked devices are saved
// as a new group and a group is deleted, in the settings file; changing
// the ticks by hand forgets the group shown; resending to a group sends
// the newest image any of its devices holds, and says so when none holds
// one.
func TestGroupsAreTickedSavedResentAndDeleted(t *testing.T) {
	h := newHarness(t, func(cfg string) {
		s := config.Default()
		sim := config.DefaultDevice()
		sim.Name, sim.ToDevice, sim.FromDevice, sim.Simulated = simName, simToDevice, simFromDevice, true
		b3 := config.DefaultDevice()
		b3.Name, b3.ToDevice, b3.FromDevice = "Bench 3", "b3/to", "b3/from"
		s.Devices = []config.Device{sim, b3}
		s.Groups = []config.Group{{Name: "Pair", Devices: []string{"bench 3", simName}}, {Name: "Sim only", Devices: []string{simName}}}
		if err := s.Save(cfg); err != nil {
			t.Fatal(err)
		}
	})
	var got []simdevice.Received
	h.g.onSimReceived = func(r simdevice.Received) { got = append(got, r) }
	h.waitSim()
	p := h.g.devices.groups
	if strings.Join(p.sel.Options, "|") != "Pair|Sim only" {
		t.Fatalf("picker lists %q", p.sel.Options)
	}
	p.sel.SetSelected("Pair")
	if n := targetNames(h.g.devices.targets()); n != simName+", Bench 3" {
		t.Fatalf("ticking Pair ticked %q", n)
	}
	tapBox(h.heldRow("Bench 3").check)
	if p.sel.Selected != "" {
		t.Errorf("the picker still shows %q after a tick changed", p.sel.Selected)
	}

	// Nothing held yet: the resend says so.
	p.resend("Sim only")
	if text := allText(h.g.win.Canvas().Overlays().Top()); !strings.Contains(text, "No device of the group “Sim only” has acknowledged an image yet.") {
		t.Fatalf("error shown: %q", text)
	}
	h.g.win.Canvas().Overlays().Top().Hide()

	// Save the ticks (the simulated device alone now) as a group.
	if err := p.save(" Solo ", []string{simName}); err != nil {
		t.Fatal(err)
	}
	s, err := config.Load(h.g.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if gr, ok := s.Group("solo"); !ok || strings.Join(gr.Devices, ",") != simName || p.sel.Selected != "Solo" {
		t.Fatalf("saved groups %+v, picker shows %q", s.Groups, p.sel.Selected)
	}

	h.load(writeJPEG(t, h.dir, "photo.jpg", 800, 480))
	first := h.sendAndWait()
	h.waitFor("the record", func() bool { _, ok := h.g.held.of(h.g.settings.Devices[0]); return ok })
	var ended *transferView
	h.g.onTransferEnd = func(v *transferView) { ended = v }
	p.resend("Solo")
	h.waitFor("the group's resend", func() bool { return ended != nil && len(got) == 2 })
	if got[1].SHA256 != first.sha || !ended.resend {
		t.Fatalf("group resend delivered %s, want %s", got[1].SHA256, first.sha)
	}

	if err := p.delete("SOLO"); err != nil {
		t.Fatal(err)
	}
	if s, _ = config.Load(h.g.cfgPath); len(s.Groups) != 2 || p.sel.Selected != "" || len(p.sel.Options) != 2 {
		t.Fatalf("after delete: saved %+v, picker %q %q", s.Groups, p.sel.Options, p.sel.Selected)
	}
}
