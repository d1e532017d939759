package admin

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/portico-dev/portico/store"
)

// TestOutOfSpaceIsAClear503: a write that finds the data directory's file
// system full answers 503 on both admin surfaces, saying so, where the full-disk
// soak saw 500 "The AWS Lambda service encountered an internal error." (and
// "Internal server error"), which told the operator nothing of the cause or
// that the same request would work once there was space.
func TestOutOfSpaceIsAClear503(t *testing.T) {
	t.Parallel()
	s := &Server{log: slog.New(slog.DiscardHandler)}
	err := fmt.Errorf("unpack bootstrap: %w", &fs.PathError{Op: "write", Path: "/data/code/.unpack-1/bootstrap", Err: syscall.ENOSPC})
	for _, tc := range []struct {
		name, typ string
		write     func(http.ResponseWriter, *http.Request, error)
	}{
		{"lambda", "ServiceException", s.writeError},
		{"apigateway", "ServiceUnavailableException", s.writeAPIGatewayError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tc.write(rec, httptest.NewRequest(http.MethodPost, "/", nil), err)
			var body struct{ Message string }
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("x-amzn-ErrorType") != tc.typ || body.Message != outOfSpaceMessage {
				t.Errorf("%d %s %s; want 503 %s with %q", rec.Code, rec.Header().Get("x-amzn-ErrorType"), rec.Body, tc.typ, outOfSpaceMessage)
			}
		})
	}
}

// TestMovedStoreIsAClear503: a write refused because the data directory was
// removed or moved under the running server (store.MovedError) answers 503 on
// both admin surfaces with the store's words: the path and what to do.
func TestMovedStoreIsAClear503(t *testing.T) {
	t.Parallel()
	s := &Server{log: slog.New(slog.DiscardHandler)}
	err := fmt.Errorf("create function: %w", &store.MovedError{Path: "/data/portico.db", Err: &fs.PathError{Op: "stat", Path: "/data/portico.db", Err: syscall.ENOENT}})
	for _, tc := range []struct {
		name, typ string
		write     func(http.ResponseWriter, *http.Request, error)
	}{
		{"lambda", "ServiceException", s.writeError},
		{"apigateway", "ServiceUnavailableException", s.writeAPIGatewayError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tc.write(rec, httptest.NewRequest(http.MethodPost, "/", nil), err)
			var body struct{ Message string }
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("x-amzn-ErrorType") != tc.typ ||
				!strings.Contains(body.Message, "/data/portico.db") || !strings.Contains(body.Message, "--data-dir") {
				t.Errorf("%d %s %s; want 503 %s naming the path and what to do", rec.Code, rec.Header().Get("x-amzn-ErrorType"), rec.Body, tc.typ)
			}
		})
	}
}
