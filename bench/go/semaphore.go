// A weighted semaphore with strict first-come-first-served waiters: the
// semantics of golang.org/x/sync/semaphore, written out here so that the
// benchmark needs nothing beyond the standard library.
//
// Invariants (under mu): 0 <= cur <= size; the queue holds the waiters in
// arrival order; a waiter is either in the queue or has had its ready
// channel closed (it then holds its tokens), never both. A request that
// fits is granted at once only if nobody is queued, so a large request at
// the head is never overtaken by small ones.
package main

import (
	"context"
	"errors"
	"sync"
)

type semaWaiter struct {
	n          int64
	ready      chan struct{} // closed when the tokens are granted
	prev, next *semaWaiter
}

type weighted struct {
	mu         sync.Mutex
	size, cur  int64
	head, tail *semaWaiter
}

var errSemaInvalid = errors.New("semaphore: invalid request")

func newWeighted(size int64) *weighted { return &weighted{size: size} }

func (s *weighted) push(w *semaWaiter) {
	w.prev = s.tail
	if s.tail != nil {
		s.tail.next = w
	} else {
		s.head = w
	}
	s.tail = w
}

func (s *weighted) remove(w *semaWaiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		s.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		s.tail = w.prev
	}
	w.prev, w.next = nil, nil
}

// grant hands tokens to the waiters at the head, in order, while they fit.
// It stops at the first that does not: that one keeps its place.
func (s *weighted) grant() {
	for w := s.head; w != nil && s.size-s.cur >= w.n; w = s.head {
		s.cur += w.n
		s.remove(w)
		close(w.ready)
	}
}

// acquire takes n tokens, waiting in arrival order, or returns ctx.Err()
// holding nothing if ctx ends first.
func (s *weighted) acquire(ctx context.Context, n int64) error {
	if n < 0 {
		return errSemaInvalid
	}
	s.mu.Lock()
	if s.head == nil && s.size-s.cur >= n {
		s.cur += n
		s.mu.Unlock()
		return nil
	}
	if n > s.size {
		// It can never fit: do not make the queue wait behind it.
		s.mu.Unlock()
		if ctx.Done() == nil {
			return errSemaInvalid
		}
		<-ctx.Done()
		return ctx.Err()
	}
	w := &semaWaiter{n: n, ready: make(chan struct{})}
	s.push(w)
	s.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		select {
		case <-w.ready:
			// Granted while we were being canceled: keep the tokens, as if
			// the grant had won the race (it did).
			return nil
		default:
		}
		wasHead := s.head == w
		s.remove(w)
		if wasHead {
			s.grant() // those behind us may fit now
		}
		return ctx.Err()
	}
}

// release gives back n tokens and wakes the head waiters that now fit.
func (s *weighted) release(n int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n < 0 || n > s.cur {
		return errSemaInvalid
	}
	s.cur -= n
	s.grant()
	return nil
}
