package gui

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"io"
	"maps"
	"os"
)

// thumbSide is the longer side of a history thumbnail, in pixels.
const thumbSide = 96

// maxThumbBytes bounds what readThumb reads of a thumbnail file; the ones
// makeThumb writes take a few KiB.
const maxThumbBytes = 1 << 20

// thumbCache holds decoded pictures by the SHA-256 of the image they
// show, so that a list row shows one without touching the disk on the UI
// goroutine: the History list's thumbnails, and the pictures of what
// devices hold. It keeps only those its owner still lists (see keep).
// Its methods belong to the UI goroutine; pictures are read and decoded
// in goroutines that report back through do.
type thumbCache struct {
	ctx     context.Context        // ends when the window closes
	do      func(func())           // runs a function on the UI goroutine
	ready   func(sha string)       // called through do once sha's picture is read
	images  map[string]image.Image // nil: there is none to show
	reading map[string]bool
}

func newThumbCache(ctx context.Context, do func(func()), ready func(string)) *thumbCache {
	return &thumbCache{ctx: ctx, do: do, ready: ready, images: map[string]image.Image{}, reading: map[string]bool{}}
}

// get returns sha's picture, or nil while it is being read or when there
// is none. The first call for sha runs load in a goroutine; ready follows.
func (c *thumbCache) get(sha string, load func() image.Image) image.Image {
	if img, ok := c.images[sha]; ok {
		return img
	}
	if !c.reading[sha] {
		c.reading[sha] = true
		go func() {
			img := load()
			if c.ctx.Err() != nil {
				return
			}
			c.do(func() { c.store(sha, img) })
		}()
	}
	return nil
}

func (c *thumbCache) store(sha string, img image.Image) {
	if !c.reading[sha] {
		return // dropped by keep while it was read
	}
	delete(c.reading, sha)
	c.images[sha] = img
	c.ready(sha)
}

// keep forgets every picture but those of listed, read or being read.
func (c *thumbCache) keep(listed map[string]bool) {
	maps.DeleteFunc(c.images, func(sha string, _ image.Image) bool { return !listed[sha] })
	maps.DeleteFunc(c.reading, func(sha string, _ bool) bool { return !listed[sha] })
}

// readThumb decodes the thumbnail stored at path: nil when there is none,
// or when the file is not a thumbnail (a small JPEG), which is then not
// decoded at all.
func readThumb(path string) image.Image {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxThumbBytes+1))
	if err != nil || len(b) > maxThumbBytes {
		return nil
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil || cfg.Width > 4*thumbSide || cfg.Height > 4*thumbSide {
		return nil
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	return img
}
