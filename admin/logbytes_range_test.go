package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/portico-dev/portico/admin"
)

// TestLogBytesOutOfRange: a bytes count too large for the server says it is
// out of range, not that it is no non-negative integer (obs11); a negative or
// non-numeric count is still that.
func TestLogBytesOutOfRange(t *testing.T) {
	t.Parallel()
	env, _ := followServer(t, admin.LogFollowLimits{}, "")
	for v, want := range map[string]string{
		"99999999999999999999":  "is out of range: give a number of bytes up to",
		"-99999999999999999999": "must be a non-negative integer",
		"-1":                    "must be a non-negative integer",
		"ten":                   "must be a non-negative integer",
	} {
		_, err := env.Client().Do(context.Background(), http.MethodGet, "/portico/v1/functions/f/logs?bytes="+v, nil, nil, nil)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "400") && !strings.Contains(err.Error(), "InvalidParameterValue") {
			t.Errorf("bytes=%s: %v, want 400: %s", v, err, want)
		}
	}
}
