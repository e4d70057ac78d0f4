package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"imagebeam/config"
	"imagebeam/internal/redact"
	"imagebeam/simdevice"
	"imagebeam/transfer"
)

// maxBench bounds simulate --devices: one connection, one subscription
// and one goroutine a device.
const maxBench = 1000

// benchDevice is one device of a simulated bench.
type benchDevice struct {
	name, to, from string
}

// bench names n devices "<base> NN" on topics <prefix>/NN/to and
// <prefix>/NN/from, NN counting from 01.
func bench(base, prefix string, n int) []benchDevice {
	width := max(2, len(fmt.Sprint(n)))
	out := make([]benchDevice, n)
	for i := range n {
		nn := fmt.Sprintf("%0*d", width, i+1)
		out[i] = benchDevice{name: base + " " + nn, to: prefix + "/" + nn + "/to", from: prefix + "/" + nn + "/from"}
	}
	return out
}

// benchImage is simulate's JSON line for an image when it runs a bench:
// the device's name, then simdevice.Received's fields.
type benchImage struct {
	Device string `json:"device"`
	simdevice.Received
}

// simulateBench runs f.devices simulated devices over one broker
// connection, each with the fault flags (its seed offset by its number),
// prints their topics, optionally saves them as a group, and prints one
// JSON line per image with the device's name.
func simulateBench(ctx context.Context, env Env, cfg transfer.BrokerConfig, f *simulateFlags) error {
	base := f.saveAll
	if base == "" {
		base = "sim"
	}
	devs := bench(base, f.prefix, f.devices)
	hub, err := transfer.NewHub(cfg, "simulate")
	if err != nil {
		return err
	}
	defer hub.Close()
	links := make([]*transfer.HubLink, len(devs))
	for i, d := range devs {
		if links[i], err = hub.Attach(ctx, d.to, d.from, byte(f.qos)); err != nil {
			return err
		}
		defer links[i].Close()
	}
	fmt.Fprintf(env.Stderr, "%d simulated devices via %s, one connection:\n", len(devs), hub.Addr())
	for _, d := range devs {
		fmt.Fprintf(env.Stderr, "  %q listens on %s, answers on %s\n", d.name, d.to, d.from)
	}
	if f.saveAll != "" {
		if err := saveBench(env, f, cfg, devs); err != nil {
			return err
		}
	}
	return runBench(ctx, env, devs, links, f)
}

// runBench runs one simulated device on each link until ctx ends or each
// has received its count, printing each image's JSON line.
func runBench(ctx context.Context, env Env, devs []benchDevice, links []*transfer.HubLink, f *simulateFlags) error {
	images := make(chan benchImage)
	errs := make(chan error, len(devs))
	var wg sync.WaitGroup
	for i, d := range devs {
		opts := simdevice.Options{Chunk: f.chunk, Count: f.count, Linger: f.linger, Faults: f.faults}
		opts.Faults.Seed += uint64(i)
		if f.out != "" {
			opts.OutDir = filepath.Join(f.out, filepath.Base(d.to[:len(d.to)-len("/to")]))
		}
		own := make(chan simdevice.Received)
		wg.Add(2)
		go func() {
			defer wg.Done()
			for r := range own {
				images <- benchImage{Device: d.name, Received: r}
			}
		}()
		go func() {
			defer wg.Done()
			errs <- simdevice.Run(ctx, links[i], opts, own)
			close(own)
		}()
	}
	go func() { wg.Wait(); close(images) }()
	enc := json.NewEncoder(env.Stdout)
	for img := range images {
		_ = enc.Encode(img)
	}
	close(errs)
	for err := range errs {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return transfer.ErrCanceled
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// saveBench writes the bench into the settings file as devices and a
// group, replacing devices and a group of the same names. The file is
// read again right before, so edits made meanwhile are kept.
func saveBench(env Env, f *simulateFlags, cfg transfer.BrokerConfig, devs []benchDevice) error {
	path, err := config.Path()
	if err != nil {
		return err
	}
	settings, err := config.Load(path)
	if err != nil {
		return err
	}
	g := config.Group{Name: f.saveAll}
	for _, d := range devs {
		p := config.DefaultDevice()
		p.Name, p.ToDevice, p.FromDevice, p.QoS = d.name, d.to, d.from, f.qos
		if f.chunk > 0 {
			p.Chunk = f.chunk
		}
		settings.SetDevice(p)
		g.Devices = append(g.Devices, d.name)
	}
	settings.SetGroup(g)
	if err := settings.Save(path); err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "saved the group %q (%d devices) in %s\n", g.Name, len(devs), path)
	if saved := settings.Broker.Transfer().URL; transfer.DeviceKey(saved, "", "") != transfer.DeviceKey(cfg.URL, "", "") {
		fmt.Fprintf(env.Stderr, "note: the settings file's broker is %s, not %s: send to the group with --broker %s\n",
			redact.URL(saved), redact.URL(cfg.URL), redact.URL(cfg.URL))
	}
	return nil
}
