package admin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/h1"
	"github.com/portico-dev/portico/internal/tracing"
	"github.com/portico-dev/portico/invoker"
)

// Limits of Invoke.
const (
	// maxInvokeBody is Lambda's synchronous invoke payload limit (6 MB).
	maxInvokeBody = 6 << 20
	// maxClientContext is Lambda's limit on the base64 X-Amz-Client-Context header.
	maxClientContext = 3583
)

// invoke serves Invoke: RequestResponse, Event (asynchronous) and DryRun.
func (s *Server) invoke(w http.ResponseWriter, r *http.Request, ref functions.Ref) error {
	invType := r.Header.Get("X-Amz-Invocation-Type")
	switch invType {
	case "", "RequestResponse", "Event", "DryRun":
	default:
		return functions.Violation("invocationType", invType, "satisfy enum value set: [Event, RequestResponse, DryRun]")
	}
	logType := r.Header.Get("X-Amz-Log-Type")
	if logType != "" && logType != "None" && logType != "Tail" {
		return functions.Violation("logType", logType, "satisfy enum value set: [None, Tail]")
	}
	var clientContext string
	if cc := r.Header.Get("X-Amz-Client-Context"); cc != "" {
		if len(cc) > maxClientContext {
			return invalid("Client context must be at most %d bytes of base64", maxClientContext)
		}
		raw, err := base64.StdEncoding.DecodeString(cc)
		if err != nil || !isJSONObject(raw) {
			return invalid("Client context must be a valid Base64-encoded JSON object")
		}
		clientContext = string(raw)
	}
	if r.ContentLength > maxInvokeBody { // refused before a read sends a waiting client "100 Continue"
		return errdefs.New(errdefs.ErrTooLarge, "RequestTooLargeException", tooLargeMessage(r, maxInvokeBody))
	}
	// An Event's own limit (1 MiB) is checked as the 6 MB one is, before the
	// content: an over-size event is told so whether or not it is JSON.
	checkEvent := func(n int64) error {
		if invType != "Event" || s.inv == nil {
			return nil
		}
		return s.inv.CheckAsyncPayload(n)
	}
	if err := checkEvent(r.ContentLength); err != nil {
		return err
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, maxInvokeBody+1))
	if bodyReadAnswered(err) {
		return err // 408 or 503 (writeError)
	}
	if err != nil {
		return errdefs.New(errdefs.ErrInvalid, "InvalidRequestContentException", "could not read the request body: "+err.Error())
	}
	if len(payload) > maxInvokeBody {
		// The server's lingering close lets the client read the 413 (internal/h1).
		return errdefs.New(errdefs.ErrTooLarge, "RequestTooLargeException", tooLargeMessage(r, maxInvokeBody))
	}
	if err := checkEvent(int64(len(payload))); err != nil {
		return err
	}
	if len(payload) > 0 && !json.Valid(payload) {
		return errdefs.New(errdefs.ErrInvalid, "InvalidRequestContentException", payloadParseError(payload))
	}

	cfg, err := s.aliases.Resolve(r.Context(), ref)
	if err != nil {
		return err
	}
	// The caller's trace is continued (Lambda's PassThrough); a header of
	// another shape is ignored, and the invocation gets a trace of its own.
	// Of several lines the last is read, as the gateway reads them.
	var traceID string
	if vs := r.Header.Values(tracing.HeaderXRay); len(vs) > 0 {
		traceID, _ = tracing.ContinueXRay(vs[len(vs)-1])
	}
	switch invType {
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return nil
	case "Event":
		// The client context is checked, but not kept: Lambda passes it to
		// synchronous invocations only.
		id, err := s.inv.InvokeAsync(r.Context(), invoker.Request{
			Function: cfg, Payload: payload, InvokedARN: functions.ARN(ref.Name, ref.Qualifier), TraceID: traceID,
		})
		if err != nil {
			return err
		}
		w.Header().Set("X-Amzn-RequestId", id)
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	req := invoker.Request{
		Function:      cfg,
		Payload:       payload,
		InvokedARN:    functions.ARN(ref.Name, ref.Qualifier),
		ClientContext: clientContext,
		TraceID:       traceID,
		LogTail:       logType == "Tail",
	}
	if !req.LogTail {
		// A warm result is answered from the goroutine that reads it, while
		// this one waits parked on the client's connection.
		if a := (&invokeAnswer{w: w}); a.Init(w) {
			req.Answer = a
		}
	}
	res, err := s.inv.Invoke(r.Context(), req)
	if err != nil {
		// An invocation that began and was cut off (Portico's shutdown, a
		// lost sandbox) is answered, and logged, under its own request ID:
		// the one its lines in the function log carry.
		var ie *invoker.InvocationError
		if errors.As(err, &ie) && ie.RequestID != "" {
			w.Header().Set("X-Amzn-RequestId", ie.RequestID)
		}
		return throttleReason(err)
	}
	if res.Answered {
		return nil
	}
	return writeInvokeResult(w, res, logType == "Tail")
}

