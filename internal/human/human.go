// Package human writes numbers for people, in one convention for the
// window, the command line and the server: sizes and rates in binary units
// (1 KiB = 1024 bytes, MiB, GiB: the units --max-memory and the caps are
// given in) with three significant digits and no trailing zeros ("812
// bytes", "61.2 KiB", "254 KiB", "1.18 MiB", "1 GiB"); durations rounded to
// what a person needs ("850 ms", "3.4 s", "2 min 5 s"); counts with their
// noun in the right number ("1 retry", "3 retries").
package human

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Bytes writes a size.
func Bytes(n int64) string {
	if n < 0 {
		return "-" + Bytes(-n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	if n < 1024 {
		return Count(int(n), "byte", "bytes")
	}
	v, u := float64(n)/1024, 0
	for v >= 1023.5 && u < len(units)-1 {
		v, u = v/1024, u+1
	}
	return significant(v) + " " + units[u]
}

// significant writes v (at least 1) with three significant digits and
// without trailing zeros: 1.5, 61.2, 254.
func significant(v float64) string {
	decimals := 0
	switch {
	case v < 9.995:
		decimals = 2
	case v < 99.95:
		decimals = 1
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// Rate writes bytes per second; "–" when it is not known yet (0 or less).
func Rate(bytesPerSecond float64) string {
	if bytesPerSecond <= 0 {
		return "–"
	}
	return Bytes(int64(bytesPerSecond)) + "/s"
}

// Duration rounds d for people: "850 ms", "3.4 s", "2 min 5 s", "1 h 3 min".
func Duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
}

// Plural is one when n is 1, else many.
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Count writes n with its noun: "1 retry", "0 retries".
func Count(n int, one, many string) string {
	return strconv.Itoa(n) + " " + Plural(n, one, many)
}
