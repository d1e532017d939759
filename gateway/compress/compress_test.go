package compress

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
)

func TestNegotiate(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"*", ""},
		{"gzip", "gzip"},
		{"GZIP", "gzip"},
		{"deflate", "deflate"},
		{"gzip, deflate, br", "gzip"},
		{"deflate, gzip", "deflate"},
		{"br", ""},
		{"br, gzip", ""}, // the most preferred coding is not one API Gateway has
		{"br;q=1.0, gzip;q=0.8", ""},
		{"br;q=0.5, gzip;q=0.8", "gzip"},
		{"gzip;q=0, deflate", "deflate"},
		{"identity", ""},
		{"identity, gzip", ""},
		{"gzip;q=0.2, identity;q=0.5", ""},
		{"x-gzip", "gzip"},
		{"gzip;q=nonsense, deflate;q=0.1", "deflate"},
	}
	for _, c := range cases {
		if got := Negotiate([]string{c.in}); got != c.want {
			t.Errorf("Negotiate(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func deployed(protocol string, minSize *int) *pipeline.Deployed {
	a := &apis.API{ID: "abcdefghij", Name: "c", Protocol: protocol}
	a.MinimumCompressionSize = minSize
	return &pipeline.Deployed{API: a, Stage: &apis.Stage{Name: "prod"}}
}

func intp(n int) *int { return &n }

func TestCompileOnlyForRESTWithASize(t *testing.T) {
	s := New()
	for _, d := range []*pipeline.Deployed{deployed(apis.ProtocolREST, nil), deployed(apis.ProtocolHTTP, intp(0))} {
		if mw, err := s.Compile(d); mw != nil || err != nil {
			t.Fatalf("%s API, size %v: middleware %v, %v; want none", d.API.Protocol, d.API.MinimumCompressionSize, mw != nil, err)
		}
	}
}

// serve runs one request through the stage (minimumCompressionSize minSize)
// in front of a handler that answers status, headers and body and records
// the request body it saw.
func serve(t *testing.T, minSize int, integration string, req *http.Request, status int, header http.Header, body string) (*httptest.ResponseRecorder, string, error) {
	t.Helper()
	mw, err := New().Compile(deployed(apis.ProtocolREST, &minSize))
	if err != nil || mw == nil {
		t.Fatalf("compile: %v", err)
	}
	var seen string
	h := mw(pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		seen = string(b)
		for k, v := range header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body[:len(body)/2])
		http.NewResponseController(w).Flush() //nolint:errcheck // held, not sent
		_, _ = io.WriteString(w, body[len(body)/2:])
		return nil
	}))
	c := &pipeline.Context{Route: &apis.Route{Method: http.MethodPost, Path: "/p", Integration: &apis.Integration{Type: integration}}}
	rec := httptest.NewRecorder()
	err = h.ServeRequest(rec, req, c)
	return rec, seen, err
}

