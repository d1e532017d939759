// Package admin is Portico's admin HTTP API: the Lambda API subset under
// /2015-03-31/functions (so the AWS SDKs and CLI work with --endpoint-url) and
// Portico's own routes under /portico/v1 for APIs, stages, logs and connections.
//
// Handlers return an error; writeError is the one place where error kinds become
// status codes and AWS-shaped bodies.
package admin

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/portico-dev/portico/console"
	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/usage"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/h1"
	"github.com/portico-dev/portico/internal/ids"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/shutdown"
	"github.com/portico-dev/portico/internal/signin"
	"github.com/portico-dev/portico/internal/sigv4"
	"github.com/portico-dev/portico/shifts"
	"github.com/portico-dev/portico/store"
)

// Config says where the admin API listens and which token it requires.
type Config struct {
	// Listen is the address (default 127.0.0.1:9090).
	Listen string
	// Token, when set, is required as "Authorization: Bearer TOKEN" (or as the
	// secret of SigV4 requests signed with access key id "portico").
	Token string
	// Limits are the listener's limits (header size, header, body and idle
	// timeouts). The admin API uses them tightened by GatewayLimits, so it is
	// never looser than the gateway; zero fields take the defaults.
	Limits listener.Limits
	// GatewayLimits are the gateway listener's limits.
	GatewayLimits listener.Limits
	// LogFollows cap the log follows open at once, per client and in all;
	// zero fields take the defaults (8 per client, 256 in all).
	LogFollows LogFollowLimits
	// TrustedProxies are the proxies (CIDR blocks, --trusted-proxies) the
	// admin API believes, as the gateway does: a request from one of them
	// that says X-Forwarded-Proto: https came over TLS, so the console's
	// session cookie is Secure. Any other peer's X-Forwarded-Proto is ignored.
	TrustedProxies []netip.Prefix
	// MaxConns bounds the connections the admin API holds open at once;
	// zero takes MaxConns().
	MaxConns int
}

// HandlerFunc is an admin handler: it writes a response or returns an error that
// writeError turns into AWS's error shape.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Server is the admin HTTP server. Safe for concurrent use.
type Server struct {
	cfg Config
	log *slog.Logger
	mux *http.ServeMux
	srv *h1.Server
	ln  net.Listener
	// stopping is closed when Stop begins, ending streaming responses (log follow)
	// so that shutdown does not wait for them.
	stopping chan struct{}
	stopOnce sync.Once
	// streamWriteTimeout is how long a streaming response's client may take
	// to accept each write (the listener's idle timeout; zero: the default).
	streamWriteTimeout time.Duration
	// follows counts the log follows open (logfollow.go).
	follows followSlots

	lambdaDeps
	gw GatewayDeps
	// usage holds API keys and usage plans (nil: none), which the tag
	// routes tag too (apigw_tags.go).
	usage *usage.Service
	// shifts runs traffic shifts (nil: none); sandboxes verifies the
	// credentials of hooks reporting on them (shifts.go, codedeploy.go).
	shifts    *shifts.Service
	sandboxes SandboxCredentials
	// apigwPatterns are the patterns registered with HandleAPIGateway (set
	// while routes are registered, read-only after).
	apigwPatterns map[string]bool
	// apisPatterns are the patterns registered with handleAPIs, Portico's own
	// admin API for APIs (set while routes are registered, read-only after).
	apisPatterns map[string]bool
	// console serves the web console (console.go); nil: none.
	console http.Handler
	// now is the clock console sessions expire by, and signatures and failed
	// sign-ins are timed by (nil: time.Now).
	now func() time.Time
	// sessions signs, checks and ends the console's sessions (console_sessions.go).
	sessions consoleSessions
	// codeURLs signs and checks GetFunction's presigned Code.Location (codeurl.go).
	codeURLs codeURLs
	// signIns limits failed sign-ins per client address (signin.go): the
	// admin surface's budget, apart from the gateway's; nil: ownSignIns, the
	// server's own.
	signIns    *signin.Limiter
	ownSignIns signin.Limiter
	// sandboxSignIns limits the sandbox-facing CodeDeploy endpoint's failed
	// signatures: the public gateway surfaces' budget (SetSandboxSignIns);
	// nil: ownSandboxSignIns.
	sandboxSignIns    *signin.Limiter
	ownSandboxSignIns signin.Limiter
	// patterns are the routes registered with Handle and HandleAPIGateway,
	// in order (set while routes are registered, read-only after).
	patterns []string
	// beforeImportCommit, when set (tests), runs just before an import's
	// store write, with the request's context.
	beforeImportCommit func(ctx context.Context)
}

