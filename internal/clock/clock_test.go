package clock

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestFakeRunsTimersThatFallDue(t *testing.T) {
	c := NewFake(time.Unix(0, 0))
	fired := make(chan int, 3)
	c.AfterFunc(time.Second, func() { fired <- 1 })
	stop := c.AfterFunc(2*time.Second, func() { fired <- 2 })
	c.AfterFunc(3*time.Second, func() { fired <- 3 })
	if c.Pending() != 3 || c.PendingAt(time.Unix(2, 0)) != 1 {
		t.Fatalf("pending %d, at 2s %d", c.Pending(), c.PendingAt(time.Unix(2, 0)))
	}
	c.Advance(time.Second)
	if got := <-fired; got != 1 {
		t.Fatalf("fired %d first, want 1", got)
	}
	if !stop() || stop() {
		t.Fatal("stop: want true once, then false")
	}
	c.Advance(2 * time.Second)
	if got := <-fired; got != 3 {
		t.Fatalf("fired %d, want 3 (2 was stopped)", got)
	}
	if c.Pending() != 0 || !c.Now().Equal(time.Unix(3, 0)) {
		t.Fatalf("pending %d at %v", c.Pending(), c.Now())
	}
	var ran atomic.Bool
	done := make(chan struct{})
	c.AfterFunc(0, func() { ran.Store(true); close(done) })
	<-done
	if !ran.Load() {
		t.Fatal("a timer due now did not run")
	}
}