func gunzip(t *testing.T, b []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestResponses(t *testing.T) {
	big := strings.Repeat("compressible ", 100)
	get := func(ae string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/p", nil)
		if ae != "" {
			r.Header.Set("Accept-Encoding", ae)
		}
		return r
	}
	t.Run("gzip at or over the size", func(t *testing.T) {
		rec, _, err := serve(t, len(big), apis.IntegrationAWSProxy, get("gzip"), 201, nil, big)
		if err != nil || rec.Code != 201 || rec.Header().Get("Content-Encoding") != "gzip" || rec.Header().Get("Vary") != "Accept-Encoding" {
			t.Fatalf("%v %d %v", err, rec.Code, rec.Header())
		}
		if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(rec.Body.Len()) || rec.Body.Len() >= len(big) {
			t.Fatalf("Content-Length %s for %d compressed bytes (of %d)", cl, rec.Body.Len(), len(big))
		}
		if got := gunzip(t, rec.Body.Bytes()); got != big {
			t.Fatalf("decompressed %q", got)
		}
	})
	t.Run("deflate", func(t *testing.T) {
		rec, _, _ := serve(t, 0, apis.IntegrationMock, get("deflate"), 200, nil, big)
		zr, err := zlib.NewReader(rec.Body)
		if err != nil || rec.Header().Get("Content-Encoding") != "deflate" {
			t.Fatalf("%v %v", err, rec.Header())
		}
		if out, _ := io.ReadAll(zr); string(out) != big {
			t.Fatalf("inflated %q", out)
		}
	})
	for _, c := range []struct {
		name, ae string
		minSize  int
		header   http.Header
	}{
		{"under the size", "gzip", len(big) + 1, nil},
		{"no Accept-Encoding", "", 0, nil},
		{"Accept-Encoding *", "*", 0, nil},
		{"preferred coding unsupported", "br, gzip", 0, nil},
		{"already encoded", "gzip", 0, http.Header{"Content-Encoding": {"br"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec, _, err := serve(t, c.minSize, apis.IntegrationMock, get(c.ae), 200, c.header, big)
			if err != nil || rec.Body.String() != big || rec.Header().Get("Content-Length") != strconv.Itoa(len(big)) {
				t.Fatalf("%v: body %d bytes, headers %v; want it as the integration wrote it", err, rec.Body.Len(), rec.Header())
			}
			if ce := rec.Header().Get("Content-Encoding"); ce != c.header.Get("Content-Encoding") {
				t.Fatalf("Content-Encoding %q", ce)
			}
		})
	}
}

func gz(s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return b.Bytes()
}

func TestRequests(t *testing.T) {
	post := func(ce string, body []byte) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/p", bytes.NewReader(body))
		r.Header.Set("Content-Encoding", ce)
		return r
	}
	var zl bytes.Buffer
	zw := zlib.NewWriter(&zl)
	_, _ = zw.Write([]byte(`{"x":2}`))
	_ = zw.Close()
	for _, c := range []struct {
		name, ce    string
		body        []byte
		integration string
		want        string // what the integration sees
		refused     bool   // 415 Unsupported Media Type instead
	}{
		{name: "gzip", ce: "gzip", body: gz(`{"x":1}`), integration: apis.IntegrationHTTP, want: `{"x":1}`},
		{name: "deflate", ce: "deflate", body: zl.Bytes(), integration: apis.IntegrationAWS, want: `{"x":2}`},
		{name: "identity", ce: "identity", body: []byte(`{"x":3}`), integration: apis.IntegrationMock, want: `{"x":3}`},
		{name: "no body", ce: "gzip", integration: apis.IntegrationHTTP, want: ""},
		{name: "not gzip", ce: "gzip", body: []byte(`{"x":1}`), integration: apis.IntegrationHTTP, refused: true},
		{name: "truncated gzip", ce: "gzip", body: gz(`{"x":1}`)[:12], integration: apis.IntegrationHTTP, refused: true},
		{name: "unsupported coding", ce: "br", body: []byte("xx"), integration: apis.IntegrationHTTP, refused: true},
		{name: "proxy gets it as sent", ce: "gzip", body: gz(`{"x":1}`), integration: apis.IntegrationAWSProxy, want: string(gz(`{"x":1}`))},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := post(c.ce, c.body)
			_, seen, err := serve(t, 0, c.integration, req, 200, nil, "ok")
			if c.refused {
				pe, ok := pipeline.AsError(err)
				if !ok || pe.Type != pipeline.UnsupportedMediaType {
					t.Fatalf("err %v, want 415 Unsupported Media Type", err)
				}
				return
			}
			if err != nil || seen != c.want {
				t.Fatalf("integration saw %q (%v), want %q", seen, err, c.want)
			}
			proxy := c.integration == apis.IntegrationAWSProxy
			if (req.Header.Get("Content-Encoding") != "") != proxy {
				t.Fatalf("Content-Encoding after the stage: %q", req.Header.Get("Content-Encoding"))
			}
		})
	}
	t.Run("inflating past the limit", func(t *testing.T) {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		_, _ = zw.Write(make([]byte, MaxDecompressed+1))
		_ = zw.Close()
		_, _, err := serve(t, 0, apis.IntegrationHTTP, post("gzip", b.Bytes()), 200, nil, "ok")
		if pe, ok := pipeline.AsError(err); !ok || pe.Type != pipeline.RequestTooLarge {
			t.Fatalf("err %v, want 413", err)
		}
	})
}

