// Command benchconvert runs the codec pipeline the way `imagebeam convert`
// does, for scripts/bench-codec.sh to time while the real CLI is not built:
//
//	benchconvert [convert] IN OUT [--width W --height H --fit MODE --quality Q
//	    --max-bytes N --rotate DEG --grayscale --upscale]
//
// It prints the one-line summary and exits 2 on bad input, like the CLI,
// and like the CLI's default --max-memory 2GiB it converts within a 2 GiB
// budget, with the garbage collector's soft limit 64 MiB above it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"imagebeam/codec"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) > 0 && args[0] == "convert" {
		args = args[1:]
	}
	var pos []string
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		pos, args = append(pos, args[0]), args[1:]
	}
	fs := flag.NewFlagSet("benchconvert", flag.ContinueOnError)
	var o codec.Options
	fit := fs.String("fit", "contain", "contain, cover, stretch or none")
	fs.IntVar(&o.Width, "width", 0, "target width (0 = keep)")
	fs.IntVar(&o.Height, "height", 0, "target height (0 = keep)")
	fs.IntVar(&o.Quality, "quality", codec.DefaultQuality, "JPEG quality 1-100")
	fs.IntVar(&o.MaxBytes, "max-bytes", 0, "byte budget (0 = none)")
	fs.IntVar(&o.Rotate, "rotate", 0, "extra clockwise rotation")
	fs.BoolVar(&o.Grayscale, "grayscale", false, "grey output")
	fs.BoolVar(&o.Upscale, "upscale", false, "allow upscaling")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	pos = append(pos, fs.Args()...)
	if len(pos) != 2 {
		fmt.Fprintln(os.Stderr, "usage: benchconvert [convert] IN OUT [flags]")
		return 2
	}
	f, err := codec.ParseFit(*fit)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	o.Fit = f
	const budget = 2 << 30
	debug.SetMemoryLimit(budget + 64<<20)
	res, err := codec.Convert(context.Background(), pos[0], codec.LoadOptions{Budget: codec.NewBudget(budget, "--max-memory")}, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := os.WriteFile(pos[1], res.JPEG, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(res.Summary())
	return 0
}
