package broker

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

var labLogins = Options{
	Username: "imagebeam", Password: "admin-secret",
	DeviceLogins: []DeviceLogin{
		{Username: "bench3", Password: "pw3", ToDevice: "lab/bench3/in", FromDevice: "lab/bench3/out"},
		{Username: "bench4", Password: "pw4", ToDevice: "lab/bench4/in", FromDevice: "lab/bench4/out"},
	},
}

// client connects with a client ID and ordered delivery (so that "the
// second message came first" proves the first was dropped) and forwards
// every message it receives.
func client(t *testing.T, url, id, user, pass string, will string) (paho.Client, <-chan paho.Message, error) {
	t.Helper()
	in := make(chan paho.Message, 16)
	o := clientOptions(url, id, user, pass).SetAutoReconnect(false).SetOrderMatters(true).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { in <- m })
	if will != "" {
		o.SetWill(will, "gone", 0, false)
	}
	c, err := connectWith(t, o)
	if err != nil {
		return nil, nil, err
	}
	return c, in, nil
}

// subscribeCode subscribes and returns the SUBACK code: below 0x80 granted.
func subscribeCode(t *testing.T, c paho.Client, filter string) byte {
	t.Helper()
	tok := c.Subscribe(filter, 0, nil)
	wait(t, tok)
	return tok.(*paho.SubscribeToken).Result()[filter]
}

func next(t *testing.T, in <-chan paho.Message) paho.Message {
	t.Helper()
	select {
	case m := <-in:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message")
		return nil
	}
}

func TestDeviceLoginSubscribesOnlyToItsToDeviceTopic(t *testing.T) {
	b := startBroker(t, labLogins)
	dev, _, err := client(t, b.URL(), "bench3", "bench3", "pw3", "")
	if err != nil {
		t.Fatal(err)
	}
	for filter, granted := range map[string]bool{
		"lab/bench3/in":  true,
		"lab/bench3/out": false, // its own answers: not for it to read
		"lab/bench4/in":  false,
		"lab/+/in":       false,
		"#":              false,
		"$SYS/#":         false,
	} {
		if code := subscribeCode(t, dev, filter); (code < 0x80) != granted {
			t.Errorf("subscribe %q: SUBACK code %#x, want granted=%v", filter, code, granted)
		}
	}
}

func TestDeviceLoginPublishesOnlyToItsFromDeviceTopic(t *testing.T) {
	b := startBroker(t, labLogins)
	admin, seen, err := client(t, b.URL(), "admin", "imagebeam", "admin-secret", "")
	if err != nil {
		t.Fatal(err)
	}
	if code := subscribeCode(t, admin, "#"); code >= 0x80 {
		t.Fatalf("the shared login may not subscribe to #: code %#x", code)
	}
	dev, _, err := client(t, b.URL(), "bench3", "bench3", "pw3", "")
	if err != nil {
		t.Fatal(err)
	}
	// Each refused publish is followed by an allowed one; delivery is in
	// order, so if the allowed one arrives first the refused one was
	// dropped, with no waiting for something not to happen.
	for _, topic := range []string{"lab/bench4/out", "lab/bench3/in", "mqttTestSub", "other"} {
		wait(t, dev.Publish(topic, 0, false, "forged"))
		wait(t, dev.Publish("lab/bench3/out", 0, false, "answer after "+topic))
		if m := next(t, seen); m.Topic() != "lab/bench3/out" || string(m.Payload()) != "answer after "+topic {
			t.Fatalf("after publishing to %q the admin saw %q on %q; want that publish dropped", topic, m.Payload(), m.Topic())
		}
	}
}

func TestDeviceLoginReceivesWhatTheSharedLoginSends(t *testing.T) {
	b := startBroker(t, labLogins)
	admin, _, err := client(t, b.URL(), "admin", "imagebeam", "admin-secret", "")
	if err != nil {
		t.Fatal(err)
	}
	dev, in, err := client(t, b.URL(), "bench3", "bench3", "pw3", "")
	if err != nil {
		t.Fatal(err)
	}
	if code := subscribeCode(t, dev, "lab/bench3/in"); code >= 0x80 {
		t.Fatalf("SUBACK %#x", code)
	}
	wait(t, admin.Publish("lab/bench3/in", 0, false, "frame"))
	if m := next(t, in); string(m.Payload()) != "frame" {
		t.Fatalf("device got %q", m.Payload())
	}
}

