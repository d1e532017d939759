// Package execlog is the gateway's execution-logging stage: per stage
// (methodSettings "*/*" loggingLevel OFF, ERROR or INFO, and dataTraceEnabled),
// what the gateway did with a request goes to the server log with its request
// id: at INFO the request and its completion, at ERROR only requests answered
// with an error; with data tracing on, the request's headers and body and the
// response's body (the first 1 KB of each, as API Gateway truncates them), with
// Authorization, x-api-key, security tokens and cookies masked.
package execlog

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/gateway/pipeline"
)

// Logging levels of a stage's method settings.
const (
	LevelOff   = "OFF"
	LevelError = "ERROR"
	LevelInfo  = "INFO"
)

// maxTrace bounds the bytes of a body written to the log.
const maxTrace = 1024

// masked are the headers whose values never reach the log.
var masked = map[string]bool{
	"Authorization": true, "X-Api-Key": true, "Cookie": true, "Set-Cookie": true,
	"X-Amz-Security-Token": true, "Proxy-Authorization": true,
}

// Stage is the execution-logging stage. Safe for concurrent use.
type Stage struct {
	log *slog.Logger
	now func() time.Time
}

var _ pipeline.Stage = (*Stage)(nil)

// New returns the stage logging to log.
func New(log *slog.Logger) *Stage {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Stage{log: log, now: time.Now}
}

// Name implements pipeline.Stage.
func (*Stage) Name() string { return "execlog" }

// Order implements pipeline.Stage.
func (*Stage) Order() int { return pipeline.OrderObserve }

// Compile implements pipeline.Stage: nothing to do unless the stage's "*/*"
// method settings log.
func (s *Stage) Compile(d *pipeline.Deployed) (pipeline.Middleware, error) {
	ms, ok := d.Stage.MethodSettings["*/*"]
	level := strings.ToUpper(ms.LoggingLevel)
	if !ok || (level != LevelInfo && level != LevelError) {
		return nil, nil
	}
	info, trace := level == LevelInfo, ms.DataTraceEnabled && level == LevelInfo
	return func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			ctx := r.Context()
			base := []any{"requestId", c.RequestID, "api", c.APIID, "stage", c.Stage}
			if info {
				attrs := append(base, "method", r.Method, "path", r.URL.Path)
				if trace {
					attrs = append(attrs, "headers", maskHeaders(r.Header))
					body, _ := c.ReadBody(r) // r.Body reads the same bytes (or error) again
					if len(body) > 0 {
						attrs = append(attrs, "body", truncate(body))
					}
				}
				s.log.InfoContext(ctx, "execution: method request", attrs...)
			}
			start := s.now()
			tw := &traceWriter{StatusWriter: pipeline.StatusWriter{ResponseWriter: w}, keep: trace}
			err := next.ServeRequest(tw, r, c)
			status := tw.Status
			if c.Status != 0 {
				status = c.Status
			}
			if status == 0 {
				status = http.StatusOK
			}
			if !info && status < 400 {
				return err
			}
			attrs := append(base, "status", status, "latencyMs", c.Latency(start, func(t time.Time) time.Duration { return s.now().Sub(t) }).Milliseconds(),
				"resource", c.ResourcePath, "integrationLatencyMs", c.IntegrationLatency.Milliseconds())
			if c.Error.ResponseType != "" {
				attrs = append(attrs, "errorType", string(c.Error.ResponseType), "error", c.Error.Message)
			}
			if trace {
				attrs = append(attrs, "responseHeaders", maskHeaders(tw.Header()))
				if len(tw.body) > 0 {
					attrs = append(attrs, "responseBody", string(tw.body))
				}
			}
			level := slog.LevelInfo
			switch {
			case status == pipeline.StatusClientClosedRequest:
				level = slog.LevelDebug
			case status >= 500:
				level = slog.LevelError
			case status >= 400:
				level = slog.LevelWarn
			}
			s.log.Log(ctx, level, "execution: method completed", attrs...)
			return err
		})
	}, nil
}

func truncate(b []byte) string {
	if len(b) > maxTrace {
		return string(b[:maxTrace]) + " [TRUNCATED]"
	}
	return string(b)
}

// maskHeaders returns h as one string per header, secrets masked.
func maskHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		if masked[http.CanonicalHeaderKey(k)] {
			out[k] = "********"
			continue
		}
		out[k] = strings.Join(vs, ",")
	}
	return out
}

// traceWriter records the status (through pipeline.StatusWriter) and, when
// keep is set, the first maxTrace bytes of the body.
type traceWriter struct {
	pipeline.StatusWriter
	keep bool
	body []byte
}

// Write implements http.ResponseWriter.
func (w *traceWriter) Write(b []byte) (int, error) {
	if w.keep && len(w.body) < maxTrace {
		w.body = append(w.body, b[:min(len(b), maxTrace-len(w.body))]...)
	}
	return w.StatusWriter.Write(b)
}

// Module provides the execution-logging stage to the pipeline.
var Module = fx.Module("execlog",
	fx.Provide(pipeline.AsStage(func(log *slog.Logger) *Stage { return New(log.With("component", "execution")) })),
)
