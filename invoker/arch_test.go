package invoker

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/runtimes"
	"github.com/portico-dev/portico/runtimes/runtimetest"
)

// TestEntrypointWrongArch: a container sandbox whose bootstrap is built for
// another CPU ends its init with exit status 127 and tini's "No such file or
// directory" (the kernel refused the binary, then tini found no /bin/sh to
// run it as a script). The message names the architecture and the fix (r-rt22
// #3): read from a Zip function's bootstrap, which is on this host; for an
// Image function, whose files are not, as one of the likely causes.
func TestEntrypointWrongArch(t *testing.T) {
	e := newEnv(t, nil)
	dir := t.TempDir()
	arch := runtimetest.ForeignELF(t, filepath.Join(dir, "bootstrap"))
	saved := codeDir
	codeDir = dir
	t.Cleanup(func() { codeDir = saved })
	const tini = "[FATAL tini (7)] exec /var/task/bootstrap failed: No such file or directory\n"
	for _, tc := range []struct {
		name string
		pkg  string
		want []string
		not  []string
	}{
		{"zip", functions.PackageZip,
			[]string{"built for " + arch + ", and this machine runs " + runtime.GOARCH, "GOARCH=" + runtime.GOARCH, "exec format error"},
			[]string{"it is missing"}},
		{"image", functions.PackageImage,
			[]string{"it is missing", "built for another CPU architecture than this machine's " + runtime.GOARCH, "GOARCH=" + runtime.GOARCH},
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := &tailBuf{}
			out.write([]byte(tini))
			sb := &sandbox{inv: e.inv, cfg: &functions.Config{FunctionName: "arch", PackageType: tc.pkg},
				rt: &clientSandbox{err: &runtimes.ExitError{Code: 127}}, initOut: out}
			why := entrypointFailure(sb)
			for _, w := range tc.want {
				if !strings.Contains(why, w) {
					t.Errorf("entrypointFailure = %q, lacks %q", why, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(why, n) {
					t.Errorf("entrypointFailure = %q, says %q", why, n)
				}
			}
		})
	}
}
