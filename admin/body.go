package admin

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/h1"
	"github.com/portico-dev/portico/internal/listener"
	"github.com/portico-dev/portico/internal/redact"
)

// jsonBody says how a route reads its JSON request body. There are two dialects:
// Lambda's routes read as AWS does (unknown fields ignored, an empty body is an
// empty object, errors carry Lambda's exception types), but a key that names a
// member in another case is refused (encoding/json would apply it, Lambda
// ignores it: checkMemberCase); Portico's own routes are
// strict (unknown fields and trailing data are refused).
type jsonBody struct {
	// limit is the largest body accepted, in bytes.
	limit int64
	// lambda selects Lambda's dialect.
	lambda bool
	// optional lets a Portico route take an empty body as an empty object.
	optional bool
	// tooLarge is the exception type of a Lambda body over limit:
	// RequestTooLargeException when empty.
	tooLarge string
}

// The bodies of the admin routes.
var (
	// lambdaConfig is every Lambda JSON body but code uploads.
	lambdaConfig = jsonBody{limit: maxConfigBody, lambda: true}
	// lambdaCode is CreateFunction's and UpdateFunctionCode's body.
	// Over its limit it is Lambda's 413 RequestEntityTooLargeException, as a
	// CreateFunction or UpdateFunctionCode over Lambda's is.
	lambdaCode = jsonBody{limit: maxCodeBody, lambda: true, tooLarge: codeTooLarge}
	// porticoBody is a required JSON object on the /portico/v1 routes.
	porticoBody = jsonBody{limit: maxJSONBody}
	// porticoOptional is an optional JSON object on the /portico/v1 routes.
	porticoOptional = jsonBody{limit: maxJSONBody, optional: true}
)

// decodeJSON reads r's body into v as b says. A malformed body is ErrInvalid
// (Lambda: InvalidRequestContentException), an oversized one ErrTooLarge
// (Lambda: RequestTooLargeException).
func decodeJSON(w http.ResponseWriter, r *http.Request, b jsonBody, v any) error {
	raw, err := readBody(w, r, b)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		if b.lambda || b.optional {
			return nil
		}
		return fmt.Errorf("request body is empty; send a JSON object: %w", errdefs.ErrInvalid)
	}
	if b.lambda {
		if err := json.Unmarshal(raw, v); err != nil {
			return errdefs.New(errdefs.ErrInvalid, "InvalidRequestContentException",
				"Could not parse request body into json: "+jsonProblem(err).Error())
		}
		return checkMemberCase(raw, v)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("request body: %w: %w", jsonProblem(withholdUnknownField(err)), errdefs.ErrInvalid)
	}
	if dec.More() {
		return fmt.Errorf("request body has data after the JSON object: %w", errdefs.ErrInvalid)
	}
	return nil
}

// jsonProblem is err, but for a JSON value of the wrong type, which
// encoding/json describes with Go's names ("Go struct field
// PatchRequest.patchOperations of type []admin.PatchOperation"): it says
// which field must be what, in JSON's words ("patchOperations must be a
// list, not an object").
func jsonProblem(err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return err
	}
	want := "a JSON " + te.Type.Kind().String()
	switch te.Type.Kind() {
	case reflect.String:
		want = "a string"
	case reflect.Bool:
		want = "a boolean (true or false)"
	case reflect.Slice, reflect.Array:
		want = "a list"
		if te.Type.Elem().Kind() == reflect.Uint8 {
			want = "a base64 string"
		}
	case reflect.Map, reflect.Struct:
		want = "an object"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		want = "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want = "a whole number, 0 or more"
	case reflect.Float32, reflect.Float64:
		want = "a number"
	case reflect.Pointer, reflect.Interface:
		return fmt.Errorf("%s has a JSON %s where it does not belong", cmp.Or(te.Field, "the body"), te.Value)
	}
	field := cmp.Or(te.Field, "the body")
	if v, ok := strings.CutPrefix(te.Value, "number "); ok {
		// A JSON number the field's type cannot hold: name it ("not 1.5"),
		// and say when it is its size that does not fit.
		v = truncate(v, 40)
		k := te.Type.Kind()
		if k == reflect.Float32 || k == reflect.Float64 || !strings.ContainsAny(v, ".eE-") {
			return fmt.Errorf("%s must be %s, not %s (out of range)", field, want, v)
		}
		return fmt.Errorf("%s must be %s, not %s", field, want, v)
	}
	return fmt.Errorf("%s must be %s, not a JSON %s", field, want, te.Value)
}

// withholdUnknownField is err, but for json's "unknown field" error naming a
// field that should not be repeated (PEM pasted as a field's name, or a long
// one: redact.Withheld), which says what the name looks like instead.
func withholdUnknownField(err error) error {
	q, ok := strings.CutPrefix(err.Error(), "json: unknown field ")
	if !ok {
		return err
	}
	name, uerr := strconv.Unquote(q)
	if uerr != nil {
		return err
	}
	if w := redact.Withheld(name); w != "" {
		return errors.New("json: unknown field " + w)
	}
	return err
}

