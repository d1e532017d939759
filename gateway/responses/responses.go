// Package responses is the pipeline stage where errors become answers: every
// error the gateway's pipeline produces leaves through Writer, which picks its
// gateway response type, status, headers and body (API Gateway's
// {"message": ...} with x-amzn-ErrorType), and logs server-side failures with
// their cause for the operator. Causes never reach the client.
package responses

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/h1"
	"github.com/portico-dev/portico/internal/listener"
)

// Writer writes pipeline errors as gateway responses. Safe for concurrent use.
type Writer struct {
	log *slog.Logger
}

// New returns a Writer logging to log.
func New(log *slog.Logger) *Writer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Writer{log: log}
}

var _ pipeline.Stage = (*Writer)(nil)

// Name implements pipeline.Stage.
func (*Writer) Name() string { return "responses" }

// Order implements pipeline.Stage.
func (*Writer) Order() int { return pipeline.OrderResponses }

// Compile implements pipeline.Stage: the middleware writes the errors of the
// stages inside it, with the API's gateway responses
// (x-amazon-apigateway-gateway-responses) applied; their templates are parsed
// here, once per stage deployment. Only REST APIs have gateway responses: an
// HTTP API's (an older import stored them) are not applied.
func (wr *Writer) Compile(d *pipeline.Deployed) (pipeline.Middleware, error) {
	var tbl table
	if d != nil && d.API != nil && d.API.Protocol == apis.ProtocolREST && len(d.API.GatewayResponses) > 0 {
		var err error
		if tbl, err = compileTable(d.API.GatewayResponses); err != nil {
			return nil, err
		}
	}
	return func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			if err := next.ServeRequest(w, r, c); err != nil {
				wr.write(w, r, c, err, tbl)
			}
			return nil
		})
	}, nil
}