func TestDeviceLoginCannotBorrowAnotherIdentity(t *testing.T) {
	b := startBroker(t, labLogins)
	admin, _, err := client(t, b.URL(), "imagebeam-gui-1", "imagebeam", "admin-secret", "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, id, user, pass, will string
	}{
		{"wrong password", "bench3", "bench3", "pw4", ""},
		{"another device's password", "bench3", "bench3", "admin-secret", ""},
		{"will on another device's topic", "bench3", "bench3", "pw3", "lab/bench4/out"},
		{"will on its own to-device topic", "bench3", "bench3", "pw3", "lab/bench3/in"},
		{"the shared login's client ID", "imagebeam-gui-1", "bench3", "pw3", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := client(t, b.URL(), tt.id, tt.user, tt.pass, tt.will); err == nil {
				t.Fatal("connected")
			}
		})
	}
	if !admin.IsConnectionOpen() {
		t.Fatal("the shared login's client was knocked off")
	}
	if _, _, err := client(t, b.URL(), "bench3-ok", "bench3", "pw3", "lab/bench3/out"); err != nil {
		t.Fatalf("a will on its own from-device topic: %v", err)
	}
}

func TestDeviceLoginOptionsAreChecked(t *testing.T) {
	ok := DeviceLogin{Username: "d", Password: "p", ToDevice: "a/in", FromDevice: "a/out"}
	with := func(f func(*DeviceLogin)) Options {
		d := ok
		f(&d)
		return Options{Username: "admin", Password: "x", DeviceLogins: []DeviceLogin{d}}
	}
	tests := []struct {
		name string
		opts Options
	}{
		{"no shared login", Options{DeviceLogins: []DeviceLogin{ok}}},
		{"no password", with(func(d *DeviceLogin) { d.Password = "" })},
		{"wildcard topic", with(func(d *DeviceLogin) { d.ToDevice = "a/#" })},
		{"same two topics", with(func(d *DeviceLogin) { d.FromDevice = d.ToDevice })},
		{"the shared login's name", with(func(d *DeviceLogin) { d.Username = "admin" })},
		{"twice", Options{Username: "admin", Password: "x", DeviceLogins: []DeviceLogin{ok, ok}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.opts.Validate(); !errors.Is(err, ErrBadOptions) {
				t.Fatalf("err = %v, want ErrBadOptions", err)
			}
		})
	}
	if err := with(func(*DeviceLogin) {}).Validate(); err != nil {
		t.Fatalf("valid login refused: %v", err)
	}
}

func TestPasswordsAreNeverPrinted(t *testing.T) {
	d := labLogins.DeviceLogins[0]
	if s := fmt.Sprintf("%v %+v %s", d, labLogins.DeviceLogins, d); strings.Contains(s, d.Password) {
		t.Fatalf("printed a password: %s", s)
	}
	path := filepath.Join(t.TempDir(), "logins.json")
	os.WriteFile(path, []byte(`[{"username": "d", "pasword": "hunter2", "to_device": "a", "from_device": "b"}]`), 0o600)
	_, err := LoadDeviceLogins(path)
	if !errors.Is(err, ErrBadOptions) || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "pasword") {
		t.Fatalf("err = %v, want ErrBadOptions naming the misspelt field, not the password", err)
	}
}

func TestLoadDeviceLogins(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logins.json")
	os.WriteFile(path, []byte(`[{"username": "bench3", "password": "pw3", "to_device": "lab/bench3/in", "from_device": "lab/bench3/out"}]`), 0o600)
	got, err := LoadDeviceLogins(path)
	if err != nil || len(got) != 1 || got[0] != labLogins.DeviceLogins[0] {
		t.Fatalf("got %v, %v; want bench3's login", got, err)
	}
	if _, err := LoadDeviceLogins(filepath.Join(t.TempDir(), "none.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}
