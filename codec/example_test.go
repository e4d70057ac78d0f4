package codec_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"imagebeam/codec"
)

// The CLI's `convert`: one call, decoding only as much as the device needs.
func ExampleConvert() {
	opts := codec.Options{Width: 800, Height: 480, Fit: codec.FitCover, Quality: 85}
	res, err := codec.Convert(context.Background(), "testdata/quadrants.jpg", codec.LoadOptions{}, opts)
	if errors.Is(err, codec.ErrHEIC) || errors.Is(err, codec.ErrNotImage) {
		log.Fatal(err) // one sentence: tell the user, exit 2
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Width, res.Height, res.Reencoded) // a q90 input is re-encoded at q85; never upscaled
	// Output: 64 48 true
}

// A preview that follows a quality slider: load once, encode many times.
func ExampleImage_Encode() {
	ctx := context.Background()
	profile := codec.Options{Width: 32, Height: 32, Fit: codec.FitContain}
	im, err := codec.LoadFile(ctx, "testdata/quadrants.png", codec.LoadOptions{Target: &profile})
	if err != nil {
		log.Fatal(err)
	}
	for _, q := range []int{30, 60, 90} {
		profile.Quality = q
		res, err := im.Encode(ctx, profile) // re-encodes from the kept working copy
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(res.Width, res.Height, res.Quality, res.Packets)
	}
	// Output:
	// 32 32 30 1
	// 32 32 60 1
	// 32 32 90 1
}
