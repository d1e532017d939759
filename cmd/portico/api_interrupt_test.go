package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAPIImportInterruptedSaysWhatBecameOfIt: `portico api import`
// interrupted (Ctrl-C) before the server answered says that the import was
// abandoned unless the server had already created the API, and where to look,
// rather than only that a signal came (r-openapi24 #1).
func TestAPIImportInterruptedSaysWhatBecameOfIt(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		close(arrived)
		select { // the import runs until its client goes away
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	doc := filepath.Join(t.TempDir(), "api.json")
	if err := os.WriteFile(doc, []byte(`{"openapi":"3.0.1","info":{"title":"t","version":"1"},"paths":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() {
		<-arrived
		cancel(context.Canceled) // what the interrupt does to the command's context
	}()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"--endpoint", srv.URL, "api", "import", doc})
	err := root.ExecuteContext(ctx)
	if err == nil || !strings.Contains(err.Error(), "interrupted before the server answered: the import was abandoned unless the server had already created the API; check `portico api list`") {
		t.Fatalf("interrupted import: %v, want it to say what became of the import", err)
	}
}
