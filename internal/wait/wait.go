// Package wait bounds a wait for work that may not end in time (goroutines
// counted by a sync.WaitGroup, a shutdown): the caller stops waiting when
// its context ends and decides what to do about the work still running.
package wait

import "context"

// For runs f in a new goroutine and returns nil once f has returned, or
// ctx's error if ctx ends first. f goes on running then: a caller that
// cancels its work waits for it again, without a bound (wg.Wait); one that
// is exiting leaves it.
func For(ctx context.Context, f func()) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
