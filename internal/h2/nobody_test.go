package h2

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// streamAnswer is what a raw client read of one stream: the fields of its
// HEADERS frames (1xx ones included, in order), its DATA, and how it ended.
type streamAnswer struct {
	fields []hpack.HeaderField
	data   []byte
	reset  http2.ErrCode // RST_STREAM's code; 0 for none
	goAway *http2.GoAwayFrame
}

// field returns the value of the last field named name, "" if none.
func (a *streamAnswer) field(name string) string {
	v := ""
	for _, f := range a.fields {
		if f.Name == name {
			v = f.Value
		}
	}
	return v
}

// send writes a HEADERS frame for stream id with fields (name, value pairs),
// ending the stream.
func sendHeaders(t *testing.T, fr *http2.Framer, id uint32, fields ...string) {
	t.Helper()
	var hb bytes.Buffer
	enc := newEncoder(&hb)
	for i := 0; i+1 < len(fields); i += 2 {
		enc(fields[i], fields[i+1])
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
}

// readStream reads frames until stream id ends (END_STREAM or RST_STREAM) or
// the connection gets GOAWAY.
func readStream(t *testing.T, fr *http2.Framer, dec *hpack.Decoder, id uint32) *streamAnswer {
	t.Helper()
	a := &streamAnswer{}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("stream %d: %v", id, err)
		}
		switch f := f.(type) {
		case *http2.HeadersFrame:
			fields, err := dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil {
				t.Fatal(err)
			}
			if f.StreamID == id {
				a.fields = append(a.fields, fields...)
				if f.StreamEnded() {
					return a
				}
			}
		case *http2.DataFrame:
			if f.StreamID == id {
				a.data = append(a.data, f.Data()...)
				if f.StreamEnded() {
					return a
				}
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				a.reset = f.ErrCode
				return a
			}
		case *http2.GoAwayFrame:
			a.goAway = f
			return a
		}
	}
}

// TestNoContentLengthWithoutBody: a 204 or 304 whose handler set a
// Content-Length and wrote a body, and a 1xx sent with the handler's
// Content-Length in its header, carry neither (RFC 9110 8.6; RFC 9113 8.1.1
// makes such a response malformed, and curl and browsers reject it), as
// net/http's HTTP/2 server answers them.
func TestNoContentLengthWithoutBody(t *testing.T) {
	emptyErr := make(chan error, 1) // the /304 handler's
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/204":
			w.Header().Set("Content-Length", "15")
			w.WriteHeader(http.StatusNoContent)
			_, _ = io.WriteString(w, "shouldnotappear")
		case "/304":
			w.Header().Set("Content-Length", "5")
			w.WriteHeader(http.StatusNotModified)
			_, err := w.Write(nil) // no body to refuse: no error, as h1 and net/http
			emptyErr <- err
		case "/103":
			w.Header().Set("Content-Length", "2")
			w.Header().Set("Link", "</a>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			_, _ = io.WriteString(w, "ok")
		}
	}), Options{})
	_, fr := ts.dial(t)
	dec := hpack.NewDecoder(4096, nil)
	for i, path := range []string{"/204", "/304", "/103"} {
		id := uint32(2*i + 1)
		sendHeaders(t, fr, id, ":method", "GET", ":scheme", "https", ":authority", "localhost", ":path", path)
		a := readStream(t, fr, dec, id)
		if a.reset != 0 || a.goAway != nil {
			t.Fatalf("%s: reset %v, GOAWAY %v", path, a.reset, a.goAway)
		}
		var lengths []string
		for _, f := range a.fields {
			if f.Name == "content-length" || f.Name == ":status" {
				lengths = append(lengths, f.Name+"="+f.Value)
			}
		}
		want := map[string]string{"/204": "[:status=204]", "/304": "[:status=304]", "/103": "[:status=103 :status=200 content-length=2]"}[path]
		if got := "[" + strings.Join(lengths, " ") + "]"; got != want || path != "/103" && len(a.data) != 0 {
			t.Errorf("%s: %s, body %q; want %s and no body", path, got, a.data, want)
		}
		if path == "/304" {
			if err := <-emptyErr; err != nil {
				t.Errorf("an empty Write to a 304: %v", err)
			}
		}
	}
}

// TestMalformedTargets: a :path in absolute form, and a Host that differs
// from :authority, make the request malformed (RFC 9113 8.3.1): the stream is
// reset with PROTOCOL_ERROR and the handler never runs; the connection goes
// on; so does a :path with a space or a control byte, which HTTP/1.1 refuses
// too (it used to be served, percent-encoded). An equal Host, "*" for
// OPTIONS, and an encoded space are served.
func TestMalformedTargets(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Method+" "+r.RequestURI+" "+r.Host)
	}), Options{})
	_, fr := ts.dial(t)
	dec := hpack.NewDecoder(4096, nil)
	cases := []struct {
		fields []string
		want   string // the body; "" for a reset
	}{
		{[]string{":method", "GET", ":scheme", "https", ":authority", "localhost", ":path", "http://evil/a"}, ""},
		{[]string{":method", "GET", ":scheme", "https", ":authority", "localhost", ":path", "/a", "host", "evil.example"}, ""},
		{[]string{":method", "GET", ":scheme", "https", ":authority", "localhost", ":path", "/a", "host", "localhost"}, "GET /a localhost"},
		{[]string{":method", "OPTIONS", ":scheme", "https", ":authority", "localhost", ":path", "*"}, "OPTIONS * localhost"},
		{[]string{":method", "GET", ":scheme", "https", ":authority", "localhost", ":path", "*"}, ""},
		// No space or control byte in a target, as HTTP/1.1 refuses one (400).
		{[]string{":method", "GET", ":scheme", "https", ":authority", "localhost", ":path", "/a b"}, ""},
		{[]string{":method", "GET", ":scheme", "https", ":authority", "localhost", ":path", "/a?b c"}, ""},
		{[]string{":method", "GET", ":scheme", "https", ":authority", "localhost", ":path", "/a\tb"}, ""},
		{[]string{":method", "GET", ":scheme", "https", ":authority", "localhost", ":path", "/a%20b"}, "GET /a%20b localhost"},
	}
	for i, tc := range cases {
		id := uint32(2*i + 1)
		sendHeaders(t, fr, id, tc.fields...)
		a := readStream(t, fr, dec, id)
		if a.goAway != nil {
			t.Fatalf("%q: GOAWAY %v", tc.fields, a.goAway.ErrCode)
		}
		if tc.want == "" {
			if a.reset != http2.ErrCodeProtocol {
				t.Errorf("%q: reset %v, status %q %q; want RST_STREAM(PROTOCOL_ERROR)", tc.fields, a.reset, a.field(":status"), a.data)
			}
		} else if a.field(":status") != "200" || string(a.data) != tc.want {
			t.Errorf("%q: %v %q %q; want 200 %q", tc.fields, a.reset, a.field(":status"), a.data, tc.want)
		}
	}
}
