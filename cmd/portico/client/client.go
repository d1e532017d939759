// Package client is a small client of Portico's admin API (the Lambda API subset and
// Portico's own routes), used by the portico CLI and by `portico dev`.
package client

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/portico-dev/portico/internal/clock"
	"github.com/portico-dev/portico/internal/redact"
)

// Client calls one admin API endpoint. Safe for concurrent use.
type Client struct {
	Endpoint string // e.g. http://127.0.0.1:9090
	Token    string // sent as a bearer token when set
	HTTP     *http.Client
	// Progress, when set, is told how much of each request body has been
	// sent (sent of total bytes) as the transport reads it, from the
	// goroutine that writes the request; last once all is sent.
	Progress func(sent, total int64)
	// Wait bounds how long a call goes without progress: connecting and
	// sending while the server takes none of the body, then waiting for the
	// answer's headers once all of it was sent (an upload that moves on is
	// never cut); then the call fails with a *NoAnswerError. 0 is
	// DefaultWait, negative no bound.
	Wait time.Duration
	// Waiting, when set, is told each time a call has waited another
	// SlowAfter for its answer, with how long it has waited so far.
	Waiting func(method, path string, waited time.Duration)
	// SlowAfter is how often Waiting is told (0: DefaultSlowAfter).
	SlowAfter time.Duration
	// Clock times the waits (nil: the wall clock); tests move a fake one.
	Clock clock.Clock
}

// New returns a client of the admin API at endpoint. Connecting is bounded by
// DialTimeout, and each call's wait for its answer by DefaultWait.
func New(endpoint, token string) *Client {
	return &Client{Endpoint: strings.TrimRight(endpoint, "/"), Token: token, HTTP: newHTTPClient()}
}

// ShownEndpoint returns Endpoint as messages name it: its password and query
// values masked (redact.URL), as the server's logs name a backend's URL.
func (c *Client) ShownEndpoint() string { return redact.URL(c.Endpoint) }

// APIError is an error answer of the admin API, in AWS's shape.
type APIError struct {
	Status  int
	Type    string // x-amzn-ErrorType, e.g. ResourceNotFoundException
	Message string
	Reason  string
}

func (e *APIError) Error() string {
	msg := e.Message
	if e.Type != "" {
		msg = e.Type + ": " + msg
	}
	msg = withVerbs(msg)
	switch e.Status {
	case http.StatusNotFound:
		if e.Type == "NotFoundException" && e.Message == "Not Found" {
			// The gateway's answer for a path no API stage serves: the
			// admin API names what it did not find.
			msg += " (that is the gateway's answer, not the admin API's: " + endpointHint + ")"
		}
	case http.StatusBadRequest:
		if strings.HasPrefix(e.Message, "Client sent an HTTP request to an HTTPS server") {
			// Go's TLS server's answer to plain HTTP: the gateway's TLS
			// listener (the admin API listens on plain HTTP).
			msg += " (that is a TLS listener, likely the gateway's --tls-listen, not the admin API: " + endpointHint + ")"
		}
	case http.StatusUnauthorized, http.StatusForbidden:
		// The admin API's own refusal already says how to pass the token.
		if !strings.Contains(e.Message, "PORTICO_TOKEN") {
			msg += " (pass the admin token with --token-file FILE or PORTICO_TOKEN)"
		}
	case http.StatusTooManyRequests:
		if e.Reason != "" {
			msg += " (" + e.Reason + ")"
		}
	}
	return msg
}

// verbs are the CLI commands of the Lambda operations that the admin API's
// messages tell the caller to use ("use DeleteAlias"), which the AWS SDKs and
// CLI call by those names.
var verbs = map[string]string{
	"DeleteAlias":                 "portico alias delete FUNCTION ALIAS",
	"CreateAlias":                 "portico alias set",
	"UpdateAlias":                 "portico alias set",
	"DeleteFunction":              "portico fn delete",
	"PublishVersion":              "portico fn publish",
	"UpdateFunctionCode":          "portico fn update --zip/--dir/--image",
	"UpdateFunctionConfiguration": "portico fn update",
	"Invoke":                      "portico invoke",
}

