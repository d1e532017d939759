package admin

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/shutdown"
	"github.com/portico-dev/portico/store"
)

// TestBackupStreamFinishesWithinShutdownTimeout: a backup whose client keeps
// reading is a request in flight like any other: a stop lets it finish within
// the shutdown timeout (operations.md "Stopping"), the archive whole. It was
// cut off about a second into the stop, although its client read steadily.
func TestBackupStreamFinishesWithinShutdownTimeout(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	big := make([]byte, 16<<20)
	_, _ = rand.Read(big)
	if err := os.MkdirAll(filepath.Join(dir, functions.ArtifactsDir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, functions.ArtifactsDir, "big.zip"), big, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Params{Config: Config{Listen: "127.0.0.1:0"}, Log: slog.New(slog.DiscardHandler),
		Gateway: GatewayDeps{APIs: apis.NewService(st, nil)}, Backup: BackupDeps{Store: st}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + s.Addr() + "/portico/v1/backup")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("backup: %d", resp.StatusCode)
	}
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := shutdown.WithGrace(context.Background(), 2*time.Minute, time.Second)
		defer cancel()
		stopped <- s.Stop(ctx)
	}()
	// A client that reads slowly but steadily: 32 KB, then a pause.
	tr := tar.NewReader(&slowReader{r: resp.Body})
	var got int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("archive after %d bytes of files: %v", got, err)
		}
		n, err := io.Copy(io.Discard, tr)
		if err != nil {
			t.Fatalf("%s after %d bytes: %v", h.Name, n, err)
		}
		got += n
	}
	if got < int64(len(big)) {
		t.Fatalf("archive of %d bytes of files, want at least %d", got, len(big))
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

// slowReader reads at most 32 KB at a time and pauses after each read: a
// client whose downloads are rate limited.
type slowReader struct{ r io.Reader }

func (s *slowReader) Read(p []byte) (int, error) {
	time.Sleep(5 * time.Millisecond)
	return s.r.Read(p[:min(len(p), 32<<10)])
}
