package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestEndpointUntrustedTLSSaysWhatToDo: --endpoint https://... at a listener
// whose certificate the CLI does not trust (the gateway's TLS listener, with
// the development CA) failed with x509's bare "certificate signed by unknown
// authority". The error says what the plain gateway port's does (--endpoint
// names the admin API), and how to trust a CA of one's own.
func TestEndpointUntrustedTLSSaysWhatToDo(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	var out bytes.Buffer
	err := runRoot(&out, &out, "--endpoint", srv.URL, "fn", "list")
	if err == nil {
		t.Fatalf("fn list against an untrusted certificate succeeded:\n%s", out.String())
	}
	for _, want := range []string{"certificate signed by unknown authority", "the gateway's TLS listener", "not the admin API's",
		"--endpoint (PORTICO_ENDPOINT) should name the admin listener", "--admin-listen", "SSL_CERT_FILE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("fn list: %q does not say %q", err, want)
		}
	}
}

// TestEndpointSchemeMixUpsSayWhatToDo: --endpoint http:// at a TLS listener
// (the gateway's --tls-listen) got Go's "Client sent an HTTP request to an
// HTTPS server.", and https:// at the admin API (plain HTTP) Go's "server gave
// HTTP response to HTTPS client", neither saying what to do.
func TestEndpointSchemeMixUpsSayWhatToDo(t *testing.T) {
	t.Parallel()
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsSrv.Close()
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	for endpoint, wants := range map[string][]string{
		strings.Replace(tlsSrv.URL, "https://", "http://", 1): {"Client sent an HTTP request to an HTTPS server", "a TLS listener",
			"--endpoint (PORTICO_ENDPOINT) should name the admin listener"},
		strings.Replace(plain.URL, "http://", "https://", 1): {"server gave HTTP response to HTTPS client", "use http:// in --endpoint (PORTICO_ENDPOINT)"},
	} {
		var out bytes.Buffer
		err := runRoot(&out, &out, "--endpoint", endpoint, "fn", "list")
		if err == nil {
			t.Fatalf("fn list at %s succeeded:\n%s", endpoint, out.String())
		}
		for _, want := range wants {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("fn list at %s: %q does not say %q", endpoint, err, want)
			}
		}
	}
}
