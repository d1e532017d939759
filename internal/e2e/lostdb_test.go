package e2e_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/store"
)

// TestLostStoreRefusedCodeKept is the data loss the store3 tester found with
// the portico binary: a data directory whose portico.db was moved aside (as
// the corrupt-store error advised) or emptied started as an empty server,
// and its code collection deleted all of code/ within 70 ms; putting the real
// store back then gave "fork/exec .../bootstrap: no such file or directory"
// on every invoke. The start is refused, naming the way out, code/ is left
// alone, and the store put back serves its functions again.
func TestLostStoreRefusedCodeKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := apptest.StartProcess(t, apptest.Options{DataDir: dir})
	zip, err := zipDir(apptest.Program(t, "./internal/e2e/testdata/blocker"))
	if err != nil {
		t.Fatal(err)
	}
	createFunction(t, sdk(p.AdminURL), zipFunction("kept", zip))
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.Wait(t); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, p.Output())
	}
	code := func() []os.DirEntry {
		entries, err := os.ReadDir(filepath.Join(dir, "code"))
		if err != nil {
			t.Fatal(err)
		}
		return entries
	}
	before := len(code())
	if before == 0 {
		t.Fatal("no code artifact was stored")
	}
	db := filepath.Join(dir, store.FileName)
	for _, lose := range []struct {
		name string
		do   func() error
		undo func() error
	}{
		{"moved aside", func() error { return os.Rename(db, db+".aside") }, func() error { return os.Rename(db+".aside", db) }},
		{"emptied", func() error {
			if err := os.Rename(db, db+".aside"); err != nil {
				return err
			}
			return os.WriteFile(db, nil, 0o600)
		}, func() error { return os.Rename(db+".aside", db) }},
	} {
		if err := lose.do(); err != nil {
			t.Fatal(err)
		}
		// A safety net only: a serve that starts on the lost store runs
		// until it is killed (the old behaviour), which fails the test.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		//nolint:gosec // G204: the binary apptest built
		out, err := exec.CommandContext(ctx, apptest.Binary(t), "serve", "--runtime", "process", "--data-dir", dir,
			"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--tls-listen", "off").CombinedOutput()
		cancel()
		if err == nil || !strings.Contains(string(out), "--new-store") || !strings.Contains(string(out), "Put back the portico.db") {
			t.Errorf("%s: serve = %v, want it refused with the way out:\n%s", lose.name, err, out)
		}
		if n := len(code()); n != before {
			t.Fatalf("%s: code/ holds %d entries, had %d", lose.name, n, before)
		}
		if err := lose.undo(); err != nil {
			t.Fatal(err)
		}
	}
	p = apptest.StartProcess(t, apptest.Options{DataDir: dir})
	res, err := sdk(p.AdminURL).Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("kept"), Payload: []byte(`{}`)})
	if err != nil || res.FunctionError != nil {
		t.Fatalf("invoke with the store put back: %v %v %s\n%s", err, aws.ToString(res.FunctionError), res.Payload, p.Output())
	}
}
