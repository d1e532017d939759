package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

// TestErrorTextFitsAQuotedJSONField: an error's text as the access log
// writes it ($context.authorizer.error, .integration.error) fits between the
// quotes of a JSON format's field: Portico's own quoted names, Go's quoted
// URLs, backslashes and control characters never break the line.
func TestErrorTextFitsAQuotedJSONField(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("authorizer %q: isAuthorized is false", "lam2"),
		errors.New(`Get "http://127.0.0.1:1/x": dial tcp 127.0.0.1:1: connect: connection refused`),
		errors.New("a\\b\tc\x00d\x7f"),
		errors.New("plain"),
	} {
		line := `{"error":"` + ErrorText(err) + `"}`
		var v map[string]string
		if e := json.Unmarshal([]byte(line), &v); e != nil {
			t.Errorf("%q: %s is not JSON: %v", err, line, e)
		}
	}
	if got := ErrorText(fmt.Errorf("authorizer %q: isAuthorized is false", "lam2")); got != "authorizer lam2: isAuthorized is false" {
		t.Errorf("got %q", got)
	}
	if ErrorText(nil) != "" {
		t.Error("nil")
	}
}
