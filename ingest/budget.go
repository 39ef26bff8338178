package ingest

import (
	"context"
	"sync"

	"golang.org/x/sync/semaphore"
)

// memBudget bounds the input bytes that every decode worker together holds in memory: an
// object's stored bytes, its decompressed content and what decoding adds (the record
// list, each record's typed fields, a repaired copy, the JSON parser's tape), from the
// moment it is fetched until the writer has staged it. A budget of bytes, not a count of
// workers, so that a few large or hostile objects (gzip bombs) cannot add up.
//
// No worker ever waits for bytes while holding some, except the one in "big" mode, so the
// budget cannot deadlock: a worker reserves what an object needs in one Acquire before
// reading it (its stored size, known from the listing), and each further step only tries
// to grow the reservation. When that fails (the object is larger than it looked: a gzip
// bomb, a gzip trailer that lies, records denser than usual), the worker gives everything
// back, waits for the big mode (one object at a time), takes the whole budget and reads
// the object again within it. The writer releases what staged objects held without
// waiting for anything, so the whole budget always comes free.
type memBudget struct {
	sem   *semaphore.Weighted
	total int64
	big   sync.Mutex
}

func newMemBudget(total int64) *memBudget {
	return &memBudget{sem: semaphore.NewWeighted(total), total: total}
}

// hold is one object's share of the budget.
type hold struct {
	b *memBudget
	n int64
}

// reserve waits for n bytes (at most the whole budget).
func (b *memBudget) reserve(ctx context.Context, n int64) (*hold, error) {
	n = min(max(n, 1), b.total)
	if err := b.sem.Acquire(ctx, n); err != nil {
		return nil, err
	}
	return &hold{b: b, n: n}, nil
}

// grow tries to add n bytes without waiting.
func (h *hold) grow(n int64) bool {
	if n <= 0 {
		return true
	}
	if !h.b.sem.TryAcquire(n) {
		return false
	}
	h.n += n
	return true
}

// shrink gives back what is held beyond n bytes (at least one byte stays held until
// release, so a hold is never mistaken for nothing).
func (h *hold) shrink(n int64) {
	n = max(n, 1)
	if h.n > n {
		h.b.sem.Release(h.n - n)
		h.n = n
	}
}

// release gives everything back; a nil or released hold is a no-op.
func (h *hold) release() {
	if h != nil && h.n > 0 {
		h.b.sem.Release(h.n)
		h.n = 0
	}
}
