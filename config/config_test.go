package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMissingFileGivesDefaults(t *testing.T) {
	s, err := Load(filepath.Join(t.TempDir(), "none.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Broker.Builtin || len(s.Devices) != 0 || s.Version != Version {
		t.Fatalf("defaults = %+v", s)
	}
}

func TestSaveLoadRoundTripIsPrivateAndAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "settings.json")
	s := Default()
	d := DefaultDevice()
	d.Timeout = Duration(250 * time.Millisecond)
	d.Adaptive = true
	s.Devices = append(s.Devices, d)
	s.Broker.Password = "secret"
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Devices) != 1 || got.Devices[0] != d || got.Broker.Password != "secret" {
		t.Fatalf("round trip: %+v", got)
	}
	raw, _ := os.ReadFile(path)
	if !strings.Contains(string(raw), `"timeout": "250ms"`) || !strings.Contains(string(raw), `"version": 1`) {
		t.Fatalf("file does not read as documented:\n%s", raw)
	}
}

func TestMissingDeviceFieldsTakeDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	os.WriteFile(path, []byte(`{"version":1,"devices":[{"name":"lab","to_device":"a","from_device":"b"}]}`), 0o600)
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	d := s.Devices[0]
	if d.Chunk != 1400 || time.Duration(d.Timeout) != 5*time.Second || d.Retries != 10 || d.BeginName != "image.jpg" {
		t.Fatalf("defaults not applied: %+v", d)
	}
}

func TestBadFilesAreRefusedWithTheCause(t *testing.T) {
	cases := map[string]string{
		"not json":     `{"version":1,`,
		"newer format": `{"version":99}`,
		"bad duration": `{"devices":[{"name":"a","to_device":"a","from_device":"b","timeout":"soon"}]}`,
		"wildcard":     `{"devices":[{"name":"a","to_device":"a/#","from_device":"b"}]}`,
		"same topics":  `{"devices":[{"name":"a","to_device":"t","from_device":"t"}]}`,
		"dup names":    `{"devices":[{"name":"a","to_device":"a","from_device":"b"},{"name":"A","to_device":"c","from_device":"d"}]}`,
		"bad chunk":    `{"devices":[{"name":"a","to_device":"a","from_device":"b","chunk":0}]}`,
		"bad qos":      `{"devices":[{"name":"a","to_device":"a","from_device":"b","qos":3}]}`,
	}
	for name, body := range cases {
		path := filepath.Join(t.TempDir(), "s.json")
		os.WriteFile(path, []byte(body), 0o600)
		if _, err := Load(path); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("%s: error is not one line: %q", name, err)
		}
	}
}

func TestSaveRefusesInvalidSettingsAndKeepsTheOldFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	good := Default()
	good.Devices = []Device{DefaultDevice()}
	if err := good.Save(path); err != nil {
		t.Fatal(err)
	}
	bad := Default()
	d := DefaultDevice()
	d.ToDevice = ""
	bad.Devices = []Device{d}
	if err := bad.Save(path); err == nil {
		t.Fatal("saved a device with an empty topic")
	}
	s, err := Load(path)
	if err != nil || len(s.Devices) != 1 || s.Devices[0].ToDevice != "mqttTestPub" {
		t.Fatalf("the good file was damaged: %+v, %v", s, err)
	}
}

func TestBuiltinBrokerURL(t *testing.T) {
	cases := map[string]string{"": "tcp://127.0.0.1:1883", "127.0.0.1:1884": "tcp://127.0.0.1:1884", "0.0.0.0:1883": "tcp://127.0.0.1:1883", "no port": "tcp://127.0.0.1:1883"}
	for listen, want := range cases {
		if got := (Broker{Builtin: true, Listen: listen}).Transfer().URL; got != want {
			t.Errorf("listen %q: URL %q, want %q", listen, got, want)
		}
	}
	if got := (Broker{URL: "ssl://lab:8883"}).Transfer().URL; got != "ssl://lab:8883" {
		t.Errorf("external URL = %q", got)
	}
}

func TestPathHonoursEnvironment(t *testing.T) {
	t.Setenv("IMAGEBEAM_CONFIG", "/tmp/x.json")
	if p, _ := Path(); p != "/tmp/x.json" {
		t.Fatalf("Path = %q", p)
	}
}

func TestErrorsAreSentinels(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	os.WriteFile(path, []byte(`{"version":99}`), 0o600)
	if _, err := Load(path); !errors.Is(err, ErrSettings) {
		t.Fatalf("err = %v, want ErrSettings", err)
	}
}

