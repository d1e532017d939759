//go:build unix

package accesslog

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestFIFODestinationRefused is what the obs6 tester found: a FIFO nobody
// reads was taken as a destination; its writer blocked for good, and every
// graceful stop then waited out its whole deadline and ended "not clean". A
// file destination that is not a regular file (a FIFO, a device, a socket) is
// refused where it is set; one that appeared after (a stage already pointing
// there) is not opened for writing, so that its lines fail, counted, and the
// stop is prompt.
func TestFIFODestinationRefused(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for dest, want := range map[string]string{
		fifo:             "is not a regular file (a FIFO)",
		"file://" + fifo: "is not a regular file (a FIFO)",
		os.DevNull:       "is not a regular file (a device)",
	} {
		if _, err := CheckDestination(dest, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckDestination(%q) = %v, want %q", dest, err, want)
		}
	}

	s, err := New(Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := deployedWith("$context.requestId", fifo) // as a stage set before the check, or the FIFO made since
	if code := serve(t, s, d, &pipeline.Context{RequestID: "r1"}, func(w http.ResponseWriter, _ *http.Request, _ *pipeline.Context) error {
		w.WriteHeader(200)
		return nil
	}); code != 200 {
		t.Fatalf("status %d", code)
	}
	s.sinkFor(Target{Kind: kindFile, Path: fifo}).sync()
	if _, failed := s.Dropped(fifo); failed != 1 {
		t.Errorf("lines failed on the FIFO = %d, want 1", failed)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestBlockedDestinationDoesNotHoldTheStop: a destination whose writes block
// costs the stop at most its bound (here a deadline already passed): Close
// returns, counting the line being written and those queued as failed, and
// logs it with the destination.
func TestBlockedDestinationDoesNotHoldTheStop(t *testing.T) {
	w := &blockingWriter{entered: make(chan struct{}, 1), release: make(chan struct{})}
	defer close(w.release)
	var logs testkit.LockedBuffer
	s, err := New(Options{Stdout: w}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	d := deployedWith("$context.requestId", "stdout")
	for _, id := range []string{"r1", "r2", "r3"} {
		serve(t, s, d, &pipeline.Context{RequestID: id}, func(w http.ResponseWriter, _ *http.Request, _ *pipeline.Context) error {
			w.WriteHeader(200)
			return nil
		})
	}
	<-w.entered // r1 is being written; r2 and r3 wait in the queue
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the stop's bound is over
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, failed := s.Dropped("stdout"); failed != 3 {
		t.Errorf("lines failed = %d, want 3 (one being written, two queued)", failed)
	}
	out := logs.String()
	for _, want := range []string{"level=WARN", "destination=stdout", "linesDropped=3"} {
		if !strings.Contains(out, want) {
			t.Errorf("the stop's log does not say %s:\n%s", want, out)
		}
	}
}
