package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
)

// TestProxyResponseBodyLimit: an HTTP_PROXY backend's response body is
// bounded by the integration response limit (MaxBodyBytes, 10 MB), as API
// Gateway bounds it, on REST and HTTP APIs alike: one announced larger is
// answered 500 "Internal server error" before anything of it is sent; one
// that streams without end is cut off at the limit (the client's connection
// dropped) rather than passed on until the integration timeout.
func TestProxyResponseBodyLimit(t *testing.T) {
	chunk := make([]byte, 64<<10)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/announced" {
			w.Header().Set("Content-Length", strconv.Itoa(100<<30)) // 100 GB
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(chunk)
			return
		}
		for r.Context().Err() == nil { // without end
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer backend.Close()
	for _, proto := range []string{apis.ProtocolREST, apis.ProtocolHTTP} {
		t.Run(proto, func(t *testing.T) {
			e := newEnv(t)
			a := &apis.API{Name: "big", Protocol: proto, Definition: apis.Definition{Routes: []apis.Route{
				{Method: "GET", Path: "/{proxy+}", Integration: &apis.Integration{Type: apis.IntegrationHTTPProxy, URI: backend.URL + "/{proxy}"}},
			}}}
			id := e.deploy(a, "dev", nil)
			msg := map[string]string{apis.ProtocolREST: "Internal server error", apis.ProtocolHTTP: "Internal Server Error"}[proto]
			e.do("GET", "/"+id+"/dev/announced", nil).expectError(t, 500, "InternalServerErrorException", msg)

			resp, err := http.Get(e.srv.URL + "/" + id + "/dev/endless")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			n, err := io.Copy(io.Discard, resp.Body)
			if err == nil || n > DefaultMaxBodyBytes {
				t.Fatalf("an endless body: %d bytes passed on, ending with %v; want at most %d and the connection cut", n, err, DefaultMaxBodyBytes)
			}
		})
	}
}
