package admin

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/ids"
	"github.com/portico-dev/portico/internal/signin"
	"github.com/portico-dev/portico/internal/sigv4"
)

// SandboxCredentials resolves the credentials sandboxes sign AWS calls with.
// The admin API declares it; connections.Manager provides it. Implementations
// are safe for concurrent use.
type SandboxCredentials interface {
	// SandboxCredential returns the secret of an access key id and session
	// token issued to a sandbox, and the function it was issued to; false
	// when they are not such credentials or have expired.
	SandboxCredential(accessKeyID, sessionToken string) (secret, function string, ok bool)
}

// codeDeployTarget starts the X-Amz-Target of CodeDeploy's JSON 1.1 API.
const codeDeployTarget = "CodeDeploy_20141006."

// maxCodeDeployBody bounds a CodeDeploy request's body.
const maxCodeDeployBody = 64 << 10

// isCodeDeploy reports whether r is a call of CodeDeploy's API (POST / with
// its X-Amz-Target), which serveCodeDeploy authenticates itself.
func isCodeDeploy(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == "/" && strings.HasPrefix(r.Header.Get("X-Amz-Target"), codeDeployTarget)
}

// serveCodeDeploy serves the one CodeDeploy operation Portico has,
// PutLifecycleEventHookExecutionStatus, for the hooks of traffic shifts. A
// hook's sandbox signs it with its own credentials and may report only on the
// hook executions addressed to its function; the admin token (bearer, or
// SigV4 as access key "portico") may report on any, and so may an unsigned
// call when the admin API has no token, as every route then allows.
func (s *Server) serveCodeDeploy(w http.ResponseWriter, r *http.Request) {
	if err := s.codeDeploy(w, r, false); err != nil {
		s.writeJSON11Error(w, r, err)
	}
}

// SandboxCodeDeploy is CodeDeploy's PutLifecycleEventHookExecutionStatus as
// sandboxes reach it on the gateway's sandbox-facing endpoint (a
// gateway.SandboxService), which a container sandbox reaches where it cannot
// reach the admin API. There a call must be signed with credentials issued to
// a sandbox, and reports only on the hook executions addressed to that
// sandbox's function: neither the admin token nor an unsigned call is taken,
// whatever the admin API takes. Safe for concurrent use.
type SandboxCodeDeploy struct{ s *Server }

// SandboxCodeDeploy returns the sandbox-facing CodeDeploy endpoint of s.
func (s *Server) SandboxCodeDeploy() *SandboxCodeDeploy { return &SandboxCodeDeploy{s: s} }

// CodeDeployEndpointVariable points the AWS SDKs' and CLI's CodeDeploy clients
// at an endpoint.
const CodeDeployEndpointVariable = "AWS_ENDPOINT_URL_CODEDEPLOY"

// EndpointVariable names the variable that points a sandbox's CodeDeploy
// client at the sandbox-facing endpoint.
func (c *SandboxCodeDeploy) EndpointVariable() string { return CodeDeployEndpointVariable }

// Claims reports whether r is a call of CodeDeploy's API.
func (c *SandboxCodeDeploy) Claims(r *http.Request) bool { return isCodeDeploy(r) }

// ServeHTTP serves a sandbox's call, in CodeDeploy's JSON 1.1 protocol.
func (c *SandboxCodeDeploy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Amzn-RequestId", ids.UUID())
	if err := c.s.codeDeploy(w, r, true); err != nil {
		c.s.writeJSON11Error(w, r, err)
	}
}

