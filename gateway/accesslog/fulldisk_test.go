package accesslog

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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
