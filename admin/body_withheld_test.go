package admin

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// TestDecodeJSONWithholdsAFieldName: the strict decoder's "unknown field"
// names an ordinary field, but not PEM pasted as a field's name (a private
// key, say) or a long one, which it describes instead.
func TestDecodeJSONWithholdsAFieldName(t *testing.T) {
	t.Parallel()
	key := "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n"
	for _, tc := range []struct{ field, says, not string }{
		{"colour", `json: unknown field "colour"`, ""},
		{key, "json: unknown field (what looks like a PEM private key, not repeated here)", "MIGHAgEA"},
		{strings.Repeat("a", 300), "json: unknown field (a value of 300 bytes, not repeated here)", "aaaa"},
	} {
		r := httptest.NewRequest(http.MethodPost, "/domainnames", strings.NewReader(`{"domainName":"x.example.com",`+strconv.Quote(tc.field)+`:1}`))
		var in struct {
			DomainName string `json:"domainName"`
		}
		err := decodeJSON(httptest.NewRecorder(), r, porticoBody, &in)
		if err == nil || !strings.Contains(err.Error(), tc.says) || (tc.not != "" && strings.Contains(err.Error(), tc.not)) {
			t.Errorf("field %.20q: %v, want it to say %q", tc.field, err, tc.says)
		}
	}
}
