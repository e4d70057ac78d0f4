package codec

import "errors"

// Sentinel errors. Every error returned by this package wraps one of them
// (test with errors.Is); the message around it names the cause in one
// sentence that a user can act on.
var (
	// ErrEmpty means the input has no bytes at all.
	ErrEmpty = errors.New("codec: the input is empty (0 bytes)")
	// ErrNotImage means the input is not in an image format this package
	// reads; the message names the content type that was detected.
	ErrNotImage = errors.New("codec: the input is not an image")
	// ErrUnsupported means the input is an image in a format or variant
	// this package does not read (AVIF, SVG, CMYK JPEG that fails to decode, …).
	ErrUnsupported = errors.New("codec: this kind of image is not supported")
	// ErrHEIC means the input is a HEIC/HEIF photo (the iPhone default).
	ErrHEIC = errors.New("codec: HEIC/HEIF photos are not supported")
	// ErrTruncated means the image data ends before the image does.
	ErrTruncated = errors.New("codec: the image data is truncated")
	// ErrCorrupt means the image data is damaged in a way other than truncation.
	ErrCorrupt = errors.New("codec: the image data is corrupt")
	// ErrTooManyPixels means the image's dimensions exceed the pixel limit;
	// the message names both.
	ErrTooManyPixels = errors.New("codec: the image has too many pixels")
	// ErrTooLarge means the input is bigger than the size cap.
	ErrTooLarge = errors.New("codec: the input is too large")
	// ErrFetch means a URL could not be fetched; the message names the host
	// and the HTTP status or network failure.
	ErrFetch = errors.New("codec: the URL could not be fetched")
	// ErrBadOptions means an Options or LoadOptions field is out of range.
	ErrBadOptions = errors.New("codec: invalid option")
	// ErrBudget means no JPEG fits the byte budget, even shrunk to the
	// smallest size this package will produce.
	ErrBudget = errors.New("codec: the byte budget is too small")
	// ErrMemoryBudget means converting the image needs more memory than
	// the Budget lets one image use; the message names the image, the
	// estimate and the budget.
	ErrMemoryBudget = errors.New("codec: over the memory budget")
)
