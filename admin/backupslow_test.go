package admin

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/store"
)

// TestBackupStalledClientHoldsNothing: a backup whose client stops reading
// holds up no write and no read of the store (faults27 #5, keys27 #2). The
// backup streamed from one read transaction held open as long as its client
// took, and a write that grew the store file past its mapping waited for it
// to end (bbolt's remap), and every read and write after that write waited
// behind it: the admin API, Invoke, usage counting froze for the whole
// download. The archive is still the store as it was when the backup began.
func TestBackupStalledClientHoldsNothing(t *testing.T) {
	dir := t.TempDir()
	// A small mapping, so that the writes below grow the file past it (the
	// default, DefaultMmapSize, would take a GiB of writes).
	st, err := store.OpenConfig(store.Config{Dir: dir, MmapSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ctx := context.Background()
	const bucket = "backup-test"
	put := func(key string, size int) error {
		return st.Update(ctx, func(tx *store.Tx) error { return tx.Put(bucket, key, strings.Repeat("x", size)) })
	}
	// A store larger than what the sockets between server and client
	// buffer (the client's receive buffer is small, below), so that the
	// backup cannot end while its client reads nothing.
	var before []string
	for i := range 10 {
		before = append(before, "before-"+strconv.Itoa(i))
		if err := put(before[i], 1<<20); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(Params{Config: Config{Listen: "127.0.0.1:0"}, Log: slog.New(slog.DiscardHandler),
		Gateway: GatewayDeps{APIs: apis.NewService(st, nil)}, Backup: BackupDeps{Store: st}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	base := "http://" + s.Addr()
	createAPI := func(name string) error {
		resp, err := http.Post(base+"/restapis", "application/json", strings.NewReader(`{"name":"`+name+`"}`))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b, _ := io.ReadAll(resp.Body)
			return &statusError{resp.StatusCode, string(b)}
		}
		return nil
	}
	if err := createAPI("before"); err != nil {
		t.Fatal(err)
	}

	// The stalled client: a receive buffer of 16 KB, fixed (so not grown
	// by the kernel), and nothing read after the response's head.
	client := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10) //nolint:gosec // G115: a socket's fd
		}); err != nil {
			return err
		}
		return serr
	}}).DialContext}}
	resp, err := client.Get(base + "/portico/v1/backup") //nolint:bodyclose // closed by the defer below (the inner resp shadows it)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("backup: %d", resp.StatusCode)
	}
	fi, err := os.Stat(filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	// The mapping is at most the file's size rounded up to a power of two
	// (bbolt), and the file runs at most 16 MiB (bbolt's AllocSize) and a
	// page ahead of what its pages hold: a file past this has grown past
	// the mapping the backup began under.
	past := 2*fi.Size() + 17<<20

	done := make(chan error, 1)
	go func() {
		done <- func() error {
			for i := 0; ; i++ {
				fi, err := os.Stat(filepath.Join(dir, store.FileName))
				if err != nil {
					return err
				}
				if fi.Size() > past {
					break
				}
				if err := put("during-"+strconv.Itoa(i), 4<<20); err != nil {
					return err
				}
			}
			resp, err := http.Get(base + "/restapis") // a read
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"before"`) {
				return &statusError{resp.StatusCode, string(b)}
			}
			return createAPI("during") // and a write through the API
		}()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("writes and a read while the backup's client reads nothing: %v", err)
		}
	case <-time.After(2 * time.Minute): // against a hang only
		t.Error("writes that grow the store and a read still wait after 2 minutes while the backup's client reads nothing")
		go func() { _, _ = io.Copy(io.Discard, resp.Body) }() // lets them go
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return
	}

	// The client reads the rest: the archive is the store when the backup
	// began.
	restored := t.TempDir()
	names := untar(t, resp.Body, restored)
	if len(names) == 0 || names[0] != store.FileName {
		t.Fatalf("archive holds %q", names)
	}
	r, err := store.Open(restored)
	if err != nil {
		t.Fatalf("the restored store: %v", err)
	}
	defer r.Close()
	var keys []string
	err = r.View(ctx, func(tx *store.Tx) error {
		return tx.ForEach(bucket, "", func(k string, _ []byte) error { keys = append(keys, k); return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, before) {
		t.Errorf("restored store holds %q, want %q (the records before the backup, none after)", keys, before)
	}
	list, err := apis.NewService(r, nil).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != "before" {
		t.Errorf("restored store holds %d APIs, want only \"before\"", len(list))
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "."+store.FileName+".backup-*")); len(left) != 0 {
		t.Errorf("backup left %q in the data directory", left)
	}
}

type statusError struct {
	code int
	body string
}

func (e *statusError) Error() string { return strconv.Itoa(e.code) + ": " + e.body }

// untar unpacks the tar stream r into dir and returns the names it held, in
// order.
func untar(t *testing.T, r io.Reader, dir string) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatalf("archive after %q: %v", names, err)
		}
		names = append(names, hdr.Name)
		p := filepath.Join(dir, filepath.FromSlash(hdr.Name)) //nolint:gosec // G305: the test's own archive
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o750)
		case tar.TypeReg:
			var f *os.File
			if f, err = os.Create(p); err == nil { //nolint:gosec // G304: the test's own directory
				_, err = io.Copy(f, tr) //nolint:gosec // G110: the test's own archive
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
