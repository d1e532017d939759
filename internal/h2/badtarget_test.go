package h2

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestBadTargetHandler: a :path with a bad percent-encoding, which
// url.ParseRequestURI refuses, goes to Options.BadTarget when it is set (with
// the request's header fields and the path as RequestURI) rather than
// resetting the stream; without one the stream is reset as before.
func TestBadTargetHandler(t *testing.T) {
	bad := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Target", r.Method+" "+r.RequestURI+" "+r.Header.Get("X-A"))
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"message":"Bad Request"}`)
	})
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	send := func(t *testing.T, ts *testServer) (status, target string, reset bool) {
		t.Helper()
		_, fr := ts.dial(t)
		var hb bytes.Buffer
		enc := newEncoder(&hb)
		enc(":method", "GET")
		enc(":scheme", "https")
		enc(":authority", "localhost")
		enc(":path", "/echo/%zz?a=1")
		enc("x-a", "b")
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
		dec := hpack.NewDecoder(4096, nil)
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				t.Fatal(err)
			}
			switch f := f.(type) {
			case *http2.RSTStreamFrame:
				return "", "", true
			case *http2.HeadersFrame:
				fields, err := dec.DecodeFull(f.HeaderBlockFragment())
				if err != nil {
					t.Fatal(err)
				}
				for _, hf := range fields {
					switch hf.Name {
					case ":status":
						status = hf.Value
					case "x-target":
						target = hf.Value
					}
				}
				return status, target, false
			}
		}
	}
	if status, target, reset := send(t, startServer(t, ok, Options{BadTarget: bad})); status != "400" || target != "GET /echo/%zz?a=1 b" || reset {
		t.Fatalf("with BadTarget: status %q target %q reset %v", status, target, reset)
	}
	if _, _, reset := send(t, startServer(t, ok, Options{})); !reset {
		t.Fatal("without BadTarget the stream was not reset")
	}
}
