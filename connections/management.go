package connections

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/h1"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/shutdown"
	"github.com/portico-dev/portico/internal/signin"
	"github.com/portico-dev/portico/internal/sigv4"
)

// SigningService is the service name @connections requests are signed for.
const SigningService = "execute-api"

// isoMillis is the ISO 8601 form of GetConnection's times.
const isoMillis = "2006-01-02T15:04:05.000Z"

// ServeManagement serves the @connections API for connection id on an API's
// stage: POST sends the body to the client, GET describes the connection, DELETE
// closes it. apiID may be "" when the caller reached the stage without naming the
// API (the connection id alone identifies it). Requests must carry a SigV4
// signature from credentials Issue made (or the admin token, as a bearer token or
// the secret of access key id "portico"). Errors are AWS's: 403
// ForbiddenException (403 InvalidSignatureException for a credential scoped to
// another region or service), 410 GoneException, 413 PayloadTooLargeException, each with
// x-amzn-ErrorType; 408 RequestTimeoutException for a body that did not arrive
// within the listener's body-timeout (listener.ErrBodyTimeout), and 503 for one
// cut off by the server's stop (h1.ErrShutdown).
//
// It returns nil once it answered. When r's client went away before its body
// came in whole (it ended its side of the connection), nothing is answered:
// it returns an error for which the caller's ClientGone test holds (r's
// context is cancelled), for the caller to record the request as 499 and to
// write nothing either.
func (m *Manager) ServeManagement(w http.ResponseWriter, r *http.Request, apiID, stage, id string) error {
	err := m.serveManagement(w, r, apiID, stage, id)
	if err == nil {
		return nil
	}
	if errors.Is(err, errClientGone) {
		m.log.Debug("@connections request: client gone before its answer", "method", r.Method, "path", r.URL.Path,
			"status", statusClientClosedRequest, "err", err)
		return err
	}
	m.writeManagementError(w, r, err)
	return nil
}

// statusClientClosedRequest is how a request whose client went away before
// its answer is recorded, as nginx records it.
const statusClientClosedRequest = 499

// errClientGone marks a request whose client went away before its body came
// in whole: nobody is left to answer.
var errClientGone = errors.New("client went away")

// bodyReadError returns the error a failed read of r's body answers as: 408
// RequestTimeoutException (and the connection closed) for a body the
// listener's body-timeout ended, 503 for one the server's stop cut off,
// errClientGone when the client went away, else 400. The read's own error
// (which may name the connection's socket addresses) stays in the server's
// log, never in the answer.
func bodyReadError(w http.ResponseWriter, r *http.Request, err error) error {
	switch {
	case errors.Is(err, listener.ErrBodyTimeout):
		w.Header().Set("Connection", "close")
		return fmt.Errorf("%w: %w", listener.BodyTimeoutError(), err)
	case errors.Is(err, h1.ErrShutdown) || shutdown.IsCutOff(r.Context()):
		w.Header().Set("Connection", "close")
		return fmt.Errorf("%w: %w", &errdefs.Kinded{Kind: errdefs.ErrUnavailable, Type: "ServiceUnavailableException",
			Message: "Service Unavailable: the server is stopping; send the request again"}, err)
	case r.Context().Err() != nil:
		return fmt.Errorf("reading the body: %w: %w", errClientGone, err)
	}
	msg := "Bad Request: the request body could not be read: " + listener.ReadCause(err)
	return fmt.Errorf("%w: %w", errdefs.New(errdefs.ErrInvalid, "BadRequestException", msg), err)
}

var errForbidden = &errdefs.Kinded{Kind: errdefs.ErrForbidden, Type: "ForbiddenException", Message: "Forbidden"}