// withVerbs adds to msg, after each "use OPERATION" it holds, the portico
// command that does it.
func withVerbs(msg string) string {
	for op, verb := range verbs {
		use := "use " + op
		i := strings.Index(msg, use)
		if i < 0 {
			continue
		}
		end := i + len(use)
		if end < len(msg) && (msg[end] >= 'a' && msg[end] <= 'z' || msg[end] >= 'A' && msg[end] <= 'Z') {
			continue // a longer name
		}
		msg = msg[:end] + " (`" + verb + "`)" + msg[end:]
	}
	return msg
}

// endpointHint says what --endpoint should name, for an answer that came
// from the gateway.
const endpointHint = "--endpoint (PORTICO_ENDPOINT) should name the admin listener, portico serve's --admin-listen, default http://127.0.0.1:9090"

// untrustedHint says, of an https endpoint whose certificate the CLI does not
// trust, what it likely is (the gateway's TLS listener: the admin API listens
// on plain HTTP) and how to trust a CA of one's own in front of the admin API.
const untrustedHint = " (if that is the gateway's TLS listener (--tls-listen), that is the gateway's answer, not the admin API's: " + endpointHint +
	"; if the admin API is behind a TLS proxy whose CA is your own, trust that CA: SSL_CERT_FILE=ca.pem portico ...)"

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// IsConflict reports whether err is a 409 answer.
func IsConflict(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == http.StatusConflict
}

// IsPreconditionFailed reports whether err is a 412 answer: a RevisionId
// (or CodeSha256) precondition that no longer holds.
func IsPreconditionFailed(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == http.StatusPreconditionFailed
}

