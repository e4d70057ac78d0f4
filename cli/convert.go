package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"imagebeam/codec"
	"imagebeam/config"
	"imagebeam/internal/atomicfile"
)

// imageFlags are a device's image profile as flags.
type imageFlags struct {
	width, height, quality, maxBytes, rotate int
	fit                                      string
	grayscale, upscale                       bool
	maxPixels                                int64
	maxMemory                                byteSize
	fetch                                    codec.FetchPolicy // from the settings file
}

func (f *imageFlags) register(fs *flag.FlagSet) {
	def := config.DefaultDevice().Image
	fs.IntVar(&f.width, "width", def.Width, "target width in `pixels` (0: keep)")
	fs.IntVar(&f.height, "height", def.Height, "target height in `pixels` (0: keep)")
	fs.StringVar(&f.fit, "fit", def.Fit, "`mode`: contain (letterbox), cover (crop to fill), stretch or none")
	fs.IntVar(&f.quality, "quality", def.Quality, "JPEG `quality` 1-100 (with --max-bytes: the highest tried)")
	fs.IntVar(&f.maxBytes, "max-bytes", def.MaxBytes, "byte `budget` for the JPEG (0: none); the image shrinks if needed")
	fs.IntVar(&f.rotate, "rotate", def.Rotate, "extra clockwise rotation in `degrees`: 0, 90, 180 or 270")
	fs.BoolVar(&f.grayscale, "grayscale", def.Grayscale, "send a grey image")
	fs.BoolVar(&f.upscale, "upscale", def.Upscale, "allow scaling small images up")
	fs.Int64Var(&f.maxPixels, "max-pixels", 0, "refuse images with more `pixels` than this (0: 100 million)")
	f.maxMemory = defaultCommandMemory
	fs.Var(&f.maxMemory, "max-memory", "memory `size` the image may take to convert (e.g. 512MiB; 0: no limit); one that needs more is refused")
}

// apply puts the flags given on the command line over a device's profile.
func (f *imageFlags) apply(set map[string]bool, im *config.Image) {
	override(set, "width", &im.Width, f.width)
	override(set, "height", &im.Height, f.height)
	override(set, "quality", &im.Quality, f.quality)
	override(set, "max-bytes", &im.MaxBytes, f.maxBytes)
	override(set, "rotate", &im.Rotate, f.rotate)
	override(set, "fit", &im.Fit, f.fit)
	override(set, "grayscale", &im.Grayscale, f.grayscale)
	override(set, "upscale", &im.Upscale, f.upscale)
}

// prepare runs the image pipeline on a file or URL for a device.
func prepare(ctx context.Context, source string, dev config.Device, imf *imageFlags) (*codec.Result, error) {
	opts, err := dev.Options()
	if err != nil {
		return nil, err
	}
	lo := codec.LoadOptions{MaxPixels: imf.maxPixels, Budget: memoryBudget(imf.maxMemory), FetchPolicy: &imf.fetch}
	return codec.Convert(ctx, source, lo, opts)
}

func runConvert(ctx context.Context, env Env, args []string) error {
	fs := newFlags("convert", "IN OUT", "Write the JPEG a device would get from IN (a file or an http(s) URL) to OUT,\nand print a one-line summary. OUT is replaced only when the conversion succeeded.")
	var imf imageFlags
	imf.register(fs)
	device := fs.String("device", "", "start from this saved device's image profile")
	chunk := fs.Int("chunk", 0, "packet `bytes` for the packet count (default: the device's, 1400)")
	pos, err := parse(fs, env, args, 2)
	if err != nil {
		return err
	}
	dev := config.DefaultDevice()
	// The settings file names the device, and its fetch policy applies to
	// URLs; a local file without --device needs neither.
	if *device != "" || codec.IsURL(pos[0]) {
		settings, err := loadSettings(env)
		if err != nil {
			return err
		}
		if imf.fetch, err = settings.Fetch.Policy(nil, nil); err != nil {
			return err
		}
		if *device != "" {
			if dev, err = settings.Resolve(*device); err != nil {
				return err
			}
		}
	}
	set := setFlags(fs)
	imf.apply(set, &dev.Image)
	override(set, "chunk", &dev.Chunk, *chunk)
	res, err := prepare(ctx, pos[0], dev, &imf)
	if err != nil {
		return err
	}
	summary := env.Stdout
	if pos[1] == "-" {
		// The JPEG has standard output to itself, so a pipe gets a clean file.
		summary = env.Stderr
	}
	if err := writeFileAtomic(env, pos[1], res.JPEG); err != nil {
		return fmt.Errorf("%w: %v", errBadInput, err)
	}
	fmt.Fprintf(summary, "%s: %s\n", pos[1], res.Summary())
	return nil
}

// writeFileAtomic replaces path only once the new content is complete;
// "-" is the command's standard output.
func writeFileAtomic(env Env, path string, data []byte) error {
	if path == "-" {
		_, err := env.Stdout.Write(data)
		return err
	}
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return fmt.Errorf("cannot write %s: %v", path, unwrapPath(err))
	}
	return nil
}

func isCodecError(err error) bool {
	for _, e := range []error{codec.ErrOpen, codec.ErrEmpty, codec.ErrNotImage, codec.ErrUnsupported, codec.ErrHEIC, codec.ErrTruncated,
		codec.ErrCorrupt, codec.ErrTooManyPixels, codec.ErrTooLarge, codec.ErrFetch, codec.ErrBadOptions, codec.ErrBudget,
		codec.ErrMemoryBudget} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
