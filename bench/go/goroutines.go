// The workloads of goroutines themselves: spawn and goroutines_100k. Each
// mirrors its C twin in bench/wl_go.c.
package main

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func spawn(n int64) (time.Duration, error) {
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := int64(0); i < n; i++ {
		wg.Add(1)
		go func() { wg.Done() }()
	}
	wg.Wait()
	return time.Since(t0), nil
}

// residentKiB is the resident memory of this process in KiB, from
// /proc/self/statm as in C; -1 if unknown.
func residentKiB() int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	var pages, resident int64
	if _, err := fmt.Sscan(string(data), &pages, &resident); err != nil {
		return -1
	}
	return resident * int64(os.Getpagesize()) / 1024
}

func goroutines100k(n int64) (time.Duration, error) {
	gate := make(chan int32)
	var parked, done sync.WaitGroup
	var released atomic.Int64
	rssBefore := residentKiB()
	t0 := time.Now()
	for i := int64(0); i < n; i++ {
		parked.Add(1)
		done.Add(1)
		go func() {
			parked.Done()
			if _, ok := <-gate; !ok {
				released.Add(1)
			}
			done.Done()
		}()
	}
	parked.Wait()
	elapsed := time.Since(t0)
	rssParked := residentKiB() // not timed: it reads /proc
	tRelease := time.Now()
	close(gate)
	done.Wait()
	elapsed += time.Since(tRelease)
	if released.Load() != n {
		return 0, fmt.Errorf("%d of %d saw the close", released.Load(), n)
	}
	if rssBefore >= 0 && rssParked >= 0 {
		extra = fmt.Sprintf("kib_per_goroutine=%.2f", float64(rssParked-rssBefore)/float64(n))
	}
	return elapsed, nil
}
