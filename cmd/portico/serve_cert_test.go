package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/gateway/edge"
)

// TestServeWithAnExpiredCertificateSaysWhatToDo: a start refused for an
// expired --tls-cert ends in one reason that says to replace it, with no fx
// ERROR lines (constructor chains, stacks) before it at the default level.
// Not parallel: it swaps os.Stderr, which the other tests' CLI runs read.
func TestServeWithAnExpiredCertificateSaysWhatToDo(t *testing.T) {
	dir := t.TempDir()
	f, err := edge.InitDevCA(filepath.Join(dir, "old"), nil, time.Now().Add(-400*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	s := app.Defaults()
	s.DataDir, s.Runtime = filepath.Join(dir, "data"), "process"
	s.Listen, s.AdminListen, s.TLSListen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	s.TLSCert, s.TLSKey = f.Cert, f.Key

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	err = runServer(context.Background(), s, nil)
	os.Stderr = stderr
	_ = w.Close()
	logged, _ := io.ReadAll(r)
	if err == nil || !strings.Contains(err.Error(), "expired") || !strings.Contains(err.Error(), "replace --tls-cert") {
		t.Errorf("serve with an expired --tls-cert: %v", err)
	}
	if strings.Contains(string(logged), "level=ERROR") {
		t.Errorf("the start logged errors before its reason:\n%s", logged)
	}
}