// Handle registers h for a net/http ServeMux pattern such as
// "GET /2015-03-31/functions/{name}".
func (s *Server) Handle(pattern string, h HandlerFunc) {
	s.patterns = append(s.patterns, pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// ServeHTTP serves the admin API (authentication included). Authentication is
// decided from the headers before any of the body is read (authenticate).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Amzn-RequestId", ids.UUID())
	noFraming(w.Header())
	// An answer may carry secrets (API key values, a function's
	// environment): no cache keeps it, a browser's on a shared machine
	// included. The console's pages, which hold no data, say no-cache.
	w.Header().Set("Cache-Control", "no-store")
	if err := s.checkBrowser(r); err != nil {
		// Decided from the head alone: answered at once, and the
		// connection closed rather than the body waited for (and read to
		// keep the connection).
		w.Header().Set("Connection", "close")
		s.refuse(w, r, err)
		return
	}
	if isCodeDeploy(r) {
		// A hook's report, signed by its sandbox's own credentials:
		// authenticated by its route (codedeploy.go).
		s.serveCodeDeploy(w, r)
		return
	}
	if jsonProtocol, err := unservedService(r); err != nil {
		// A call of an AWS service Portico does not serve (unserved.go),
		// answered in its protocol's shape.
		if jsonProtocol {
			s.writeJSON11Error(w, r, err)
		} else {
			s.writeIAMError(w, r, err)
		}
		return
	}
	page := s.console != nil && isConsolePath(r.URL.Path)
	viaConsole := false
	if page && strings.HasPrefix(r.URL.Path, console.APIPrefix) {
		// The console's API call (console.go): served as the route it names.
		var err error
		if r, err = consoleAPIRequest(r); err != nil {
			s.refuse(w, r, err)
			return
		}
		page, viaConsole = false, true
	}
	if s.cfg.Token != "" {
		switch {
		case page && r.Method == http.MethodPost && (r.URL.Path == "/console/login" || r.URL.Path == "/console/logout"):
		case page && r.Method == http.MethodGet && (r.URL.Path == console.Prefix+console.LoginStylesheet || r.URL.Path == console.Prefix+console.LoginScript):
			// The sign-in page's stylesheet and script: they hold no data.
		case (page || viaConsole) && s.consoleCookieAuth(r, page):
			if viaConsole {
				w.Header().Set(console.SessionHeader, "cookie")
			}
		case !viaConsole && r.Header.Get("Authorization") == "" && s.presignedCode(w, r):
			// GetFunction's Code.Location, presigned (codeurl.go): refused
			// if it does not check, else served.
			return
		default:
			// A request that presents a credential is a sign-in: refused at
			// once while its client has failed too often (signin.go).
			signIn := r.Header.Get("Authorization") != ""
			if signIn {
				if d := s.signInLimiter().Wait(r.RemoteAddr, s.clock()()); d > 0 {
					retry, err := tooManySignIns(d)
					w.Header().Set("Retry-After", retry)
					leaveBody(w, r)
					s.refuse(w, r, err)
					return
				}
			}
			if err := s.authenticate(r); err != nil {
				if signIn && errors.Is(err, errdefs.ErrForbidden) {
					s.signInLimiter().Failed(r.RemoteAddr, s.clock()())
					s.log.Warn("admin sign-in failed", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path, "err", err)
				}
				leaveBody(w, r)
				if page {
					console.ServeLogin(w, http.StatusUnauthorized)
					return
				}
				s.refuse(w, r, err)
				return
			}
		}
	}
	s.serveRoute(w, r)
}

// serveRoute serves r by the route it names. A request no route serves
// (an unknown path, or a method its path does not take) is answered in the
// admin API's JSON error shape, API Gateway's under /portico/v1/apis and
// Lambda's elsewhere, where ServeMux answered plain text: 404
// NotFoundException, or 405 MethodNotAllowedException with Allow naming the
// methods the path takes. (Unknown paths under the Lambda and API Gateway
// prefixes are their UnknownOperationException: they have routes.)
//
// A path that is not in its clean form (an empty segment, as a script's
// unset variable leaves in /functions//configuration, or a dot segment) is
// refused with 400, never redirected as ServeMux would: its redirect (307)
// keeps the method and body, so a client that follows it would run another
// operation on another resource than it named (DELETE of
// /functions//configuration becoming DeleteFunction of "configuration").
func (s *Server) serveRoute(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; !cleanPath(p) {
		leaveBody(w, r)
		msg := fmt.Sprintf("the path %s has an empty or dot segment: every name in it must be given (an unset variable in a script leaves //); "+
			"docs/admin-api.md lists the routes", p)
		switch {
		case s.isAPIGatewayRoute(r): // BadRequestException
			s.writeAPIGatewayError(w, r, errdefs.New(errdefs.ErrInvalid, "", msg))
		case s.isAPIsRoute(r) || strings.HasPrefix(p, porticoAPIsPrefix+"/"):
			s.writeAPIsError(w, r, errdefs.New(errdefs.ErrInvalid, "", msg))
		default: // Lambda's, for an empty name
			s.refuse(w, r, errdefs.New(errdefs.ErrInvalid, "ValidationException", msg))
		}
		return
	}
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	// With no pattern ServeMux's handler is its 404 or its 405: which one,
	// and the Allow of a 405, are read off what it would answer.
	rec := &headRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	status, typ := http.StatusNotFound, "NotFoundException"
	msg := fmt.Sprintf("no route of the admin API at %s %s: check the path (docs/admin-api.md lists the routes)", r.Method, r.URL.Path)
	if rec.status == http.StatusMethodNotAllowed {
		allow := rec.header.Get("Allow")
		status, typ = http.StatusMethodNotAllowed, "MethodNotAllowedException"
		msg = fmt.Sprintf("%s does not take %s: it takes %s", r.URL.Path, r.Method, allow)
		w.Header().Set("Allow", allow)
	}
	body := map[string]string{"Type": "User", "message": msg}
	if r.URL.Path == porticoAPIsPrefix || strings.HasPrefix(r.URL.Path, porticoAPIsPrefix+"/") {
		body = map[string]string{"message": msg}
	}
	leaveBody(w, r)
	w.Header().Set("x-amzn-ErrorType", typ)
	_ = writeJSON(w, status, body)
}

// cleanPath reports whether p is in the form path.Clean gives it (a trailing
// slash kept), as ServeMux wants it: no empty, "." or ".." segment.
func cleanPath(p string) bool {
	if p == "" || p == "/" {
		return true
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") {
		c += "/"
	}
	return c == p
}

// headRecorder keeps the status and headers written to it, and drops the body.
type headRecorder struct {
	header http.Header
	status int
}

func (h *headRecorder) Header() http.Header { return h.header }

func (h *headRecorder) WriteHeader(status int) {
	if h.status == 0 {
		h.status = status
	}
}

func (h *headRecorder) Write(p []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	return len(p), nil
}

// leaveBody has the refusal of r, which announces a body, go out with
// Connection: close: the server then answers at once and drops the body,
// where it would first read what is left of it to keep the connection, and a
// client sending it slowly would hold the connection for the whole body
// timeout before it got its 403.
func leaveBody(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
	}
}

