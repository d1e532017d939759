package soak

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/internal/testkit"
	"github.com/portico-dev/portico/internal/tmpfstest"
)

// outOfSpaceMessage is the admin API's message for a write that found the disk
// full (admin.outOfSpaceMessage).
const outOfSpaceMessage = "Portico's data directory is out of space"

// wantOutOfSpace fails t unless err is the admin API's 503 for a full disk.
func wantOutOfSpace(t *testing.T, what string, err error) {
	t.Helper()
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable || !strings.Contains(ae.Message, outOfSpaceMessage) {
		t.Errorf("%s on a full disk: %v; want 503 saying the data directory is out of space", what, err)
	}
}

// leftovers lists what interrupted uploads left in the code directory.
func leftovers(t *testing.T, dataDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dataDir, "code"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestFullDisk runs `portico serve` with its data directory on a small tmpfs
// and fills it: writes fail with a 503 that says the disk is full (never a
// panic or a hang), code uploads that do not fit leave nothing behind, the
// gateway keeps serving, every write acknowledged before or during the
// shortage is there after a restart, and writes work again once space returns.
// A first start on a full disk fails with a clear error and leaves a data
// directory that starts once space returns.
func TestFullDisk(t *testing.T) {
	disk := tmpfstest.Mount(t, "32m")
	dataDir := filepath.Join(disk, "data")
	filler := filepath.Join(disk, "filler")
	ctx := context.Background()
	hello := apptest.ZipSample(t, "hello")
	bigger := zipWithExtra(t, apptest.Sample(t, "hello"))

	p := apptest.StartProcess(t, apptest.Options{DataDir: dataDir})
	c := p.Client()
	fx := setUpCrashFixture(t, c, hello)
	if _, _, err := c.PublishVersion(ctx, "pub", ""); err != nil {
		t.Fatal(err)
	}
	gateway := func() int {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.GatewayURL+"/"+fx.api+"/prod/pets", nil)
		req.Header.Set("x-api-key", fx.keyValue)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("gateway: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	imported := map[string]string{} // acknowledged imports: id -> name
	importAPI := func(name string) error {
		res, err := c.Do(ctx, http.MethodPost, "/portico/v1/apis/import", url.Values{"name": {name}}, []byte(keyedDoc), nil)
		if err != nil {
			return err
		}
		var imp struct {
			API struct{ ID string } `json:"api"`
		}
		mustJSON(t, res.Body, &imp)
		imported[imp.API.ID] = name
		return nil
	}

	tmpfstest.Fill(t, filler)
	// Small writes may still fit in the database's free pages; keep writing
	// until one does not.
	refused := 0
	for i := 0; i < 500 && refused == 0; i++ {
		if err := importAPI(fmt.Sprintf("full-%d", i)); err != nil {
			wantOutOfSpace(t, "import", err)
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("500 imports on a full disk all succeeded")
	}
	_, _, err := c.CreateFunction(ctx, map[string]any{"FunctionName": "big", "Code": map[string]any{"ZipFile": bigger}})
	wantOutOfSpace(t, "create-function", err)
	_, _, err = c.UpdateFunctionCode(ctx, "pub", bigger, "")
	wantOutOfSpace(t, "update-function-code", err)
	if l := leftovers(t, dataDir); len(l) > 0 {
		t.Errorf("uploads that did not fit left %v", l)
	}
	admitted := 0
	for range 50 {
		if st := gateway(); st == http.StatusOK {
			admitted++
		} else {
			t.Errorf("gateway on a full disk: %d", st)
		}
	}
	if _, err := c.Do(ctx, http.MethodPost, client.FunctionPath("pub:1", "/invocations"), nil, []byte(`{}`), nil); err != nil {
		t.Errorf("invoke on a full disk: %v", err)
	}

	// Space returns: writes work again, and an upload larger than the free
	// space fails as cleanly.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := importAPI("after"); err != nil {
		t.Fatalf("import once space returned: %v", err)
	}
	if _, _, err := c.CreateFunction(ctx, map[string]any{"FunctionName": "big", "Code": map[string]any{"ZipFile": bigger}}); err != nil {
		t.Fatalf("create-function once space returned: %v", err)
	}
	huge := zipWithRandom(t, apptest.Sample(t, "hello"), 24<<20)
	_, _, err = c.UpdateFunctionCode(ctx, "big", huge, "")
	wantOutOfSpace(t, "an upload larger than the free space", err)
	if l := leftovers(t, dataDir); len(l) > 0 {
		t.Errorf("an upload that did not fit left %v", l)
	}
	used, err := usedSince(ctx, c, fx)
	if err != nil {
		t.Fatalf("get-usage once space returned: %v", err)
	}
	if used < int64(admitted) {
		t.Errorf("usage %d once space returned, below the %d calls admitted while the disk was full", used, admitted)
	}

	// A restart (kill -9) keeps what was acknowledged.
	p.Kill()
	p = apptest.StartProcess(t, apptest.Options{DataDir: dataDir})
	c = p.Client()
	for id, name := range imported {
		res, err := c.Do(ctx, http.MethodGet, "/portico/v1/apis/"+id, nil, nil, nil)
		if err != nil {
			t.Errorf("acknowledged import %s (%s) after the restart: %v", id, name, err)
			continue
		}
		var a struct{ Name string }
		mustJSON(t, res.Body, &a)
		if a.Name != name {
			t.Errorf("API %s is named %q after the restart, acknowledged %q", id, a.Name, name)
		}
	}
	if n, err := usedSince(ctx, c, fx); err != nil || n < used {
		t.Errorf("usage after the restart %d (%v), below the %d reported before", n, err, used)
	}
	if _, _, err := c.GetFunctionConfiguration(ctx, "big"); err != nil {
		t.Errorf("function big after the restart: %v", err)
	}
	p.Kill()
	for _, out := range []string{p.Output()} {
		if strings.Contains(out, "panic:") || strings.Contains(out, "fatal error:") {
			t.Errorf("the server crashed:\n%s", out)
		}
	}

	// A first start on a disk with room for half of bbolt's initial pages
	// (an older build left a database cut short, on which every later start
	// crashed).
	tmpfstest.Fill(t, filler)
	fi, err := os.Stat(filler)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filler, fi.Size()-fi.Size()%4096-2*4096); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(disk, "fresh")
	out, err := serveOnce(t, fresh)
	if err == nil || !strings.Contains(out, "no space left on device") || strings.Contains(out, "fatal error") {
		t.Errorf("a first start on a full disk: %v\n%s\nwant it to stop, saying the disk is full", err, out)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	p = apptest.StartProcess(t, apptest.Options{DataDir: fresh})
	if err := importAPIOn(ctx, p.Client()); err != nil {
		t.Errorf("import on the data directory a full disk interrupted, once space returned: %v", err)
	}
}

func importAPIOn(ctx context.Context, c *client.Client) error {
	_, err := c.Do(ctx, http.MethodPost, "/portico/v1/apis/import", url.Values{"name": {"fresh"}}, []byte(keyedDoc), nil)
	return err
}

// serveOnce runs `portico serve` on dataDir expecting it to stop by itself (it
// cannot start), and returns its output and exit error; it kills a server
// that starts after all.
func serveOnce(t *testing.T, dataDir string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	//nolint:gosec // G204: the binary apptest built
	cmd := exec.CommandContext(ctx, apptest.Binary(t), "serve", "--runtime", "process", "--data-dir", dataDir,
		"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--tls-listen", "off")
	out := &testkit.LockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), "PORTICO_ADMIN_TOKEN=")
	err := cmd.Run()
	return out.String(), err
}

// zipWithRandom zips the package in src with n more bytes of random data,
// which do not compress.
func zipWithRandom(t *testing.T, src string, n int) []byte {
	t.Helper()
	data := make([]byte, n)
	_, _ = rand.Read(data)
	return zipWithFile(t, src, "blob", data)
}
