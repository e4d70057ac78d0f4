package cli

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"imagebeam/codec"
)

// Memory budgets by default. convert and send prepare one image, so they
// may take more than serve, which prepares several at once on a machine
// that also runs other work; 2 GiB admits every 8-bit image within the
// 100-megapixel cap.
const (
	defaultCommandMemory = 2 << 30
	defaultServeMemory   = 1 << 30
)

// memoryHeadroom is what the process needs besides image preparations
// (connections, transfers, the runtime), added to the budget to make the
// garbage collector's soft limit.
const memoryHeadroom = 64 << 20

// byteSize is a flag holding a size in bytes, given as 1GiB, 512MiB, 1.5G,
// 800MB or a plain number of bytes.
type byteSize int64

func (b *byteSize) String() string {
	n := int64(*b)
	for _, u := range []struct {
		name string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}

func (b *byteSize) Set(s string) error {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	}
	mult, ok := map[string]float64{
		"": 1, "b": 1,
		"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
		"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
		"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
		"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
	}[unit]
	v, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || v < 0 || math.IsInf(v*mult, 0) || v*mult > math.MaxInt64/2 {
		return fmt.Errorf("%q is not a size such as 1GiB, 512MiB or 800MB", s)
	}
	*b = byteSize(v * mult)
	return nil
}

// memoryBudget makes the process-wide budget for --max-memory (0: none)
// and sets the garbage collector's soft memory limit a little above it,
// unless GOMEMLIMIT chose one: the collector then reclaims a finished
// preparation's garbage before the heap grows past the budget, instead of
// letting it double first as GOGC alone would.
func memoryBudget(limit byteSize) *codec.Budget {
	if limit <= 0 {
		return nil
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(limit) + memoryHeadroom)
	}
	return codec.NewBudget(int64(limit), "--max-memory")
}
