package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app"
	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/gateway/edge"
)

// TestDomainCreateTakesTruststoreURI (tls28 #6): `domain create --truststore
// file:///abs/ca.pem`, the form `domain get` prints, was joined to the
// current directory ("stat /cwd/file:/abs/ca.pem"). It is passed on as the
// URI; a file URI with a relative path is refused saying how to write it.
func TestDomainCreateTakesTruststoreURI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	apptest.DevCA(t, dir)
	env := apptest.Start(t, apptest.Options{DataDir: dir, Settings: func(s *app.Settings) { s.TLSListen = "127.0.0.1:0" }})
	ca := filepath.Join(edge.DevCADir(dir), edge.DevCACertFile)
	cli(t, env, "domain", "create", "uri.dev.test", "--truststore", "file://"+ca)
	if out := cli(t, env, "domain", "get", "uri.dev.test"); !strings.Contains(out, "file://"+ca) {
		t.Errorf("domain get printed:\n%s", out)
	}
	// The short form file:/abs/ca.pem is the same URI (verify28a: joined to
	// the current directory).
	cli(t, env, "domain", "create", "short.dev.test", "--truststore", "file:"+ca)
	if out := cli(t, env, "domain", "get", "short.dev.test"); !strings.Contains(out, "file://"+ca) {
		t.Errorf("domain get of the short-form URI printed:\n%s", out)
	}
	if out, err := cliErr(env, "domain", "create", "rel.dev.test", "--truststore", "file://tls/ca.pem"); err == nil || !strings.Contains(err.Error(), "file:///abs/ca.pem") {
		t.Errorf("--truststore file://tls/ca.pem: %v\n%s", err, out)
	}
}
