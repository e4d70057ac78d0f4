// Package config keeps ImageBeam's shared settings, the broker profile and
// the saved devices, in one JSON file that the window, send and serve read.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"imagebeam/codec"
	"imagebeam/internal/atomicfile"
	"imagebeam/internal/redact"
	"imagebeam/transfer"
)

// Version is the settings file format this build writes.
const Version = 1

// ErrSettings means the settings file cannot be used as it is.
var ErrSettings = errors.New("config: unusable settings")

// Settings is the whole settings file.
type Settings struct {
	Version int      `json:"version"`
	Broker  Broker   `json:"broker"`
	Devices []Device `json:"devices"`
	// Groups name sets of saved devices (see Group).
	Groups []Group `json:"groups,omitempty"`
	// Fetch opens or closes address ranges for image URLs (see
	// codec.FetchPolicy); empty keeps the default policy.
	Fetch Fetch `json:"fetch,omitzero"`
	// Language is the window's language, "en" or "zh_Hans"; "" follows
	// the system's. The window reads it at start; IMAGEBEAM_LANG overrides it.
	Language string `json:"language,omitempty"`
}

// Fetch is the URL fetch policy as the settings file writes it: CIDR
// ranges or single addresses, e.g. {"allow": ["169.254.10.0/24"],
// "deny": ["10.0.0.0/8"]}.
type Fetch struct {
	Allow []string `json:"allow,omitempty"`
	Deny  []string `json:"deny,omitempty"`
}

// Policy returns the fetch policy with the flags' ranges added to the
// settings file's.
func (f Fetch) Policy(allow, deny []string) (codec.FetchPolicy, error) {
	return codec.ParseFetchPolicy(append(append([]string(nil), f.Allow...), allow...), append(append([]string(nil), f.Deny...), deny...))
}

