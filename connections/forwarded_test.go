package connections

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// TestConnectForwardedHeadersNotSpoofable: the $connect event (and so the
// authorizer and an HTTP_PROXY backend, which read its headers) carries the
// gateway's own X-Forwarded-Proto and X-Forwarded-Port, whatever the client
// sent, and the client's X-Forwarded-For with its address appended.
func TestConnectForwardedHeadersNotSpoofable(t *testing.T) {
	for _, tc := range []struct {
		name      string
		tls       bool
		sent      map[string]string
		proto     string
		port      string
		forwarded string
	}{
		{"none sent", false, nil, "http", "32200", "192.0.2.7"},
		{"proto and port spoofed", false, map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"}, "http", "32200", "192.0.2.7"},
		{"proto only spoofed", false, map[string]string{"X-Forwarded-Proto": "https"}, "http", "32200", "192.0.2.7"},
		{"lower-case spelling", false, map[string]string{"x-forwarded-proto": "https", "x-forwarded-port": "443"}, "http", "32200", "192.0.2.7"},
		{"http claimed over TLS", true, map[string]string{"X-Forwarded-Proto": "http", "X-Forwarded-Port": "80"}, "https", "32200", "192.0.2.7"},
		{"for appended", false, map[string]string{"X-Forwarded-For": "10.0.0.1"}, "http", "32200", "10.0.0.1, 192.0.2.7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/abcdefghij/dev", nil)
			r.RemoteAddr = "192.0.2.7:5555"
			r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 32200}))
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for k, v := range tc.sent {
				r.Header.Set(k, v)
			}
			ev := &events.APIGatewayWebsocketProxyRequest{}
			addHandshake(ev, r, url.Values{})
			want := map[string]string{"X-Forwarded-Proto": tc.proto, "X-Forwarded-Port": tc.port, "X-Forwarded-For": tc.forwarded}
			for k, v := range want {
				if got := ev.Headers[k]; got != v {
					t.Errorf("headers[%s] = %q, want %q", k, got, v)
				}
				if got := ev.MultiValueHeaders[k]; len(got) != 1 || got[0] != v {
					t.Errorf("multiValueHeaders[%s] = %q, want [%q]", k, got, v)
				}
			}
		})
	}
}
