package simdevice

import (
	"testing"

	"imagebeam/transfer"
)

// FuzzDeviceHandle feeds arbitrary frames to a device that has an image
// open: it never panics, and every answer is well-formed feedback that
// echoes the frame's function and number.
func FuzzDeviceHandle(f *testing.F) {
	for _, seed := range [][]byte{
		begin("a.jpg", 5), data(0, "abc"), data(1, "de"), finishFrame(),
		raw(transfer.FrameMagic, 2, 3, 9, "x"), raw(transfer.FrameMagic, 1, 0, 4, "a;99"), nil,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		d := new(Device)
		d.Handle(begin("a.jpg", 5))
		d.Handle(data(0, "abc"))
		reply, _ := d.Handle(frame)
		if reply == nil {
			return
		}
		fb, err := transfer.DecodeFeedback(reply)
		if err != nil {
			t.Fatalf("malformed answer % x: %v", reply, err)
		}
		in, ok := decode(frame)
		if !ok || fb.Function != in.Function || fb.Number != in.Number {
			t.Fatalf("answer %+v does not echo frame % x", fb, frame)
		}
	})
}