// IsUnreachable reports whether err is a request that reached no server:
// the connection was refused, or reset or cut off before an answer (a server
// stopping or restarting), or the gateway before it answered 502, 503 or 504.
// Such a read may be tried again.
func IsUnreachable(err error) bool {
	var e *APIError
	if errors.As(err, &e) {
		return e.Status == http.StatusBadGateway || e.Status == http.StatusServiceUnavailable || e.Status == http.StatusGatewayTimeout
	}
	var u *unreachableError
	return errors.As(err, &u) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// unreachableError is a connection the admin API refused.
type unreachableError struct{ endpoint string }

func (e *unreachableError) Error() string {
	return fmt.Sprintf("cannot reach the admin API at %s: is `portico serve` running? (or set --endpoint / PORTICO_ENDPOINT)", e.endpoint)
}

// Response is a successful answer: its status, headers and body.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends one request; body, when not nil, is sent as JSON (or as is when it is
// []byte). A non-2xx answer is an *APIError.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body any, header http.Header) (*Response, error) {
	resp, err := c.send(ctx, method, path, query, body, header)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, decodeError(resp, data)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// Stream sends a GET and returns the open body of a successful answer.
func (c *Client) Stream(ctx context.Context, path string, query url.Values) (io.ReadCloser, error) {
	resp, err := c.send(ctx, http.MethodGet, path, query, nil, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer func() { _ = resp.Body.Close() }()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, decodeError(resp, data)
	}
	return resp.Body, nil
}

func (c *Client) send(ctx context.Context, method, path string, query url.Values, body any, header http.Header) (*http.Response, error) {
	u := c.Endpoint + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	size := 0
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, size = bytes.NewReader(b), len(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd, size = bytes.NewReader(raw), len(raw)
	}
	wait := c.Wait
	if wait == 0 {
		wait = DefaultWait
		if size > uploadBody {
			// A large body is code or a document the server unpacks
			// and stores before it answers (portico deploy's and dev's
			// functions, api import): as long a wait as fn create's.
			wait = UploadWait
		}
	}
	if wait > 0 && wait < MinWait {
		wait = MinWait
	}
	ctx, cancel := context.WithCancelCause(ctx)
	w := &waiter{c: c, cancel: cancel, cause: &NoAnswerError{Endpoint: c.ShownEndpoint(), Method: method, Path: path, Wait: wait}}
	w.progress()
	resp, err := c.sendWaiting(ctx, w, method, u, rd, header)
	w.stop()
	if err != nil {
		cancel(nil)
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// sendWaiting sends the request of send, with w bounding the wait for its
// answer.
func (c *Client) sendWaiting(ctx context.Context, w *waiter, method, u string, rd io.Reader, header http.Header) (*http.Response, error) {
	// What errors name: the endpoint as the server's logs name a backend's
	// URL, its password and query values masked (redact.URL), for a
	// reverse proxy's credentials in --endpoint must not reach a terminal or
	// a CI log.
	endpoint := c.ShownEndpoint()
	shown := endpoint + strings.TrimPrefix(u, c.Endpoint)
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err // it quotes the URL whole
		}
		return nil, fmt.Errorf("endpoint %q: %w (set --endpoint or PORTICO_ENDPOINT to the admin API, e.g. http://127.0.0.1:9090)", endpoint, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if rd != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if req.Body != nil && req.ContentLength != 0 {
		req.Body = &sentBody{ReadCloser: req.Body, total: req.ContentLength, report: c.Progress, w: w}
	} else {
		w.sent()
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		var late *NoAnswerError
		if errors.As(context.Cause(ctx), &late) {
			return nil, late
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil, &unreachableError{endpoint: endpoint}
		}
		if ue, ok := err.(*url.Error); ok { //nolint:errorlint // http.Client's own, unwrapped
			err = &url.Error{Op: ue.Op, URL: shown, Err: ue.Err}
		}
		if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
			return nil, fmt.Errorf("%s %s: %w%s", method, shown, err, untrustedHint)
		}
		if errors.Is(err, http.ErrSchemeMismatch) {
			return nil, fmt.Errorf("%s %s: %w (it answers plain HTTP, as the admin API does: use http:// in --endpoint (PORTICO_ENDPOINT); for TLS, put a TLS proxy in front of the admin API)", method, shown, err)
		}
		return nil, fmt.Errorf("%s %s: %w", method, shown, err)
	}
	return resp, nil
}

func decodeError(resp *http.Response, data []byte) error {
	e := &APIError{Status: resp.StatusCode, Type: resp.Header.Get("X-Amzn-ErrorType")}
	var body struct {
		Message  string `json:"message"`
		Message2 string `json:"Message"`
		Reason   string `json:"Reason"`
	}
	if json.Unmarshal(data, &body) == nil {
		e.Message, e.Reason = body.Message, body.Reason
		if e.Message == "" {
			e.Message = body.Message2
		}
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(data))
	}
	if e.Message == "" {
		e.Message = resp.Status
	}
	return e
}

// FunctionPath returns the Lambda API path of a function (name may be NAME:QUALIFIER
// or an ARN) with the given suffix, e.g. "/versions".
func FunctionPath(name, suffix string) string {
	return "/2015-03-31/functions/" + url.PathEscape(name) + suffix
}

// FunctionConfiguration is the part of Lambda's FunctionConfiguration the CLI shows.
type FunctionConfiguration struct {
	FunctionName string `json:"FunctionName"`
	FunctionArn  string `json:"FunctionArn"`
	Version      string `json:"Version"`
	Description  string `json:"Description"`
	PackageType  string `json:"PackageType"`
	Runtime      string `json:"Runtime"`
	Handler      string `json:"Handler"`
	CodeSha256   string `json:"CodeSha256"`
	CodeSize     int64  `json:"CodeSize"`
	Timeout      int    `json:"Timeout"`
	MemorySize   int    `json:"MemorySize"`
	LastModified string `json:"LastModified"`
	RevisionID   string `json:"RevisionId"`
	State        string `json:"State"`
	Environment  *struct {
		Variables map[string]string `json:"Variables"`
	} `json:"Environment"`
}

// A Zip package made by the CLI (a directory or an archive with a bootstrap at
// its root) is a custom-runtime function: Lambda's CreateFunction requires a
// Runtime and a Handler of a Zip package, and these are what Lambda's own
// tools give a bootstrap package.
const (
	// ZipRuntime is the Runtime the CLI creates Zip functions with.
	ZipRuntime = "provided.al2023"
	// ZipHandler is their Handler (passed to the bootstrap as _HANDLER).
	ZipHandler = "bootstrap"
)

// Alias is Lambda's AliasConfiguration.
type Alias struct {
	AliasArn        string `json:"AliasArn"`
	Name            string `json:"Name"`
	FunctionVersion string `json:"FunctionVersion"`
	Description     string `json:"Description"`
	RoutingConfig   *struct {
		AdditionalVersionWeights map[string]float64 `json:"AdditionalVersionWeights"`
	} `json:"RoutingConfig"`
	RevisionID string `json:"RevisionId"`
}

// CreateFunction creates a function from a Lambda CreateFunction document.
func (c *Client) CreateFunction(ctx context.Context, in map[string]any) (*FunctionConfiguration, *Response, error) {
	return decodeConfig(c.Do(ctx, http.MethodPost, "/2015-03-31/functions", nil, in, nil))
}

// GetFunctionConfiguration returns a function's (qualified) configuration.
func (c *Client) GetFunctionConfiguration(ctx context.Context, name string) (*FunctionConfiguration, *Response, error) {
	return decodeConfig(c.Do(ctx, http.MethodGet, FunctionPath(name, "/configuration"), nil, nil, nil))
}

// CodeSha256 is Lambda's CodeSha256 of the Zip package zipFile: its base64
// SHA-256, what FunctionConfiguration.CodeSha256 holds once it is deployed.
func CodeSha256(zipFile []byte) string {
	sum := sha256.Sum256(zipFile)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// UpdateFunctionCode replaces $LATEST's code (ZipFile bytes or ImageUri).
func (c *Client) UpdateFunctionCode(ctx context.Context, name string, zipFile []byte, imageURI string) (*FunctionConfiguration, *Response, error) {
	return c.UpdateFunctionCodeIf(ctx, name, zipFile, imageURI, "")
}

// UpdateFunctionCodeIf is UpdateFunctionCode only while $LATEST's RevisionId
// is revisionID ("": whatever it is): another is a 412
// PreconditionFailedException, and changes nothing.
func (c *Client) UpdateFunctionCodeIf(ctx context.Context, name string, zipFile []byte, imageURI, revisionID string) (*FunctionConfiguration, *Response, error) {
	in := map[string]any{}
	if revisionID != "" {
		in["RevisionId"] = revisionID
	}
	if zipFile != nil {
		in["ZipFile"] = zipFile // encoding/json: base64, as Lambda reads it
	}
	if imageURI != "" {
		in["ImageUri"] = imageURI
	}
	return decodeConfig(c.Do(ctx, http.MethodPut, FunctionPath(name, "/code"), nil, in, nil))
}

// ImageResolution is what the server's runtime resolves an image reference
// to now (POST /portico/v1/images/resolve).
type ImageResolution struct {
	Runtime  string `json:"Runtime"`
	ImageURI string `json:"ImageUri"`
	// ResolvedImage is the image id the reference names now; CodeSha256 its
	// digest, as a function pinned to it reports it.
	ResolvedImage string `json:"ResolvedImage"`
	CodeSha256    string `json:"CodeSha256"`
}

// ResolveImage asks the server's runtime which image id imageURI names now,
// as UpdateFunctionCode would pin it, changing no function.
func (c *Client) ResolveImage(ctx context.Context, imageURI string) (*ImageResolution, error) {
	return c.resolveImage(ctx, map[string]any{"ImageUri": imageURI})
}

// ResolveLocalImage is ResolveImage from the images on the server's host
// alone: the server pulls none, and one its host does not have is an error
// for which IsNotFound is true (resolving it would pull it).
func (c *Client) ResolveLocalImage(ctx context.Context, imageURI string) (*ImageResolution, error) {
	return c.resolveImage(ctx, map[string]any{"ImageUri": imageURI, "Local": true})
}

func (c *Client) resolveImage(ctx context.Context, body map[string]any) (*ImageResolution, error) {
	imageURI, _ := body["ImageUri"].(string)
	resp, err := c.Do(ctx, http.MethodPost, "/portico/v1/images/resolve", nil, body, nil)
	if err != nil {
		return nil, err
	}
	var out ImageResolution
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return nil, fmt.Errorf("resolving image %s: decoding the answer: %w", imageURI, err)
	}
	return &out, nil
}

// FunctionImage is an Image function's image as GetFunction reports it.
type FunctionImage struct {
	// ImageURI is the reference the function was given; ResolvedImage the
	// image id it is pinned to ("" for a Zip function, or one not pinned).
	ImageURI, ResolvedImage, CodeSha256 string
}

// GetFunctionImage returns the image the function's qualifier ("": $LATEST)
// is pinned to.
func (c *Client) GetFunctionImage(ctx context.Context, name, qualifier string) (*FunctionImage, error) {
	var q url.Values
	if qualifier != "" {
		q = url.Values{"Qualifier": {qualifier}}
	}
	resp, err := c.Do(ctx, http.MethodGet, FunctionPath(name, ""), q, nil, nil)
	if err != nil {
		return nil, err
	}
	var got struct {
		Configuration struct{ CodeSha256 string }
		Code          struct{ ImageUri, ResolvedImageUri string } //nolint:revive // Lambda's field names
	}
	if err := json.Unmarshal(resp.Body, &got); err != nil {
		return nil, fmt.Errorf("decoding function %s: %w", name, err)
	}
	// ResolvedImageUri is REPOSITORY@sha256:DIGEST, Lambda's spelling of the
	// pin: the image id is what follows the @.
	pin := got.Code.ResolvedImageUri
	if i := strings.LastIndex(pin, "@"); i >= 0 {
		pin = pin[i+1:]
	}
	return &FunctionImage{ImageURI: got.Code.ImageUri, ResolvedImage: pin, CodeSha256: got.Configuration.CodeSha256}, nil
}

// UpdateFunctionConfiguration changes $LATEST's configuration.
func (c *Client) UpdateFunctionConfiguration(ctx context.Context, name string, in map[string]any) (*FunctionConfiguration, *Response, error) {
	return decodeConfig(c.Do(ctx, http.MethodPut, FunctionPath(name, "/configuration"), nil, in, nil))
}

// PublishVersion publishes $LATEST (or returns the latest version if unchanged).
func (c *Client) PublishVersion(ctx context.Context, name, description string) (*FunctionConfiguration, *Response, error) {
	in := map[string]any{}
	if description != "" {
		in["Description"] = description
	}
	return decodeConfig(c.Do(ctx, http.MethodPost, FunctionPath(name, "/versions"), nil, in, nil))
}

// PutConcurrency sets the function's reserved concurrency.
func (c *Client) PutConcurrency(ctx context.Context, name string, n int) error {
	_, err := c.Do(ctx, http.MethodPut, "/2017-10-31/functions/"+url.PathEscape(name)+"/concurrency", nil,
		map[string]any{"ReservedConcurrentExecutions": n}, nil)
	return err
}

// DeleteConcurrency removes the function's reserved concurrency
// (DeleteFunctionConcurrency): it draws on the unreserved pool again.
func (c *Client) DeleteConcurrency(ctx context.Context, name string) error {
	_, err := c.Do(ctx, http.MethodDelete, "/2017-10-31/functions/"+url.PathEscape(name)+"/concurrency", nil, nil, nil)
	return err
}

// SetAlias creates alias on fn, or updates it, so that it points at version with the
// given additional version weights (nil: no routing).
func (c *Client) SetAlias(ctx context.Context, fn, alias, version string, weights map[string]float64) (*Alias, *Response, error) {
	body := map[string]any{"FunctionVersion": version}
	if weights == nil {
		weights = map[string]float64{}
	}
	body["RoutingConfig"] = map[string]any{"AdditionalVersionWeights": weights}
	resp, err := c.Do(ctx, http.MethodGet, FunctionPath(fn, "/aliases/"+url.PathEscape(alias)), nil, nil, nil)
	switch {
	case IsNotFound(err):
		body["Name"] = alias
		if len(weights) == 0 {
			delete(body, "RoutingConfig")
		}
		resp, err = c.Do(ctx, http.MethodPost, FunctionPath(fn, "/aliases"), nil, body, nil)
		var e *APIError
		if errors.As(err, &e) && e.Status == http.StatusConflict {
			// Another `alias set` created it since the read: this one's
			// version is the later word, as an update.
			delete(body, "Name")
			body["RoutingConfig"] = map[string]any{"AdditionalVersionWeights": weights}
			resp, err = c.Do(ctx, http.MethodPut, FunctionPath(fn, "/aliases/"+url.PathEscape(alias)), nil, body, nil)
		}
	case err == nil:
		resp, err = c.Do(ctx, http.MethodPut, FunctionPath(fn, "/aliases/"+url.PathEscape(alias)), nil, body, nil)
	}
	if err != nil {
		return nil, nil, err
	}
	var a Alias
	if err := json.Unmarshal(resp.Body, &a); err != nil {
		return nil, nil, fmt.Errorf("decoding the alias: %w", err)
	}
	return &a, resp, nil
}

func decodeConfig(resp *Response, err error) (*FunctionConfiguration, *Response, error) {
	if err != nil {
		return nil, nil, err
	}
	var fc FunctionConfiguration
	if err := json.Unmarshal(resp.Body, &fc); err != nil {
		return nil, nil, fmt.Errorf("decoding the function configuration: %w", err)
	}
	return &fc, resp, nil
}

// ZipDir packs the files under dir into a zip archive, names relative to dir.
// The archive depends on the files' names and contents only, and on whether
// each is executable (so an executable bootstrap stays one): names in lexical
// order, every entry with the same time (zipEpoch) and mode 0644, 0755 or a
// directory's 0755, so that zipping unchanged code again (after `make
// samples` rewrote it, say) gives the same bytes and CodeSha256. Symbolic
// links are followed, to files and directories alike (WalkPackage); other
// special files are refused.
func ZipDir(dir string) ([]byte, error) { return ZipDirProgress(dir, nil) }

// ZipDirProgress is ZipDir that reports, to progress (unless nil), how many
// bytes of the directory's files it has read of how many it holds in all
// (counted by a walk before the zipping), while it zips and once at the end
// (total of total). It is called from the zipping goroutine.
func ZipDirProgress(dir string, progress func(done, total int64)) ([]byte, error) {
	return zipDir(dir, ZipLevel, progress)
}

// ZipDirLevel is ZipDir deflating at level (a compress/flate level) rather
// than ZipLevel's: the same archive but for its compressed bytes.
func ZipDirLevel(dir string, level int) ([]byte, error) { return zipDir(dir, level, nil) }

func zipDir(dir string, level int, progress func(done, total int64)) ([]byte, error) {
	var total int64
	err := WalkPackage(dir, func(_, _ string, info fs.FileInfo) error {
		if info.Mode().IsRegular() {
			total += info.Size()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("zipping %s: %w", dir, err)
	}
	var count *zipCount
	if progress != nil {
		count = &zipCount{total: total, report: progress}
		progress(0, count.total)
	}
	// The archive is about as large as its files at most (deflate grows
	// none by more than a few bytes in 16 KiB; stored, they are copied):
	// one buffer that size, rather than one that doubles as the archive
	// grows and is copied over each time.
	var buf bytes.Buffer
	buf.Grow(int(min(total+total/256+64<<10, int64(zipLimit)+1)))
	zw := zip.NewWriter(&capWriter{buf: &buf, limit: zipLimit})
	if level != flate.DefaultCompression {
		zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, level) })
	}
	err = WalkPackage(dir, func(rel, path string, info fs.FileInfo) error {
		hdr := &zip.FileHeader{Name: rel, Modified: zipEpoch}
		if info.IsDir() {
			hdr.Name += "/"
			hdr.SetMode(fs.ModeDir | 0o755)
			_, err := zw.CreateHeader(hdr)
			return err
		}
		if !info.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file", path)
		}
		hdr.SetMode(0o644)
		if info.Mode().Perm()&0o111 != 0 {
			hdr.SetMode(0o755)
		}
		hdr.Method = zip.Deflate
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		f, err := os.Open(path) //nolint:gosec // G122: the user zips their own directory
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		var r io.Reader = f
		if count != nil {
			r = &countingReader{r: f, c: count}
		}
		_, err = io.Copy(w, r)
		return err
	})
	if err == nil {
		err = zw.Close()
	}
	if err == nil && count != nil {
		progress(count.total, count.total)
	}
	if errors.Is(err, errZipTooLarge) {
		// The archive's last bytes (deflate's end of the last file, the
		// zip's directory) are written once every file has been read: a
		// progress that said 100% is not told that zipping stopped.
		how := "the archive grew past %d bytes (50 MiB), more than a function's code may be when uploaded directly, as in Lambda, " +
			"so zipping stopped there"
		if count != nil && count.done >= count.total {
			how = "the archive came to more than %d bytes (50 MiB) once all of it was zipped, more than a function's code may be " +
				"when uploaded directly, as in Lambda"
		}
		return nil, fmt.Errorf("zipping %s: "+how+": leave build outputs and dependencies the function does not need out "+
			"of the directory, or package the function as a container image (PackageType Image)", dir, zipLimit)
	}
	if err != nil {
		return nil, fmt.Errorf("zipping %s: %w", dir, err)
	}
	return buf.Bytes(), nil
}

