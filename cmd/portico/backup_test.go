package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestBackupRestores: `portico backup FILE` taken while the server serves
// and takes writes is an archive that, unpacked with tar into an empty
// directory, is a data directory a new server starts on, serving the
// function (its code from code/) and the API the first one had, with a
// configuration one write saw whole.
func TestBackupRestores(t *testing.T) {
	t.Parallel()
	tarBin := testkit.Tool(t, "tar", "the documented restore unpacks with it")
	env := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	c := env.Client()
	cli(t, env, "fn", "create", "hello", "--dir", apptest.Sample(t, "hello"))
	resp, err := c.Do(ctx, "POST", "/portico/v1/apis", nil, map[string]any{"name": "a", "protocol": "REST",
		"routes": []map[string]any{{"method": "GET", "path": "/x", "integration": map[string]any{"type": "MOCK"}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var api struct{ ID string }
	if err := json.Unmarshal(resp.Body, &api); err != nil || api.ID == "" {
		t.Fatalf("create API: %s %v", resp.Body, err)
	}
	if _, err := c.Do(ctx, "POST", "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": "dev"}, nil); err != nil {
		t.Fatal(err)
	}

	// Writes go on while the backup is taken: each sets FIRST and SECOND
	// together.
	write := func(i int) error {
		n := strconv.Itoa(i)
		_, _, err := c.UpdateFunctionConfiguration(ctx, "hello", map[string]any{
			"Environment": map[string]any{"Variables": map[string]string{"FIRST": n, "SECOND": n}}})
		return err
	}
	if err := write(0); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes int
	wg.Go(func() {
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := write(i); err != nil {
				t.Errorf("a write during the backup: %v", err)
				return
			}
			writes = i
		}
	})
	file := filepath.Join(t.TempDir(), "portico.tar")
	out := cli(t, env, "backup", file)
	close(stop)
	wg.Wait()
	if !strings.Contains(out, file+": portico.db and ") {
		t.Errorf("portico backup printed %q", out)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".*partial*")); len(leftovers) != 0 {
		t.Errorf("temporary files left beside the backup: %v", leftovers)
	}
	t.Logf("%d configuration writes while the backup ran", writes)

	restored := filepath.Join(t.TempDir(), "restored")
	if err := os.Mkdir(restored, 0o750); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tarBin, "-xf", file, "-C", restored).CombinedOutput(); err != nil {
		t.Fatalf("tar -xf: %v\n%s", err, out)
	}
	env2 := apptest.Start(t, apptest.Options{DataDir: restored})
	cfg, _, err := env2.Client().GetFunctionConfiguration(ctx, "hello")
	if err != nil {
		t.Fatalf("the restored server's hello: %v", err)
	}
	if cfg.Environment == nil || cfg.Environment.Variables["FIRST"] == "" {
		t.Errorf("the restored configuration has none of the writes before the backup: %+v", cfg.Environment)
	} else if vars := cfg.Environment.Variables; vars["FIRST"] != vars["SECOND"] {
		t.Errorf("the restored configuration is not one write's: FIRST=%q SECOND=%q", vars["FIRST"], vars["SECOND"])
	}
	if out := cli(t, env2, "invoke", "hello", "--payload", `{"queryStringParameters":{"name":"restored"}}`); !strings.Contains(out, "restored") {
		t.Errorf("invoke on the restored server: %q", out)
	}
	r, err := http.Get(env2.GatewayURL + "/" + api.ID + "/dev/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Errorf("the restored server's API: %d %s", r.StatusCode, body)
	}
}

// TestBackupNotWrittenOnError: a backup that cannot be written leaves no
// file, and says so.
func TestBackupNotWrittenOnError(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	file := filepath.Join(t.TempDir(), "no-such-dir", "portico.tar")
	if out, err := cliErr(env, "backup", file); err == nil {
		t.Fatalf("backup into a missing directory: %q, no error", out)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("%s: %v", file, err)
	}
}

// TestBackupTestNeedsTarOnCI: TestBackupRestores skips without tar on a
// developer's machine, but fails under CI=true or a REQUIRE_* setting (CI
// hosts have tar; a CI run that lost it must not pass by skipping). The
// test binary runs it again with a PATH that holds no tar.
func TestBackupTestNeedsTarOnCI(t *testing.T) {
	t.Parallel()
	noTools := t.TempDir()
	var base []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "CI" && k != "PATH" && !strings.HasPrefix(k, "REQUIRE_") {
			base = append(base, kv)
		}
	}
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"a developer's machine", nil, "--- SKIP: TestBackupRestores"},
		{"CI=true", []string{"CI=true"}, "--- FAIL: TestBackupRestores"},
		{"REQUIRE_DOCKER=1", []string{"REQUIRE_DOCKER=1"}, "--- FAIL: TestBackupRestores"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestBackupRestores$", "-test.v")
		cmd.Env = append(append(slices.Clip(base), "PATH="+noTools), tc.env...)
		out, err := cmd.CombinedOutput()
		if !strings.Contains(string(out), tc.want) {
			t.Errorf("%s, no tar on the PATH: %v, want %q in:\n%s", tc.name, err, tc.want, out)
		}
	}
}