// readBody reads r's body up to b.limit bytes, with b's dialect of errors.
func readBody(w http.ResponseWriter, r *http.Request, b jsonBody) ([]byte, error) {
	var raw []byte
	var err error
	if r.ContentLength > b.limit {
		// Refused before a read, which would send a waiting client "100 Continue".
		err = &http.MaxBytesError{Limit: b.limit}
	} else {
		raw, err = readAllSized(http.MaxBytesReader(w, r.Body, b.limit), r.ContentLength)
	}
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return raw, nil
	case bodyReadAnswered(err):
		return nil, err // 408 or 503 (writeError)
	case errors.As(err, &mbe) && b.lambda:
		return nil, errdefs.New(errdefs.ErrTooLarge, cmp.Or(b.tooLarge, "RequestTooLargeException"), tooLargeMessage(r, b.limit))
	case errors.As(err, &mbe):
		return nil, &bodyTooLong{&errdefs.Kinded{Kind: errdefs.ErrTooLarge, Type: "RequestTooLargeException",
			Message: fmt.Sprintf("Request Too Long: the request body is over %d bytes, the most this operation takes", b.limit)}}
	case b.lambda:
		return nil, errdefs.New(errdefs.ErrInvalid, "InvalidRequestContentException", "could not read the request body: "+err.Error())
	default:
		return nil, fmt.Errorf("read request body: %w: %w", err, errdefs.ErrInvalid)
	}
}

// bodyTooLong is a request body over its route's limit on the routes
// answered in API Gateway's shape: 413 RequestTooLargeException with API
// Gateway's "Request Too Long" and the limit (writeGatewayShaped), as
// operations.md promises, where the kind alone is 400 there (a document
// whose content is too large is a BadRequestException). On Lambda's surface
// it is ErrTooLarge's 413.
type bodyTooLong struct{ k *errdefs.Kinded }

func (e *bodyTooLong) Error() string { return e.k.Error() }

// Unwrap returns the kinded error (errdefs.ErrTooLarge, RequestTooLargeException).
func (e *bodyTooLong) Unwrap() error { return e.k }

// preallocMax bounds what readAllSized allocates on a request's word: a
// larger body grows from there as it arrives.
const preallocMax = 16 << 20

// readAllSized is io.ReadAll for a body that declared its length (size; -1
// when it did not): read into one buffer of that size rather than one that
// doubles as the body arrives, which copies a function's code (tens of
// megabytes of base64) several times over before it is decoded.
func readAllSized(r io.Reader, size int64) ([]byte, error) {
	if size <= 0 {
		return io.ReadAll(r)
	}
	// bytes.MinRead more: ReadFrom grows the buffer unless that much is free
	// for the read that finds the end.
	buf := bytes.NewBuffer(make([]byte, 0, min(size, preallocMax)+bytes.MinRead))
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

// reply ends a handler: err when the call failed, else v as JSON with status.
func reply(w http.ResponseWriter, status int, v any, err error) error {
	if err != nil {
		return err
	}
	return writeJSON(w, status, v)
}

// noContent ends a handler that answers without a body: err, else 204.
func noContent(w http.ResponseWriter, err error) error {
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// setIfGiven sets *dst to *v when an update gives v (a nil v leaves *dst).
func setIfGiven[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// accepted ends a handler that answers 202 without a body (API Gateway's
// deletes): err, else 202.
func accepted(w http.ResponseWriter, err error) error {
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// bodyReadAnswered reports whether err, a request body's read's, is one the
// error writers answer themselves, whatever the route would call it: the
// listener's body-timeout (listener.ErrBodyTimeout, 408; bodyTimedOut) or the
// start of the server's stop (h1.ErrShutdown, 503; cutOffBy).
func bodyReadAnswered(err error) bool {
	return errors.Is(err, listener.ErrBodyTimeout) || errors.Is(err, h1.ErrShutdown)
}

// bodyTimedOut returns err as the admin surfaces answer it when it is a body
// read that the listener's body-timeout ended (listener.ErrBodyTimeout): 408
// RequestTimeoutException (listener.BodyTimeoutError; the socket's error stays in
// the server's log), and the connection closed after the answer; else err.
func bodyTimedOut(w http.ResponseWriter, err error) error {
	if !errors.Is(err, listener.ErrBodyTimeout) {
		return err
	}
	w.Header().Set("Connection", "close")
	return &bodyTimeoutError{err}
}

// bodyTimeoutError is a request body not received in time.
type bodyTimeoutError struct{ err error }

func (e *bodyTimeoutError) Error() string { return e.err.Error() }

func (e *bodyTimeoutError) Unwrap() []error {
	return []error{listener.BodyTimeoutError(), e.err}
}
