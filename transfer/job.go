package transfer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Device is where a transfer goes: the topics, QoS and transfer settings.
type Device struct {
	Name       string
	ToDevice   string // topic the sender publishes frames to
	FromDevice string // topic the device answers on
	QoS        byte
	Settings   Settings
}

// Job is one image for one device through one broker.
type Job struct {
	Broker BrokerConfig
	Device Device
	Image  []byte
	// NoWait fails at once with ErrDeviceBusy when the device is busy,
	// instead of waiting for the other transfer to end.
	NoWait bool
	// Role goes into the MQTT client ID ("send", "gui", "serve").
	Role string
}

// Send runs a whole job on the process's shared connection to the job's
// broker (see AcquireHub): it takes the device's lock, subscribes, sends
// and lets go. Events go to events (nil for none), ending with Done or
// Failed; Send never closes events.
func Send(ctx context.Context, job Job, events chan<- Event) (Stats, error) {
	role := job.Role
	if role == "" {
		role = "send"
	}
	hub, release, err := AcquireHub(job.Broker, role)
	if err != nil {
		return failBeforeStart(events, len(job.Image), err)
	}
	defer release()
	return hub.Send(ctx, job.Device, job.Image, SendOptions{NoWait: job.NoWait}, events)
}

// SendOptions tune Hub.Send.
type SendOptions struct {
	// NoWait fails at once with ErrDeviceBusy when the device is busy,
	// instead of waiting for the other transfer to end.
	NoWait bool
}

// Send sends image to dev over the hub's connection: it takes the
// device's lock (in this process and, through a lock file, across
// ImageBeam processes on this computer), subscribes to the device's
// feedback topic, runs the stop-and-wait sender and unsubscribes. Events
// go to events (nil for none), ending with Done or Failed; Send never
// closes events.
func (h *Hub) Send(ctx context.Context, dev Device, image []byte, opt SendOptions, events chan<- Event) (Stats, error) {
	fail := func(err error) (Stats, error) { return failBeforeStart(events, len(image), err) }
	if err := dev.Settings.Validate(); err != nil {
		return fail(err)
	}
	if err := CheckSize(len(image), dev.Settings.Chunk); err != nil {
		return fail(err)
	}
	if err := CheckTopic(dev.ToDevice); err != nil {
		return fail(err)
	}
	if err := CheckTopic(dev.FromDevice); err != nil {
		return fail(err)
	}
	key := DeviceKey(h.cfg.URL, dev.ToDevice, dev.FromDevice)
	unlock, err := LockDevice(ctx, key, false)
	if errors.Is(err, ErrDeviceBusy) && !opt.NoWait {
		if events != nil {
			select {
			case events <- Waiting{Time: time.Now(), Device: key}:
			case <-ctx.Done():
			}
		}
		unlock, err = LockDevice(ctx, key, true)
	}
	if err != nil {
		return fail(err)
	}
	defer unlock()
	link, err := h.Attach(ctx, dev.FromDevice, dev.ToDevice, dev.QoS)
	if err != nil {
		return fail(err)
	}
	defer link.Close()
	return Run(ctx, link, image, dev.Settings, events)
}

// failBeforeStart reports err, which ended a transfer of size bytes before
// anything was sent, as its Failed event.
func failBeforeStart(events chan<- Event, size int, err error) (Stats, error) {
	st := Stats{Bytes: size}
	if events != nil {
		events <- Failed{Time: time.Now(), Err: err, Error: err.Error(), Stats: st}
	}
	return st, err
}

// StartSend runs h.Send in its own goroutine. The returned channel carries
// the transfer's events and is closed after the last one, which is always
// Done or Failed.
func (h *Hub) StartSend(ctx context.Context, dev Device, image []byte, opt SendOptions) <-chan Event {
	return start(func(ch chan<- Event) { _, _ = h.Send(ctx, dev, image, opt, ch) })
}

// start runs send in its own goroutine with a channel for its events, which
// it closes once send has returned.
func start(send func(chan<- Event)) <-chan Event {
	ch := make(chan Event, 64)
	go func() {
		defer close(ch)
		send(ch)
	}()
	return ch
}

// CheckTopic reports whether t can be published and subscribed to as one
// device topic: non-empty, valid UTF-8 without NUL, no wildcards.
func CheckTopic(t string) error {
	switch {
	case t == "":
		return fmt.Errorf("%w: a topic is empty", ErrSettings)
	case len(t) > 65535:
		return fmt.Errorf("%w: topic longer than 65535 bytes", ErrSettings)
	case strings.ContainsAny(t, "+#"):
		return fmt.Errorf("%w: topic %q contains a wildcard (+ or #)", ErrSettings, t)
	case strings.ContainsRune(t, 0):
		return fmt.Errorf("%w: topic %q contains a NUL character", ErrSettings, t)
	}
	return nil
}

// StartSend runs Send in its own goroutine. The returned channel carries
// the job's events and is closed after the last one, which is always Done
// or Failed: Outcome turns it into Send's result.
func StartSend(ctx context.Context, job Job) <-chan Event {
	return start(func(ch chan<- Event) { _, _ = Send(ctx, job, ch) })
}

// Outcome is the result a transfer's last event carries: its stats, and
// nil for Done or the error for Failed.
func Outcome(last Event) (Stats, error) {
	switch e := last.(type) {
	case Done:
		return e.Stats, nil
	case Failed:
		return e.Stats, e.Err
	}
	return Stats{}, fmt.Errorf("transfer: ended without a result (last event %T)", last)
}