// noFraming sets the headers every answer of the admin listener carries, its
// refusals included: no page of another origin may frame it (X-Frame-Options
// and CSP's frame-ancestors; the console's pages set a fuller policy), nor a
// browser sniff its type.
func noFraming(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "frame-ancestors 'none'")
}

// presignedCode reports whether r is a request for a function's code by a
// presigned Code.Location: true when it is, having refused it (an
// expired or wrong URL) or let it through to its route.
func (s *Server) presignedCode(w http.ResponseWriter, r *http.Request) bool {
	is, err := s.codeURLs.presigned(r, s.cfg.Token, s.clock()())
	if is && err != nil {
		s.refuse(w, r, err)
		return true
	}
	if is {
		s.serveRoute(w, r)
	}
	return is
}

// refuse writes err, a request refused before its route ran, in the error
// shape of the route it asked for.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if s.refusePage(w, r, err) {
		return
	}
	switch {
	case s.isAPIsRoute(r):
		s.writeAPIsError(w, r, err)
	case s.isAPIGatewayRoute(r):
		s.writeAPIGatewayError(w, r, err)
	case s.isIAMRoute(r):
		s.writeIAMError(w, r, err)
	default:
		s.writeError(w, r, err)
	}
}

// TokenAccessKeyID is the access key id of SigV4 requests signed with the admin
// token as the secret key (aws --endpoint-url with AWS_ACCESS_KEY_ID=portico and
// AWS_SECRET_ACCESS_KEY=<token>).
const TokenAccessKeyID = "portico"

// Body limits of the admin routes: what authenticate reads, at most, to verify a
// SigV4 signature that covers the body.
const (
	// maxImageBody bounds an image archive signed without X-Amz-Content-Sha256
	// (with it, or with the bearer token, the archive streams unbounded).
	maxImageBody = 80 << 20
	// maxDefaultBody bounds every other route's body.
	maxDefaultBody = 6 << 20
)

// bodyLimit is the most that the route serving r reads of its body.
func (s *Server) bodyLimit(r *http.Request) int64 {
	_, pattern := s.mux.Handler(r)
	switch {
	case pattern == "POST /portico/v1/images/import":
		return maxImageBody
	case strings.HasSuffix(pattern, "/code"), pattern == "POST /2015-03-31/functions",
		pattern == "POST /2015-03-31/functions/{$}":
		return maxCodeBody
	case strings.HasSuffix(pattern, "/invocations"):
		return maxInvokeBody
	}
	return maxDefaultBody
}

// unserved reports whether r goes to a Lambda operation Portico does not
// implement (unknownLambdaOperation): PublishLayerVersion, say.
func (s *Server) unserved(r *http.Request) bool {
	_, pattern := s.mux.Handler(r)
	return slices.Contains(lambdaPrefixes, pattern)
}

// verifyUnservedBody checks the signature of a request to an operation
// Portico does not implement over its body hashed as it streams, held
// nowhere, so that the answer is that the operation is not implemented
// whatever the body's size (a layer's zip of 50 MiB), not that the body is
// too large for a route that would refuse it anyway. The body is bounded as
// the code routes' are.
func (s *Server) verifyUnservedBody(r *http.Request, p *sigv4.Pending, service string) error {
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(r.Body, maxCodeBody+1))
	if err != nil {
		return fmt.Errorf("read request body: %w: %w", err, errdefs.ErrInvalid)
	}
	if n > maxCodeBody {
		return errdefs.New(errdefs.ErrTooLarge, "RequestTooLargeException", fmt.Sprintf("Request must be smaller than %d bytes for this operation", maxCodeBody))
	}
	if err := p.VerifyHash(hex.EncodeToString(h.Sum(nil))); err != nil {
		return s.signatureError(r, service, err)
	}
	r.Body = http.NoBody
	return nil
}

var errAuth = errdefs.New(errdefs.ErrForbidden, "AccessDeniedException",
	"missing or invalid admin token: send Authorization: Bearer <token> (portico --token-file FILE or PORTICO_TOKEN)")

// tokenAdvice says, after AWS's message for a request that carries no
// credential, how Portico's admin API takes one.
const tokenAdvice = " (the admin API takes the admin token: send Authorization: Bearer <token> (portico --token-file FILE or PORTICO_TOKEN), " +
	"or sign the request with access key id " + TokenAccessKeyID + " and the token as the secret access key)"

