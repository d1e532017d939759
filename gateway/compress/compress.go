// Package compress is the payload compression stage of the gateway's pipeline
// for REST APIs with a minimumCompressionSize
// (x-amazon-apigateway-minimum-compression-size), as API Gateway does it:
//
//   - A response is compressed when the client's Accept-Encoding names gzip
//     or deflate as its most preferred coding (a missing header, "*" or
//     "identity" leaves it alone), the response has no Content-Encoding of its
//     own (it is taken as already encoded) and its body, after the response
//     mapping, is at least minimumCompressionSize bytes. A non-proxy HTTP
//     integration's response counts as encoded when its backend's answer
//     had a Content-Encoding (pipeline.Context.ResponseEncoded), mapped to
//     the method response or not. Content-Encoding is
//     set and Content-Length is the compressed length; a HEAD request gets
//     the head GET would. Every answer of such an API names Accept-Encoding
//     in Vary, compressed or not. Proxy integrations' responses are
//     compressed too.
//   - A request body with Content-Encoding gzip, deflate or identity is
//     decompressed before validation and the request mapping templates; a
//     coding API Gateway does not support, or a body that is not what its
//     coding says, is 415 Unsupported Media Type. Proxy integrations
//     (AWS_PROXY, HTTP_PROXY) have no mapping templates: their requests pass
//     as sent, Content-Encoding included, for the backend to decode.
//
// The stage runs after the authorizers (a SigV4 signature covers the body as
// sent) and before validation and the cache (entries are kept uncompressed
// and compressed per client). Gateway error responses are not compressed.
package compress

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
)

// MaxDecompressed bounds a decompressed request body: API Gateway's payload
// limit (10 MB), or the gateway's request body limit when that is lower
// (pipeline.Deployed.BodyLimit). A body that inflates past it is 413, found
// as it inflates: what is held of it stays within the bound.
const MaxDecompressed = 10 << 20

// Codings API Gateway supports.
const (
	codingGzip     = "gzip"
	codingDeflate  = "deflate"
	codingIdentity = "identity"
)

// Stage compresses and decompresses payloads. It holds only pools of
// compressors; safe for concurrent use.
type Stage struct {
	gzips sync.Pool // *gzip.Writer
}

// New returns the compression stage.
func New() *Stage { return &Stage{} }

var _ pipeline.Stage = (*Stage)(nil)

// Name implements pipeline.Stage.
func (*Stage) Name() string { return "compress" }

// Order implements pipeline.Stage.
func (*Stage) Order() int { return pipeline.OrderCompress }

// Compile implements pipeline.Stage: nil unless the deployment is a REST API
// with a minimumCompressionSize.
func (s *Stage) Compile(d *pipeline.Deployed) (pipeline.Middleware, error) {
	if d.API == nil || d.API.Protocol != apis.ProtocolREST || d.API.MinimumCompressionSize == nil {
		return nil, nil
	}
	minSize := *d.API.MinimumCompressionSize
	return func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			if r.Header.Get("Content-Encoding") != "" && !proxied(c.Route) {
				if err := decodeRequest(r, c); err != nil {
					return err
				}
			}
			coding := Negotiate(r.Header.Values("Accept-Encoding"))
			if coding == "" {
				// Not compressed for this client, but for others: a
				// shared cache must know (Vary).
				return next.ServeRequest(&varyWriter{ResponseWriter: w}, r, c)
			}
			cw := &writer{ResponseWriter: w, s: s, c: c, coding: coding, min: minSize, head: r.Method == http.MethodHead}
			err := next.ServeRequest(cw, r, c)
			if ferr := cw.finish(); err == nil {
				err = ferr
			}
			return err
		})
	}, nil
}

// proxied reports whether the route's integration is a proxy (AWS_PROXY,
// HTTP_PROXY), which gets the request as sent.
func proxied(rt *apis.Route) bool {
	if rt == nil || rt.Integration == nil {
		return false
	}
	t := rt.Integration.Type
	return t == apis.IntegrationAWSProxy || t == apis.IntegrationHTTPProxy
}

