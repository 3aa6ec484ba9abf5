// The other workloads: ctx_cancel, sema_uncontended, sema_contended,
// timers_100k, the lock-free reference ring, and the memory report. Each
// mirrors its C twin in bench/wl_misc.c, bench/wl_ring.c, bench/memory.c.
package main

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

func ctxCancel(n int64) (time.Duration, error) {
	parent, cancelParent := context.WithCancel(context.Background())
	defer cancelParent()
	t0 := time.Now()
	for i := int64(0); i < n; i++ {
		_, cancel := context.WithCancel(parent)
		cancel() // also detaches the child from parent; the GC frees it
	}
	t1 := time.Now()
	if parent.Err() != nil {
		return 0, fmt.Errorf("cancelling children made the parent done")
	}
	return t1.Sub(t0), nil
}

func semaUncontended(n int64) (time.Duration, error) {
	s := newWeighted(1)
	ctx, cancel := context.WithCancel(context.Background()) // live and cancelable
	defer cancel()
	t0 := time.Now()
	for i := int64(0); i < n; i++ {
		if s.acquire(ctx, 1) != nil || s.release(1) != nil {
			return 0, fmt.Errorf("pair %d of %d failed", i, n)
		}
	}
	return time.Since(t0), nil
}

func semaContended(n int64) (time.Duration, error) {
	const users, size = 4, 2
	c := newCrew()
	s := newWeighted(size)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make([]int64, users)
	for i := int64(0); i < users; i++ {
		i, pairs := i, n/users
		if i < n%users {
			pairs++
		}
		c.goNamed(func() {
			var k int64
			for ; k < pairs; k++ {
				if s.acquire(ctx, 1) != nil || s.release(1) != nil {
					break
				}
			}
			done[i] = k
		})
	}
	t0 := c.begin()
	t1 := c.join()
	var total int64
	for _, d := range done {
		total += d
	}
	if total != n || s.cur != 0 {
		return 0, fmt.Errorf("%d of %d pairs done, %d held", total, n, s.cur)
	}
	return t1.Sub(t0), nil
}

// scrambledDelay: an hour or two away, in a scrambled order (as in C).
func scrambledDelay(i int64) time.Duration {
	h := uint64(i) * 0x9E3779B97F4A7C15
	return time.Hour + time.Duration((h>>16)%uint64(time.Hour))
}

func timers(n int64) (time.Duration, error) {
	armed := make([]*time.Timer, n)
	t0 := time.Now()
	for i := range armed {
		armed[i] = time.NewTimer(scrambledDelay(int64(i)))
	}
	tArmed := time.Now()
	stopped := int64(0)
	for i := len(armed) - 1; i >= 0; i-- {
		if armed[i].Stop() {
			stopped++
		}
	}
	t1 := time.Now()
	if stopped != n {
		return 0, fmt.Errorf("%d of %d timers were still pending", stopped, n)
	}
	return tArmed.Sub(t0) + t1.Sub(tArmed), nil
}

// ring is the lock-free single-producer single-consumer ring of wl_ring.c:
// the indices run freely, each on its own cache line.
const ringCap = 1024

type ring struct {
	head  atomic.Uint64 // next slot to read; written by the consumer
	_     [56]byte
	tail  atomic.Uint64 // next slot to write; written by the producer
	_     [56]byte
	slots [ringCap]int32
}

func waitALittle(spins *int) {
	if *spins++; *spins >= 128 {
		*spins = 0
		runtime.Gosched()
	}
}

func refSPSCRing(n int64) (time.Duration, error) {
	c := newCrew()
	r := &ring{}
	c.goNamed(func() {
		tail, headSeen := r.tail.Load(), r.head.Load()
		for i := int64(0); i < n; i++ {
			for spins := 0; tail-headSeen == ringCap; {
				if headSeen = r.head.Load(); tail-headSeen == ringCap {
					waitALittle(&spins)
				}
			}
			r.slots[tail%ringCap] = int32(i)
			tail++
			r.tail.Store(tail)
		}
	})
	t0 := c.begin()
	var head, tailSeen uint64
	inOrder := true
	for i := int64(0); i < n; i++ {
		for spins := 0; tailSeen == head; {
			if tailSeen = r.tail.Load(); tailSeen == head {
				waitALittle(&spins)
			}
		}
		inOrder = inOrder && r.slots[head%ringCap] == int32(i)
		head++
		r.head.Store(head)
	}
	t1 := time.Now()
	c.join()
	if !inOrder {
		return 0, fmt.Errorf("values arrived out of order")
	}
	return t1.Sub(t0), nil
}

// refCacheline bounces one word between two goroutines: main stores an odd
// number and waits for the next even one, the partner answers. One round
// trip moves the word's cache line to the other core and back, so this is
// the same floor the C row measures (with GOMAXPROCS >= 2 the two spinning
// goroutines run on two threads).
func refCacheline(n int64) (time.Duration, error) {
	c := newCrew()
	var word struct {
		_ [64]byte
		v atomic.Int64
		_ [56]byte
	}
	waitFor := func(value int64) {
		for spins := 0; word.v.Load() != value; {
			waitALittle(&spins)
		}
	}
	c.goNamed(func() {
		for i := int64(0); i < n; i++ {
			waitFor(2*i + 1)
			word.v.Store(2*i + 2)
		}
	})
	t0 := c.begin()
	for i := int64(0); i < n; i++ {
		word.v.Store(2*i + 1)
		waitFor(2*i + 2)
	}
	t1 := time.Now()
	c.join()
	return t1.Sub(t0), nil
}

// memoryReport prints the bytes allocated per object (TotalAlloc counts
// every allocation once, freed or not), over count live objects. The slices
// that keep them alive are made before the first reading.
func memoryReport(count int64) {
	measure := func(name string, makeOne func(i int)) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := 0; i < int(count); i++ {
			makeOne(i)
		}
		runtime.ReadMemStats(&after)
		fmt.Printf("memory=%s bytes=%d\n", name, (int64(after.TotalAlloc-before.TotalAlloc)+count/2)/count)
	}

	chans := make([]chan int32, count)
	measure("chan_int_cap0", func(i int) { chans[i] = make(chan int32) })
	measure("chan_int_cap1024", func(i int) { chans[i] = make(chan int32, 1024) })

	parent, cancelParent := context.WithCancel(context.Background())
	defer cancelParent()
	contexts := make([]context.Context, count)
	cancels := make([]context.CancelFunc, count)
	measure("ctx_with_cancel", func(i int) { contexts[i], cancels[i] = context.WithCancel(parent) })
	for _, cancel := range cancels {
		cancel()
	}

	pending := make([]*time.Timer, count)
	measure("time_after_pending", func(i int) { pending[i] = time.NewTimer(time.Hour) })
	for _, t := range pending {
		t.Stop() // leave nothing pending
	}
	runtime.KeepAlive(chans)
	runtime.KeepAlive(contexts)
}
