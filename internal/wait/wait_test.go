package wait

import (
	"context"
	"errors"
	"sync"
	"testing"
)

func TestForReturnsNilOnceTheWorkHasEnded(t *testing.T) {
	var wg sync.WaitGroup
	ran := false
	wg.Go(func() { ran = true })
	if err := For(context.Background(), wg.Wait); err != nil || !ran {
		t.Fatalf("For = %v, work ran %v; want nil after the work", err, ran)
	}
}

func TestForGivesUpWhenTheContextEndsAndLeavesTheWorkRunning(t *testing.T) {
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { <-release })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := For(ctx, wg.Wait); !errors.Is(err, context.Canceled) {
		t.Fatalf("For = %v, want context.Canceled", err)
	}
	// The work is still running and can be waited for again.
	close(release)
	if err := For(context.Background(), wg.Wait); err != nil {
		t.Fatalf("second For = %v", err)
	}
}