// missingToken is AWS's answer to a request that carries no credential at
// all (no Authorization header): 403 MissingAuthenticationTokenException,
// "Missing Authentication Token", as Lambda and API Gateway answer it;
// MissingAuthenticationToken, "Request is missing Authentication Token", in
// IAM's query protocol.
func (s *Server) missingToken(r *http.Request) error {
	if s.signingService(r) == "iam" {
		return errdefs.New(errdefs.ErrForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token"+tokenAdvice)
	}
	return errdefs.New(errdefs.ErrForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"+tokenAdvice)
}

// authenticate accepts "Authorization: Bearer <token>" (the scheme in any
// case), or a SigV4 signature
// made with access key id "portico" and the token as the secret. The signature's
// form, scope, date and key are checked from the headers first; only then is the
// body read, within the route's limit, to check the signature over it, or, when
// X-Amz-Content-Sha256 names the body's hash, the signature is checked at once
// and the body streams to the handler, held to that hash as it is read. The
// header sent on more than one line is refused, whatever the lines hold
// (sigv4.OneAuthorization).
func (s *Server) authenticate(r *http.Request) error {
	h := r.Header.Get("Authorization")
	if h == "" {
		return s.missingToken(r)
	}
	if err := sigv4.OneAuthorization(r.Header); err != nil {
		return s.signatureError(r, s.signingService(r), err)
	}
	if got, ok := signin.BearerToken(h); ok {
		if subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.Token)) == 1 {
			return nil
		}
		return errAuth
	}
	if !strings.HasPrefix(h, "AWS4-HMAC-SHA256 ") {
		return errAuth
	}
	service := s.signingService(r)
	v := sigv4.Verifier{Region: functions.Region, Service: service, MaxSkew: signingMaxSkew(service), Now: s.clock(),
		Secret: func(id string) (string, bool) { return s.cfg.Token, id == TokenAccessKeyID }}
	p, err := v.Check(r)
	if err != nil {
		return s.signatureError(r, service, err)
	}
	declared := p.DeclaredHash()
	if declared != "" && declared != sigv4.UnsignedPayload {
		if err := p.VerifyHash(declared); err != nil {
			return s.signatureError(r, service, err)
		}
		r.Body = &signedBody{r: sigv4.HashingReader(r.Body, declared), Closer: r.Body,
			refused: func(err error) error { return s.signatureError(r, service, err) }}
		return nil
	}
	if declared == "" && !p.Presigned && s.unserved(r) {
		return s.verifyUnservedBody(r, p, service)
	}
	// UNSIGNED-PAYLOAD is S3's alone: Lambda, API Gateway and IAM sign the
	// body's hash whatever the header says, and so does this API, so that a
	// signed request's body cannot be swapped on the way.
	limit := s.bodyLimit(r)
	tooLarge := "RequestTooLargeException"
	if limit == maxCodeBody {
		tooLarge = codeTooLarge
	}
	if r.ContentLength > limit { // refused before a read sends a waiting client "100 Continue"
		return errdefs.New(errdefs.ErrTooLarge, tooLarge, tooLargeMessage(r, limit))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return fmt.Errorf("read request body: %w: %w", err, errdefs.ErrInvalid)
	}
	if int64(len(body)) > limit {
		return errdefs.New(errdefs.ErrTooLarge, tooLarge, tooLargeMessage(r, limit))
	}
	if declared == sigv4.UnsignedPayload {
		err = p.VerifyHash(sigv4.HashHex(body))
	} else {
		err = p.VerifyBody(body)
	}
	if err != nil {
		err = s.signatureError(r, service, err)
		if k, ok := errors.AsType[*errdefs.Kinded](err); ok && declared == sigv4.UnsignedPayload && k.Message == msgSignatureMismatch {
			k.Message += " This API does not take X-Amz-Content-Sha256: UNSIGNED-PAYLOAD: sign the SHA-256 of the body."
		}
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return nil
}

// signingMaxSkew is how far the X-Amz-Date of a request signed for service may
// be from the server's clock: 5 minutes, as Lambda and API Gateway allow; IAM's
// query API, like STS, allows 15.
func signingMaxSkew(service string) time.Duration {
	if service == "iam" {
		return 15 * time.Minute
	}
	return 5 * time.Minute
}

// clock returns the server's clock (time.Now unless a test set one).
func (s *Server) clock() func() time.Time {
	if s.now == nil {
		return time.Now
	}
	return s.now
}

// AWS's messages for a signature that does not match and for an unknown access
// key, with what to do about each on Portico.
const (
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details. " +
		"(Portico's admin API takes the admin token as the secret access key, with access key id " + TokenAccessKeyID + ".)"
	msgUnknownKey = "The security token included in the request is invalid. " +
		"(Portico's admin API takes access key id " + TokenAccessKeyID + ", with the admin token as the secret access key.)"
	msgIncompleteSignature = "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
		"Authorization header requires 'SignedHeaders' parameter (which must include host). " +
		"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
)

// signatureError is AWS's answer to a SigV4 signature that failed with err, on
// the surface of service: InvalidSignatureException (SignatureDoesNotMatch in
// IAM's query protocol) for a signature that does not match, is scoped to
// another region or service, or is out of date ("Signature expired: ..."),
// UnrecognizedClientException (InvalidClientTokenId) for an unknown access key,
// IncompleteSignatureException (IncompleteSignature) for one that does not
// parse. All are 403; the detail stays in err for the log.
func (s *Server) signatureError(r *http.Request, service string, err error) error {
	mismatch, unknown, incomplete := "InvalidSignatureException", "UnrecognizedClientException", "IncompleteSignatureException"
	if service == "iam" {
		mismatch, unknown, incomplete = "SignatureDoesNotMatch", "InvalidClientTokenId", "IncompleteSignature"
	}
	k := &errdefs.Kinded{Kind: errdefs.ErrForbidden, Type: mismatch, Message: msgSignatureMismatch}
	switch scope, ok := errors.AsType[*sigv4.ScopeError](err); {
	case ok && service == "iam" && scope.Service == "sts" && scope.WantRegion == "":
		// STS shares the query protocol and the endpoint: say what is missing
		// rather than that the signature is wrong.
		return fmt.Errorf("%w: %w", noSTS(), err)
	case ok:
		k.Message = scope.Message()
	case errors.Is(err, sigv4.ErrExpired):
		k.Message = "Signature expired."
		if de, ok := errors.AsType[*sigv4.DateError](err); ok {
			k.Message = de.Message()
		}
		k.Message += " Check the client's clock, and sign each request when it is sent."
	case errors.Is(err, sigv4.ErrUnknownKey):
		k.Type, k.Message = unknown, msgUnknownKey
	case errors.Is(err, sigv4.ErrMalformed), errors.Is(err, sigv4.ErrMissing):
		k.Type, k.Message = incomplete, msgIncompleteSignature
		if inc, ok := errors.AsType[*sigv4.IncompleteError](err); ok {
			k.Message = inc.Message
		}
	}
	return fmt.Errorf("%w: %w", k, err)
}

// signingService is the service a SigV4 signature for r must be scoped to, as
// AWS checks it: "iam" for IAM's query API (POST /), "apigateway" for API
// Gateway's control plane (v1 and v2), "lambda" for Lambda's routes. Portico's
// own routes (/portico/v1, /metrics) belong to no AWS service: any service
// name is taken there (the region is still checked).
func (s *Server) signingService(r *http.Request) string {
	_, pattern := s.mux.Handler(r)
	switch {
	case s.apigwPatterns[pattern]:
		return "apigateway"
	case pattern == iamPattern:
		return "iam"
	}
	for _, prefix := range lambdaPrefixes {
		if strings.HasPrefix(r.URL.Path, prefix) {
			return "lambda"
		}
	}
	return ""
}

// signedBody is a request body whose SigV4 signature was checked over the hash
// its X-Amz-Content-Sha256 declares, held to that hash as it is read
// (sigv4.HashingReader): the read that ends a body that does not hash to it
// fails with the request's signature error (403 InvalidSignatureException,
// IAM's SignatureDoesNotMatch), which is also kept, so that the answer is that
// error whatever the route made of its failed read (bodySignatureError). Read
// by one goroutine, the request's handler.
type signedBody struct {
	r io.Reader
	io.Closer
	refused func(error) error // the request's signature error for a mismatch
	err     error             // refused's error, once the body did not hash
}

func (b *signedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && errors.Is(err, sigv4.ErrMismatch) {
		if b.err == nil {
			b.err = b.refused(err)
		}
		err = b.err
	}
	return n, err
}

// bodySignatureError returns the signature error of r's body when it was read
// to an end that does not hash to its X-Amz-Content-Sha256 (a body changed
// after signing), else err: such a request is refused as one whose signature
// does not match, as AWS refuses it, not as a body the route could not read.
func bodySignatureError(r *http.Request, err error) error {
	if b, ok := r.Body.(*signedBody); ok && b.err != nil {
		return b.err
	}
	return err
}

// Start binds the listener and serves in the background.
func (s *Server) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("admin: listen on %s: %w", s.cfg.Listen, err)
	}
	s.ln = ln
	// internal/h1, as the gateway's listener: no background read per request
	// and each small response in one write, which the data plane's Invoke
	// feels (docs/performance.md). Streams that wait (a log follow) watch
	// their client themselves (h1.CancelOnGone).
	l := s.cfg.Limits.Tighten(s.cfg.GatewayLimits).WithDefaults()
	s.streamWriteTimeout = l.IdleTimeout
	s.srv = h1.New(l.Handler(s), h1.Options{
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ReadHeaderTimeout: l.HeaderTimeout,
		IdleTimeout:       l.IdleTimeout,
		WriteTimeout:      l.IdleTimeout, // a client that takes no byte of an answer for it is gone
		Refuse:            s.refuseUnread,
		// The tokenless Host check (checkBrowser) sees the Host field of an
		// absolute-form request too, not only the target's host.
		KeepAbsoluteFormHost: true,
		// A bound of its own, so that a client holding connections open
		// (no token is needed to open one) cannot use up the descriptors
		// the gateway, the Runtime API and the store need.
		Conns: h1.NewConnLimit(cmp.Or(s.cfg.MaxConns, MaxConns())).Named("the admin API"),
		Log:   s.log,
	})
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("admin server stopped", "err", err)
		}
	}()
	s.log.Info("admin API listening", "addr", ln.Addr().String())
	return nil
}

