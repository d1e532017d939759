package edge

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/testkit"
)

// fakeTimers stands in for time.AfterFunc: the test fires what was started.
type fakeTimers struct {
	mu     sync.Mutex
	timers []*fakeTimer
}

type fakeTimer struct {
	f       func()
	d       time.Duration
	stopped bool
}

func (t *fakeTimer) Stop() bool {
	was := !t.stopped
	t.stopped = true
	return was
}

func (ft *fakeTimers) afterFunc(d time.Duration, f func()) interface{ Stop() bool } {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	t := &fakeTimer{f: f, d: d}
	ft.timers = append(ft.timers, t)
	return t
}

// running returns the timers started and not stopped.
func (ft *fakeTimers) running() []*fakeTimer {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	var out []*fakeTimer
	for _, t := range ft.timers {
		if !t.stopped {
			out = append(out, t)
		}
	}
	return out
}

// fireAll runs every timer started, stopped ones included (a timer whose Stop
// came too late still runs its function).
func (ft *fakeTimers) fireAll() {
	ft.mu.Lock()
	ts := append([]*fakeTimer(nil), ft.timers...)
	ft.mu.Unlock()
	for _, t := range ts {
		t.f()
	}
}

// renameInto writes data to a temporary file beside path and renames it over
// path, as a rotation tool does.
func renameInto(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func serialOf(t *testing.T, certPEM []byte) string {
	t.Helper()
	leaf, err := parseLeaf(certPEM, "cert")
	if err != nil {
		t.Fatal(err)
	}
	return leaf.SerialNumber.String()
}

// reloaderFixture writes a first pair and returns a reloader on it that logs
// into the returned buffer and starts its settle timers on ft, and the
// outcomes it reports.
func reloaderFixture(t *testing.T, ca *DevCA, now time.Time) (c *CertReloader, certPath, keyPath string, logs *testkit.LockedBuffer, ft *fakeTimers, outcomes *[]error) {
	t.Helper()
	dir := t.TempDir()
	certPath, keyPath = filepath.Join(dir, "gw.pem"), filepath.Join(dir, "gw-key.pem")
	c0, k0, err := ca.Issue([]string{"localhost"}, now)
	if err != nil {
		t.Fatal(err)
	}
	renameInto(t, keyPath, k0)
	renameInto(t, certPath, c0)
	logs = &testkit.LockedBuffer{}
	c, err = NewCertReloader(certPath, keyPath, func() time.Time { return now }, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ft = &fakeTimers{}
	c.afterFunc = ft.afterFunc
	outcomes = &[]error{}
	c.OnReload = func(err error) { *outcomes = append(*outcomes, err) }
	return c, certPath, keyPath, logs, ft, outcomes
}

// TestPairWrittenInSequenceReloadsOnceWithoutError: a new pair renamed into
// place one file after the other, in either order, reloads once and logs no
// error, although the first file's change meets a pair that does not fit
// (`portico tls init` on a running server logged an ERROR every time).
func TestPairWrittenInSequenceReloadsOnceWithoutError(t *testing.T) {
	ca, now := newTestCA(t)
	for _, keyFirst := range []bool{true, false} {
		name := map[bool]string{true: "key first", false: "certificate first"}[keyFirst]
		t.Run(name, func(t *testing.T) {
			c, certPath, keyPath, logs, ft, outcomes := reloaderFixture(t, ca, now)
			old := c.Certificate().Leaf.SerialNumber.String()
			c1, k1, err := ca.Issue([]string{"localhost"}, now)
			if err != nil {
				t.Fatal(err)
			}
			first, second := [2]string{keyPath, string(k1)}, [2]string{certPath, string(c1)}
			if !keyFirst {
				first, second = second, first
			}

			renameInto(t, first[0], []byte(first[1]))
			c.changed() // the watcher's event for the first file
			if got := c.Certificate().Leaf.SerialNumber.String(); got != old {
				t.Fatalf("half a pair replaced the certificate in use: %s", got)
			}
			if strings.Contains(logs.String(), "level=ERROR") {
				t.Fatalf("half a pair was logged as an error before the other file came:\n%s", logs)
			}
			if len(*outcomes) != 0 || len(ft.running()) != 1 {
				t.Fatalf("after the first file: outcomes %v, %d timers running; want none judged and one settle timer", *outcomes, len(ft.running()))
			}

			renameInto(t, second[0], []byte(second[1]))
			c.changed()
			if got, want := c.Certificate().Leaf.SerialNumber.String(), serialOf(t, c1); got != want {
				t.Fatalf("certificate in use %s, want the new %s", got, want)
			}
			if len(ft.running()) != 0 {
				t.Errorf("the settle timer still runs after the pair loaded")
			}
			// A timer whose Stop came too late must not judge an old failure.
			ft.fireAll()
			log := logs.String()
			if strings.Contains(log, "level=ERROR") || strings.Contains(log, "level=WARN") {
				t.Errorf("a pair written in sequence logged a failure:\n%s", log)
			}
			if n := strings.Count(log, "TLS certificate reloaded"); n != 1 {
				t.Errorf("%d reloads logged, want 1:\n%s", n, log)
			}
			if len(*outcomes) != 1 || (*outcomes)[0] != nil {
				t.Errorf("OnReload got %v, want one success", *outcomes)
			}
		})
	}
}

// TestMismatchThatPersistsIsReportedOnce: a new key beside the old
// certificate and no further change is reported once the files settle, as an
// error naming the key file, and the old certificate stays in use.
func TestMismatchThatPersistsIsReportedOnce(t *testing.T) {
	ca, now := newTestCA(t)
	c, _, keyPath, logs, ft, outcomes := reloaderFixture(t, ca, now)
	old := c.Certificate().Leaf.SerialNumber.String()
	_, k1, err := ca.Issue([]string{"localhost"}, now)
	if err != nil {
		t.Fatal(err)
	}
	renameInto(t, keyPath, k1)
	c.changed()
	c.changed() // a second event for the same rename (the temporary file's)
	if strings.Contains(logs.String(), "level=ERROR") || len(*outcomes) != 0 {
		t.Fatalf("judged before the files settled: %v\n%s", *outcomes, logs)
	}
	running := ft.running()
	if len(running) != 1 || running[0].d != SettleDelay {
		t.Fatalf("%d settle timers running, want one of %s", len(running), SettleDelay)
	}
	ft.fireAll() // the files stayed as they are for SettleDelay
	log := logs.String()
	if n := strings.Count(log, "level=ERROR"); n != 1 || !strings.Contains(log, "does not fit certificate file") || !strings.Contains(log, keyPath) {
		t.Fatalf("want one error naming the key file that does not fit, got %d:\n%s", n, log)
	}
	if len(*outcomes) != 1 || (*outcomes)[0] == nil || !strings.Contains((*outcomes)[0].Error(), keyPath) {
		t.Fatalf("OnReload got %v, want one error naming %s", *outcomes, keyPath)
	}
	if got := c.Certificate().Leaf.SerialNumber.String(); got != old {
		t.Fatalf("the certificate in use changed to %s", got)
	}
}

// TestTLSInitOnAWatchedPairLogsNoError: `portico tls init` run again beside a
// watched development pair (through the real file watcher) reloads the new
// pair and logs no error on the way.
func TestTLSInitOnAWatchedPairLogsNoError(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	f, err := InitDevCA(dir, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	logs := &testkit.LockedBuffer{}
	c, err := NewCertReloader(f.Cert, f.Key, nil, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	reloads, stop := make(chan error, 16), make(chan struct{})
	c.OnReload = func(err error) {
		select {
		case reloads <- err:
		case <-stop:
		}
	}
	if err := c.Watch(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { close(stop); _ = c.Close() })
	if _, err := InitDevCA(dir, []string{"app.localhost"}, now); err != nil {
		t.Fatal(err)
	}
	for {
		err := <-reloads
		if err == nil && strings.Contains(strings.Join(c.Certificate().Leaf.DNSNames, " "), "app.localhost") {
			break
		}
	}
	if log := logs.String(); strings.Contains(log, "level=ERROR") || strings.Contains(log, "level=WARN") {
		t.Fatalf("tls init on a watched pair logged a failure:\n%s", log)
	}
}

// TestUnchangedBadPairIsReportedOnce: a pair that fails to load is logged as
// an error once while the files stay as they are, however often another
// file in their directory changes; a different bad pair is reported again,
// and so is the same one after a good pair came between. It was logged
// again at every change in the directory.
func TestUnchangedBadPairIsReportedOnce(t *testing.T) {
	ca, now := newTestCA(t)
	c, certPath, keyPath, logs, ft, outcomes := reloaderFixture(t, ca, now)
	errors := func() int { return strings.Count(logs.String(), "level=ERROR") }
	_, k1, _ := ca.Issue([]string{"localhost"}, now)
	renameInto(t, keyPath, k1)
	c.changed()
	ft.fireAll()
	if n := errors(); n != 1 {
		t.Fatalf("%d errors after a bad pair settled, want 1:\n%s", n, logs)
	}
	for range 3 { // another file of the directory changes
		c.changed()
		ft.fireAll()
	}
	if n := errors(); n != 1 {
		t.Errorf("%d errors with the bad pair unchanged, want still 1:\n%s", n, logs)
	}
	if len(*outcomes) != 4 {
		t.Errorf("OnReload got %d outcomes, want every judged attempt (4)", len(*outcomes))
	}
	_, k2, _ := ca.Issue([]string{"localhost"}, now)
	renameInto(t, keyPath, k2)
	c.changed()
	ft.fireAll()
	if n := errors(); n != 2 {
		t.Errorf("%d errors after another bad pair, want 2:\n%s", n, logs)
	}
	good, goodKey, _ := ca.Issue([]string{"localhost"}, now)
	renameInto(t, certPath, good)
	renameInto(t, keyPath, goodKey)
	c.changed()
	renameInto(t, keyPath, k2)
	c.changed()
	ft.fireAll()
	if n := errors(); n != 3 {
		t.Errorf("%d errors after the bad pair came back, want 3:\n%s", n, logs)
	}
}
