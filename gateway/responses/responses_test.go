package responses

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/h1"
	"github.com/portico-dev/portico/internal/shutdown"
)

func TestWrite(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		typ    string
		body   string
	}{
		{"throttled", pipeline.Errorf(pipeline.Throttled, "stage dev"), 429, "TooManyRequestsException", `{"message":"Too Many Requests"}`},
		{"quota", pipeline.Errorf(pipeline.QuotaExceeded, "plan p"), 429, "LimitExceededException", `{"message":"Limit Exceeded"}`},
		{"no key", pipeline.Errorf(pipeline.InvalidAPIKey, "no key"), 403, "ForbiddenException", `{"message":"Forbidden"}`},
		{"invoker throttle", fmt.Errorf("invoke: %w", errdefs.ErrThrottled), 429, "TooManyRequestsException", `{"message":"Too Many Requests"}`},
		{"deadline", fmt.Errorf("backend: %w", context.DeadlineExceeded), 504, "IntegrationTimeoutException", `{"message": "Endpoint request timed out"}`},
		{"unknown", errors.New("boom: secret detail"), 500, "InternalServerErrorException", `{"message": "Internal server error"}`},
		{"bad result", &pipeline.Error{Type: pipeline.Default5XX, Status: 502, Cause: errors.New("x")}, 502, "InternalServerErrorException", `{"message": "Internal server error"}`},
		{"own message", &pipeline.Error{Type: pipeline.BadRequestParameters, Message: "Missing required request parameters: [q]"}, 400, "BadRequestException", `{"message":"Missing required request parameters: [q]"}`},
		{"explicit deny", &pipeline.Error{Type: pipeline.AccessDenied, MessageKey: "Message", Message: "User is not authorized to access this resource with an explicit deny"}, 403, "AccessDeniedException", `{"Message":"User is not authorized to access this resource with an explicit deny"}`},
		{"own error type", &pipeline.Error{Type: pipeline.Default4XX, Status: 403, Message: "Forbidden", ErrorType: "ForbiddenException"}, 403, "ForbiddenException", `{"message":"Forbidden"}`},
		{"authorizer config", pipeline.Errorf(pipeline.AuthorizerConfigurationError, "timeout"), 500, "AuthorizerConfigurationException", `{"message": null}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			wr := New(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
			rec := httptest.NewRecorder()
			c := &pipeline.Context{RequestID: "r1"}
			wr.Write(rec, httptest.NewRequest("GET", "/x", nil), c, tc.err)
			if rec.Code != tc.status || rec.Header().Get("x-amzn-ErrorType") != tc.typ || rec.Body.String() != tc.body {
				t.Errorf("got %d %q %s, want %d %q %s", rec.Code, rec.Header().Get("x-amzn-ErrorType"), rec.Body, tc.status, tc.typ, tc.body)
			}
			if int(c.Status) != tc.status || c.Error.ResponseType == "" {
				t.Errorf("context not recorded: %+v", c.Error)
			}
			if bytes.Contains(rec.Body.Bytes(), []byte("secret detail")) {
				t.Error("the cause reached the client")
			}
			if tc.status >= 500 && !bytes.Contains(logs.Bytes(), []byte("level=ERROR")) {
				t.Errorf("5xx not logged at error level: %s", logs.String())
			}
		})
	}
}

func TestStageWritesInnerErrors(t *testing.T) {
	wr := New(nil)
	mw, err := wr.Compile(&pipeline.Deployed{})
	if err != nil {
		t.Fatal(err)
	}
	h := mw(pipeline.HandlerFunc(func(http.ResponseWriter, *http.Request, *pipeline.Context) error {
		return &pipeline.Error{Type: pipeline.Unauthorized, Header: http.Header{"Www-Authenticate": {`Bearer error="invalid_token"`}}}
	}))
	rec := httptest.NewRecorder()
	if err := h.ServeRequest(rec, httptest.NewRequest("GET", "/", nil), &pipeline.Context{}); err != nil {
		t.Fatalf("the stage passed the error on: %v", err)
	}
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") == "" || rec.Body.String() != `{"message":"Unauthorized"}` {
		t.Errorf("got %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
}

// TestClientGoneIsNotAServerError: an error that comes after the client went
// away is recorded as 499, answered with nothing, and logged at debug level only.
func TestClientGoneIsNotAServerError(t *testing.T) {
	var logs bytes.Buffer
	wr := New(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest("GET", "/x", nil).WithContext(ctx)
	for _, err := range []error{
		fmt.Errorf("proxy: %w", context.Canceled),
		errors.New("read tcp 127.0.0.1:1->127.0.0.1:2: use of closed network connection"),
	} {
		logs.Reset()
		rec := httptest.NewRecorder()
		c := &pipeline.Context{RequestID: "r1"}
		wr.Write(rec, r, c, err)
		if c.Status != pipeline.StatusClientClosedRequest || !c.ClientGone {
			t.Errorf("%v: status recorded %d (client gone %v), want %d (true)", err, c.Status, c.ClientGone, pipeline.StatusClientClosedRequest)
		}
		if rec.Body.Len() != 0 || rec.Header().Get("x-amzn-ErrorType") != "" {
			t.Errorf("%v: answered %q %q to a client that is gone", err, rec.Header(), rec.Body)
		}
		if bytes.Contains(logs.Bytes(), []byte("level=ERROR")) || !bytes.Contains(logs.Bytes(), []byte("level=DEBUG msg=\"client went away\"")) {
			t.Errorf("%v: logged %s", err, logs.String())
		}
	}
	// The same error while the client is still there is a server error.
	logs.Reset()
	rec := httptest.NewRecorder()
	wr.Write(rec, httptest.NewRequest("GET", "/x", nil), &pipeline.Context{}, fmt.Errorf("proxy: %w", context.Canceled))
	if rec.Code != 500 || !bytes.Contains(logs.Bytes(), []byte("level=ERROR")) {
		t.Errorf("a cancellation with the client present: %d, %s", rec.Code, logs.String())
	}
}

// TestCutOffByShutdownIsA503: a request the server's own shutdown cut off
// (its context cancelled with shutdown.ErrCutOff) is the server's failure:
// recorded and answered 503, logged at error level, never a client gone (499).
func TestCutOffByShutdownIsA503(t *testing.T) {
	var logs bytes.Buffer
	wr := New(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(shutdown.ErrCutOff)
	r := httptest.NewRequest("GET", "/x", nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	c := &pipeline.Context{RequestID: "r1"}
	wr.Write(rec, r, c, fmt.Errorf("invoke: %w", context.Canceled))
	if c.Status != http.StatusServiceUnavailable || rec.Code != http.StatusServiceUnavailable {
		t.Errorf("recorded %d, answered %d %s; want 503 both", c.Status, rec.Code, rec.Body)
	}
	if !bytes.Contains(logs.Bytes(), []byte("level=ERROR")) || bytes.Contains(logs.Bytes(), []byte("client went away")) {
		t.Errorf("logged %s; want a server error", logs.String())
	}
}

// TestBodyUnreadAtStopIsA503: a request whose body's read the start of the
// server's stop ended (h1.ErrShutdown), whatever the stage that read it made
// of it (DEFAULT_4XX "read request body ... bad request"), is answered and
// recorded 503 {"message": "Service Unavailable"}, and logged as that alone:
// no 4XX words beside the 503.
func TestBodyUnreadAtStopIsA503(t *testing.T) {
	var logs bytes.Buffer
	wr := New(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	r := httptest.NewRequest("POST", "/x", nil)
	rec := httptest.NewRecorder()
	c := &pipeline.Context{RequestID: "r1"}
	wr.Write(rec, r, c, pipeline.Errorf(pipeline.BadRequestBody, "read request body: %w: bad request", h1.ErrShutdown))
	if c.Status != http.StatusServiceUnavailable || rec.Code != http.StatusServiceUnavailable || rec.Body.String() != `{"message": "Service Unavailable"}` {
		t.Errorf("recorded %d, answered %d %s; want 503 both", c.Status, rec.Code, rec.Body)
	}
	l := logs.String()
	if !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "status=503") || strings.Contains(l, "4XX") ||
		strings.Contains(l, "BAD_REQUEST") || strings.Contains(l, "bad request") {
		t.Errorf("logged %s; want a 503 server error without the 4XX's words", l)
	}
}
