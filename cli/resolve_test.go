package cli

import (
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"imagebeam/config"
)

// saveBench3 writes a settings file holding the device "Bench 3", whose
// image profile is 40×30, and points the commands at it.
func saveBench3(t *testing.T) *config.Settings {
	t.Helper()
	s := config.Default()
	d := config.DefaultDevice()
	d.Name, d.ToDevice, d.FromDevice = "Bench 3", "bench3/to", "bench3/from"
	d.Image.Width, d.Image.Height, d.Image.Fit = 40, 30, "stretch"
	s.Devices = []config.Device{d}
	path := filepath.Join(t.TempDir(), "settings.json")
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	t.Setenv("IMAGEBEAM_CONFIG", path)
	return s
}

// Every command that takes --device answers an unknown name with config's
// one sentence, naming the name and the saved devices, and exit 2.
func TestEveryCommandRefusesAnUnknownDeviceAlike(t *testing.T) {
	saveBench3(t)
	in := writePNG(t, 64, 48)
	out := filepath.Join(t.TempDir(), "out.jpg")
	want := `config: no saved device is named "nope"; saved: "Bench 3"`
	for _, args := range [][]string{
		{"send", "--raw", "--device", "nope", in},
		{"send", "--device", "nope", in},
		{"convert", "--device", "nope", in, out},
		{"serve", "--listen", "127.0.0.1:0", "--device", "nope"},
	} {
		r := run(args...)
		if r.code != ExitUsage || strings.TrimSpace(r.stderr) != "imagebeam "+args[0]+": "+want {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", args, r.code, r.stderr, want)
		}
	}
}

// A device name finds its device whatever its case, in every command.
func TestDeviceNamesIgnoreCase(t *testing.T) {
	settings := saveBench3(t)

	in := writePNG(t, 64, 48)
	out := filepath.Join(t.TempDir(), "out.jpg")
	if r := run("convert", "--device", "BENCH 3", in, out); r.code != ExitOK {
		t.Fatalf("convert: %+v", r)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if cfg, err := jpeg.DecodeConfig(f); err != nil || cfg.Width != 40 || cfg.Height != 30 {
		t.Fatalf("convert --device \"BENCH 3\" wrote %+v, %v; want Bench 3's 40×30", cfg, err)
	}

	df := deviceFlags{device: "bench 3"}
	if d, err := df.resolve(map[string]bool{}, settings); err != nil || d.ToDevice != "bench3/to" {
		t.Fatalf("send --device \"bench 3\": %+v, %v; want Bench 3", d, err)
	}

	devices, err := serveDevices(settings, "bench 3", map[string]bool{}, "", "")
	if err != nil || len(devices) != 1 || devices[0].Name != "Bench 3" {
		t.Fatalf("serve --device \"bench 3\": %+v, %v; want Bench 3 alone", devices, err)
	}
}