// Addr returns the bound address, after Start.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Stop shuts the server down: requests in flight may finish within
// shutdown.Graceful(ctx), then the connections still busy are closed and their
// requests' contexts cancelled, so that the hooks after this one (the
// invoker's, which stops the sandboxes of the calls cut off) still run before
// ctx ends.
func (s *Server) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stopping) })
	if s.srv == nil {
		return nil
	}
	if err := shutdown.Stop(ctx, s.srv); err != nil {
		s.log.Warn("shutdown: requests still running when the shutdown timeout ended were cut off", "err", err)
		shutdown.NoteCutOff(ctx, "admin API requests still running")
	}
	return nil
}

// genericServerError is the message AWS gives a 5xx of type typ: Lambda's
// ServiceException, or the generic one of other services.
func genericServerError(typ string) string {
	if typ == "ServiceException" {
		return "The AWS Lambda service encountered an internal error."
	}
	return "Internal server error"
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v == nil {
		return nil
	}
	return json.NewEncoder(w).Encode(v)
}

// statusClientClosedRequest is how a request whose client went away before
// its answer is recorded, as nginx records it.
const statusClientClosedRequest = 499

// clientWriteError is a failed write of an answer to the client (a broken
// pipe, a reset connection): the client went away.
type clientWriteError struct{ err error }