// invokeAnswer is an Invoke's client, answered by the invoker (Request.Answer).
type invokeAnswer struct {
	h1.Park
	w http.ResponseWriter
}

// Answer implements invoker.Answerer.
func (a *invokeAnswer) Answer(res *invoker.Result) bool {
	_ = writeInvokeResult(a.w, res, false)
	if f, ok := a.w.(http.Flusher); ok {
		f.Flush()
	}
	a.Answered()
	return true
}

// writeInvokeResult writes res as Invoke's answer.
func writeInvokeResult(w http.ResponseWriter, res *invoker.Result, tail bool) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if res.RequestID != "" {
		h.Set("X-Amzn-RequestId", res.RequestID)
	}
	h.Set("X-Amz-Executed-Version", res.ExecutedVersion)
	if res.FunctionError != "" {
		h.Set("X-Amz-Function-Error", res.FunctionError)
	}
	if tail {
		h.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString(res.LogTail))
	}
	h.Set("Content-Length", strconv.Itoa(len(res.Payload)))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(res.Payload); err != nil {
		return &clientWriteError{err}
	}
	return nil
}

// throttleReason gives a throttling error without an explicit AWS type Lambda's type
// and a Reason, so clients see TooManyRequestsException with one.
func throttleReason(err error) error {
	var k *errdefs.Kinded
	if !errors.Is(err, errdefs.ErrThrottled) || errors.As(err, &k) {
		return err
	}
	return &errdefs.Kinded{Kind: errdefs.ErrThrottled, Type: "TooManyRequestsException",
		Message: "Rate Exceeded.", Reason: "ConcurrentInvocationLimitExceeded"}
}

// isJSONObject reports whether b is a JSON object (a client context must be
// one: aws-lambda-go and the other runtimes decode it into a struct).
func isJSONObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

// payloadParseError is Lambda's message for an invocation payload that is
// not JSON: why it does not parse, and where (line and column, 1-based, the
// column in characters), as Lambda's "... at [Source: ...; line: 1, column:
// 7]" says it, without the payload's text.
func payloadParseError(payload []byte) string {
	var v any
	err := json.Unmarshal(payload, &v)
	reason, at := "not JSON", len(payload)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		reason, at = se.Error(), int(se.Offset)
		if se.Error() != "unexpected end of JSON input" {
			at-- // Offset is past the character that stopped the parse
		}
	}
	if bytes.HasPrefix(payload, []byte("\xef\xbb\xbf")) && at == 0 {
		// encoding/json reads a BOM's first byte as the character 'ï';
		// Lambda refuses it too, but naming it says what to remove.
		reason = "the payload begins with a UTF-8 byte order mark (EF BB BF), which JSON does not allow: save or send it without one"
	}
	at = max(0, min(at, len(payload)))
	before := payload[:at]
	line := bytes.Count(before, []byte("\n")) + 1
	column := utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	return fmt.Sprintf("Could not parse request body into json: Could not parse payload into json: %s\n at [line: %d, column: %d]", reason, line, column)
}