func (m *Manager) serveManagement(w http.ResponseWriter, r *http.Request, apiID, stage, id string) (err error) {
	// Until the body is read, a refusal (a wrong bearer token, a signature
	// refused from its head) is decided from the head alone: answered at
	// once and the connection closed, as the admin API does, rather than
	// the rest of the body waited for (and read to keep the connection).
	headOnly := true
	defer func() {
		if err != nil && headOnly && r.ContentLength != 0 {
			w.Header().Set("Connection", "close")
		}
	}()
	authz := r.Header.Get("Authorization")
	if authz == "" && r.URL.Query().Get("X-Amz-Signature") == "" {
		return fmt.Errorf("unsigned @connections request: %w", errForbidden)
	}
	if err := sigv4.OneAuthorization(r.Header); err != nil {
		// Refused unchecked, whichever line holds a credential: no secret
		// was tried, so it is no failed sign-in.
		return fmt.Errorf("%w: %w", errForbidden, err)
	}
	// A request that presents a credential is a sign-in: refused at once
	// while its client has failed too often (internal/signin), unless it is
	// signed with credentials issued to a sandbox. Their secrets are HMACs
	// no one can guess, so checking them gives a guesser nothing, and a
	// process-runtime sandbox shares its address with everyone on the host:
	// someone else's failures must not stop a function's callbacks.
	wait := m.signIns.Wait(r.RemoteAddr, m.now())
	limited := func() error {
		w.Header().Set("Retry-After", signin.RetryAfter(wait))
		return &errdefs.Kinded{Kind: errdefs.ErrThrottled, Type: "LimitExceededException", Message: "Limit Exceeded"}
	}
	if wait > 0 && !strings.HasPrefix(signingKeyID(r), accessKeyPrefix) {
		return limited()
	}
	bearer := wait == 0 && m.bearerOK(authz)
	var pending *sigv4.Pending
	if !bearer {
		v := sigv4.Verifier{SessionSecret: m.secretFor, Service: SigningService, Region: functions.Region, MaxSkew: m.cfg.SigningMaxSkew, Now: m.now, Keys: &m.signingKeys}
		p, err := v.Check(r)
		if err != nil {
			m.signInFailed(r, err)
			if wait > 0 {
				return limited()
			}
		}
		if scope, ok := errors.AsType[*sigv4.ScopeError](err); ok {
			// AWS names a credential scoped to another region or service:
			// 403 InvalidSignatureException, "Credential should be scoped to ...".
			return fmt.Errorf("%w: %w", &errdefs.Kinded{Kind: errdefs.ErrForbidden, Type: "InvalidSignatureException", Message: scope.Message()}, err)
		}
		if de, ok := errors.AsType[*sigv4.DateError](err); ok {
			// A clock off by more than the skew (or a presigned URL past
			// its X-Amz-Expires): AWS says so, "Signature expired: ...".
			return fmt.Errorf("%w: %w", &errdefs.Kinded{Kind: errdefs.ErrForbidden, Type: "InvalidSignatureException", Message: de.Message()}, err)
		}
		if err != nil {
			return fmt.Errorf("%w: %w", errForbidden, err)
		}
		pending = p
	}
	// A Content-Length over the limit is refused before the body is read, so
	// that a client that waits for a 100 Continue is not told to send it.
	if r.ContentLength > int64(m.cfg.MaxMessageBytes) {
		return &errdefs.Kinded{Kind: errdefs.ErrTooLarge, Type: "PayloadTooLargeException",
			Message: fmt.Sprintf("Message of more than %d bytes", m.cfg.MaxMessageBytes)}
	}
	headOnly = false
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(m.cfg.MaxMessageBytes)+1))
	if err != nil {
		return bodyReadError(w, r, err)
	}
	if len(body) > m.cfg.MaxMessageBytes {
		return &errdefs.Kinded{Kind: errdefs.ErrTooLarge, Type: "PayloadTooLargeException",
			Message: fmt.Sprintf("Message of more than %d bytes", m.cfg.MaxMessageBytes)}
	}
	if pending != nil {
		if err := pending.VerifyBody(body); err != nil {
			m.signInFailed(r, err)
			if wait > 0 {
				return limited()
			}
			return fmt.Errorf("%w: %w", errForbidden, err)
		}
		// Authorized before the connection is looked up: 410 only to a
		// caller who may make the call.
		if err := m.mayManage(r.Context(), pending.Credential.AccessKeyID, pending.SessionToken, r.Method, apiID, stage, id); err != nil {
			return err
		}
	}
	switch r.Method {
	case http.MethodPost:
		if err := m.Send(apiID, stage, id, body); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	case http.MethodGet:
		info, err := m.Get(apiID, stage, id)
		if err != nil {
			return err
		}
		out, err := json.Marshal(connectionDoc{
			ConnectedAt:  info.ConnectedAt.UTC().Format(isoMillis),
			Identity:     identityDoc{SourceIP: info.SourceIP, UserAgent: info.UserAgent},
			LastActiveAt: info.LastActiveAt.UTC().Format(isoMillis),
		})
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(out)
		return nil
	case http.MethodDelete:
		if err := m.Disconnect(apiID, stage, id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		return errdefs.New(errdefs.ErrInvalid, "MethodNotAllowedException", "Method Not Allowed")
	}
}

