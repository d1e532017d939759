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
// #3), read from a Zip function's bootstrap, which is on this host. For an
// Image function, whose files are not, the file may as well be missing: the
// message says that first, and names the architecture as a cause without
// advising a rebuild (r-rt27 #8). An entrypoint that is /bin/sh itself is the
// shell form of ENTRYPOINT in an image without a shell: the message says so,
// and names the exec form.
func TestEntrypointWrongArch(t *testing.T) {
	e := newEnv(t, nil)
	dir := t.TempDir()
	arch := runtimetest.ForeignELF(t, filepath.Join(dir, "bootstrap"))
	saved := codeDir
	codeDir = dir
	t.Cleanup(func() { codeDir = saved })
	const tini = "[FATAL tini (7)] exec /var/task/bootstrap failed: No such file or directory\n"
	const tiniShell = "[FATAL tini (7)] exec /bin/sh failed: No such file or directory\n"
	for _, tc := range []struct {
		name string
		pkg  string
		tini string
		want []string
		not  []string
	}{
		{"zip", functions.PackageZip, tini,
			[]string{"built for " + arch + ", and this machine runs " + runtime.GOARCH, "GOARCH=" + runtime.GOARCH, "exec format error"},
			[]string{"it is missing"}},
		{"image", functions.PackageImage, tini,
			[]string{"exec /var/task/bootstrap failed", "it is not found in the image", "ImageConfig EntryPoint",
				"built for another CPU architecture than this machine's " + runtime.GOARCH},
			[]string{"GOARCH="}},
		{"image shell form", functions.PackageImage, tiniShell,
			[]string{"exec /bin/sh failed", "runs /bin/sh, which the image does not have", "shell form", `ENTRYPOINT ["/var/task/bootstrap"]`},
			[]string{"GOARCH", "CPU"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := &tailBuf{}
			out.write([]byte(tc.tini))
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
