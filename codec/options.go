package codec

import (
	"fmt"
	"image/color"
	"strings"
)

// Fit says how an image is fitted into the target Width × Height.
type Fit string

// Fit modes. The zero value "" means FitContain.
const (
	// FitContain scales the whole image to fit inside the target and
	// letterboxes it on Options.Background; the output is exactly
	// Width × Height when both are set.
	FitContain Fit = "contain"
	// FitCover scales the image to fill the target and crops the overflow
	// around the centre.
	FitCover Fit = "cover"
	// FitStretch scales each axis on its own, ignoring the aspect ratio.
	FitStretch Fit = "stretch"
	// FitNone does not scale: the image is centred on a Width × Height
	// canvas, cropped where it overflows and letterboxed where it does not fill it.
	FitNone Fit = "none"
)

// ParseFit turns a command-line word into a Fit ("" gives FitContain).
func ParseFit(s string) (Fit, error) {
	switch f := Fit(strings.ToLower(strings.TrimSpace(s))); f {
	case "":
		return FitContain, nil
	case FitContain, FitCover, FitStretch, FitNone:
		return f, nil
	}
	return "", fmt.Errorf("%w: fit %q is not one of contain, cover, stretch, none", ErrBadOptions, s)
}

// Defaults used when an Options field is left at its zero value.
const (
	DefaultQuality    = 85
	DefaultMinQuality = 10
	DefaultChunkSize  = 1400
)

// Options describe what the device should receive (a per-device profile).
// The zero value is valid: keep the size, quality 85, no byte budget.
type Options struct {
	// Width and Height of the target in pixels; 0 keeps the source size on
	// that axis (for contain and cover, 0 leaves that axis free so it
	// follows from the aspect ratio).
	Width, Height int
	// Fit is how the image is fitted into Width × Height; "" is FitContain.
	Fit Fit
	// Upscale allows scaling an image up; by default images are only shrunk.
	Upscale bool
	// Background fills the letterbox of FitContain and FitNone; nil is white.
	// (Transparency in the image itself is always flattened onto white.)
	Background color.Color
	// Rotate is an extra clockwise rotation in degrees (0, 90, 180 or 270,
	// negative values and multiples of 360 are normalised), applied after
	// the EXIF orientation.
	Rotate int
	// Grayscale writes a one-component (grey) JPEG.
	Grayscale bool
	// Quality is the JPEG quality 1–100; 0 means DefaultQuality. With a
	// byte budget it is the highest quality tried.
	Quality int
	// MinQuality is the lowest quality the byte budget may go down to before
	// the image is shrunk instead; 0 means DefaultMinQuality.
	MinQuality int
	// MaxBytes is the byte budget of the output; 0 means no budget.
	MaxBytes int
	// ChunkSize is the device's packet size in bytes, used only to report
	// Result.Packets; 0 means DefaultChunkSize.
	ChunkSize int
	// Reencode forces a re-encode even when the input could be sent as is.
	Reencode bool
}

// normalized returns o with defaults filled in, or an ErrBadOptions error.
func (o Options) normalized() (Options, error) {
	if o.Width < 0 || o.Height < 0 {
		return o, fmt.Errorf("%w: width and height must not be negative (got %d×%d)", ErrBadOptions, o.Width, o.Height)
	}
	if o.Width > maxSide || o.Height > maxSide {
		return o, fmt.Errorf("%w: width and height must be at most %d (got %d×%d)", ErrBadOptions, maxSide, o.Width, o.Height)
	}
	f, err := ParseFit(string(o.Fit))
	if err != nil {
		return o, err
	}
	o.Fit = f
	if o.Background == nil {
		o.Background = color.White
	}
	if o.Rotate%90 != 0 {
		return o, fmt.Errorf("%w: rotation must be a multiple of 90 degrees (got %d)", ErrBadOptions, o.Rotate)
	}
	o.Rotate = ((o.Rotate % 360) + 360) % 360
	if o.Quality == 0 {
		o.Quality = DefaultQuality
	}
	if o.Quality < 1 || o.Quality > 100 {
		return o, fmt.Errorf("%w: quality must be between 1 and 100 (got %d)", ErrBadOptions, o.Quality)
	}
	if o.MinQuality == 0 {
		o.MinQuality = min(DefaultMinQuality, o.Quality)
	}
	if o.MinQuality < 1 || o.MinQuality > o.Quality {
		return o, fmt.Errorf("%w: minimum quality must be between 1 and the quality %d (got %d)", ErrBadOptions, o.Quality, o.MinQuality)
	}
	if o.MaxBytes < 0 {
		return o, fmt.Errorf("%w: the byte budget must not be negative (got %d)", ErrBadOptions, o.MaxBytes)
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.ChunkSize < 0 {
		return o, fmt.Errorf("%w: the chunk size must be positive (got %d)", ErrBadOptions, o.ChunkSize)
	}
	return o, nil
}

// maxSide bounds a target side so that a typo cannot allocate gigabytes.
const maxSide = 16384