// zipCount is ZipDirProgress's count of the bytes read.
type zipCount struct {
	done, total int64
	report      func(done, total int64)
}

// countingReader reads r, adding what it reads to c and reporting it.
type countingReader struct {
	r io.Reader
	c *zipCount
}

func (cr *countingReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	if n > 0 {
		cr.c.done += int64(n)
		// A file that grew since the walk counts no further than the total.
		cr.c.report(min(cr.c.done, cr.c.total), cr.c.total)
	}
	return n, err
}

// errZipTooLarge is capWriter's error once the archive is past its limit.
var errZipTooLarge = errors.New("the archive is too large")

// capWriter writes to buf until it would hold more than limit bytes.
type capWriter struct {
	buf   *bytes.Buffer
	limit int
}

func (c *capWriter) Write(p []byte) (int, error) {
	if c.buf.Len()+len(p) > c.limit {
		return 0, errZipTooLarge
	}
	return c.buf.Write(p)
}

// zipEpoch is the time of every entry ZipDir writes: the earliest an MS-DOS
// date, in the zip's own fields, can say.
var zipEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// MaxZipUpload is the largest archive ZipDir makes: the server refuses a larger
// Zip package (functions.MaxZipSize), and one much larger would not reach it as
// an answer at all (the request body outgrows the admin API's limit, and the
// upload is cut off before the server can say why).
const MaxZipUpload = 50 << 20

