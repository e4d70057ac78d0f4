package simdevice

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	"imagebeam/internal/wait"
)

// ErrLinkClosed means the link's Incoming channel was closed.
var ErrLinkClosed = errors.New("simdevice: the link to the broker closed")

// Link carries the device's traffic: frames arrive on Incoming (the
// to-device topic), answers go out through Publish (the from-device
// topic). Publish is called from several goroutines at once, because
// held-back answers go out from timers. transfer.MQTTLink is a Link.
type Link interface {
	Publish(ctx context.Context, payload []byte) error
	Incoming() <-chan []byte
}

// Options configure Run.
type Options struct {
	Chunk   int    // chunk size; 0 learns it from each image's DATA 0
	MaxSize int    // largest image accepted; 0 (or more) = the protocol's limit
	OutDir  string // where complete images are saved; "" = don't save
	Count   int    // return after this many images; 0 = run until ctx ends
	// Linger keeps the device answering after the Count-th image until no
	// frame has arrived for this long, so that a sender whose FINISH answer
	// was lost can resend it and still finish. Set it above the sender's
	// timeout. Images that complete while lingering are answered but
	// neither saved nor reported. 0 returns at once.
	Linger time.Duration
	Faults Faults
	Logger *slog.Logger // nil = quiet
}

// Received describes one image, reported at its first FINISH. Its JSON
// form is the line `imagebeam simulate` prints.
type Received struct {
	Name string `json:"name"`
	// Size is the number of image bytes the device holds: the announced
	// size when Complete.
	Size int `json:"size"`
	// SHA256 is the hex digest of the image; empty when incomplete.
	SHA256   string `json:"sha256"`
	Complete bool   `json:"complete"`
	// Path is where the image was saved; empty when incomplete or when
	// Options.OutDir is empty.
	Path string `json:"path"`
}

// Run is the simulated device: it answers frames from link until ctx ends
// (returning ctx.Err()), the link closes (ErrLinkClosed) or opts.Count
// images have been reported and opts.Linger has passed without a frame
// (nil, after every pending answer went out). Each image is saved before
// FINISH is answered, and reported on images (which may be nil) after. Delayed, late and duplicate answers are published from
// timers, so one held-back answer never holds up the next frame. A publish
// that fails is logged and counts as a lost answer: the sender resends.
func Run(ctx context.Context, link Link, opts Options, images chan<- Received) error {
	dev := &Device{Chunk: opts.Chunk, MaxSize: opts.MaxSize}
	sim, err := NewSimulator(dev, opts.Faults)
	if err != nil {
		return err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var out *saver
	if opts.OutDir != "" {
		if out, err = newSaver(opts.OutDir); err != nil {
			return err
		}
	}
	publish := func(payloads [][]byte) {
		for _, p := range payloads {
			if err := link.Publish(ctx, p); err != nil && ctx.Err() == nil {
				log.Warn("answer not published", "error", err)
			}
		}
	}
	var timers scheduler
	defer timers.stop()
	defer func() { log.Debug("simulated device stopped", "stats", sim.Stats()) }()

	reported := 0
	var quiet *time.Timer // runs while lingering
	var quietC <-chan time.Time
	for {
		var payload []byte
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-quietC:
			return timers.flush(ctx)
		case p, ok := <-link.Incoming():
			if !ok {
				return ErrLinkClosed
			}
			payload = p
		}
		answer, img := sim.Handle(payload)
		if quiet != nil {
			quiet.Reset(opts.Linger)
			img = nil
		}
		var rec Received
		if img != nil {
			rec = Received{Name: img.Name, Size: img.Received, Complete: img.Complete}
			if img.Complete {
				sum := sha256.Sum256(img.Data)
				rec.SHA256 = hex.EncodeToString(sum[:])
				if out != nil {
					if rec.Path, err = out.save(img.Name, img.Data); err != nil {
						return err
					}
				}
			}
			log.Info("image received", "name", rec.Name, "size", rec.Size, "complete", rec.Complete, "path", rec.Path)
		}
		if answer.After > 0 {
			timers.after(answer.After, func() { publish(answer.Payloads) })
		} else {
			publish(answer.Payloads)
		}
		if img == nil {
			continue
		}
		if images != nil {
			select {
			case images <- rec:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if reported++; opts.Count > 0 && reported >= opts.Count {
			if opts.Linger <= 0 {
				return timers.flush(ctx)
			}
			quiet = time.NewTimer(opts.Linger)
			defer quiet.Stop()
			quietC = quiet.C
		}
	}
}

// scheduler runs answers later and can cancel or await the ones pending.
// The zero value is ready.
type scheduler struct {
	mu      sync.Mutex
	pending map[*time.Timer]struct{}
	wg      sync.WaitGroup
	stopped bool
}

func (s *scheduler) after(d time.Duration, f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	if s.pending == nil {
		s.pending = make(map[*time.Timer]struct{})
	}
	s.wg.Add(1)
	var t *time.Timer
	// The callback takes mu before reading t, and t is assigned before mu
	// is released here, so it never sees t unset.
	t = time.AfterFunc(d, func() {
		defer s.wg.Done()
		s.mu.Lock()
		delete(s.pending, t)
		s.mu.Unlock()
		f()
	})
	s.pending[t] = struct{}{}
}

// flush waits for the pending answers to go out; when ctx ends first, it
// cancels those still pending (see stop).
func (s *scheduler) flush(ctx context.Context) error {
	err := wait.For(ctx, s.wg.Wait)
	if err != nil {
		s.stop()
	}
	return err
}

// stop cancels the pending answers and waits for running ones to finish,
// so nothing publishes after Run returns.
func (s *scheduler) stop() {
	s.mu.Lock()
	s.stopped = true
	for t := range s.pending {
		if t.Stop() {
			s.wg.Done()
		}
		delete(s.pending, t)
	}
	s.mu.Unlock()
	s.wg.Wait()
}