// Classify returns the pipeline Error that err answers as: err's own, or one
// derived from the error kinds of other packages (a throttled invoker, a deadline).
func Classify(err error) *pipeline.Error {
	if errors.Is(err, listener.ErrBodyTimeout) {
		// Whichever stage read the body (and whatever it called the
		// failure), the client was too slow: 408, as nginx logs it.
		return &pipeline.Error{Type: pipeline.Default4XX, Status: http.StatusRequestTimeout, ErrorType: listener.BodyTimeoutType,
			Message: listener.BodyTimeoutMessage, Cause: err}
	}
	if e, ok := pipeline.AsError(err); ok {
		return e
	}
	switch {
	case errors.Is(err, errdefs.ErrThrottled):
		return pipeline.Wrap(pipeline.Throttled, err)
	case errors.Is(err, errdefs.ErrTooLarge):
		return pipeline.Wrap(pipeline.RequestTooLarge, err)
	case errors.Is(err, errdefs.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return pipeline.Wrap(pipeline.IntegrationTimeout, err)
	default:
		return pipeline.Wrap(pipeline.Default5XX, err)
	}
}

// Resolved is an error as the client sees it.
type Resolved struct {
	Type      pipeline.ResponseType
	Status    int
	ErrorType string
	// Message is nil for a {"message": null} body.
	Message    *string
	MessageKey string
	// Compact is pipeline.Error's: no space after the colon of a 5xx body.
	Compact bool
	Header  http.Header
}

// Resolve returns what err looks like to the client.
func Resolve(err error) Resolved {
	e := Classify(err)
	d := e.Type.Default()
	out := Resolved{Type: e.Type, Status: d.Status, ErrorType: d.ErrorType, MessageKey: "message", Compact: e.Compact, Header: e.Header}
	if e.Status != 0 {
		out.Status = e.Status
	}
	if e.MessageKey != "" {
		out.MessageKey = e.MessageKey
	}
	if e.ErrorType != "" {
		out.ErrorType = e.ErrorType
	}
	switch {
	case e.Message != "":
		out.Message = &e.Message
	case !d.NilMsg:
		m := d.Message
		out.Message = &m
	}
	return out
}

// httpAPI is rs as an HTTP API answers it: its internal errors read
// {"message":"Internal Server Error"}, where REST APIs write
// {"message": "Internal server error"}, and every 5xx body is compact, as
// its 4xx ones are ({"message":"Endpoint request timed out"}).
func (rs Resolved) httpAPI() Resolved {
	if rs.Status >= 500 && rs.Message != nil {
		if *rs.Message == restInternalError {
			msg := httpInternalError
			rs.Message = &msg
		}
		rs.Compact = true
	}
	return rs
}

// The message of an internal error: REST APIs' (the response types'
// default), HTTP APIs'.
const (
	restInternalError = "Internal server error"
	httpInternalError = "Internal Server Error"
)

// Body returns the JSON body of a resolved error: {"message":"..."}, or with a
// space after the colon for 5xx answers, as API Gateway writes its own
// ({"message": "Internal server error"}, {"message": null}) unless Compact.
func (rs Resolved) Body() []byte {
	key, _ := json.Marshal(rs.MessageKey)
	val := []byte("null")
	if rs.Message != nil {
		val, _ = json.Marshal(*rs.Message)
	}
	b := make([]byte, 0, len(key)+len(val)+4)
	b = append(b, '{')
	b = append(b, key...)
	b = append(b, ':')
	if rs.Status >= 500 && !rs.Compact {
		b = append(b, ' ')
	}
	b = append(b, val...)
	return append(b, '}')
}

// Write answers err on w with the default gateway responses and records it in c
// (Error, Status): for errors before a stage is compiled (an unknown API or
// stage). 5xx answers and configuration errors are logged at error level with
// their cause, 4xx answers at debug level. A request whose client went away is
// not answered: it is recorded with pipeline.StatusClientClosedRequest
// (Context.ClientGone) and logged at debug level.
func (wr *Writer) Write(w http.ResponseWriter, r *http.Request, c *pipeline.Context, err error) {
	wr.write(w, r, c, err, nil)
}

func (wr *Writer) write(w http.ResponseWriter, r *http.Request, c *pipeline.Context, err error, tbl table) {
	if pipeline.ClientGone(r, err) && !errors.Is(err, listener.ErrBodyTimeout) {
		// (A body the deadline ended is the client's slowness, answered
		// 408 below, though net/http's server cancels the request's
		// context on the failed read as if the client had gone.)
		// Nobody is left to answer: record it, and write nothing.
		if c != nil {
			c.Status, c.ClientGone = pipeline.StatusClientClosedRequest, true
		}
		if wr.log.Enabled(context.Background(), slog.LevelDebug) {
			var id, api, stage string
			if c != nil {
				id, api, stage = c.APIRequestID(), c.APIID, c.Stage
			}
			wr.log.Debug("client went away", "requestId", id, "api", api, "stage", stage, "method", r.Method, "path", r.URL.Path, "err", err)
		}
		return
	}
	switch {
	case pipeline.CutOff(r):
		// Portico's shutdown gave up on the request: its failure, not the
		// client's, whatever the integration made of the cancelled context.
		err = &pipeline.Error{Type: pipeline.Default5XX, Status: http.StatusServiceUnavailable, Message: "Service Unavailable", Cause: err}
	case errors.Is(err, h1.ErrShutdown):
		// The body had not come in whole when Portico began to stop, and
		// nothing ran: 503 too, logged as such, not as the bad request body
		// the stage that read it called it.
		err = &pipeline.Error{Type: pipeline.Default5XX, Status: http.StatusServiceUnavailable, Message: "Service Unavailable", Cause: h1.ErrShutdown}
	}
	rs := Resolve(err)
	if c != nil && c.Protocol == apis.ProtocolHTTP {
		rs = rs.httpAPI()
	}
	// The default body is the response type's, whatever status a gateway
	// response remaps it to: a DEFAULT_5XX answered as 200 keeps
	// {"message": "Internal server error"}, space and all.
	body, ct := rs.Body(), "application/json"
	custom := tbl[rs.Type]
	if custom != nil && custom.status != 0 {
		rs.Status = custom.status
	}
	if c != nil {
		c.Error.ResponseType = rs.Type
		if rs.Message != nil {
			c.Error.Message = *rs.Message
		}
		c.Status = int32(rs.Status) //nolint:gosec // G115: an HTTP status
	}
	wr.logError(r, c, rs, err)
	h := w.Header()
	for k, vs := range rs.Header {
		h[http.CanonicalHeaderKey(k)] = vs
	}
	if custom != nil && c != nil {
		body, ct = wr.custom(h, r, c, rs, custom, body)
	}
	if c != nil && r.ProtoMajor == 1 && r.ContentLength != 0 && c.BodyUntouched() {
		// A refusal decided before the body was read (no API, stage or
		// route; an authorizer's): it goes out at once and the connection
		// closes, rather than the listener reading and dropping the body
		// first, which a client sending it slowly (or never) would hold for
		// the whole body timeout, as admin's leaveBody does.
		h["Connection"] = []string{"close"}
	}
	h["Content-Type"] = []string{ct}
	h["X-Amzn-Errortype"] = []string{rs.ErrorType}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(rs.Status)
	_, _ = w.Write(body) //nolint:gosec // G705: a JSON body served as application/json, not HTML
}

func (wr *Writer) logError(r *http.Request, c *pipeline.Context, rs Resolved, err error) {
	var id, api, stage string
	if c != nil {
		id, api, stage = c.APIRequestID(), c.APIID, c.Stage
	}
	level := slog.LevelDebug
	msg := "gateway request refused"
	if rs.Status >= 500 || rs.Type == pipeline.APIConfigurationError {
		level, msg = slog.LevelError, "gateway request failed"
	}
	if !wr.log.Enabled(context.Background(), level) {
		return
	}
	attrs := []any{"requestId", id, "api", api, "stage", stage, "status", rs.Status, "type", string(rs.Type), "err", err}
	if r != nil {
		attrs = append(attrs, "method", r.Method, "path", r.URL.Path)
	}
	wr.log.Log(context.Background(), level, msg, attrs...)
}

// Module provides the Writer.
var Module = fx.Module("responses",
	fx.Provide(func(log *slog.Logger) *Writer { return New(log.With("component", "gateway")) }),
)
