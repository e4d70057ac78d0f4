package human

import (
	"testing"
	"time"
)

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 bytes", 1: "1 byte", 1023: "1023 bytes", 1024: "1 KiB", 1536: "1.5 KiB",
		62669: "61.2 KiB", 260096: "254 KiB", 1 << 20: "1 MiB", 1237319: "1.18 MiB",
		64 << 20: "64 MiB", 1048063: "1023 KiB", 1048064: "1 MiB", 1 << 30: "1 GiB", 3 << 29: "1.5 GiB",
	} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRateDurationCount(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Rate(0), "–"},
		{Rate(13.1 * 1024 * 1024), "13.1 MiB/s"},
		{Duration(850 * time.Millisecond), "850 ms"},
		{Duration(3400 * time.Millisecond), "3.4 s"},
		{Duration(125 * time.Second), "2 min 5 s"},
		{Duration(63*time.Minute + 10*time.Second), "1 h 3 min"},
		{Count(1, "retry", "retries"), "1 retry"},
		{Count(0, "retry", "retries"), "0 retries"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