func TestImageProfile(t *testing.T) {
	d := DefaultDevice()
	d.Image = Image{Width: 800, Height: 480, Fit: "cover", Quality: 70, MaxBytes: 60000, Rotate: 90, Grayscale: true}
	o, err := d.Options()
	if err != nil {
		t.Fatal(err)
	}
	if o.Width != 800 || o.Height != 480 || o.Fit != "cover" || o.Quality != 70 || o.MaxBytes != 60000 || o.Rotate != 90 || !o.Grayscale || o.ChunkSize != 1400 {
		t.Fatalf("options %+v", o)
	}
	for _, bad := range []Image{{Fit: "zoom"}, {Quality: 101}, {Width: -1}, {MaxBytes: -5}, {Rotate: 45}} {
		d.Image = bad
		if err := d.Validate(); !errors.Is(err, ErrSettings) {
			t.Errorf("image %+v: err = %v, want ErrSettings", bad, err)
		}
	}
}

func TestFetchRangesAreCheckedWhenRead(t *testing.T) {
	p := filepath.Join(t.TempDir(), "settings.json")
	if err := os.WriteFile(p, []byte(`{"version":1,"broker":{"builtin":true},"devices":[],"fetch":{"allow":["169.254.10.0/24"],"deny":["10.0.0.0/8"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := s.Fetch.Policy(nil, []string{"192.168.9.9"})
	if err != nil || len(pol.Allow) != 1 || len(pol.Deny) != 2 {
		t.Fatalf("policy %+v, %v", pol, err)
	}
	if err := os.WriteFile(p, []byte(`{"version":1,"fetch":{"deny":["ten-net"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); !errors.Is(err, ErrSettings) || !strings.Contains(err.Error(), "ten-net") {
		t.Fatalf("a bad range: %v, want ErrSettings naming it", err)
	}
}

// Resolve finds a device by name whatever its case, and an unknown name
// gets ErrUnknownDevice in a sentence that names it and lists the names
// there are.
func TestResolve(t *testing.T) {
	bench, sim := DefaultDevice(), DefaultDevice()
	bench.Name, sim.Name = "Bench 3", "Simulated device"
	saved := []Device{bench, sim}
	for _, name := range []string{"Bench 3", "bench 3", "BENCH 3"} {
		if d, err := Resolve(saved, name); err != nil || d.Name != "Bench 3" {
			t.Errorf("Resolve(%q) = %q, %v; want Bench 3", name, d.Name, err)
		}
	}
	cases := []struct {
		name    string
		devices []Device
		want    string
	}{
		{"some saved", saved, `config: no saved device is named "nope"; saved: "Bench 3", "Simulated device"`},
		{"none saved", nil, `config: no saved device is named "nope": no devices are saved yet; add one in the window or the settings file`},
	}
	for _, c := range cases {
		_, err := Resolve(c.devices, "nope")
		if !errors.Is(err, ErrUnknownDevice) || err.Error() != c.want {
			t.Errorf("%s: err = %v; want ErrUnknownDevice saying %q", c.name, err, c.want)
		}
	}
}

// Settings.Resolve and Settings.Device follow the same rule as Resolve.
func TestSettingsLookupsShareResolvesRule(t *testing.T) {
	s := Default()
	s.Devices = []Device{DefaultDevice()}
	if d, err := s.Resolve("base"); err != nil || d.Name != "BASE" {
		t.Errorf("Resolve(base) = %q, %v", d.Name, err)
	}
	if d, ok := s.Device("Base"); !ok || d.Name != "BASE" {
		t.Errorf("Device(Base) = %q, %v", d.Name, ok)
	}
	if _, ok := s.Device("nope"); ok {
		t.Error("Device(nope) found a device")
	}
}

// Two names that Resolve would take for one are refused, also where only
// Unicode case folding makes them equal (ſ folds to s).
func TestValidateRefusesNamesThatDifferOnlyInCase(t *testing.T) {
	for _, pair := range [][2]string{{"lab", "LAB"}, {"ſensor", "Sensor"}} {
		a, b := DefaultDevice(), DefaultDevice()
		a.Name, b.Name = pair[0], pair[1]
		b.ToDevice, b.FromDevice = "c", "d"
		s := Default()
		s.Devices = []Device{a, b}
		if err := s.Validate(); !errors.Is(err, ErrSettings) {
			t.Errorf("%q and %q: err = %v, want ErrSettings", pair[0], pair[1], err)
		}
	}
}
