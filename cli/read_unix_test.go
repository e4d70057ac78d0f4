//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// /dev/zero reports size 0 and never ends: convert stops at the input cap
// with one sentence instead of reading for ever.
func TestConvertStopsReadingDevZeroAtTheCap(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	r := run("convert", "/dev/zero", filepath.Join(t.TempDir(), "out.jpg"))
	if r.code != ExitUsage || !strings.Contains(r.stderr, "reading /dev/zero stopped at the 64 MiB limit") || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("got %+v", r)
	}
}
