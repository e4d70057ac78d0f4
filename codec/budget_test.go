package codec

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// next receives from c, failing the test instead of hanging it when a
// bug keeps a request waiting.
func next[T any](t *testing.T, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing came within 10 s")
	}
	var zero T
	return zero
}

// waitHook makes p report each request that starts waiting on the
// returned channel.
func waitHook(p *pool) <-chan struct{} {
	c := make(chan struct{}, 16)
	p.onWait = func() { c <- struct{}{} }
	return c
}

func TestBudgetSplitsIntoInputAndWork(t *testing.T) {
	b := NewBudget(1<<30, "--max-memory")
	if b.InputLimit() != 256<<20 || b.WorkLimit() != 768<<20 || b.Limit() != 1<<30 {
		t.Fatalf("input %d, work %d, limit %d", b.InputLimit(), b.WorkLimit(), b.Limit())
	}
}

func TestBudgetServesWaitersInArrivalOrder(t *testing.T) {
	b := NewBudget(400, "") // 300 for work
	b.work.maxHolders = 0   // bytes only here
	ctx := context.Background()
	waiting := waitHook(&b.work)
	if b.Acquire(ctx, 100) != nil || b.Acquire(ctx, 200) != nil {
		t.Fatal("the pool's first 300 bytes were refused")
	}
	done := make(chan error, 3)
	for _, n := range []int64{200, 10, 100} {
		go func() { done <- b.Acquire(ctx, n) }()
		next(t, waiting) // queued before the next one starts
	}
	// Grants happen inside Release, so what is in use right after it says
	// who got in.
	b.Release(100)
	if u := b.work.inUse(); u != 200 {
		t.Fatalf("in use %d after freeing 100: the 10 bytes passed the 200 waiting before them", u)
	}
	b.Release(200)
	if u := b.work.inUse(); u != 210 {
		t.Fatalf("in use %d, want 210 (the 200, then the 10; the 100 does not fit)", u)
	}
	b.Release(200)
	if u := b.work.inUse(); u != 110 {
		t.Fatalf("in use %d, want 110", u)
	}
	for range 3 {
		if err := next(t, done); err != nil {
			t.Fatal(err)
		}
	}
	b.Release(10)
	b.Release(100)
	if b.work.peak != 300 || b.work.holders != 0 {
		t.Errorf("peak %d, holders %d; want 300 and 0", b.work.peak, b.work.holders)
	}
}

// Conversions are CPU-bound: past the limit one waits though its bytes
// would fit, and the next release lets it in.
func TestBudgetBoundsConversionsAtOnce(t *testing.T) {
	b := NewBudget(4000, "")
	if b.work.maxHolders < 1 {
		t.Fatalf("no bound on conversions (%d)", b.work.maxHolders)
	}
	b.work.maxHolders = 2
	ctx := context.Background()
	waiting := waitHook(&b.work)
	for range 2 {
		if err := b.Acquire(ctx, 10); err != nil {
			t.Fatal(err)
		}
	}
	third := make(chan error, 1)
	go func() { third <- b.Acquire(ctx, 10) }()
	next(t, waiting)
	if u := b.work.inUse(); u != 20 {
		t.Fatalf("a third conversion got in: %d bytes in use", u)
	}
	b.Release(10)
	if err := next(t, third); err != nil {
		t.Fatal(err)
	}
	b.Release(10)
	b.Release(10)
}

func TestBudgetWaitEndsWithContextAndLetsTheNextOneIn(t *testing.T) {
	b := NewBudget(400, "")
	b.work.maxHolders = 0
	waiting := waitHook(&b.work)
	if err := b.Acquire(context.Background(), 250); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	big := make(chan error, 1)
	go func() { big <- b.Acquire(ctx, 300) }()
	next(t, waiting)
	small := make(chan error, 1)
	go func() { small <- b.Acquire(context.Background(), 50) }()
	next(t, waiting)
	cancel()
	if err := next(t, big); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
	// The 50 bytes fitted all along; only the big request before them held
	// them back.
	if err := next(t, small); err != nil {
		t.Fatal(err)
	}
	if u := b.work.inUse(); u != 300 {
		t.Fatalf("in use %d, want 300", u)
	}
}

func TestBudgetRefusesWhatCanNeverFitAtOnce(t *testing.T) {
	b := NewBudget(1<<30, "--max-memory")
	err := b.Acquire(context.Background(), 900<<20)
	if !errors.Is(err, ErrMemoryBudget) || !strings.Contains(err.Error(), "768 MiB") || !strings.Contains(err.Error(), "1 GiB memory budget (--max-memory)") {
		t.Fatalf("got %v", err)
	}
	if err := b.AcquireInput(context.Background(), 300<<20); !errors.Is(err, ErrMemoryBudget) {
		t.Fatalf("input over its share: %v", err)
	}
}

// A call holding part of the budget may only take more if it is free now:
// waiting for it while others wait for what it holds would never end.
func TestLeaseGrowsOnlyIntoFreeMemory(t *testing.T) {
	b := NewBudget(400, "")
	l := lease{b: b}
	if err := l.acquireWork(context.Background(), 200, "this image"); err != nil {
		t.Fatal(err)
	}
	if !l.tryGrow(50) || l.work != 250 {
		t.Fatalf("could not grow into free memory (holds %d)", l.work)
	}
	if l.tryGrow(100) || l.work != 250 {
		t.Fatalf("grew past the pool (holds %d)", l.work)
	}
	l.release()
	if u := b.work.inUse(); u != 0 {
		t.Fatalf("in use after release: %d", u)
	}
	var none lease // no budget: everything is admitted
	if !none.tryGrow(1<<62) || none.acquireWork(context.Background(), 1<<62, "x") != nil {
		t.Fatal("a lease without a budget refused")
	}
}
