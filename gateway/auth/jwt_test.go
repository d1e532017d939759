package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestJWKSBadDocuments checks that a JWKS that does not parse, a discovery
// document without jwks_uri, and an issuer that does not answer within the
// fetch timeout are errors (the request then gets 401), never a pass or a hang.
func TestJWKSBadDocuments(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	mux := http.NewServeMux()
	mux.HandleFunc("/bad/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"jwks_uri":"http://` + r.Host + `/bad/keys"}`))
	})
	mux.HandleFunc("/bad/keys", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"keys": "nope"`)) })
	mux.HandleFunc("/nouri/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{}`)) })
	mux.HandleFunc("/slow/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	s := New(nil, nil, nil)
	for _, iss := range []string{"/bad", "/nouri", "/slow", "/missing"} {
		if _, err := s.keys(context.Background(), srv.URL+iss, "k1"); err == nil {
			t.Errorf("issuer %s: keys accepted", iss)
		}
	}
}