// ZipLevel is the compress/flate level ZipDir deflates files with:
// flate.DefaultCompression, archive/zip's own. The end-to-end tests of
// cmd/portico, which zip the samples' multi-megabyte binaries in every deploy
// under the race detector (where deflate runs several times slower), set
// flate.NoCompression in their TestMain: the archive is a Deflate zip either
// way (of stored blocks), only larger. Set it before any zipping starts; it is not guarded.
var ZipLevel = flate.DefaultCompression

// MinWait is the least wait of any call with a bound: a call's wait below it
// (Client.Wait, DefaultWait or UploadWait) is MinWait instead; 0, the
// default, leaves the waits as they are.
// cmd/portico's end-to-end tests set it in their TestMain, as a CI machine
// loaded enough can take more than DefaultWait to store an upload of
// several megabytes under the race detector, which is no fault of what they
// test. Set it before any call starts; it is not guarded.
var MinWait time.Duration

// uploadBody is the size of a request body above which a call with the
// default wait (Client.Wait 0) waits UploadWait for its answer instead of
// DefaultWait.
const uploadBody = 1 << 20

// zipLimit is MaxZipUpload; tests lower it.
var zipLimit = MaxZipUpload

// RouteIDs returns the ids of an API's routes by route key.
func (c *Client) RouteIDs(ctx context.Context, api string) (map[string]string, error) {
	resp, err := c.Do(ctx, http.MethodGet, "/portico/v1/apis/"+url.PathEscape(api)+"/routes", nil, nil, nil)
	if err != nil {
		return nil, err
	}
	var list struct {
		Items []struct {
			ID       string `json:"id"`
			RouteKey string `json:"routeKey"`
		} `json:"items"`
	}
	if err := json.Unmarshal(resp.Body, &list); err != nil {
		return nil, err
	}
	ids := make(map[string]string, len(list.Items))
	for _, r := range list.Items {
		ids[r.RouteKey] = r.ID
	}
	return ids, nil
}