// Broker is the broker profile.
type Broker struct {
	// Builtin runs ImageBeam's embedded broker (on Listen) instead of
	// connecting to URL.
	Builtin bool   `json:"builtin"`
	Listen  string `json:"listen,omitempty"` // built-in broker address; default DefaultListen

	URL       string   `json:"url,omitempty"`
	Username  string   `json:"username,omitempty"`
	Password  string   `json:"password,omitempty"` // the file is 0600; IMAGEBEAM_PASSWORD overrides
	CAFile    string   `json:"ca_file,omitempty"`
	CertFile  string   `json:"cert_file,omitempty"`
	KeyFile   string   `json:"key_file,omitempty"`
	Insecure  bool     `json:"insecure,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	KeepAlive Duration `json:"keep_alive,omitempty"`
}

// DefaultListen is the built-in broker's address (see
// transfer.DefaultBrokerAddress).
const DefaultListen = transfer.DefaultBrokerAddress

// Device is one saved device profile.
type Device struct {
	Name       string   `json:"name"`
	ToDevice   string   `json:"to_device"`
	FromDevice string   `json:"from_device"`
	BeginName  string   `json:"begin_name"`
	Chunk      int      `json:"chunk"`
	Timeout    Duration `json:"timeout"`
	Adaptive   bool     `json:"adaptive"`
	Retries    int      `json:"retries"`
	QoS        int      `json:"qos"`
	// Simulated marks the device that ImageBeam's own simulator answers.
	Simulated bool `json:"simulated,omitempty"`
	// Image is how this device wants its images.
	Image Image `json:"image"`
}

// Image is a device's image profile: what the pipeline (codec) makes of
// any picture before it is sent. Zero values mean "keep" or the default.
type Image struct {
	Width     int    `json:"width"`     // target width in pixels, 0 = keep
	Height    int    `json:"height"`    // target height in pixels, 0 = keep
	Fit       string `json:"fit"`       // contain, cover, stretch or none
	Quality   int    `json:"quality"`   // JPEG quality 1–100
	MaxBytes  int    `json:"max_bytes"` // byte budget, 0 = none
	Rotate    int    `json:"rotate"`    // extra clockwise rotation: 0, 90, 180 or 270
	Grayscale bool   `json:"grayscale"`
	Upscale   bool   `json:"upscale"` // allow scaling small images up
}

// MaxDimension bounds a device's target width and height.
const MaxDimension = 16384

// Options returns the image profile as the pipeline takes it, with the
// device's chunk size for the packet count.
func (d Device) Options() (codec.Options, error) {
	im := d.Image
	fit, err := codec.ParseFit(im.Fit)
	if err != nil {
		return codec.Options{}, fmt.Errorf("%w: device %q: %v", ErrSettings, d.Name, err)
	}
	switch {
	case im.Width < 0 || im.Width > MaxDimension || im.Height < 0 || im.Height > MaxDimension:
		return codec.Options{}, fmt.Errorf("%w: device %q: size %d×%d is not within 0…%d", ErrSettings, d.Name, im.Width, im.Height, MaxDimension)
	case im.Quality < 0 || im.Quality > 100:
		return codec.Options{}, fmt.Errorf("%w: device %q: quality %d is not between 1 and 100", ErrSettings, d.Name, im.Quality)
	case im.MaxBytes < 0:
		return codec.Options{}, fmt.Errorf("%w: device %q: byte budget %d is negative", ErrSettings, d.Name, im.MaxBytes)
	case im.Rotate%90 != 0:
		return codec.Options{}, fmt.Errorf("%w: device %q: rotation %d is not 0, 90, 180 or 270", ErrSettings, d.Name, im.Rotate)
	}
	return codec.Options{
		Width: im.Width, Height: im.Height, Fit: fit, Upscale: im.Upscale,
		Rotate: im.Rotate, Grayscale: im.Grayscale, Quality: im.Quality,
		MaxBytes: im.MaxBytes, ChunkSize: d.Chunk,
	}, nil
}

// DefaultDevice is the old service's device: topics mqttTestPub and
// mqttTestSub, 1400-byte chunks, 5 s timeout, 10 retries, QoS 0.
func DefaultDevice() Device {
	s := transfer.DefaultSettings()
	return Device{
		Name:       "BASE",
		ToDevice:   "mqttTestPub",
		FromDevice: "mqttTestSub",
		BeginName:  s.BeginName,
		Chunk:      s.Chunk,
		Timeout:    Duration(s.Timeout),
		Retries:    s.Retries,
		Image:      Image{Fit: string(codec.FitContain), Quality: codec.DefaultQuality},
	}
}

// UnmarshalJSON fills fields missing from the file with the defaults.
func (d *Device) UnmarshalJSON(b []byte) error {
	type plain Device
	p := plain(DefaultDevice())
	p.Name = ""
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*d = Device(p)
	return nil
}

// Settings returns the device's transfer settings.
func (d Device) Settings() transfer.Settings {
	s := transfer.DefaultSettings()
	s.BeginName, s.Chunk, s.Timeout, s.Adaptive, s.Retries = d.BeginName, d.Chunk, time.Duration(d.Timeout), d.Adaptive, d.Retries
	return s
}

// Transfer returns the device as the transfer engine takes it.
func (d Device) Transfer() transfer.Device {
	return transfer.Device{Name: d.Name, ToDevice: d.ToDevice, FromDevice: d.FromDevice, QoS: byte(d.QoS), Settings: d.Settings()}
}

// Validate reports the first problem with the device, in one sentence.
func (d Device) Validate() error {
	if strings.TrimSpace(d.Name) == "" {
		return fmt.Errorf("%w: a device has no name", ErrSettings)
	}
	if err := transfer.CheckTopic(d.ToDevice); err != nil {
		return fmt.Errorf("device %q: %w", d.Name, err)
	}
	if err := transfer.CheckTopic(d.FromDevice); err != nil {
		return fmt.Errorf("device %q: %w", d.Name, err)
	}
	if d.ToDevice == d.FromDevice {
		return fmt.Errorf("%w: device %q uses %q both ways; the device topics must differ", ErrSettings, d.Name, d.ToDevice)
	}
	if d.QoS < 0 || d.QoS > 2 {
		return fmt.Errorf("%w: device %q has QoS %d, not 0, 1 or 2", ErrSettings, d.Name, d.QoS)
	}
	if err := d.Settings().Validate(); err != nil {
		return fmt.Errorf("device %q: %w", d.Name, err)
	}
	_, err := d.Options()
	return err
}

// Transfer returns the broker profile as the transfer engine takes it.
// With Builtin it points at the built-in broker's address.
func (b Broker) Transfer() transfer.BrokerConfig {
	url := b.URL
	if b.Builtin || url == "" {
		listen := b.Listen
		if listen == "" {
			listen = DefaultListen
		}
		host, port, err := net.SplitHostPort(listen)
		if err != nil {
			host, port, _ = net.SplitHostPort(DefaultListen)
		}
		if host == "" || net.ParseIP(host) == nil || net.ParseIP(host).IsUnspecified() {
			host = "127.0.0.1" // this computer reaches its own broker on loopback
		}
		url = "tcp://" + net.JoinHostPort(host, port)
	}
	return transfer.BrokerConfig{
		URL: url, Username: b.Username, Password: b.Password,
		CAFile: b.CAFile, CertFile: b.CertFile, KeyFile: b.KeyFile, Insecure: b.Insecure,
		ClientID: b.ClientID, KeepAlive: time.Duration(b.KeepAlive),
	}
}

// Default is what a first start gets: the built-in broker and no devices.
func Default() *Settings {
	return &Settings{Version: Version, Broker: Broker{Builtin: true, Listen: DefaultListen}}
}

// ErrUnknownDevice means that no device has the name asked for. Resolve's
// error follows it with that name and the names there are.
var ErrUnknownDevice = errors.New("config: no saved device is named")

// Resolve returns the device of devices that is named name. Case does not
// matter: Validate refuses two names that differ only in case, so a name
// finds at most one device however it is typed. An unknown name gives
// ErrUnknownDevice, in a sentence that lists the names there are.
func Resolve(devices []Device, name string) (Device, error) {
	if i := index(devices, name); i >= 0 {
		return devices[i], nil
	}
	if len(devices) == 0 {
		return Device{}, fmt.Errorf("%w %q: no devices are saved yet; add one in the window or the settings file", ErrUnknownDevice, name)
	}
	names := make([]string, len(devices))
	for i, d := range devices {
		names[i] = strconv.Quote(d.Name)
	}
	return Device{}, fmt.Errorf("%w %q; saved: %s", ErrUnknownDevice, name, strings.Join(names, ", "))
}

// index is the position of the device named name, case ignored, or -1.
func index(devices []Device, name string) int {
	for i, d := range devices {
		if strings.EqualFold(d.Name, name) {
			return i
		}
	}
	return -1
}

// Resolve returns the saved device named name (see Resolve).
func (s *Settings) Resolve(name string) (Device, error) { return Resolve(s.Devices, name) }

// Device returns the saved device named name, by Resolve's rule.
func (s *Settings) Device(name string) (Device, bool) {
	d, err := s.Resolve(name)
	return d, err == nil
}

// Validate checks every device and that no two names differ only in case.
func (s *Settings) Validate() error {
	for i, d := range s.Devices {
		if err := d.Validate(); err != nil {
			return err
		}
		if index(s.Devices[:i], d.Name) >= 0 {
			return fmt.Errorf("%w: two devices are named %q", ErrSettings, d.Name)
		}
	}
	if err := s.validateGroups(); err != nil {
		return err
	}
	if _, err := s.Fetch.Policy(nil, nil); err != nil {
		return fmt.Errorf("%w: fetch: %w", ErrSettings, err)
	}
	if !s.Broker.Builtin && s.Broker.URL != "" {
		if err := transfer.ValidateBrokerURL(s.Broker.URL); err != nil {
			return err
		}
	}
	return nil
}

// Path is the settings file: $IMAGEBEAM_CONFIG, or settings.json in
// ImageBeam's folder of the user's config directory.
func Path() (string, error) {
	if p := os.Getenv("IMAGEBEAM_CONFIG"); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("config: no user config directory: %w", err)
	}
	return filepath.Join(dir, "imagebeam", "settings.json"), nil
}

// Load reads the settings file. A missing file gives Default(), not an error.
func Load(path string) (*Settings, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Default(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: cannot read %s: %w", path, err)
	}
	s := Default()
	if err := json.Unmarshal(b, s); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + strings.Count(string(b[:se.Offset]), "\n")
			return nil, fmt.Errorf("%w: %s is not valid JSON (line %d: %v)", ErrSettings, path, line, err)
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrSettings, path, err)
	}
	if s.Version > Version {
		return nil, fmt.Errorf("%w: %s was written by a newer ImageBeam (format %d; this one reads up to %d)", ErrSettings, path, s.Version, Version)
	}
	s.Version = Version
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// HoldsSecret reports whether the settings hold a password: the broker's,
// or a login written into the broker URL.
func (s *Settings) HoldsSecret() bool {
	return s.Broker.Password != "" || redact.URL(s.Broker.URL) != s.Broker.URL
}

// ExposureWarning returns one sentence when the settings file at path holds
// a password and other users of the computer can read it, naming the
// command that fixes it; "" otherwise. ImageBeam writes the file 0600, so
// this only happens to a file written or copied by hand. Windows keeps no
// such mode bits (the file is in the user's own profile folder).
func (s *Settings) ExposureWarning(path string) string {
	if runtime.GOOS == "windows" || !s.HoldsSecret() {
		return ""
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o077 == 0 {
		return ""
	}
	return fmt.Sprintf("%s holds a broker password and other users can read it (mode %04o); fix it with: chmod 600 %s",
		path, fi.Mode().Perm(), shellQuote(path))
}

// shellQuote quotes p for a POSIX shell when it needs it.
func shellQuote(p string) string {
	if p != "" && strings.Trim(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+~") == "" {
		return p
	}
	return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
}

// Save writes the settings atomically (a temporary file renamed over the
// old one), readable by the user only, so a crash never leaves half a file.
func (s *Settings) Save(path string) error {
	if err := s.Validate(); err != nil {
		return err
	}
	s.Version = Version
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("config: cannot create %s: %w", dir, err)
	}
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return fmt.Errorf("config: cannot write %s: %w", path, err)
	}
	return nil
}

// Duration is a time.Duration written as "5s" in JSON.
type Duration time.Duration

// MarshalText writes the duration as Go's duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a Go duration string such as "5s" or "250ms".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration such as 5s or 250ms", b)
	}
	*d = Duration(v)
	return nil
}
