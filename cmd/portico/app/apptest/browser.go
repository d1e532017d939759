package apptest

import (
	"os"
	"os/exec"
	"testing"
)

// Browser returns Chromium's path, or skips the test with the reason when it is
// not installed (fails instead when REQUIRE_BROWSER=1, as CI sets).
func Browser(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("REQUIRE_BROWSER") == "1" {
		t.Fatal("REQUIRE_BROWSER=1 but no chromium is installed (apt-get install chromium)")
	}
	t.Skip("no chromium installed (apt-get install chromium; REQUIRE_BROWSER=1 makes this a failure)")
	return ""
}