// TestInflatingPastTheBodyLimitHoldsLittle: a small gzip body (a few KB) that
// inflates past the gateway's request body limit (pipeline.Deployed.BodyLimit,
// lower than MaxDecompressed here) is 413 RequestTooLarge, found as it
// inflates: the stage allocates a bounded few hundred KB, not the 8 MB the
// body inflates to, and the integration never runs.
func TestInflatingPastTheBodyLimitHoldsLittle(t *testing.T) {
	const limit, inflated = 64 << 10, 8 << 20
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	_, _ = zw.Write(make([]byte, inflated))
	_ = zw.Close()
	mw, err := New().Compile(deployed(apis.ProtocolREST, intp(0)))
	if err != nil || mw == nil {
		t.Fatalf("compile: %v", err)
	}
	h := mw(pipeline.HandlerFunc(func(http.ResponseWriter, *http.Request, *pipeline.Context) error {
		t.Error("the integration ran")
		return nil
	}))
	req := httptest.NewRequest(http.MethodPost, "/p", bytes.NewReader(b.Bytes()))
	req.Header.Set("Content-Encoding", "gzip")
	c := &pipeline.Context{Route: &apis.Route{Method: http.MethodPost, Path: "/p", Integration: &apis.Integration{Type: apis.IntegrationHTTP}},
		Deployed: &pipeline.Deployed{BodyLimit: limit}}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err = h.ServeRequest(httptest.NewRecorder(), req, c)
	runtime.ReadMemStats(&after)
	if pe, ok := pipeline.AsError(err); !ok || pe.Type != pipeline.RequestTooLarge {
		t.Fatalf("err %v, want 413 RequestTooLarge", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("allocated %d bytes for a %d-byte body held to %d", n, b.Len(), limit)
	}
}

// noBodyWriter refuses any body write to a 204 or 304, as h2's and
// net/http's writers do (http.ErrBodyNotAllowed).
type noBodyWriter struct {
	*httptest.ResponseRecorder
	status int
}

func (w *noBodyWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseRecorder.WriteHeader(status)
}

func (w *noBodyWriter) Write(b []byte) (int, error) {
	if w.status == http.StatusNoContent || w.status == http.StatusNotModified {
		return 0, http.ErrBodyNotAllowed
	}
	return w.ResponseRecorder.Write(b)
}

// TestNoBodyStatusesPassThrough: a 204 or 304 answered to a client that
// accepts gzip, with or without a body from the integration, keeps its status
// and is no error (an error made the gateway log and count a 500 for a
// response the client got as a 204).
func TestNoBodyStatusesPassThrough(t *testing.T) {
	mw, err := New().Compile(deployed(apis.ProtocolREST, intp(0)))
	if err != nil {
		t.Fatal(err)
	}
	for _, status := range []int{http.StatusNoContent, http.StatusNotModified} {
		for _, body := range []string{"", "shouldnotappear"} {
			h := mw(pipeline.HandlerFunc(func(w http.ResponseWriter, _ *http.Request, _ *pipeline.Context) error {
				w.WriteHeader(status)
				_, _ = io.WriteString(w, body)
				return nil
			}))
			r := httptest.NewRequest(http.MethodGet, "/p", nil)
			r.Header.Set("Accept-Encoding", "gzip")
			w := &noBodyWriter{ResponseRecorder: httptest.NewRecorder()}
			c := &pipeline.Context{Route: &apis.Route{Method: http.MethodGet, Path: "/p", Integration: &apis.Integration{Type: apis.IntegrationAWSProxy}}}
			if err := h.ServeRequest(w, r, c); err != nil || w.Code != status || w.Body.Len() != 0 || w.Header().Get("Content-Encoding") != "" {
				t.Errorf("%d with body %q: %v, %d %q %v", status, body, err, w.Code, w.Body, w.Header())
			}
		}
	}
}

// TestHeadAndVary: HEAD gets the head GET would (compressed, the compressed
// length), and every answer of a compressing API names Accept-Encoding in
// Vary, compressed or not, so that a shared cache keeps the variants apart.
func TestHeadAndVary(t *testing.T) {
	big := strings.Repeat("compressible ", 100)
	req := func(method, ae string) *http.Request {
		r := httptest.NewRequest(method, "/p", nil)
		if ae != "" {
			r.Header.Set("Accept-Encoding", ae)
		}
		return r
	}
	get, _, _ := serve(t, 0, apis.IntegrationAWSProxy, req(http.MethodGet, "gzip"), 200, nil, big)
	head, _, err := serve(t, 0, apis.IntegrationAWSProxy, req(http.MethodHead, "gzip"), 200, nil, big)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Content-Encoding", "Content-Length", "Vary"} {
		if g, h := get.Header().Get(name), head.Header().Get(name); g != h || g == "" {
			t.Errorf("%s: GET %q, HEAD %q", name, g, h)
		}
	}
	for _, ae := range []string{"", "identity", "br"} {
		rec, _, _ := serve(t, 0, apis.IntegrationAWSProxy, req(http.MethodGet, ae), 200, http.Header{"Vary": {"Origin"}}, big)
		if v := rec.Header().Values("Vary"); strings.Join(v, ",") != "Origin,Accept-Encoding" || rec.Body.String() != big {
			t.Errorf("Accept-Encoding %q: Vary %q, body %d bytes", ae, v, rec.Body.Len())
		}
	}
	rec, _, _ := serve(t, len(big)+1, apis.IntegrationAWSProxy, req(http.MethodGet, "gzip"), 200, http.Header{"Vary": {"accept-encoding"}}, big)
	if v := rec.Header().Values("Vary"); len(v) != 1 || rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("under the size: Vary %q, %v", v, rec.Header())
	}
}
