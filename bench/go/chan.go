// The channel workloads: buf_spsc, buf_mpmc, unbuf_pingpong, select2, pool,
// pool16 and pipeline. Each mirrors its C twin in bench/wl_chan.c and
// bench/wl_pool.c: same element sizes (int32 where C has int), same roles
// for the main goroutine, same checks.
package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// crew is the start line: every goroutine checks in on ready, then waits on
// start; closing start releases them all at once.
type crew struct {
	start   chan struct{}
	ready   sync.WaitGroup
	running sync.WaitGroup
}

func newCrew() *crew { return &crew{start: make(chan struct{})} }

func (c *crew) goNamed(fn func()) {
	c.ready.Add(1)
	c.running.Add(1)
	go func() {
		defer c.running.Done()
		c.ready.Done()
		<-c.start
		fn()
	}()
}

// begin waits for every goroutine to check in, then releases them. The time
// is taken before the release, as in C.
func (c *crew) begin() time.Time {
	c.ready.Wait()
	t0 := time.Now()
	close(c.start)
	return t0
}

func (c *crew) join() time.Time {
	c.running.Wait()
	return time.Now()
}

func sendRange(ch chan<- int32, first, count int64) {
	for i := int64(0); i < count; i++ {
		ch <- int32(first + i)
	}
}

func bufSPSC(n int64) (time.Duration, error) {
	c := newCrew()
	ch := make(chan int32, 1024)
	c.goNamed(func() { sendRange(ch, 0, n); close(ch) })
	t0 := c.begin()
	var expected int64
	inOrder := true
	for v := range ch {
		inOrder = inOrder && v == int32(expected)
		expected++
	}
	t1 := time.Now()
	c.join()
	if !inOrder || expected != n {
		return 0, fmt.Errorf("received %d of %d values (in order: %v)", expected, n, inOrder)
	}
	return t1.Sub(t0), nil
}

func bufMPMC(n int64) (time.Duration, error) {
	const producers, consumers = 4, 4
	c := newCrew()
	ch := make(chan int32, 1024)
	var producersLeft int32 = producers
	var next int64
	for i := int64(0); i < producers; i++ {
		first, share := next, n/producers
		if i < n%producers {
			share++
		}
		next += share
		c.goNamed(func() {
			sendRange(ch, first, share)
			if atomic.AddInt32(&producersLeft, -1) == 0 {
				close(ch)
			}
		})
	}
	received := make([]int64, consumers)
	sums := make([]int64, consumers)
	for i := 0; i < consumers; i++ {
		i := i
		c.goNamed(func() {
			var count, sum int64 // locals: no false sharing between consumers
			for v := range ch {
				count++
				sum += int64(v)
			}
			received[i], sums[i] = count, sum
		})
	}
	t0 := c.begin()
	t1 := c.join()
	var total, sum int64
	for i := range received {
		total += received[i]
		sum += sums[i]
	}
	if total != n || sum != n*(n-1)/2 {
		return 0, fmt.Errorf("received %d of %d values, sum %d", total, n, sum)
	}
	return t1.Sub(t0), nil
}

func unbufPingPong(n int64) (time.Duration, error) {
	c := newCrew()
	ping, pong := make(chan int32), make(chan int32)
	c.goNamed(func() {
		for v := range ping {
			pong <- v
		}
	})
	t0 := c.begin()
	var rounds int64
	for ; rounds < n; rounds++ {
		ping <- int32(rounds)
		if <-pong != int32(rounds) {
			break
		}
	}
	t1 := time.Now()
	close(ping)
	c.join()
	if rounds != n {
		return 0, fmt.Errorf("round %d of %d failed", rounds, n)
	}
	return t1.Sub(t0), nil
}

func select2(n int64) (time.Duration, error) {
	c := newCrew()
	c0, c1 := make(chan int32, 128), make(chan int32, 128)
	c.goNamed(func() { sendRange(c0, 0, n-n/2); close(c0) })
	c.goNamed(func() { sendRange(c1, n-n/2, n/2); close(c1) })
	t0 := c.begin()
	var received, sum int64
	open := 2
	for open > 0 {
		select {
		case v, ok := <-c0:
			if !ok {
				c0 = nil // a nil channel is never ready
				open--
			} else {
				received++
				sum += int64(v)
			}
		case v, ok := <-c1:
			if !ok {
				c1 = nil
				open--
			} else {
				received++
				sum += int64(v)
			}
		}
	}
	t1 := time.Now()
	c.join()
	if received != n || sum != n*(n-1)/2 {
		return 0, fmt.Errorf("received %d of %d values, sum %d", received, n, sum)
	}
	return t1.Sub(t0), nil
}

func pool(workers int, n int64) (time.Duration, error) {
	c := newCrew()
	tasks, results := make(chan int32, 1024), make(chan uint64, 1024)
	workersLeft := int32(workers)
	for i := 0; i < workers; i++ {
		c.goNamed(func() {
			for x := range tasks {
				results <- uint64(x) * uint64(x)
			}
			if atomic.AddInt32(&workersLeft, -1) == 0 {
				close(results)
			}
		})
	}
	c.goNamed(func() {
		for i := int64(0); i < n; i++ {
			tasks <- int32(i)
		}
		close(tasks)
	})
	t0 := c.begin()
	var collected int64
	var sum uint64
	for sq := range results {
		collected++
		sum += sq
	}
	t1 := time.Now()
	c.join()
	var expected uint64
	for i := uint64(0); i < uint64(n); i++ {
		expected += i * i
	}
	if collected != n || sum != expected {
		return 0, fmt.Errorf("collected %d of %d results, sum ok: %v", collected, n, sum == expected)
	}
	return t1.Sub(t0), nil
}

func pipeline(n int64) (time.Duration, error) {
	c := newCrew()
	generated, squared, odd := make(chan uint64), make(chan uint64), make(chan uint64)
	c.goNamed(func() {
		for x := uint64(0); x < uint64(n); x++ {
			generated <- x
		}
		close(generated)
	})
	c.goNamed(func() {
		for x := range generated {
			squared <- x * x
		}
		close(squared)
	})
	c.goNamed(func() {
		for x := range squared {
			if x%2 == 1 {
				odd <- x
			}
		}
		close(odd)
	})
	var count int64
	var sum uint64
	c.goNamed(func() {
		for x := range odd {
			count++
			sum += x
		}
	})
	t0 := c.begin()
	t1 := c.join()
	var expected uint64
	for x := uint64(1); x < uint64(n); x += 2 {
		expected += x * x
	}
	if count != n/2 || sum != expected {
		return 0, fmt.Errorf("sink got %d of %d odd squares, sum ok: %v", count, n/2, sum == expected)
	}
	return t1.Sub(t0), nil
}
