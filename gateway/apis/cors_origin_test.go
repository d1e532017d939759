package apis

import (
	"errors"
	"testing"

	"github.com/portico-dev/portico/internal/errdefs"
)

// TestCORSOriginsAreSchemeHostPort is the vtl18 tester's: origins with user
// information or a port past 65535 were accepted (and answered as such in
// preflights), though the docs say what is not scheme://host[:port] is
// refused.
func TestCORSOriginsAreSchemeHostPort(t *testing.T) {
	for _, o := range []string{"https://user@a.example", "https://u:p@a.example", "https://a.example:99999",
		"https://a.example:0", "https://a.example:", "https://a.example?x=1", "https://a.example#f", "https://:443"} {
		err := (&CORSConfiguration{AllowOrigins: []string{o}}).validate(ProtocolHTTP)
		if !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("origin %q: %v, want it refused as invalid", o, err)
		}
	}
	for _, o := range []string{"https://a.example", "https://a.example:8443", "http://127.0.0.1:65535", "https://a.example/", "*", "https://*"} {
		if err := (&CORSConfiguration{AllowOrigins: []string{o}}).validate(ProtocolHTTP); err != nil {
			t.Errorf("origin %q: %v, want it accepted", o, err)
		}
	}
}
