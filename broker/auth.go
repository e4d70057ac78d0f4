package broker

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// DeviceLogin is a login for one device, limited to the device's two
// topics: it may subscribe only to ToDevice (where the device gets its
// frames) and publish only to FromDevice (where it answers). A device
// whose password leaks can then disturb only itself, never read or
// answer for another device.
type DeviceLogin struct {
	Username   string `json:"username"`
	Password   string `json:"password"`
	ToDevice   string `json:"to_device"`
	FromDevice string `json:"from_device"`
}

// String leaves the password out, so a login printed by accident (%v of
// Options, a log line) never shows it.
func (d DeviceLogin) String() string {
	return fmt.Sprintf("%s (subscribes %s, publishes %s)", d.Username, d.ToDevice, d.FromDevice)
}

func (d DeviceLogin) validate() error {
	switch {
	case d.Username == "" || d.Password == "":
		return fmt.Errorf("%w: device login %q needs a username and a password", ErrBadOptions, d.Username)
	case d.ToDevice == d.FromDevice:
		return fmt.Errorf("%w: device login %q has the same to-device and from-device topic %q", ErrBadOptions, d.Username, d.ToDevice)
	}
	for _, t := range []string{d.ToDevice, d.FromDevice} {
		if err := checkTopic(t); err != nil {
			return fmt.Errorf("%w: device login %q: %v", ErrBadOptions, d.Username, err)
		}
	}
	return nil
}

// checkTopic accepts a topic a device login may be limited to: a plain
// topic name, since a wildcard would widen the login to other topics.
func checkTopic(t string) error {
	switch {
	case t == "":
		return errors.New("a topic is empty")
	case len(t) > 65535:
		return errors.New("a topic is longer than MQTT's 65535 bytes")
	case strings.ContainsAny(t, "+#\x00"):
		return fmt.Errorf("topic %q contains a wildcard (+ or #) or NUL", t)
	case strings.HasPrefix(t, "$"):
		return fmt.Errorf("topic %q starts with $, which the broker reserves", t)
	}
	return nil
}

// LoadDeviceLogins reads device logins from a JSON file: an array of
// {"username", "password", "to_device", "from_device"} objects. A file
// keeps the passwords out of the command line, where ps shows them.
func LoadDeviceLogins(path string) ([]DeviceLogin, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *fs.PathError names the file and the cause
	}
	defer f.Close()
	dec := json.NewDecoder(io.LimitReader(f, 16<<20))
	dec.DisallowUnknownFields() // a misspelt "pasword" must not leave a login without one
	var logins []DeviceLogin
	if err := dec.Decode(&logins); err != nil {
		// json's messages quote field names and types, never values, so
		// a password cannot leak through them.
		return nil, fmt.Errorf("%w: device logins file %s is not a JSON array of {username, password, to_device, from_device}: %v", ErrBadOptions, path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: device logins file %s has more after its JSON array", ErrBadOptions, path)
	}
	for _, d := range logins {
		if err := d.validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return logins, nil
}

// login is one set of credentials the hook accepts. Names and passwords
// are kept as SHA-256 digests so that comparing them takes the same time
// whatever their length and wherever they first differ.
type login struct {
	user, pass [sha256.Size]byte
	name       string
	device     *DeviceLogin // nil for the shared login, which may use every topic
}

// authHook admits everyone when it holds no logins, and otherwise only
// clients that present one: the shared login may use every topic, a
// device login only its own two.
type authHook struct {
	mqtt.HookBase
	logins  []login
	devices map[string]*DeviceLogin // by username
	// session reports which login holds a client ID's session (connected
	// or kept), so a device cannot take over or inherit another login's.
	session func(clientID string) (username string, ok bool)
}

func newAuthHook(opts Options, session func(string) (string, bool)) *authHook {
	h := &authHook{devices: map[string]*DeviceLogin{}, session: session}
	if opts.Username == "" {
		return h
	}
	h.logins = append(h.logins, newLogin(opts.Username, opts.Password, nil))
	for i := range opts.DeviceLogins {
		d := &opts.DeviceLogins[i]
		h.logins = append(h.logins, newLogin(d.Username, d.Password, d))
		h.devices[d.Username] = d
	}
	return h
}

func newLogin(user, pass string, d *DeviceLogin) login {
	return login{user: sha256.Sum256([]byte(user)), pass: sha256.Sum256([]byte(pass)), name: user, device: d}
}

// ID names the hook in mochi's log.
func (h *authHook) ID() string { return "imagebeam-auth" }

// Provides says which hook methods this hook implements.
func (h *authHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnectAuthenticate, mqtt.OnACLCheck}, []byte{b})
}

// OnConnectAuthenticate checks the client's credentials in constant time,
// then what a device login may not do at CONNECT.
func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	if len(h.logins) == 0 {
		return true
	}
	user, pass := sha256.Sum256(pk.Connect.Username), sha256.Sum256(pk.Connect.Password)
	match := -1
	for i, l := range h.logins { // every login is compared: no early exit to time
		ok := subtle.ConstantTimeCompare(user[:], l.user[:]) & subtle.ConstantTimeCompare(pass[:], l.pass[:])
		match = subtle.ConstantTimeSelect(ok, i, match)
	}
	if match < 0 {
		return false
	}
	l := h.logins[match]
	if l.device == nil {
		return true
	}
	// mochi publishes a will without an ACL check, so a device's will
	// could otherwise answer for another device.
	if pk.Connect.WillFlag && pk.Connect.WillTopic != l.device.FromDevice {
		return false
	}
	// Taking over a client ID disconnects its holder, and inheriting a
	// kept session hands over its queued messages: only the same login
	// may do either.
	if holder, ok := h.session(cl.ID); ok && holder != l.name {
		return false
	}
	return true
}

// OnACLCheck lets the shared login use every topic and a device login only
// its own: publish to FromDevice, subscribe to (and receive) ToDevice.
// Anonymous clients are only possible without logins, on loopback.
func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	d, ok := h.devices[string(cl.Properties.Username)]
	if !ok {
		return true // the shared login (OnConnectAuthenticate admitted no one else)
	}
	if write {
		return topic == d.FromDevice
	}
	return topic == d.ToDevice
}
