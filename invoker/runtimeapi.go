package invoker

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/listener"
)

// Runtime API paths (2018-06-01) and the Extensions API's (2020-01-01,
// extensions.go), which aws-lambda-go calls when WithEnableSIGTERM is set.
const (
	pathNext      = "/2018-06-01/runtime/invocation/next"
	pathInvPrefix = "/2018-06-01/runtime/invocation/"
	pathInitError = "/2018-06-01/runtime/init/error"
	pathExtReg    = "/2020-01-01/extension/register"
	pathExtNext   = "/2020-01-01/extension/event/next"
)

// responseSlack is how much larger than Config.MaxPayload a response may be:
// Lambda takes responses up to 6 MiB + 100 bytes (6,291,556, the Runtime
// Interface Emulator's interop.MaxPayloadSize), requests up to 6 MiB.
const responseSlack = 100

// errorTypeRe is the allowlist for Lambda-Runtime-Function-Error-Type.
var errorTypeRe = regexp.MustCompile(`^(Runtime|Function)\.[A-Z][a-zA-Z]+$`)

// ServeHTTP is the sandbox's own Runtime API endpoint. It serves only this
// sandbox's invocations: the endpoint is bound for it alone.
func (sb *sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !sb.allowed(r) {
		// A peer that is not the sandbox has nothing more to ask here.
		w.Header().Set("Connection", "close")
		runtimeAPIError(w, http.StatusForbidden, "AccessDenied", "this Runtime API endpoint serves only its own sandbox")
		return
	}
	// Route on the path as the runtime sent it: one with escapes of bytes a
	// path keeps as they are (an id%2Fresponse, a %6Eext) names no route, as
	// on Lambda. RawPath is set only for such a path, so the usual one costs
	// nothing here.
	p := r.URL.Path
	if r.URL.RawPath != "" {
		p = r.URL.RawPath
	}
	switch {
	case p == pathNext && r.Method == http.MethodGet:
		sb.serveNext(w, r)
	case strings.HasPrefix(p, pathInvPrefix) && r.Method == http.MethodPost:
		rest := strings.TrimPrefix(p, pathInvPrefix)
		id, kind, ok := strings.Cut(rest, "/")
		if !ok || (kind != "response" && kind != "error") {
			runtimeAPIError(w, http.StatusNotFound, "InvalidRequest", "unknown Runtime API path "+p)
			return
		}
		sb.serveResult(w, r, id, kind == "error")
	case p == pathInitError && r.Method == http.MethodPost:
		sb.serveInitError(w, r)
	case p == pathExtReg && r.Method == http.MethodPost:
		sb.serveExtRegister(w, r)
	case p == pathExtNext && r.Method == http.MethodGet:
		sb.serveExtNext(w, r)
	default:
		runtimeAPIError(w, http.StatusNotFound, "InvalidRequest", "unknown Runtime API path "+r.Method+" "+p)
	}
}

// runtimeAPIRefuse answers, in the Runtime API's error shape, a request the
// endpoint's server refused before it was routed (h1.Options.Refuse): 431 for
// a header over its limit, 414 for a request line alone over it, 503 for a
// head that had not come in whole when the server began to stop, 408 for a
// head not received in time, 400 for a malformed one (and 417, 501, 505),
// where the server's own answer was plain text. The error type is the
// status text without spaces ("BadRequest", "RequestTimeout"), 414's
// RequestURITooLong.
func runtimeAPIRefuse(w http.ResponseWriter, _ *http.Request, status int) {
	typ := strings.ReplaceAll(http.StatusText(status), " ", "")
	if status == http.StatusRequestURITooLong {
		typ = "RequestURITooLong"
	}
	runtimeAPIError(w, status, typ, http.StatusText(status))
}

// runtimeAPIError answers status with Lambda's error document
// {"errorType", "errorMessage"}, as the Runtime Interface Emulator does.
func runtimeAPIError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorType": typ, "errorMessage": msg})
}

// serveNext long-polls for this sandbox's next invocation.
//
// The Runtime API server does not read a connection while its request is being
// handled. So an invocation is written only to a connection whose client is
// still there as far as the kernel knows (clientGone, one system call just
// before); one taken by a next whose client has gone, or that a newer next from
// the sandbox replaced, is handed back for the next poll. A next waits parked
// in the poller on its connection (parkNext), where a caller writes its
// invocation itself; one that waits on the channels instead gets a watch on its
// connection once it has waited long (watchLongNext).
func (sb *sandbox) serveNext(w http.ResponseWriter, r *http.Request) {
	rc := connOf(r)
	nw := sb.enterNext(rc, w)
	// A caller waiting for this sandbox hands its invocation over here.
	inv := sb.pool.ready(sb)
	if inv == nil {
		var end parkEnd
		if inv, end = sb.parkNext(nw); end == parkTaken {
			// A caller wrote its invocation on this connection, or found
			// the client gone and handed it back.
			_, gone := sb.leaveNext(nw)
			if gone {
				panic(http.ErrAbortHandler)
			}
			return
		}
		if inv == nil && end == parkSelect {
			select {
			case inv = <-sb.handback:
			case inv = <-sb.work:
			default:
				if wake := sb.waitNext(nw); wake != nil {
					select {
					case inv = <-sb.handback:
					case inv = <-sb.work:
					case <-sb.halted:
					case <-wake:
					case <-r.Context().Done():
					}
				}
			}
		}
	}
	kicked, gone := sb.leaveNext(nw)
	if inv != nil {
		if !kicked && !gone {
			gone = rc.clientGone()
		}
		if kicked || gone {
			sb.handBack(inv)
			inv = nil
		}
	}
	if inv == nil {
		switch {
		case gone:
			panic(http.ErrAbortHandler) // close the connection without an answer
		case kicked:
			runtimeAPIError(w, http.StatusConflict, "InvalidStateTransition", "a newer next from this sandbox replaced this one")
		case sb.isHalted():
			runtimeAPIError(w, http.StatusGone, "SandboxStopping", "sandbox is stopping")
		}
		return
	}
	sb.answerNext(w, inv)
}

