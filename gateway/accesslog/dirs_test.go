package accesslog

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
)

// dirsFixture is an allowed directory holding the data directory (so that
// only the data directory rule keeps its files out), a link in the allowed
// directory to the data directory and one to its store, and a directory
// that is not allowed.
type dirsFixture struct {
	allowed, data, outside string
	dirs                   *Dirs
}

func newDirsFixture(t *testing.T) dirsFixture {
	t.Helper()
	f := dirsFixture{allowed: t.TempDir(), outside: t.TempDir()}
	f.data = filepath.Join(f.allowed, "data")
	for _, d := range []string{f.data, filepath.Join(f.data, "code"), filepath.Join(f.data, DataDirLogs)} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range map[string]string{"portico.db": "store", "keep.log": ""} {
		if err := os.WriteFile(filepath.Join(f.data, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for link, to := range map[string]string{
		"datalink": f.data, "db.log": filepath.Join(f.data, "portico.db"), "out": f.outside,
		"dangling.log": filepath.Join(f.outside, "new.log"), "proc.log": "/proc/self/fd/1",
	} {
		if err := os.Symlink(to, filepath.Join(f.allowed, link)); err != nil {
			t.Fatal(err)
		}
	}
	f.dirs = &Dirs{Allowed: []string{f.allowed}, DataDir: f.data, Protected: []string{f.data + ".iam-key"}}
	return f
}

// TestDirsCheck: a file destination must be in an allowed directory as
// written and with its links resolved; the data directory's files (but its
// logs subdirectory), the IAM key, /proc, /dev and /sys never are, whatever
// is allowed (obs11); nor, in the logs subdirectory, a name that is or could
// be a function's log file (obs16).
func TestDirsCheck(t *testing.T) {
	f := newDirsFixture(t)
	for path, want := range map[string]string{
		filepath.Join(f.data, "portico.db"):                "Portico's own files",
		filepath.Join(f.data, "code", "x.zip"):             "Portico's own files",
		f.data + ".iam-key":                                "Portico's own files",
		filepath.Join(f.allowed, "datalink", "portico.db"): "Portico's own files",
		filepath.Join(f.allowed, "db.log"):                 "Portico's own files",
		filepath.Join(f.allowed, "out", "x.log"):           "not in a directory access logs may be written to (" + f.allowed + ")",
		filepath.Join(f.allowed, "..", "x.log"):            "not in a directory",
		filepath.Join(f.outside, "x.log"):                  "add its directory to the server's setting --access-log-dir",
		filepath.Join(f.allowed, "dangling.log"):           "does not resolve",
		filepath.Join(f.allowed, "proc.log"):               "access log destination", // a link into /proc
		"/proc/self/fd/1":                                  "is in /proc",
		"/dev/null":                                        "is in /dev",
		"/root/.ssh/authorized_keys":                       "not in a directory",
		// The functions' logs (obs16): FUNCTION.log and FUNCTION.log.1,
		// whether or not the function exists yet.
		filepath.Join(f.data, DataDirLogs, "dev.log"):              "a function's log file",
		filepath.Join(f.data, DataDirLogs, "hello_2-x.log.1"):      "a function's log file",
		filepath.Join(f.allowed, "datalink", DataDirLogs, "x.log"): "name a file in a subdirectory, such as " + filepath.Join(f.data, DataDirLogs, "access", "x.log"),
	} {
		if err := f.dirs.Check(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check(%q) = %v, want %q", path, err, want)
		}
	}
	for _, path := range []string{
		filepath.Join(f.allowed, "dev.log"), filepath.Join(f.allowed, "new", "dir", "dev.log"),
		filepath.Join(f.data, DataDirLogs, "access", "dev.log"), filepath.Join(f.allowed, "datalink", DataDirLogs, "access", "x.log"),
		filepath.Join(f.data, DataDirLogs, "api.dev.log"), filepath.Join(f.data, DataDirLogs, "dev.txt"),
	} {
		if err := f.dirs.Check(path); err != nil {
			t.Errorf("Check(%q): %v", path, err)
		}
	}
	if _, err := CheckDestination("file://"+filepath.Join(f.data, "portico.db"), f.dirs); err == nil {
		t.Error("CheckDestination took the store")
	}
	if err := (&Dirs{}).Check(filepath.Join(f.allowed, "dev.log")); err == nil || !strings.Contains(err.Error(), "none are set") {
		t.Errorf("no allowed directories: %v", err)
	}
}

// TestSinkRechecksDirsAtOpen: a link put at an allowed path after it was
// checked is not followed when the file is opened; the line fails and the
// store is untouched.
func TestSinkRechecksDirsAtOpen(t *testing.T) {
	f := newDirsFixture(t)
	path := filepath.Join(f.allowed, "later.log")
	tg, err := CheckDestination(path, f.dirs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(f.data, "keep.log"), path); err != nil {
		t.Fatal(err)
	}
	k := newSink(tg, f.dirs, 4, DefaultQueueBytes, nil, slog.New(slog.DiscardHandler), time.Now, nil, nil, nil)
	line := bufPool.Get().(*[]byte)
	*line = append((*line)[:0], "ssh-ed25519 AAAA\n"...)
	k.put(line)
	k.sync()
	if raw, _ := os.ReadFile(filepath.Join(f.data, "keep.log")); len(raw) != 0 {
		t.Fatalf("the data directory's file got %q", raw)
	}
	if got := k.failed.Load(); got != 1 {
		t.Errorf("failed = %d, want 1", got)
	}
	k.retire()
	<-k.done
}

// TestCompileDropsARefusedStoredDestination: a destination an older build
// stored outside the allowed directories is not written; the stage still
// serves, its lines count as dropped, and one error names the stage.
func TestCompileDropsARefusedStoredDestination(t *testing.T) {
	f := newDirsFixture(t)
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	s, err := New(Options{Dirs: f.dirs, Registerer: reg}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(f.data, "portico.db")
	d := &pipeline.Deployed{Stage: &apis.Stage{APIID: "a1", Name: "dev",
		AccessLogSettings: &apis.AccessLogSettings{Format: "$context.requestId", DestinationARN: db}}}
	for range 2 {
		mw, err := s.Compile(d)
		if err != nil || mw == nil {
			t.Fatalf("Compile: %v, %v", mw, err)
		}
		h := mw(pipeline.HandlerFunc(func(w http.ResponseWriter, _ *http.Request, _ *pipeline.Context) error {
			w.WriteHeader(http.StatusOK)
			return nil
		}))
		rec := httptest.NewRecorder()
		if err := h.ServeRequest(rec, httptest.NewRequest(http.MethodGet, "/", nil), &pipeline.Context{}); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("request: %d %v", rec.Code, err)
		}
	}
	if raw, _ := os.ReadFile(db); string(raw) != "store" {
		t.Fatalf("the store was written: %q", raw)
	}
	if got := testutil.ToFloat64(s.dropped.WithLabelValues("file://" + db)); got != 2 {
		t.Errorf("dropped = %v, want 2", got)
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 || !strings.Contains(logs.String(), "stage=dev") || !strings.Contains(logs.String(), "--access-log-dir") {
		t.Errorf("%d errors logged, want 1 naming the stage and the setting:\n%s", n, logs.String())
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestMkdirForNeverMakesTheDataDir checks that a destination in the data
// directory's logs subdirectory, opened again after the data directory was
// moved away, does not make the data directory again at its old path.
func TestMkdirForNeverMakesTheDataDir(t *testing.T) {
	root := t.TempDir()
	data := filepath.Join(root, "data")
	if err := os.Mkdir(data, 0o750); err != nil {
		t.Fatal(err)
	}
	d := &Dirs{Allowed: []string{filepath.Join(data, DataDirLogs)}, DataDir: data}
	dest := filepath.Join(data, DataDirLogs, "sub", "dev.log")
	if err := d.MkdirFor(dest); err != nil {
		t.Fatalf("MkdirFor with the data directory there: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(dest)); err != nil {
		t.Fatalf("the destination's directory was not made: %v", err)
	}
	if err := os.Rename(data, data+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := d.MkdirFor(dest); err == nil || !strings.Contains(err.Error(), "moved or removed") {
		t.Fatalf("MkdirFor with the data directory moved = %v, want a refusal saying it moved", err)
	}
	if _, err := os.Stat(data); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the data directory's old path exists again after MkdirFor: %v", err)
	}
	// Outside the data directory, the directories are made as before.
	out := filepath.Join(root, "var", "log", "x.log")
	if err := d.MkdirFor(out); err != nil {
		t.Fatalf("MkdirFor outside the data directory: %v", err)
	}
	if err := (*Dirs)(nil).MkdirFor(filepath.Join(root, "nil", "x.log")); err != nil {
		t.Fatalf("MkdirFor on nil Dirs: %v", err)
	}
}
