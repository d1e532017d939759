package client

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/clock"
)

// stalled is an admin API that takes requests and never answers (as a
// stopped `portico serve` does) until the test ends.
func stalled(t *testing.T) (url string, arrived <-chan struct{}) {
	t.Helper()
	got := make(chan struct{}, 4)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	return srv.URL, got
}

// waitPending waits until clk has n timers pending: the client armed its
// waits (state, not time, is awaited).
func waitPending(t *testing.T, clk *clock.Fake, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); clk.Pending() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d timers pending, want %d", clk.Pending(), n)
		}
	}
}

// call starts c.Do of method, path and body and returns the channel its
// error comes on.
func call(c *Client, method, path string, body any) <-chan error {
	errc := make(chan error, 1)
	go func() {
		_, err := c.Do(context.Background(), method, path, nil, body, nil)
		errc <- err
	}()
	return errc
}

// TestNoAnswerIsAClearErrorInTime: a call the admin API takes but never
// answers says it is still waiting every SlowAfter, and fails with a
// NoAnswerError naming the endpoint once Wait has passed, instead of hanging.
func TestNoAnswerIsAClearErrorInTime(t *testing.T) {
	url, arrived := stalled(t)
	clk := clock.NewFake(time.Unix(0, 0))
	told := make(chan time.Duration, 16)
	c := New(url, "")
	c.Clock, c.Wait, c.SlowAfter = clk, time.Minute, 5*time.Second
	c.Waiting = func(method, path string, waited time.Duration) {
		if method != http.MethodGet || path != "/2015-03-31/functions" {
			t.Errorf("Waiting told %s %s", method, path)
		}
		told <- waited
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Do(context.Background(), http.MethodGet, "/2015-03-31/functions", nil, nil, nil)
		errc <- err
	}()
	<-arrived
	waitPending(t, clk, 2) // the wait and the first notice
	clk.Advance(5 * time.Second)
	if got := <-told; got != 5*time.Second {
		t.Errorf("first notice after %s, want 5s", got)
	}
	waitPending(t, clk, 2) // the wait and the next notice
	clk.Advance(55 * time.Second)
	err := <-errc
	var na *NoAnswerError
	if !errors.As(err, &na) || !strings.Contains(err.Error(), url) || !strings.Contains(err.Error(), "did not answer within 1m0s") {
		t.Fatalf("Do = %v; want a NoAnswerError naming %s and the wait", err, url)
	}
}

// TestUploadProgressKeepsTheCallAlive: the wait counts from the last
// progress, so an upload that moves on is never cut, and the wait for the
// answer starts once all of it was sent.
func TestUploadProgressKeepsTheCallAlive(t *testing.T) {
	url, arrived := stalled(t)
	clk := clock.NewFake(time.Unix(0, 0))
	c := New(url, "")
	c.Clock, c.Wait = clk, time.Minute
	errc := call(c, http.MethodPut, "/up", []byte(strings.Repeat("x", 1<<20)))
	<-arrived
	waitPending(t, clk, 1)
	clk.Advance(59 * time.Second) // the server took the body; the wait began then
	select {
	case err := <-errc:
		t.Fatalf("cut off before its wait: %v", err)
	default:
	}
	clk.Advance(time.Second)
	if err := <-errc; !errors.As(err, new(*NoAnswerError)) {
		t.Fatalf("Do = %v; want a NoAnswerError", err)
	}
}

// TestLargeBodyWaitsAsAnUpload: a call with the default wait whose body is
// over a MiB (portico deploy's and dev's code, which do not set UploadWait as
// fn create does) waits UploadWait for its answer, not DefaultWait; a small
// body still waits DefaultWait.
func TestLargeBodyWaitsAsAnUpload(t *testing.T) {
	for _, tc := range []struct {
		size int
		want time.Duration
	}{{100, DefaultWait}, {uploadBody + 1, UploadWait}} {
		url, arrived := stalled(t)
		clk := clock.NewFake(time.Unix(0, 0))
		c := New(url, "")
		c.Clock = clk
		errc := call(c, http.MethodPost, "/2015-03-31/functions", bytes.Repeat([]byte("x"), tc.size))
		<-arrived
		waitPending(t, clk, 1)
		clk.Advance(DefaultWait + time.Second)
		if tc.want == DefaultWait {
			if err := <-errc; !errors.As(err, new(*NoAnswerError)) || !strings.Contains(err.Error(), "did not answer within 1m0s") {
				t.Fatalf("%d bytes: Do = %v; want a NoAnswerError after 1m0s", tc.size, err)
			}
			continue
		}
		select {
		case err := <-errc:
			t.Fatalf("%d bytes: cut off at DefaultWait: %v", tc.size, err)
		default:
		}
		clk.Advance(UploadWait)
		if err := <-errc; !errors.As(err, new(*NoAnswerError)) || !strings.Contains(err.Error(), "did not answer within 5m0s") {
			t.Fatalf("%d bytes: Do = %v; want a NoAnswerError after 5m0s", tc.size, err)
		}
	}
}

// TestMinWaitLengthensTheWait: a call whose wait is below MinWait waits
// MinWait for its answer before it fails with a NoAnswerError saying so.
func TestMinWaitLengthensTheWait(t *testing.T) {
	MinWait = 3 * time.Minute
	t.Cleanup(func() { MinWait = 0 })
	url, arrived := stalled(t)
	clk := clock.NewFake(time.Unix(0, 0))
	c := New(url, "")
	c.Clock, c.Wait = clk, time.Minute
	errc := call(c, http.MethodGet, "/2015-03-31/functions", nil)
	<-arrived
	waitPending(t, clk, 1)
	clk.Advance(time.Minute + time.Second)
	select {
	case err := <-errc:
		t.Fatalf("cut off at its own wait, before MinWait: %v", err)
	default:
	}
	clk.Advance(2 * time.Minute)
	if err := <-errc; !errors.As(err, new(*NoAnswerError)) || !strings.Contains(err.Error(), "did not answer within 3m0s") {
		t.Fatalf("Do = %v; want a NoAnswerError after 3m0s", err)
	}
}
