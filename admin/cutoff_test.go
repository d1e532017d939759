package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/shutdown"
)

// TestCutOffByShutdownIsA503: a request the end of the server's graceful stop
// cut off (its context cancelled with shutdown.ErrCutOff) is answered, where
// anything can still be written, and logged 503 saying Portico is shutting
// down; the handler's context.Canceled used to make it a 500.
func TestCutOffByShutdownIsA503(t *testing.T) {
	t.Parallel()
	var logs strings.Builder
	s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(shutdown.ErrCutOff)
	for _, tc := range []struct {
		name, path, typ string
		write           func(http.ResponseWriter, *http.Request, error)
	}{
		{"lambda", "/2015-03-31/functions/fn/invocations", "ServiceException", s.writeError},
		{"apigateway", "/restapis", "ServiceUnavailableException", s.writeAPIGatewayError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs.Reset()
			rec := httptest.NewRecorder()
			tc.write(rec, httptest.NewRequest(http.MethodPost, tc.path, nil).WithContext(ctx), fmt.Errorf("invoke fn: %w", context.Canceled))
			var body struct{ Message string }
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("x-amzn-ErrorType") != tc.typ ||
				!strings.HasPrefix(body.Message, "Portico is shutting down") {
				t.Errorf("%d %s %s; want 503 %s saying Portico is shutting down", rec.Code, rec.Header().Get("x-amzn-ErrorType"), rec.Body, tc.typ)
			}
			if !strings.Contains(logs.String(), "status=503") {
				t.Errorf("logged %s; want status=503", logs.String())
			}
		})
	}
}