// decodeRequest replaces r's body (and what c.ReadBody returns) with its
// decoding, and drops Content-Encoding.
func decodeRequest(r *http.Request, c *pipeline.Context) error {
	ce := r.Header.Get("Content-Encoding")
	body, err := c.ReadBody(r)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		// Nothing was encoded: the header alone changes nothing.
		r.Header.Del("Content-Encoding")
		return nil
	}
	limit := int64(MaxDecompressed)
	if d := c.Deployed; d != nil && d.BodyLimit > 0 && d.BodyLimit < limit {
		limit = d.BodyLimit
	}
	// Codings apply in the order listed; undo them last first.
	codings := strings.Split(ce, ",")
	for i := len(codings) - 1; i >= 0; i-- {
		coding := strings.ToLower(strings.TrimSpace(codings[i]))
		if body, err = decode(coding, body, limit); err != nil {
			var pe *pipeline.Error
			if errors.As(err, &pe) {
				return err
			}
			return pipeline.Errorf(pipeline.UnsupportedMediaType, "request body with Content-Encoding %q: %w", truncate(ce, 64), err)
		}
	}
	c.SetBody(body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Del("Content-Encoding")
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// decode undoes one content coding, to at most limit bytes (past them:
// RequestTooLarge). deflate is the zlib format (RFC 9110); a raw DEFLATE
// stream, which some clients send instead, is taken too.
func decode(coding string, body []byte, limit int64) ([]byte, error) {
	var rd io.Reader
	switch coding {
	case codingIdentity, "":
		return body, nil
	case codingGzip, "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		rd = zr
	case codingDeflate:
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			zr = flate.NewReader(bytes.NewReader(body))
		}
		rd = zr
	default:
		return nil, fmt.Errorf("coding %q is not supported (gzip, deflate, identity)", truncate(coding, 32))
	}
	out, err := io.ReadAll(io.LimitReader(rd, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > limit {
		return nil, pipeline.Errorf(pipeline.RequestTooLarge, "request body inflates past %d bytes", limit)
	}
	return out, nil
}

// Negotiate returns the coding to compress a response with for a request's
// Accept-Encoding values: gzip or deflate when it is the most preferred
// coding (highest q; the first listed among equals), "" otherwise (no header,
// "*", identity, or a preferred coding API Gateway does not support).
func Negotiate(values []string) string {
	best, bestQ := "", 0.0
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "" {
				continue
			}
			q := 1.0
			for p := range strings.SplitSeq(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
					if err != nil {
						f = 0
					}
					q = f
				}
			}
			if q > bestQ {
				best, bestQ = name, q
			}
		}
	}
	switch best {
	case codingGzip, "x-gzip":
		return codingGzip
	case codingDeflate:
		return codingDeflate
	}
	return ""
}

// writer holds a response until it is complete, then writes it compressed
// when it qualifies. Flush keeps holding: API Gateway's REST responses are
// not streamed.
type writer struct {
	http.ResponseWriter
	s      *Stage
	c      *pipeline.Context // its ResponseEncoded is read in finish
	coding string
	min    int
	head   bool // the request is a HEAD

	status int
	buf    bytes.Buffer
	done   bool
}

// WriteHeader records the status; the headers go out in finish.
func (w *writer) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

// Write holds b.
func (w *writer) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.buf.Write(b)
}

// Flush holds the response: it is sent whole, by finish.
func (*writer) Flush() {}