func (e *clientWriteError) Error() string { return "writing the answer: " + e.err.Error() }
func (e *clientWriteError) Unwrap() error { return e.err }

// clientGone reports whether err ended r because its client went away (its
// context cancelled, not by the server's shutdown; or the answer's write
// failed): nothing can be answered, and it is no server error.
func clientGone(r *http.Request, err error) bool {
	var cw *clientWriteError
	if errors.As(err, &cw) {
		return true
	}
	return r.Context().Err() != nil && !shutdown.IsCutOff(r.Context())
}

// errorKinds maps the typed error kinds to a status and an error type on each
// admin surface, in order of precedence: Lambda's (writeError) and API
// Gateway's (writeAPIGatewayError). A surface passes over a kind whose status
// is zero there.
var errorKinds = []struct {
	kind  error
	codes [2]errorCode
}{
	{listener.ErrBodyTimeout, [2]errorCode{{http.StatusRequestTimeout, listener.BodyTimeoutType}, {http.StatusRequestTimeout, listener.BodyTimeoutType}}},
	{errdefs.ErrNotFound, [2]errorCode{{http.StatusNotFound, "ResourceNotFoundException"}, {http.StatusNotFound, "NotFoundException"}}},
	{errdefs.ErrConflict, [2]errorCode{{http.StatusConflict, "ResourceConflictException"}, {http.StatusConflict, "ConflictException"}}},
	{errdefs.ErrInvalid, [2]errorCode{{http.StatusBadRequest, "InvalidParameterValueException"}, {http.StatusBadRequest, "BadRequestException"}}},
	{errdefs.ErrTooLarge, [2]errorCode{{http.StatusRequestEntityTooLarge, "RequestTooLargeException"}, {http.StatusBadRequest, "BadRequestException"}}},
	{errdefs.ErrThrottled, [2]errorCode{{http.StatusTooManyRequests, "TooManyRequestsException"}, {http.StatusTooManyRequests, "TooManyRequestsException"}}},
	{errdefs.ErrForbidden, [2]errorCode{{http.StatusForbidden, "AccessDeniedException"}, {http.StatusForbidden, "AccessDeniedException"}}},
	{errdefs.ErrPrecondition, [2]errorCode{{http.StatusPreconditionFailed, "PreconditionFailedException"}, {}}},
	{errdefs.ErrGone, [2]errorCode{{http.StatusGone, "GoneException"}, {}}},
	{errdefs.ErrUnavailable, [2]errorCode{{http.StatusServiceUnavailable, "ServiceException"}, {http.StatusServiceUnavailable, "ServiceUnavailableException"}}},
	{errdefs.ErrTimeout, [2]errorCode{{http.StatusGatewayTimeout, "ServiceException"}, {}}},
}

// errorCode is a status and the x-amzn-ErrorType that goes with it.
type errorCode struct {
	status int
	typ    string
}

// The admin surfaces, as indexes into errorKinds' codes.
const (
	lambdaSurface = iota
	apigwSurface
)

// unknownError is each surface's answer for an error of no known kind.
var unknownError = [2]errorCode{
	{http.StatusInternalServerError, "ServiceException"},
	{http.StatusInternalServerError, "InternalServerErrorException"},
}

// outOfSpace is each surface's answer for a write that found the data
// directory's file system full or read-only: 503, which the SDKs retry, since
// the same write succeeds once there is space again (or the file system is
// remounted read-write).
var outOfSpace = [2]errorCode{
	{http.StatusServiceUnavailable, "ServiceException"},
	{http.StatusServiceUnavailable, "ServiceUnavailableException"},
}

// outOfSpaceMessage is what the client of such a write is told (the path is in
// the server's log). It says when a deleted function's code leaves the disk:
// after the code collection's grace (functions.DefaultCodeGrace, counted from
// the first collection, every DefaultCodeCollect, that finds it unreferenced),
// which covers the sandboxes still starting or running from it.
const outOfSpaceMessage = "Portico's data directory is out of space (no space left on device), so nothing was changed: " +
	"free space on its file system, or delete through Portico what it keeps and no longer needs (deletes are taken on a full disk; " +
	codeFreedLater + "), and try again"

// codeFreedLater says, in the messages of a full disk, when a deleted
// function's (or version's) code is freed.
const codeFreedLater = "a deleted function's code leaves the disk 10 to 15 minutes after its delete"

