package codec

import (
	"bytes"
	"fmt"
	"net/http"
)

// Format names an encoded image format as detected from its content.
type Format string

// Formats this package reads.
const (
	FormatJPEG Format = "JPEG"
	FormatPNG  Format = "PNG"
	FormatGIF  Format = "GIF"
	FormatBMP  Format = "BMP"
	FormatTIFF Format = "TIFF"
	FormatWebP Format = "WebP"
)

// heicHowTo is the part of the HEIC error that tells the user what to do.
const heicHowTo = "export the photo as JPEG first (on an iPhone, Settings → Camera → Formats → Most Compatible " +
	"makes new photos JPEG, and Settings → Photos → Transfer to Mac or PC → Automatic copies existing ones as JPEG; " +
	"on a Mac, open the photo in Preview and choose File → Export → JPEG)"

// sniff detects the format from the first bytes, never from a file name.
// It returns an error wrapping ErrEmpty, ErrHEIC, ErrUnsupported or
// ErrNotImage when the data is not one of the formats above.
func sniff(data []byte) (Format, error) {
	switch {
	case len(data) == 0:
		return "", ErrEmpty
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return FormatJPEG, nil
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return FormatPNG, nil
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return FormatGIF, nil
	case bytes.HasPrefix(data, []byte("BM")) && len(data) >= 26:
		return FormatBMP, nil
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return FormatTIFF, nil
	case len(data) >= 12 && bytes.HasPrefix(data, []byte("RIFF")) && string(data[8:12]) == "WEBP":
		return FormatWebP, nil
	}
	if brand, ok := isoBrand(data); ok {
		switch brand {
		case "heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs", "mif1", "msf1":
			return "", fmt.Errorf("%w: %s", ErrHEIC, heicHowTo)
		case "avif", "avis":
			return "", fmt.Errorf("%w: AVIF images cannot be read; export the image as JPEG or PNG", ErrUnsupported)
		}
		return "", fmt.Errorf("%w (it is an ISO media file of brand %q, such as a video)", ErrNotImage, brand)
	}
	head := data[:min(len(data), 512)]
	if bytes.Contains(bytes.ToLower(head), []byte("<svg")) {
		return "", fmt.Errorf("%w: SVG is a vector format; export the image as PNG or JPEG", ErrUnsupported)
	}
	return "", fmt.Errorf("%w (it looks like %s)", ErrNotImage, http.DetectContentType(data))
}

// isoBrand reports the brand of an ISO base media file (HEIF, AVIF, MP4):
// the major brand, unless a compatible brand names an image format, since
// some cameras write a generic major brand.
func isoBrand(data []byte) (string, bool) {
	if len(data) < 12 || string(data[4:8]) != "ftyp" {
		return "", false
	}
	size := int(data[0])<<24 | int(data[1])<<16 | int(data[2])<<8 | int(data[3])
	if size < 16 || size > len(data) {
		size = min(len(data), 64)
	}
	major := string(data[8:12])
	if major == "heic" || major == "heix" || major == "avif" || major == "avis" {
		return major, true
	}
	for i := 16; i+4 <= size; i += 4 {
		switch b := string(data[i : i+4]); b {
		case "heic", "heix", "hevc", "hevx", "avif", "avis":
			return b, true
		}
	}
	return major, true
}
