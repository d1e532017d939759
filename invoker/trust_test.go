package invoker

import (
	"path/filepath"
	"testing"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/runtimes"
)

// fakeTrust names a trust directory.
type fakeTrust struct{ dir string }

func (f fakeTrust) SandboxTrust() *runtimes.Trust { return &runtimes.Trust{Dir: f.dir} }

// TestSandboxTrust checks that sandboxes get the TrustSource's certificate
// authorities (the process runtime points SSL_CERT_FILE at the bundle), and
// that a variable the function's own configuration sets keeps its value.
func TestSandboxTrust(t *testing.T) {
	e := newEnv(t, nil)
	dir := t.TempDir()
	e.inv.p.Trust = fakeTrust{dir: dir}
	cfg := e.fns.add(&functions.Config{FunctionName: "trust", Environment: map[string]string{"AWS_CA_BUNDLE": "/own/bundle.pem"}})
	for key, want := range map[string]string{
		"SSL_CERT_FILE":       filepath.Join(dir, runtimes.TrustBundleFile),
		"NODE_EXTRA_CA_CERTS": filepath.Join(dir, runtimes.TrustCAFile),
		"AWS_CA_BUNDLE":       "/own/bundle.pem",
	} {
		if _, o := invoke(t, e, cfg, `{"env":"`+key+`"}`); o.Env != want {
			t.Errorf("%s=%q, want %q", key, o.Env, want)
		}
	}
}