// nearlyFullMessage is what the client of a write that adds is told when the
// store has no reserve because the file system had too little room to make
// one (store.ErrNearlyFull): no write failed, so it does not say one did.
const nearlyFullMessage = "Portico's data directory is nearly out of space (less free than the 1 MiB it keeps so that deletes can be written), " +
	"so nothing was changed: free space on its file system (creates are taken again once 2 MiB are free), " +
	"or delete through Portico what it keeps and no longer needs (" + codeFreedLater + "), and try again"

// readOnlyMessage is what the client of a write that found the data
// directory's file system read-only is told: ext4 (errors=remount-ro) and
// others remount themselves so after a disk error, and the same write succeeds
// once the file system is writable again.
const readOnlyMessage = "Portico's data directory is on a read-only file system (read-only file system), so nothing was changed: " +
	"remount it read-write (a file system remounts itself read-only after a disk error: check the disk first) and try again"

// isOutOfSpace reports whether err is a write that found no space left on the
// file system (or the disk quota used up).
func isOutOfSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// unwritableMessage is what a client is told of a write the data directory's
// file system refused (full, or read-only), and "" for any other error.
func unwritableMessage(err error) string {
	switch {
	case errors.Is(err, store.ErrNearlyFull):
		return nearlyFullMessage
	case isOutOfSpace(err):
		return outOfSpaceMessage
	case errors.Is(err, syscall.EROFS):
		return readOnlyMessage
	}
	return ""
}

// errorStatus returns the status and error type err takes on surface.
func errorStatus(err error, surface int) (int, string) {
	if unwritableMessage(err) != "" {
		c := outOfSpace[surface]
		return c.status, c.typ
	}
	for _, e := range errorKinds {
		if c := e.codes[surface]; c.status != 0 && errors.Is(err, e.kind) {
			return c.status, c.typ
		}
	}
	c := unknownError[surface]
	return c.status, c.typ
}

// clientMessage is err's text for a client: without the ": invalid parameter"
// (": not found", ...) that wrapping a kind appends, which AWS's messages do
// not carry and which repeats what the error type already says. Several
// problems joined (errors.Join, one a line) each lose it.
func clientMessage(err error) string {
	lines := strings.Split(err.Error(), "\n")
	for _, e := range errorKinds {
		if !errors.Is(err, e.kind) {
			continue
		}
		cut := false
		for i, l := range lines {
			if m, ok := strings.CutSuffix(l, ": "+e.kind.Error()); ok && m != "" {
				lines[i], cut = m, true
			}
		}
		if cut {
			break
		}
	}
	return strings.Join(lines, "\n")
}

// clientTold is an error that says, in ClientMessage, what a caller may be told
// of a 5xx in place of the generic message: what is wrong and what to do, with
// no secret in it (runtimes.DaemonDownError: the container runtime's daemon
// does not answer).
type clientTold interface {
	error
	ClientMessage() string
}

// cutOffMessage is what a caller is told of a request that Portico's shutdown
// cut off.
const cutOffMessage = "Portico is shutting down: the request was cut off before it finished (it may or may not have taken effect); retry it"

// unreadMessage is what a caller is told of a request whose head or body had
// not come in whole when Portico began to stop (h1.ErrShutdown, refuseUnread):
// nothing of it ran.
const unreadMessage = "Portico is shutting down: the request had not arrived whole, so it did not run; retry it"

// errHeadUnread is a request whose head had not come in whole when the
// server began to stop (refuseUnread).
var errHeadUnread = errors.New("the server shut down before the request's head came in whole")

// refuseUnread answers a request the HTTP server refused before it reached the
// routes (h1.Options.Refuse), in Lambda's error shape with a request id: 503
// ServiceException for a head that had not come in whole when the stop began
// (as writeError answers a body cut so), 431 or 414 for a header or request
// line over the listener's max-header-bytes, 408 for a head not received in
// time, 400 for a malformed one (and 417, 501, 505 for an expectation, a
// transfer coding or an HTTP version the server does not take), where the
// server's answer was plain text.
func (s *Server) refuseUnread(w http.ResponseWriter, r *http.Request, status int) {
	w.Header().Set("X-Amzn-RequestId", ids.UUID())
	noFraming(w.Header())
	// An answer may carry secrets (API key values, a function's
	// environment): no cache keeps it, a browser's on a shared machine
	// included. The console's pages, which hold no data, say no-cache.
	w.Header().Set("Cache-Control", "no-store")
	if status == http.StatusServiceUnavailable {
		s.writeError(w, r, &cutOffError{err: errHeadUnread, msg: unreadMessage})
		return
	}
	typ, kind := listener.RefusedErrorType(status), "User"
	switch {
	case typ != "":
	case status >= 500:
		typ, kind = "ServiceException", "Service"
	default:
		typ = "InvalidRequestContentException"
	}
	w.Header().Set("x-amzn-ErrorType", typ)
	_ = writeJSON(w, status, lambdaErrorBody(kind, typ, http.StatusText(status)))
}

// cutOffError is the error of a request the end of the admin server's
// graceful stop cut off (shutdown.ErrCutOff), or whose body had not come in
// whole when the stop began (h1.ErrShutdown): 503, whatever the handler made
// of its cancelled context (context.Canceled would be a 500) or of its body's
// read (a 400), and no client's going away.
type cutOffError struct {
	err error
	msg string // what the caller is told: cutOffMessage, unreadMessage
}

