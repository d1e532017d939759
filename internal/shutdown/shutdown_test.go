package shutdown

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestGracefulEndsAtTheGraceOfWithGrace(t *testing.T) {
	ctx, cancel := WithGrace(context.Background(), time.Minute, time.Hour)
	defer cancel()
	hard, _ := ctx.Deadline()
	g, gcancel := Graceful(ctx)
	defer gcancel()
	soft, ok := g.Deadline()
	if !ok || !soft.Before(hard) || hard.Sub(soft) != time.Hour {
		t.Fatalf("graceful deadline %v, stop deadline %v: want the graceful one an hour (the cleanup) before", soft, hard)
	}
}

func TestGracefulLeavesHalfOfAPlainDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	hard, _ := ctx.Deadline()
	g, gcancel := Graceful(ctx)
	defer gcancel()
	soft, _ := g.Deadline()
	if left := hard.Sub(soft); left < 29*time.Minute {
		t.Fatalf("Graceful left %v of an hour's stop after it, want about half", left)
	}
	g, gcancel = Graceful(context.Background())
	defer gcancel()
	if _, ok := g.Deadline(); ok {
		t.Fatal("Graceful of a context without a deadline has one")
	}
}

func TestCleanupOutlivesAnEndedStop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, ccancel := Cleanup(ctx, time.Hour)
	defer ccancel()
	if err := c.Err(); err != nil {
		t.Fatalf("the cleanup context of an ended stop has ended: %v", err)
	}
	if d, ok := c.Deadline(); !ok || time.Until(d) < 59*time.Minute {
		t.Fatalf("cleanup deadline %v, %v; want about an hour from now", d, ok)
	}
	// A later deadline of the stop is kept.
	long, lcancel := context.WithTimeout(context.Background(), 2*time.Hour)
	defer lcancel()
	want, _ := long.Deadline()
	c, ccancel = Cleanup(long, time.Minute)
	defer ccancel()
	if d, _ := c.Deadline(); !d.Equal(want) {
		t.Fatalf("cleanup deadline %v, want the stop's %v", d, want)
	}
}

// stuck is a server whose requests never finish.
type stuck struct{ closed bool }

func (s *stuck) Shutdown(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
func (s *stuck) Close() error                       { s.closed = true; return nil }

func TestStopClosesWhatDidNotFinish(t *testing.T) {
	// The grace is over at once; the stop's own time is not.
	ctx, cancel := WithGrace(context.Background(), 0, time.Hour)
	defer cancel()
	srv := &stuck{}
	if err := Stop(ctx, srv); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want the graceful wait's deadline", err)
	}
	if !srv.closed {
		t.Fatal("Stop did not close the server whose requests outlived the grace")
	}
	if ctx.Err() != nil {
		t.Fatal("the stop's context ended with the grace: the hooks after this one would be skipped")
	}
}
