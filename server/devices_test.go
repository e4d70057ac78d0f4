package server

import (
	"errors"
	"net/http"
	"testing"

	"imagebeam/config"
	"imagebeam/transfer"
)

// An unknown ?device= is answered 404 with config's one sentence, which
// names it and lists the devices, on every endpoint that takes it.
func TestUnknownDeviceIs404WithConfigsSentence(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	f := newFixture(t, Options{Broker: transfer.BrokerConfig{URL: "tcp://" + closedPort(t)},
		Devices: []config.Device{testDevice("good"), testDevice("Bench 3")}})
	want := `config: no saved device is named "nope"; saved: "good", "Bench 3"`
	for _, c := range []struct{ method, path, contentType string }{
		{"GET", "/image?url=" + f.images + "/photo.png&device=nope", ""},
		{"POST", "/image?device=nope", "image/png"},
	} {
		r := f.do(ctx, c.method, c.path, c.contentType, pngImage(8, 8, 0, false))
		if r.status != http.StatusNotFound || r.body["error"] != want || r.body["imageData"] != float64(0) {
			t.Errorf("%s %s: %d %s; want 404 saying %q", c.method, c.path, r.status, r.raw, want)
		}
	}
}

// ?device= and Options.Default find a device whatever the case of its name.
func TestDeviceNamesIgnoreCase(t *testing.T) {
	t.Parallel()
	s, err := New(Options{Broker: transfer.BrokerConfig{URL: "tcp://127.0.0.1:1"},
		Devices: []config.Device{testDevice("good"), testDevice("Bench 3")}, Default: "BENCH 3"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.devices[0].cfg.Name != "Bench 3" || s.devices[1].cfg.Name != "good" {
		t.Fatalf("devices %q, %q; want the default Bench 3 first", s.devices[0].cfg.Name, s.devices[1].cfg.Name)
	}
	for name, want := range map[string]string{"good": "good", "GOOD": "good", "bench 3": "Bench 3"} {
		if d, err := s.device(name); err != nil || d.cfg.Name != want {
			t.Errorf("device(%q) = %v, %v; want %s", name, d, err, want)
		}
	}
}

// Two devices whose names differ only in case would make one of them
// unreachable: New refuses them, as the settings file does.
func TestNewRefusesDeviceNamesThatDifferOnlyInCase(t *testing.T) {
	t.Parallel()
	_, err := New(Options{Broker: transfer.BrokerConfig{URL: "tcp://127.0.0.1:1"},
		Devices: []config.Device{testDevice("lab"), testDevice("LAB")}})
	if !errors.Is(err, ErrOptions) {
		t.Fatalf("err = %v, want ErrOptions", err)
	}
}
