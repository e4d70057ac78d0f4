package gui

import (
	"testing"

	"imagebeam/config"
	"imagebeam/simdevice"
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
