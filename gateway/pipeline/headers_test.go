package pipeline

import (
	"crypto/tls"
	"net/http/httptest"
	"slices"
	"testing"
)

// TestHeaderValuesAddedHeaders: the headers the gateway handles itself read
// as the integration's event has them, in any case, wherever a header is read
// by name (identity sources, request parameters, cache keys, validation).
// Host used to read as missing: net/http moves it out of r.Header.
func TestHeaderValuesAddedHeaders(t *testing.T) {
	r := httptest.NewRequest("GET", "http://tenant.example.com/x", nil)
	r.RemoteAddr = "192.0.2.7:5555"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	r.Header.Set("X-User", "alice")
	tlsReq := r.Clone(r.Context())
	tlsReq.TLS = &tls.ConnectionState{}
	cases := []struct {
		name, header string
		tls          bool
		want         []string
	}{
		{"Host", "Host", false, []string{"tenant.example.com"}},
		{"host in lower case", "host", false, []string{"tenant.example.com"}},
		{"X-Forwarded-For adds the peer", "x-forwarded-for", false, []string{"198.51.100.1, 192.0.2.7"}},
		{"X-Forwarded-Proto http", "X-Forwarded-Proto", false, []string{"http"}},
		{"X-Forwarded-Proto https", "X-Forwarded-Proto", true, []string{"https"}},
		{"a client's header", "x-user", false, []string{"alice"}},
		{"absent", "X-Nope", false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := r
			if tc.tls {
				req = tlsReq
			}
			if got := HeaderValues(req, tc.header); !slices.Equal(got, tc.want) {
				t.Fatalf("HeaderValues(%q) = %q, want %q", tc.header, got, tc.want)
			}
		})
	}
	var c Context
	if v, ok := c.ParamValue("method.request.header.Host", r, nil); !ok || v != "tenant.example.com" {
		t.Fatalf("method.request.header.Host = %q, %v", v, ok)
	}
	if v, ok := c.ParamValue("method.request.multivalueheader.host", r, nil); !ok || v != "tenant.example.com" {
		t.Fatalf("method.request.multivalueheader.host = %q, %v", v, ok)
	}
}
