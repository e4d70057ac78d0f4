package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func benchSettings(names ...string) *Settings {
	s := Default()
	for _, n := range names {
		d := DefaultDevice()
		d.Name, d.ToDevice, d.FromDevice = n, n+"/to", n+"/from"
		s.Devices = append(s.Devices, d)
	}
	return s
}

func TestGroupsRoundTripThroughTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "settings.json")
	s := benchSettings("Bench 1", "Bench 2", "Bench 3")
	s.SetGroup(Group{Name: "Lab A", Devices: []string{"Bench 3", "bench 1"}})
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	devs, err := loaded.ResolveGroup("lab a")
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 2 || devs[0].Name != "Bench 3" || devs[1].Name != "Bench 1" {
		t.Fatalf("group resolves to %v, want Bench 3 then Bench 1", devs)
	}
}

func TestBadGroupsAreRefusedInOneSentence(t *testing.T) {
	for _, tc := range []struct {
		name   string
		groups []Group
		want   string
	}{
		{"no name", []Group{{Name: " ", Devices: []string{"a"}}}, "a group has no name"},
		{"same name twice", []Group{{Name: "Lab"}, {Name: "LAB"}}, `two groups are named "LAB"`},
		{"member twice", []Group{{Name: "Lab", Devices: []string{"a", "A"}}}, `group "Lab" names "A" twice`},
		{"empty member", []Group{{Name: "Lab", Devices: []string{""}}}, `group "Lab" has a member without a name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := benchSettings("a")
			s.Groups = tc.groups
			err := s.Validate()
			if !errors.Is(err, ErrSettings) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrSettings saying %q", err, tc.want)
			}
		})
	}
}

func TestResolveGroupNamesWhatIsMissing(t *testing.T) {
	s := benchSettings("a", "b")
	if _, err := s.ResolveGroup("lab"); !errors.Is(err, ErrUnknownGroup) || !errors.Is(err, ErrUnknownDevice) || !strings.Contains(err.Error(), "no groups are saved") {
		t.Fatalf("no groups: %v", err)
	}
	s.SetGroup(Group{Name: "Lab", Devices: []string{"a", "gone"}})
	if _, err := s.ResolveGroup("other"); !errors.Is(err, ErrUnknownGroup) || !strings.Contains(err.Error(), `saved: "Lab"`) {
		t.Fatalf("unknown group: %v", err)
	}
	_, err := s.ResolveGroup("lab")
	if !errors.Is(err, ErrUnknownDevice) || !strings.Contains(err.Error(), `group "Lab"`) || !strings.Contains(err.Error(), `"gone"`) {
		t.Fatalf("missing member: %v", err)
	}
}

// A group naming a device that was deleted keeps the file loadable.
func TestGroupWithADeletedMemberStillLoads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "settings.json")
	body := `{"version":1,"devices":[],"groups":[{"name":"Lab","devices":["gone"]}]}`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err != nil {
		t.Fatal(err)
	}
}

func TestSetDeviceReplacesByName(t *testing.T) {
	s := benchSettings("Bench 1")
	d := DefaultDevice()
	d.Name, d.ToDevice, d.FromDevice = "bench 1", "x/to", "x/from"
	s.SetDevice(d)
	if len(s.Devices) != 1 || s.Devices[0].ToDevice != "x/to" {
		t.Fatalf("devices %+v", s.Devices)
	}
}
