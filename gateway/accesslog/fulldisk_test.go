package accesslog

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/tmpfstest"
)

// TestTornLineIsTakenBackFromAFile is what the obs20 tester found: on a full
// disk a line was written in part (the page the last line left partly used
// took 4 KB of it), and the next line, once there was space again, was glued
// to the fragment. The fragment is taken back out of the file: each line is
// in it whole or not at all.
func TestTornLineIsTakenBackFromAFile(t *testing.T) {
	disk := tmpfstest.Mount(t, "1m")
	s, err := New(Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(disk, "dev.log")
	d := deployedWith(`$context.requestId $context.identity.userAgent`, path)
	k := s.sinkFor(Target{Kind: kindFile, Path: path})
	line := func(id, ua string) {
		serve(t, s, d, &pipeline.Context{RequestID: id, Identity: pipeline.Identity{UserAgent: ua}}, func(w http.ResponseWriter, _ *http.Request, _ *pipeline.Context) error {
			w.WriteHeader(200)
			return nil
		})
		k.sync()
	}
	line("first", "x") // the file is open, its page partly used
	filler := filepath.Join(disk, "filler")
	tmpfstest.Fill(t, filler)
	line("torn", strings.Repeat("u", 3*4096)) // more than the page left: written in part, then refused
	if _, failed := s.Dropped(path); failed != 1 {
		t.Fatalf("failed %d, want 1", failed)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	line("after", "y")
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "first x\nafter y\n" {
		t.Errorf("the file holds %q, want the first and last lines whole", got[:min(len(got), 200)])
	}
}

// TestDataDirLinesDroppedWhileStoreFull is ops26 #2: once a full disk made
// the store release its reserve (the room its deletes are written in), an
// access log in DATA-DIR/logs went on appending lines into that room. While
// the store says it is full, such lines are dropped and counted as failed,
// with one WARN; a destination outside the data directory is written as
// before, and the data directory's once the store has room again.
func TestDataDirLinesDroppedWhileStoreFull(t *testing.T) {
	dataDir, other := t.TempDir(), t.TempDir()
	var full atomic.Bool
	dirs := &Dirs{Allowed: []string{filepath.Join(dataDir, DataDirLogs), other}, DataDir: dataDir, DataDirFull: full.Load}
	var logs bytes.Buffer
	s, err := New(Options{Dirs: dirs}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	inData, outside := filepath.Join(dataDir, DataDirLogs, "access", "dev.log"), filepath.Join(other, "dev.log")
	deployed := map[string]*pipeline.Deployed{inData: deployedWith(`$context.requestId`, inData), outside: deployedWith(`$context.requestId`, outside)}
	deployed[outside].Stage.Name = "other"
	line := func(path, id string) {
		serve(t, s, deployed[path], &pipeline.Context{RequestID: id}, func(w http.ResponseWriter, _ *http.Request, _ *pipeline.Context) error {
			w.WriteHeader(200)
			return nil
		})
		s.sinkFor(Target{Kind: kindFile, Path: path}).sync()
	}
	line(inData, "first")
	full.Store(true)
	line(inData, "dropped1")
	line(inData, "dropped2")
	line(outside, "outside")
	if _, failed := s.Dropped(inData); failed != 2 {
		t.Fatalf("failed %d, want the 2 lines dropped while the store is full", failed)
	}
	if n := strings.Count(logs.String(), "disk is full"); n != 1 {
		t.Fatalf("the server's log: %q; want one WARN", logs.String())
	}
	full.Store(false)
	line(inData, "after")
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(inData); string(got) != "first\nafter\n" {
		t.Errorf("%s holds %q, want the lines before and after only", inData, got)
	}
	if got, _ := os.ReadFile(outside); string(got) != "outside\n" {
		t.Errorf("%s holds %q, want its line", outside, got)
	}
}
