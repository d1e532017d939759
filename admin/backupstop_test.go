package admin

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
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

// TestBackupStreamWithBurstyReaderFinishesThroughAStop: curl --limit-rate
// reads in bursts and pauses up to about 2.4 s between them; a stop cut such
// a backup download once its client took nothing for a second, 5 s into
// the stop, though it kept reading. A backup now has backupStopStall: a
// client that pauses longer than a second between bursts gets the whole
// archive, and the stop ends cleanly after it.
func TestBackupStreamWithBurstyReaderFinishesThroughAStop(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	big := make([]byte, 24<<20)
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
	// A small receive buffer, so that the server's writes wait on the
	// client's pauses rather than fill the socket's buffers.
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			err = c.(*net.TCPConn).SetReadBuffer(64 << 10)
		}
		return c, err
	}
	client := &http.Client{Transport: &http.Transport{DialContext: dial}}
	resp, err := client.Get("http://" + s.Addr() + "/portico/v1/backup")
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
	// Two pauses of 2.5 s once the stop began, 6 MB apart: longer than
	// other answers have (a second without progress, two for a write
	// that had taken a few bytes), well within backupStopStall.
	br := &burstReader{r: resp.Body, burst: 6 << 20, pause: 2500 * time.Millisecond, pauses: 2}
	tr := tar.NewReader(br)
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
	if br.pauses > 0 {
		t.Fatalf("the archive ended before the reader's pauses: it shows nothing")
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

// burstReader pauses before its first read and after each burst bytes, for
// pause, pauses times: a client whose downloads are rate limited in bursts
// (curl --limit-rate).
type burstReader struct {
	r      io.Reader
	burst  int
	pause  time.Duration
	pauses int
	n      int
}

func (b *burstReader) Read(p []byte) (int, error) {
	if b.pauses > 0 && b.n <= 0 {
		time.Sleep(b.pause)
		b.pauses--
		b.n = b.burst
	}
	if b.pauses > 0 || b.n > 0 {
		p = p[:min(len(p), max(b.n, 1))]
	}
	k, err := b.r.Read(p)
	b.n -= k
	return k, err
}