// SetSignIns makes the @connections API count failed sign-ins (a wrong bearer
// token, a signature that does not verify) in l, the limiter the admin API
// shares, and refuse a client that failed too often with 429
// LimitExceededException and Retry-After. Call it before serving.
func (m *Manager) SetSignIns(l *signin.Limiter) { m.signIns = l }

// signingKeyID returns the access key id a SigV4-signed request names (in its
// Authorization header or its presigned query), or "".
func signingKeyID(r *http.Request) string {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if a, err := sigv4.ParseAuthorization(r.Header.Get("Authorization")); err == nil {
		return a.Credential.AccessKeyID
	}
	id, _, _ := strings.Cut(cred, "/")
	return id
}

// signInFailed counts a failed sign-in by r's client.
func (m *Manager) signInFailed(r *http.Request, err error) {
	m.signIns.Failed(r.RemoteAddr, m.now())
	m.log.Debug("@connections sign-in failed", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path, "err", err)
}

// connectionDoc is GetConnection's answer.
type connectionDoc struct {
	ConnectedAt  string      `json:"connectedAt"`
	Identity     identityDoc `json:"identity"`
	LastActiveAt string      `json:"lastActiveAt"`
}

type identityDoc struct {
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// jsonString quotes s as a JSON string (invalid UTF-8 becomes U+FFFD).
func jsonString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// writeManagementError is the one place where @connections errors become status
// codes: AWS's {"message": "..."} body with x-amzn-ErrorType.
func (m *Manager) writeManagementError(w http.ResponseWriter, r *http.Request, err error) {
	status, typ, msg := http.StatusInternalServerError, "InternalServerErrorException", "Internal server error"
	var k *errdefs.Kinded
	if errors.As(err, &k) {
		typ, msg = k.Type, k.Message
	}
	switch {
	case errors.Is(err, errdefs.ErrForbidden):
		status = http.StatusForbidden
	case errors.Is(err, errdefs.ErrGone):
		status = http.StatusGone
	case errors.Is(err, errdefs.ErrTooLarge):
		status = http.StatusRequestEntityTooLarge
	case errors.Is(err, listener.ErrBodyTimeout):
		status = http.StatusRequestTimeout
	case errors.Is(err, errdefs.ErrUnavailable):
		status = http.StatusServiceUnavailable
	case errors.Is(err, errdefs.ErrInvalid):
		status = http.StatusBadRequest
		if typ == "MethodNotAllowedException" {
			status = http.StatusMethodNotAllowed
		}
	case errors.Is(err, errdefs.ErrThrottled):
		status, typ, msg = http.StatusTooManyRequests, "LimitExceededException", "Limit Exceeded"
	}
	if status >= 500 {
		m.log.Error("@connections request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		m.log.Debug("@connections request refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	if status == http.StatusForbidden && typ == errForbidden.Type {
		msg = "Forbidden" // never say why a key or a signature's bytes failed
	}
	w.Header().Set("Date", time.Now().UTC().Format(http.TimeFormat))
	writeJSONError(w, status, typ, msg)
}
