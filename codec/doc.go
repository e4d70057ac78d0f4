// Package codec turns whatever image a user has (a file, a URL or bytes in
// any common format) into the small baseline JPEG a device with a fixed
// screen can show, within a byte budget, and fast enough for a live preview.
//
// Use Load (or LoadFile, LoadURL, LoadBytes) once, then Image.Encode as
// often as the options change; Convert does both for a one-shot command.
//
// # Working copy
//
// Loading decodes once into a working copy kept in the Image. A JPEG is
// decoded directly at 1/2, 1/4 or 1/8 of its size (the DCT-domain scaling
// libjpeg calls scale_denom), at the coarsest scale that still gives full
// resolution for LoadOptions.Target, or for a DefaultWorkingSize box when
// no target is given: a 24 MP photo is never held at full size for an
// 800×480 device. Encode re-decodes from the kept input bytes, once, when
// later Options need more resolution than the working copy has, so every
// result is correct whatever the order of calls. Other formats are kept at
// full size. The last oriented and fitted image is cached too, so a change
// of quality or byte budget only re-encodes.
//
// The scaled decoders take every 8-bit Huffman JPEG that image/jpeg
// takes: baseline and sequential, streamed a row of MCUs at a time
// (jpegdec.go); progressive ones, keeping only the coefficients the scale
// needs and skipping the scans that carry none of them (jpegscan.go);
// grey, YCbCr, RGB, CMYK and YCCK, in image/jpeg's colours. What they
// find inconsistent goes to image/jpeg at full size, shrunk after.
//
// # Memory
//
// A few hundred kilobytes can declare 100 million pixels and take
// gigabytes to decode (a progressive JPEG keeps 256 bytes of coefficients
// per 8×8 block of every component; a 16-bit PNG 8 bytes a pixel). With a
// LoadOptions.Budget, every call estimates from the header what its
// decoder, the working copy, orientation, fitting and encoding will
// allocate (estimate.go, written from what each decoder allocates) and
// waits for that much of the budget first, or fails at once with
// ErrMemoryBudget when it could never fit. Inputs are read through a cap
// whatever size a file or server claims, and their bytes wait for their
// own share of the budget before they are read.
//
// # Errors
//
// Every error wraps one of the Err* sentinels (test with errors.Is) and
// reads as one sentence naming the cause. No input makes the package panic
// (third-party decoders run under recover) or hang (every fetch has
// timeouts and a size cap; decoding checks the context).
package codec

//go:generate go run ./internal/cmd/gentestdata
