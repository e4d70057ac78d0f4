package codec

import (
	"bytes"
	"encoding/binary"
)

// tiffOrientation returns the Orientation tag (0x0112) of IFD0 in a TIFF
// structure (the body of an EXIF block, or a TIFF file), or 0 when absent
// or out of range. It never reads outside b.
func tiffOrientation(b []byte) int {
	if len(b) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(b[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 0
	}
	ifd := int64(bo.Uint32(b[4:8]))
	if ifd < 8 || ifd+2 > int64(len(b)) {
		return 0
	}
	n := int64(bo.Uint16(b[ifd:]))
	for i := int64(0); i < n; i++ {
		e := ifd + 2 + 12*i
		if e+12 > int64(len(b)) {
			return 0
		}
		if bo.Uint16(b[e:]) != 0x0112 {
			continue
		}
		// Type SHORT (3), count 1: the value sits in the first two bytes
		// of the value field.
		if bo.Uint16(b[e+2:]) != 3 || bo.Uint32(b[e+4:]) != 1 {
			return 0
		}
		if v := int(bo.Uint16(b[e+8:])); v >= 1 && v <= 8 {
			return v
		}
		return 0
	}
	return 0
}

// exifOrientation finds the EXIF orientation of a TIFF, or of the EXIF
// chunk of a PNG or WebP; 0 means none. (A JPEG's is read with its header.)
func exifOrientation(f Format, data []byte) int {
	switch f {
	case FormatTIFF:
		return tiffOrientation(data)
	case FormatPNG:
		// Chunks after the 8-byte signature: length, type, data, CRC.
		for p := 8; p+8 <= len(data); {
			n := int(binary.BigEndian.Uint32(data[p:]))
			typ := string(data[p+4 : p+8])
			if n < 0 || p+8+n > len(data) || typ == "IDAT" {
				return 0
			}
			if typ == "eXIf" {
				return tiffOrientation(data[p+8 : p+8+n])
			}
			p += 12 + n
		}
	case FormatWebP:
		for p := 12; p+8 <= len(data); {
			n := int(binary.LittleEndian.Uint32(data[p+4:]))
			typ := string(data[p : p+4])
			if n < 0 || p+8+n > len(data) {
				return 0
			}
			if typ == "EXIF" {
				body := data[p+8 : p+8+n]
				body = bytes.TrimPrefix(body, []byte("Exif\x00\x00"))
				return tiffOrientation(body)
			}
			p += 8 + n + n%2
		}
	}
	return 0
}
