package accesslog

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/store"
)

// manualClock is a clock tests move by hand.
type manualClock struct{ ns atomic.Int64 }

func (c *manualClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *manualClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// sinkOf returns the live sink of dest (nil for none).
func (s *Stage) sinkOf(t *testing.T, dest string) *sink {
	t.Helper()
	tg, err := ParseDestination(dest)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sinks[tg.String()]
}

// line serves one request whose line names id.
func line(t *testing.T, s *Stage, d *pipeline.Deployed, id string) {
	t.Helper()
	serve(t, s, d, &pipeline.Context{RequestID: id, APIID: "abcdefghij", Stage: "dev", HTTPMethod: "GET"},
		func(w http.ResponseWriter, _ *http.Request, _ *pipeline.Context) error {
			_, err := w.Write([]byte("ok"))
			return err
		})
}

func readLog(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// TestFileReopenedAfterRotation: after the log file is renamed (logrotate's
// default) or removed, the lines written within ReopenCheck of the last check
// still go to the open file, and the first line after it goes to a new file
// at the path. The file was opened once and written forever after.
func TestFileReopenedAfterRotation(t *testing.T) {
	clock := &manualClock{}
	clock.ns.Store(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	s, err := New(Options{ReopenClock: clock.now}, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dev.log")
	d := deployedWith("$context.requestId", path)
	line(t, s, d, "one")
	s.sinkOf(t, path).sync()
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	line(t, s, d, "two") // within ReopenCheck: not checked yet
	s.sinkOf(t, path).sync()
	clock.advance(ReopenCheck)
	line(t, s, d, "three")
	s.sinkOf(t, path).sync()
	if got, want := readLog(t, path+".1"), "one\ntwo\n"; got != want {
		t.Errorf("rotated file %q, want %q", got, want)
	}
	if got, want := readLog(t, path), "three\n"; got != want {
		t.Errorf("file at the path after the rotation %q, want %q", got, want)
	}

	// Removed rather than renamed: the same.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	clock.advance(ReopenCheck)
	line(t, s, d, "four")
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := readLog(t, path), "four\n"; got != want {
		t.Errorf("file at the path after a removal %q, want %q", got, want)
	}
}

// openFiles counts this process's file descriptors open on path.
func openFiles(t *testing.T, path string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	n := 0
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.TrimSuffix(target, " (deleted)") == path {
			n++
		}
	}
	return n
}

// stopped waits for k's writer to stop, failing the test if it does not.
func stopped(t *testing.T, k *sink, what string) {
	t.Helper()
	select {
	case <-k.done:
	case <-time.After(10 * time.Second): // a guard: the writer stops at once, or never
		t.Fatalf("%s: the sink no stage uses did not stop", what)
	}
}

// TestUnusedSinksClose: a destination no stage writes to any more (the stage
// moved to another one, or lost its settings) is closed once the lines of its
// requests are written; a request that began before the change still gets
// its line written. The sinks were kept open forever.
func TestUnusedSinksClose(t *testing.T) {
	s, err := New(Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	da := deployedWith("$context.requestId", a)
	line(t, s, da, "a1")
	ka := s.sinkOf(t, a)
	ka.sync()
	if openFiles(t, a) != 1 {
		t.Fatalf("%s is not open while a stage writes to it", a)
	}
	oldChain, err := pipeline.Chain(da, []pipeline.Stage{s}, pipeline.HandlerFunc(func(w http.ResponseWriter, _ *http.Request, _ *pipeline.Context) error {
		_, err := w.Write([]byte("ok"))
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}

	db := deployedWith("$context.requestId", b) // the same stage, now writing to b
	line(t, s, db, "b1")
	stopped(t, ka, "moved to another destination")
	if n := openFiles(t, a); n != 0 {
		t.Errorf("%s still open %d times after its stage moved to %s", a, n, b)
	}
	// A request the old pipeline was serving when the stage changed.
	rec := &discard{h: http.Header{}}
	if err := oldChain.ServeRequest(rec, httptestRequest(), &pipeline.Context{RequestID: "a2", Stage: "dev"}); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	retiring := slices.Clone(s.retiring)
	s.mu.Unlock()
	for _, k := range retiring {
		stopped(t, k, "the late line's writer")
	}
	if got := readLog(t, a); got != "a1\na2\n" {
		t.Errorf("%s = %q, want the late request's line too", a, got)
	}
	if n := openFiles(t, a); n != 0 {
		t.Errorf("%s open %d times after the late line", a, n)
	}

	kb := s.sinkOf(t, b)
	if _, err := s.Compile(deployedWith("", "")); err != nil { // the stage's settings removed
		t.Fatal(err)
	}
	stopped(t, kb, "settings removed")
	if got := readLog(t, b); got != "b1\n" || openFiles(t, b) != 0 {
		t.Errorf("%s = %q, open %d times; want its line, closed", b, got, openFiles(t, b))
	}
}

// TestDeletedStageClosesItsSink: Watch closes the destination of a stage
// that is deleted, with no request to recompile it.
func TestDeletedStageClosesItsSink(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	svc := apis.NewService(st, nil)
	ctx := context.Background()
	a, err := svc.Create(ctx, &apis.API{Name: "logged", Protocol: apis.ProtocolREST, Definition: apis.Definition{Routes: []apis.Route{
		{Method: "GET", Path: "/m", Integration: &apis.Integration{Type: apis.IntegrationMock}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Deploy(ctx, a.ID, apis.DeployInput{StageName: "dev"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dev.log")
	stage, err := svc.SetAccessLogSettings(ctx, a.ID, "dev", &apis.AccessLogSettings{Format: "$context.requestId", DestinationARN: path})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	s.Watch(svc)
	_, dep, err := svc.Resolve(ctx, a.ID, "dev")
	if err != nil {
		t.Fatal(err)
	}
	d := &pipeline.Deployed{Stage: stage, Deployment: dep, API: &dep.API}
	line(t, s, d, "r1")
	k := s.sinkOf(t, path)
	if err := svc.DeleteStage(ctx, a.ID, "dev"); err != nil {
		t.Fatal(err)
	}
	stopped(t, k, "stage deleted")
	if got := readLog(t, path); got != "r1\n" || openFiles(t, path) != 0 {
		t.Errorf("%s = %q, open %d times; want its line, closed", path, got, openFiles(t, path))
	}
}

// discard is a ResponseWriter that keeps nothing.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func httptestRequest() *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://x/abcdefghij/dev/m", nil)
	return r
}