// serveResult takes /response and /error for invocation id.
func (sb *sandbox) serveResult(w http.ResponseWriter, r *http.Request, id string, isError bool) {
	inv := sb.current()
	if inv == nil || inv.id != id {
		runtimeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID: "+id)
		return
	}
	limit := int64(sb.inv.p.Config.MaxPayload) + responseSlack
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		runtimeAPIError(w, http.StatusBadRequest, "InvalidRequest", "reading body: "+listener.ReadCause(err))
		return
	}
	if int64(len(body)) > limit {
		// Drain what is left so the client sees our answer, bounded.
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
		// An invocation that has its result refuses another for that,
		// whatever its size, and its caller and sandbox are left as they are.
		if inv.completed() {
			runtimeAPIError(w, http.StatusBadRequest, "InvalidStateTransition", "invocation "+id+" already has a result")
			return
		}
		// The words of Lambda's (the emulator's interop.ErrorResponseTooLarge
		// for the caller, rendering.RenderRequestEntityTooLarge for the runtime).
		size := strconv.FormatInt(limit, 10)
		msg := "Response payload size exceeded maximum allowed payload size (" + size + " bytes)."
		if !sb.inv.settleResult(sb, inv, &outcome{functionError: true, payload: errorDoc("Function.ResponseSizeTooLarge", msg)}) {
			// Another result got there first.
			runtimeAPIError(w, http.StatusBadRequest, "InvalidStateTransition", "invocation "+id+" already has a result")
			return
		}
		sb.pool.offerEarly(sb)
		runtimeAPIError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Exceeded maximum allowed payload size ("+size+" bytes).")
		return
	}
	// aws-lambda-go reports errors raised while streaming a response in trailers.
	if !isError {
		if t := r.Trailer.Get("Lambda-Runtime-Function-Error-Type"); t != "" {
			isError = true
			if b, err := base64.StdEncoding.DecodeString(r.Trailer.Get("Lambda-Runtime-Function-Error-Body")); err == nil && json.Valid(b) {
				body = b
			} else {
				body = errorDoc(t, "the function failed while streaming its response")
			}
		}
	}
	o := &outcome{payload: body}
	if isError {
		o.functionError = true
		typ := r.Header.Get("Lambda-Runtime-Function-Error-Type")
		if !errorTypeRe.MatchString(typ) {
			typ = ""
		}
		o.payload = normalizeError(body, typ)
	}
	if !sb.inv.settleResult(sb, inv, o) {
		runtimeAPIError(w, http.StatusBadRequest, "InvalidStateTransition", "invocation "+id+" already has a result")
		return
	}
	sb.pool.offerEarly(sb)
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(statusOK)
}

// jsonContentType is a Content-Type header value, shared by the answers that
// set it (the servers only read it).
var jsonContentType = []string{"application/json"}

// statusOK is the body of a 202 answer.
var statusOK = []byte(`{"status":"OK"}` + "\n")

// serveInitError takes /init/error, allowed only before the first next. The
// post fails the init by itself: the sandbox is stopped at once, so that the
// call waiting for it gets the error now, not at InitTimeout, whether or not
// the runtime exits after posting.
func (sb *sandbox) serveInitError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	typ := r.Header.Get("Lambda-Runtime-Function-Error-Type")
	if !errorTypeRe.MatchString(typ) {
		typ = ""
	}
	if !sb.setInitError(normalizeError(body, typ)) {
		runtimeAPIError(w, http.StatusForbidden, "InvalidStateTransition", "init/error is allowed only during init")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(statusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush() // the runtime has its answer before its SIGTERM
	}
	sb.inv.log.Info("sandbox posted init/error; stopping it", "function", sb.cfg.FunctionName, "version", sb.cfg.Version, "sandbox", sb.id)
	sb.stop()
}

// normalizeError returns the error document the caller sees: the runtime's own JSON
// when it is an object, else one built around its text. typ, when allowed and the
// document has no errorType, fills it.
func normalizeError(body []byte, typ string) []byte {
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err == nil && doc != nil {
		if _, ok := doc["errorType"]; !ok && typ != "" {
			doc["errorType"] = typ
			if b, err := json.Marshal(doc); err == nil {
				return b
			}
		}
		return body
	}
	if typ == "" {
		typ = "Runtime.Unknown"
	}
	return errorDoc(typ, string(bytes.TrimSpace(body)))
}

// errorDoc renders Lambda's error document.
func errorDoc(typ, msg string) []byte {
	b, _ := json.Marshal(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{msg, typ})
	return b
}

var errSandboxGone = errors.New("sandbox exited")
