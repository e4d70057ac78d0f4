package codec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"imagebeam/internal/human"
)

// readFile reads path whole, up to lo.MaxInputBytes whatever its claimed
// size, holding its bytes in l's input share. lo is normalised.
func readFile(ctx context.Context, path string, lo LoadOptions, l *lease) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOpen, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOpen, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%w: %s is a folder", ErrOpen, path)
	}
	// Only a regular file's size means anything (a FIFO or a device
	// reports 0, /proc files 0 or 4096), and even it may grow meanwhile.
	size := int64(-1)
	if st.Mode().IsRegular() && st.Size() > 0 {
		size = st.Size()
	}
	if size > lo.MaxInputBytes {
		return nil, fmt.Errorf("%w: %s is %s, over the %s limit", ErrTooLarge, path, human.Bytes(size), human.Bytes(lo.MaxInputBytes))
	}
	// A FIFO whose writer stalls would block the read for ever; a deadline
	// set when ctx ends wakes it (files that cannot have one never block).
	stop := context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Now()) })
	defer stop()
	data, err := readInput(ctx, f, size, lo.MaxInputBytes, l)
	switch {
	case errors.Is(err, errOverCap):
		return nil, fmt.Errorf("%w: reading %s stopped at the %s limit", ErrTooLarge, path, human.Bytes(inputCap(size, lo.MaxInputBytes, l)))
	case err != nil && ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, ErrMemoryBudget):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrOpen, err)
	}
	return data, nil
}

// errOverCap means an input went on past its cap.
var errOverCap = errors.New("over the cap")

// inputCap is how much an input of the given size (-1: unknown) may be:
// maxBytes, and with a budget no more than its input share can hold.
func inputCap(size, maxBytes int64, l *lease) int64 {
	if l.b == nil {
		return maxBytes
	}
	if size < 0 {
		// Read in chunks, then joined: twice the bytes at the end.
		return min(maxBytes, l.b.InputLimit()/2)
	}
	return min(maxBytes, l.b.InputLimit())
}

// readInput reads r to its end into one slice, failing with errOverCap
// past inputCap. size is what r is expected to hold (-1 when unknown). The
// bytes are held in l's input share: size+1 reserved before reading when
// known, otherwise twice the cap (chunks, then the joined slice), kept
// at the length read afterwards.
func readInput(ctx context.Context, r io.Reader, size, maxBytes int64, l *lease) ([]byte, error) {
	limit := inputCap(size, maxBytes, l)
	reserve := 2 * limit
	if size >= 0 {
		reserve = size + 1
	}
	if err := l.acquireInput(ctx, reserve); err != nil {
		return nil, err
	}
	data, err := ReadBounded(r, size, limit+1)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errOverCap
	}
	l.keepInput(int64(cap(data)))
	return data, nil
}

// ReadBounded reads r to its end but never more than limit bytes, with
// as little memory as it can: into one slice of capacity size+1 when size,
// the length r is expected to hold, is known (-1 when not), else in chunks
// of growing size joined at the end, never more than twice the input where
// io.ReadAll's doubling can take three times. Reading limit bytes means r
// may hold more: callers pass their cap + 1 and refuse a longer result.
func ReadBounded(r io.Reader, size, limit int64) ([]byte, error) {
	lr := io.LimitReader(r, limit)
	if size >= 0 {
		return readSized(lr, min(size, limit))
	}
	return readChunks(lr, limit)
}

// readSized reads an input expected to hold size bytes into one slice of
// that capacity (plus one, to see the end), growing only if it lied.
func readSized(r io.Reader, size int64) ([]byte, error) {
	data := make([]byte, 0, size+1)
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := r.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if errors.Is(err, io.EOF) {
			return data, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// readChunks reads an input of unknown length, at most limit bytes, in
// chunks of growing size, then joins them: never more than twice the
// input, where append's doubling can reach three times.
func readChunks(r io.Reader, limit int64) ([]byte, error) {
	var chunks [][]byte
	total, next := 0, 64<<10
	for {
		c := make([]byte, max(1, min(int64(next), limit-int64(total))))
		n, err := io.ReadFull(r, c)
		chunks = append(chunks, c[:n])
		total += n
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		next = min(2*next, 16<<20)
	}
	if len(chunks) == 1 {
		return chunks[0], nil
	}
	data := make([]byte, 0, total)
	for _, c := range chunks {
		data = append(data, c...)
	}
	return data, nil
}