func (e *cutOffError) Error() string {
	if e.msg == unreadMessage {
		return e.err.Error() // h1.ErrShutdown, errHeadUnread: nothing ran
	}
	return "cut off by the shutdown: " + e.err.Error()
}

func (e *cutOffError) Unwrap() []error {
	return []error{&errdefs.Kinded{Kind: errdefs.ErrUnavailable, Message: e.msg}, e.err}
}

// ClientMessage is what the caller is told.
func (e *cutOffError) ClientMessage() string { return e.msg }

// cutOffBy returns err as a cutOffError when r was cut off by the server's
// shutdown, or its body's read by the start of the stop, and err is no error
// of a surface's own saying so already (the invoker's shutdown errors have
// their own message), else err.
func cutOffBy(r *http.Request, err error) error {
	if errors.Is(err, h1.ErrShutdown) {
		// Not err: the route's words for the failed read would say 400.
		return &cutOffError{err: h1.ErrShutdown, msg: unreadMessage}
	}
	if !shutdown.IsCutOff(r.Context()) {
		return err
	}
	var told clientTold
	if errors.As(err, &told) {
		return err
	}
	return &cutOffError{err: err, msg: cutOffMessage}
}

// lambdaCapitalMessage holds the Lambda error types whose body spells its
// message "Message", as Lambda's API model (the AWS SDKs'
// models/apis/lambda/2015-03-31/api-2.json) declares their members and as
// Lambda answers, e.g. a 404 {"Message":"Function not found: arn:...",
// "Type":"User"}. Every other Lambda type there (InvalidParameterValue,
// InvalidRequestContent, ResourceConflict, PreconditionFailed,
// RequestTooLarge, TooManyRequests, UnsupportedMediaType, ...) spells it
// "message", and so do Portico's own types, which the model lacks.
var lambdaCapitalMessage = map[string]bool{
	"ResourceNotFoundException":            true,
	"ResourceInUseException":               true,
	"ServiceException":                     true,
	"InvalidCodeSignatureException":        true,
	"InvalidRuntimeException":              true,
	"InvalidSecurityGroupIDException":      true,
	"InvalidSubnetIDException":             true,
	"InvalidZipFileException":              true,
	"KMSAccessDeniedException":             true,
	"KMSDisabledException":                 true,
	"KMSInvalidStateException":             true,
	"KMSNotFoundException":                 true,
	"SubnetIPAddressLimitReachedException": true,
}

// lambdaErrorBody is Lambda's error body {"Type": kind, "message": msg} for
// an error of type typ, its message under "Message" where Lambda spells it so
// (lambdaCapitalMessage). The AWS SDKs read either spelling.
func lambdaErrorBody(kind, typ, msg string) map[string]string {
	key := "message"
	if lambdaCapitalMessage[typ] {
		key = "Message"
	}
	return map[string]string{"Type": kind, key: msg}
}

// throttleRetryAfter is the Retry-After (seconds) of a throttled invoke: a
// concurrency slot or sandbox frees as soon as a call running ends, so a
// second is as long as a caller need wait before it tries again.
const throttleRetryAfter = "1"

// writeError maps an error to a status and AWS's error body
// {"Type":"User","message":"..."} with x-amzn-ErrorType ("Message" for the
// types whose model spells it so: lambdaErrorBody). 5xx are logged.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	err = bodyTimedOut(w, cutOffBy(r, bodySignatureError(r, err)))
	if clientGone(r, err) {
		s.log.Debug("admin request: client gone before its answer", "requestId", w.Header().Get("X-Amzn-RequestId"),
			"method", r.Method, "path", r.URL.Path, "status", statusClientClosedRequest, "err", err)
		return
	}
	status, typ := errorStatus(err, lambdaSurface)
	var k *errdefs.Kinded
	kind, msg, reason := "User", clientMessage(err), ""
	if errors.As(err, &k) && status < 500 {
		if k.Type != "" {
			typ = k.Type
		}
		msg, reason = k.Message, k.Reason
		if status == http.StatusTooManyRequests && k.Reason != "" && w.Header().Get("Retry-After") == "" {
			// A throttled invoke (TooManyRequestsException with a Reason): the
			// SDKs read Retry-After into RetryAfterSeconds, as from Lambda.
			w.Header().Set("Retry-After", throttleRetryAfter)
		}
	}
	if status >= 500 {
		// The detail stays in the log, under the request id the client sees.
		if k != nil && k.Type != "" {
			typ = k.Type
		}
		kind, msg, reason = "Service", genericServerError(typ), ""
		var told clientTold
		var damaged *store.RecordError
		switch {
		case unwritableMessage(err) != "":
			msg = unwritableMessage(err)
		case errors.As(err, &damaged):
			// A damaged record names the DELETE that removes it, when there is one.
			msg = damagedMessage(damaged)
		case errors.As(err, &told):
			msg = told.ClientMessage()
		}
		s.log.Error("admin request failed", "requestId", w.Header().Get("X-Amzn-RequestId"), "method", r.Method,
			"path", r.URL.Path, "status", status, "err", err)
	}
	body := lambdaErrorBody(kind, typ, msg)
	if reason != "" {
		body["Reason"] = reason
	}
	w.Header().Set("x-amzn-ErrorType", typ)
	_ = writeJSON(w, status, body)
}
