package gateway

import (
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/invoker"
)

// TestProxyBase64FollowsAccept: a Lambda proxy result marked isBase64Encoded
// is decoded for a REST client only when the first media type of its Accept
// header matches one of the API's binaryMediaTypes (wildcards included), as
// API Gateway decides; any other REST client gets the base64 text, and a
// result not marked is never decoded. HTTP APIs always decode.
func TestProxyBase64FollowsAccept(t *testing.T) {
	e := newEnv(t)
	e.inv.handle = func(invoker.Request) (*invoker.Result, error) {
		return &invoker.Result{Payload: []byte(`{"statusCode": 200, "headers": {"Content-Type": "image/png"}, "body": "iVBORw==", "isBase64Encoded": true}`)}, nil
	}
	const raw, text = "\x89PNG", "iVBORw=="
	images := helloAPI(apis.ProtocolREST)
	images.BinaryMediaTypes = []string{"image/*", "application/octet-stream"}
	imagesID := e.deploy(images, "dev", map[string]string{"alias": "live"})
	all := helloAPI(apis.ProtocolREST)
	all.BinaryMediaTypes = []string{"*/*"}
	allID := e.deploy(all, "dev", map[string]string{"alias": "live"})
	httpID := e.deploy(helloAPI(apis.ProtocolHTTP), "dev", map[string]string{"alias": "live"})
	for _, tc := range []struct {
		name, api, accept, want string
	}{
		{"binary Accept", imagesID, "image/png", raw},
		{"binary Accept with parameters", imagesID, "application/octet-stream;q=0.9", raw},
		{"binary type second in Accept", imagesID, "text/html, image/png", text},
		{"text Accept", imagesID, "application/json", text},
		{"no Accept", imagesID, "", text},
		{"*/* binary media types, text Accept", allID, "text/html", raw},
		{"*/* binary media types, no Accept", allID, "", text},
		{"HTTP API, no Accept", httpID, "", raw},
	} {
		var hdr []string
		if tc.accept != "" {
			hdr = []string{"Accept", tc.accept}
		}
		r := e.do("GET", "/"+tc.api+"/dev/hello", nil, hdr...)
		if r.status != 200 || r.body != tc.want || r.header.Get("Content-Type") != "image/png" {
			t.Errorf("%s: %d %q %s, want %q", tc.name, r.status, r.body, r.header.Get("Content-Type"), tc.want)
		}
	}
	// A result not marked base64 is its text, whatever the client accepts.
	e.inv.mu.Lock()
	e.inv.handle = func(invoker.Request) (*invoker.Result, error) {
		return &invoker.Result{Payload: []byte(`{"statusCode": 200, "body": "aGk="}`)}, nil
	}
	e.inv.mu.Unlock()
	if r := e.do("GET", "/"+imagesID+"/dev/hello", nil, "Accept", "image/png"); r.body != "aGk=" {
		t.Errorf("unmarked result with a binary Accept: %q", r.body)
	}
}