// codeDeploy serves r; sandboxOnly takes only a sandbox's signature
// (SandboxCodeDeploy). A call that presents a credential is a sign-in, under
// the failed sign-in limit as every other route's (codeDeploySignIns): refused
// at once while its client has failed too often, and counted when refused. A
// credential that does not cover the body (a bearer token, none, another
// scheme) is checked from the head, before the body is read.
func (s *Server) codeDeploy(w http.ResponseWriter, r *http.Request, sandboxOnly bool) error {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), codeDeployTarget)
	if s.shifts == nil || op != "PutLifecycleEventHookExecutionStatus" {
		return errdefs.New(errdefs.ErrNotFound, "UnknownOperationException",
			"Portico does not implement the CodeDeploy operation "+op+": it has PutLifecycleEventHookExecutionStatus, for the hooks of traffic shifts")
	}
	authz := r.Header.Get("Authorization")
	lim := s.codeDeploySignIns(sandboxOnly)
	var wait time.Duration
	if authz != "" {
		wait = lim.Wait(r.RemoteAddr, s.clock()())
	}
	// While the client waits, only the credentials Portico issued to a
	// sandbox are still checked, as on @connections: their secrets are HMACs
	// no one can guess, and a process-runtime sandbox shares its address with
	// everyone on the host, whose failures must not cut a hook's report off.
	if wait > 0 && !s.sandboxSigned(r) {
		leaveBody(w, r)
		return codeDeployThrottled(w, wait, sandboxOnly)
	}
	signed := strings.HasPrefix(authz, "AWS4-HMAC-SHA256 ")
	caller := ""
	if !signed {
		// Nothing of the body to check: decided from the head, answered at
		// once and the connection closed rather than the body waited for.
		c, err := s.codeDeployCaller(r, nil, sandboxOnly)
		if err != nil {
			leaveBody(w, r)
			// On the sandbox-facing endpoint no secret was tried: a call
			// that is not SigV4 is refused unchecked, no failed sign-in.
			return s.codeDeployRefused(w, r, lim, wait, sandboxOnly, !sandboxOnly && authz != "", err)
		}
		caller = c
	}
	if r.ContentLength > maxCodeDeployBody {
		return errdefs.New(errdefs.ErrTooLarge, "ValidationException", "The request body is over 64 KB")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCodeDeployBody+1))
	if bodyReadAnswered(err) {
		return err
	}
	if err != nil || len(body) > maxCodeDeployBody {
		return errdefs.New(errdefs.ErrInvalid, "ValidationException", "The request body is over 64 KB or could not be read")
	}
	if signed {
		c, err := s.codeDeployCaller(r, body, sandboxOnly)
		if err != nil {
			return s.codeDeployRefused(w, r, lim, wait, sandboxOnly, true, err)
		}
		caller = c
	}
	var in struct {
		DeploymentID string `json:"deploymentId"`
		ExecutionID  string `json:"lifecycleEventHookExecutionId"`
		Status       string `json:"status"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return errdefs.New(errdefs.ErrInvalid, "SerializationException", "The request body is not a JSON object: "+jsonProblem(err).Error())
	}
	switch {
	case in.DeploymentID == "":
		return errdefs.New(errdefs.ErrInvalid, "DeploymentIdRequiredException", "deploymentId is required")
	case in.ExecutionID == "":
		return errdefs.New(errdefs.ErrInvalid, "InvalidLifecycleEventHookExecutionIdException", "lifecycleEventHookExecutionId is required")
	}
	if err := s.shifts.Report(r.Context(), in.DeploymentID, in.ExecutionID, in.Status, caller); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	return writeJSON(w, http.StatusOK, map[string]string{"lifecycleEventHookExecutionId": in.ExecutionID})
}

// codeDeploySignIns returns the limiter of failed sign-ins a CodeDeploy call
// counts against: on the sandbox-facing endpoint the public gateway surfaces'
// budget (SetSandboxSignIns), shared with @connections; on the admin listener
// the admin API's, or nil while the admin API has no token (every route is
// open, so no sign-in fails).
func (s *Server) codeDeploySignIns(sandboxOnly bool) *signin.Limiter {
	switch {
	case sandboxOnly && s.sandboxSignIns != nil:
		return s.sandboxSignIns
	case sandboxOnly:
		return &s.ownSandboxSignIns
	case s.cfg.Token == "":
		return nil
	}
	return s.signInLimiter()
}

// SetSandboxSignIns makes the sandbox-facing CodeDeploy endpoint
// (SandboxCodeDeploy) count its failed signatures in l, the limiter of the
// public gateway surfaces (@connections, AWS_IAM routes, cache invalidation),
// and refuse a client that failed too often. Without it the endpoint has a
// limiter of its own. Call it before serving.
func (s *Server) SetSandboxSignIns(l *signin.Limiter) { s.sandboxSignIns = l }

// sandboxSigned reports whether r is SigV4-signed with an access key id and
// session token that Portico issued to a sandbox (whether the signature
// verifies is for the verifier to say).
func (s *Server) sandboxSigned(r *http.Request) bool {
	a, err := sigv4.ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil || s.sandboxes == nil {
		return false
	}
	_, _, ok := s.sandboxes.SandboxCredential(a.Credential.AccessKeyID, r.Header.Get("X-Amz-Security-Token"))
	return ok
}

// codeDeployRefused counts err, a CodeDeploy call's refused credential, as a
// failed sign-in by r's client when counted (a credential was checked), and
// returns what to answer: err, or 429 when the client was already waiting
// (wait, a sandbox's credentials that did not verify after all).
func (s *Server) codeDeployRefused(w http.ResponseWriter, r *http.Request, lim *signin.Limiter, wait time.Duration, sandboxOnly, counted bool, err error) error {
	if counted && errors.Is(err, errdefs.ErrForbidden) {
		lim.Failed(r.RemoteAddr, s.clock()())
		if !sandboxOnly {
			s.log.Warn("admin sign-in failed", "remote", r.RemoteAddr, "method", r.Method, "target", r.Header.Get("X-Amz-Target"), "err", err)
		} else {
			s.log.Debug("sandbox-facing CodeDeploy sign-in failed", "remote", r.RemoteAddr, "err", err)
		}
	}
	if wait > 0 {
		return codeDeployThrottled(w, wait, sandboxOnly)
	}
	return err
}

// codeDeployThrottled is CodeDeploy's answer to a client that must wait d
// before it signs in again: 429 ThrottlingException, CodeDeploy's type, which
// the AWS SDKs retry, with Retry-After.
func codeDeployThrottled(w http.ResponseWriter, d time.Duration, sandboxOnly bool) error {
	retry, err := tooManySignIns(d)
	w.Header().Set("Retry-After", retry)
	msg := clientMessage(err)
	if k, ok := errors.AsType[*errdefs.Kinded](err); ok {
		msg = k.Message
	}
	if sandboxOnly {
		msg = fmt.Sprintf("too many failed signatures from this address: wait %d s (Retry-After), then sign with the sandbox's own credentials "+
			"(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)", signin.Seconds(d))
	}
	return errdefs.New(errdefs.ErrThrottled, "ThrottlingException", msg)
}

// codeDeployCaller authenticates a CodeDeploy call: it returns the function
// whose sandbox credentials signed it, or "" for the admin token (or no
// token, when the admin API has none). With sandboxOnly, only a sandbox's
// credentials are taken.
func (s *Server) codeDeployCaller(r *http.Request, body []byte, sandboxOnly bool) (string, error) {
	h := r.Header.Get("Authorization")
	if sandboxOnly {
		return s.sandboxCaller(r, body, h)
	}
	if got, ok := signin.BearerToken(h); ok {
		if s.cfg.Token == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.Token)) == 1 {
			return "", nil
		}
		return "", errdefs.New(errdefs.ErrForbidden, "UnrecognizedClientException", msgUnknownKey)
	}
	if !strings.HasPrefix(h, "AWS4-HMAC-SHA256 ") {
		if s.cfg.Token == "" {
			return "", nil
		}
		return "", errdefs.New(errdefs.ErrForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token")
	}
	caller, open := "", false
	v := sigv4.Verifier{Region: functions.Region, Service: "codedeploy", MaxSkew: signingMaxSkew("codedeploy"), Now: s.clock(),
		SessionSecret: func(id, token string) (string, bool) {
			if s.sandboxes != nil {
				if secret, fn, ok := s.sandboxes.SandboxCredential(id, token); ok {
					caller = fn
					return secret, true
				}
			}
			if s.cfg.Token == "" {
				// No admin token: every route is open, and so is this one
				// to a key that is not a sandbox's (the AWS CLI's, say).
				open = true
				return "", false
			}
			// The admin key is a long-term one: a session token with it
			// was not issued by Portico.
			return s.cfg.Token, id == TokenAccessKeyID && token == ""
		}}
	if _, err := v.Verify(r, body); err != nil {
		if open && errors.Is(err, sigv4.ErrUnknownKey) {
			return "", nil
		}
		return "", s.signatureError(r, "codedeploy", err)
	}
	return caller, nil
}

// sandboxCaller authenticates a call on the sandbox-facing endpoint: signed
// with credentials issued to a sandbox, whose function it returns.
func (s *Server) sandboxCaller(r *http.Request, body []byte, authz string) (string, error) {
	if !strings.HasPrefix(authz, "AWS4-HMAC-SHA256 ") {
		return "", errdefs.New(errdefs.ErrForbidden, "MissingAuthenticationTokenException",
			"Missing Authentication Token: sign the call with the sandbox's own credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)")
	}
	caller := ""
	v := sigv4.Verifier{Region: functions.Region, Service: "codedeploy", MaxSkew: signingMaxSkew("codedeploy"), Now: s.clock(),
		SessionSecret: func(id, token string) (string, bool) {
			if s.sandboxes == nil {
				return "", false
			}
			secret, fn, ok := s.sandboxes.SandboxCredential(id, token)
			if ok {
				caller = fn
			}
			return secret, ok
		}}
	if _, err := v.Verify(r, body); err != nil {
		return "", s.signatureError(r, "codedeploy", err)
	}
	if caller == "" {
		return "", s.signatureError(r, "codedeploy", sigv4.ErrUnknownKey)
	}
	return caller, nil
}

// writeJSON11Error writes err in the AWS JSON 1.1 protocol's error shape
// ({"__type", "message"}), which CodeDeploy's clients read.
func (s *Server) writeJSON11Error(w http.ResponseWriter, r *http.Request, err error) {
	status, typ := errorStatus(err, lambdaSurface)
	msg := clientMessage(err)
	if k, ok := errors.AsType[*errdefs.Kinded](err); ok && status < 500 {
		typ, msg = k.Type, k.Message
	}
	if status >= 500 {
		s.log.Error("admin request failed", "requestId", w.Header().Get("X-Amzn-RequestId"), "method", r.Method,
			"target", r.Header.Get("X-Amz-Target"), "status", status, "err", err)
		msg = genericServerError(typ)
	}
	if status != http.StatusForbidden && status != http.StatusTooManyRequests && status < 500 {
		status = http.StatusBadRequest // CodeDeploy answers its errors with 400
	}
	w.Header().Set("x-amzn-ErrorType", typ)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = writeJSON(w, status, map[string]string{"__type": typ, "message": msg})
}