// Unwrap lets http.ResponseController reach the connection's writer for
// deadlines.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish writes the held response, compressed when it qualifies.
func (w *writer) finish() error {
	if w.done {
		return nil
	}
	w.done = true
	if w.status == 0 {
		return nil // nothing was written: the error goes to the responses stage
	}
	h := w.Header()
	body := w.buf.Bytes()
	addVary(h)
	if !bodyAllowed(w.status) {
		// A 1xx, 204 or 304 has no body: whatever the integration wrote
		// is dropped, and the status passes as it is.
		w.ResponseWriter.WriteHeader(w.status)
		return nil
	}
	// A HEAD answer whose integration wrote the body GET would have is
	// compressed as GET's, for the same head (RFC 9110 9.3.2); its body is
	// not sent. One without a body (an HTTP_PROXY backend's HEAD) carries
	// the Content-Encoding GET's would when the Content-Length it declares
	// is over the minimum, and no Content-Length, since the compressed
	// length is known only by compressing the body; with no Content-Length
	// it keeps the integration's head.
	// A non-proxy HTTP integration whose backend answered with a
	// Content-Encoding is taken as compressed already, whether or not the
	// method response maps the header: API Gateway decides by the
	// integration response's headers.
	encoded := h.Get("Content-Encoding") != "" || w.c.ResponseEncoded
	if len(body) == 0 && w.head && !encoded {
		if n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil && n > 0 && n >= int64(w.min) {
			h.Set("Content-Encoding", w.coding)
			h.Del("Content-Length")
		}
	}
	if len(body) == 0 || len(body) < w.min || encoded {
		w.ResponseWriter.WriteHeader(w.status)
		_, err := w.ResponseWriter.Write(body)
		return err
	}
	var out bytes.Buffer
	out.Grow(len(body) / 2)
	if err := w.s.compress(&out, w.coding, body); err != nil {
		return fmt.Errorf("compressing the response (%s): %w", w.coding, err)
	}
	h.Set("Content-Encoding", w.coding)
	h.Set("Content-Length", strconv.Itoa(out.Len()))
	w.ResponseWriter.WriteHeader(w.status)
	_, err := w.ResponseWriter.Write(out.Bytes())
	return err
}

// addVary adds Accept-Encoding to h's Vary unless it is named there already
// (or Vary is "*").
func addVary(h http.Header) {
	for _, v := range h.Values("Vary") {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name == "*" || strings.EqualFold(name, "Accept-Encoding") {
				return
			}
		}
	}
	h.Add("Vary", "Accept-Encoding")
}

// varyWriter passes a response through as it is written, with
// Accept-Encoding added to its Vary: the answer of a compressing API to a
// client that did not ask for compression.
type varyWriter struct {
	http.ResponseWriter
	varied bool
}

func (w *varyWriter) vary() {
	if !w.varied {
		w.varied = true
		addVary(w.Header())
	}
}

// WriteHeader implements http.ResponseWriter.
func (w *varyWriter) WriteHeader(status int) {
	w.vary()
	w.ResponseWriter.WriteHeader(status)
}

// Write implements http.ResponseWriter.
func (w *varyWriter) Write(b []byte) (int, error) {
	w.vary()
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher.
func (w *varyWriter) Flush() {
	w.vary()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *varyWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// PassesThrough implements pipeline.PassThrough: it adds a header when the
// status is written, and holds nothing back.
func (w *varyWriter) PassesThrough() http.ResponseWriter { return w.ResponseWriter }

var _ pipeline.PassThrough = (*varyWriter)(nil)

// compress writes body compressed with coding to out.
func (s *Stage) compress(out *bytes.Buffer, coding string, body []byte) error {
	if coding == codingDeflate {
		zw := zlib.NewWriter(out)
		if _, err := zw.Write(body); err != nil {
			return err
		}
		return zw.Close()
	}
	zw, ok := s.gzips.Get().(*gzip.Writer)
	if ok {
		zw.Reset(out)
	} else {
		zw = gzip.NewWriter(out)
	}
	defer s.gzips.Put(zw)
	if _, err := zw.Write(body); err != nil {
		return err
	}
	return zw.Close()
}

// bodyAllowed reports whether a response with status has a body.
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Module provides the stage to the gateway's pipeline.
var Module = fx.Module("compress",
	fx.Provide(pipeline.AsStage(New)),
)
