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
// that the same request would work once there was space. A write refused
// because the data directory was removed or moved under the running server
// (store.MovedError, the durable8 tester's) answers 503 too, with the store's
// words: the path and what to do. A write that finds the file system read-only
// (ext4's errors=remount-ro after a disk error, the faults14 tester's) answers
// 503 too, naming the cause and the remount, where it answered 500 "internal
// error".
func TestOutOfSpaceIsAClear503(t *testing.T) {
	t.Parallel()
	// faults27 #4: a deleted function's code is freed after the code
	// collection's grace, not at the delete: the message says when.
	const freedLater = "a deleted function's code leaves the disk 10 to 15 minutes after its delete"
	s := &Server{log: slog.New(slog.DiscardHandler)}
	moved := &store.MovedError{Path: "/data/portico.db", Err: &fs.PathError{Op: "stat", Path: "/data/portico.db", Err: syscall.ENOENT}}
	for _, e := range []struct {
		name string
		err  error
		want func(msg string) bool
	}{
		{"full", fmt.Errorf("unpack bootstrap: %w", &fs.PathError{Op: "write", Path: "/data/code/.unpack-1/bootstrap", Err: syscall.ENOSPC}),
			func(msg string) bool { return msg == outOfSpaceMessage && strings.Contains(msg, freedLater) }},
		// ops26 #3: no write failed; the store had no room for its reserve.
		{"nearly full", fmt.Errorf("create api key: %w", &store.NearlyFullError{Dir: "/data", Free: 300 << 10}),
			func(msg string) bool {
				return msg == nearlyFullMessage && !strings.Contains(msg, "no space left") && strings.Contains(msg, freedLater)
			}},
		{"read-only", fmt.Errorf("create api key: %w", &fs.PathError{Op: "write", Path: "/data/portico.db", Err: syscall.EROFS}),
			func(msg string) bool { return msg == readOnlyMessage && strings.Contains(msg, "remount it read-write") }},
		{"read-only code dir", fmt.Errorf("code directory: %w", &fs.PathError{Op: "mkdir", Path: "/data/code", Err: syscall.EROFS}),
			func(msg string) bool { return msg == readOnlyMessage }},
		{"moved", fmt.Errorf("create function: %w", moved),
			func(msg string) bool { return msg == moved.ClientMessage() && strings.Contains(msg, "--data-dir") }},
	} {
		for _, tc := range []struct {
			name, typ string
			write     func(http.ResponseWriter, *http.Request, error)
		}{
			{"lambda", "ServiceException", s.writeError},
			{"apigateway", "ServiceUnavailableException", s.writeAPIGatewayError},
		} {
			t.Run(e.name+"/"+tc.name, func(t *testing.T) {
				rec := httptest.NewRecorder()
				tc.write(rec, httptest.NewRequest(http.MethodPost, "/", nil), e.err)
				var body struct{ Message string }
				_ = json.Unmarshal(rec.Body.Bytes(), &body)
				if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("x-amzn-ErrorType") != tc.typ || !e.want(body.Message) {
					t.Errorf("%d %s %s; want 503 %s saying what happened and what to do", rec.Code, rec.Header().Get("x-amzn-ErrorType"), rec.Body, tc.typ)
				}
			})
		}
	}
}

// TestDamagedFunctionSaysHowToRemoveIt: a request that meets a function whose
// stored record does not decode (the faults14 fixer's probe) was told to
// restore portico.db from a backup, although DELETE removes the function
// without reading it, as the answers for damaged APIs, stages, keys and plans
// already say.
func TestDamagedFunctionSaysHowToRemoveIt(t *testing.T) {
	t.Parallel()
	s := &Server{log: slog.New(slog.DiscardHandler)}
	rec := httptest.NewRecorder()
	err := fmt.Errorf("get function: %w", &store.RecordError{Bucket: "functions", Key: "alpha", Err: &json.SyntaxError{}})
	s.writeError(rec, httptest.NewRequest(http.MethodGet, "/2015-03-31/functions/alpha", nil), err)
	var body struct{ Message string }
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", rec.Code)
	}
	for _, want := range []string{"functions/alpha", "DELETE /2015-03-31/functions/alpha", "aws lambda delete-function --function-name alpha"} {
		if !strings.Contains(body.Message, want) {
			t.Errorf("the answer %q does not say %q", body.Message, want)
		}
	}
}

// TestDamagedRecordMessageOnBothWriters: the Lambda writer and API Gateway's
// each had their own damaged-record message (both now use damagedMessage), so
// a damaged function met on API Gateway's routes (an integration's target)
// only said to restore portico.db, and a damaged API key met on Lambda's did
// not name its DELETE.
func TestDamagedRecordMessageOnBothWriters(t *testing.T) {
	t.Parallel()
	s := &Server{log: slog.New(slog.DiscardHandler)}
	writers := map[string]func(http.ResponseWriter, *http.Request, error){
		"lambda": s.writeError, "apigateway": s.writeAPIGatewayError,
	}
	records := []struct {
		bucket, key string
		want        []string
	}{
		{"functions", "alpha", []string{"functions/alpha", "DELETE /2015-03-31/functions/alpha", "aws lambda delete-function --function-name alpha"}},
		{"usage_keys", "k1", []string{"usage_keys/k1", "DELETE /apikeys/k1", "aws apigateway delete-api-key --api-key k1"}},
	}
	for name, write := range writers {
		for _, rec := range records {
			w := httptest.NewRecorder()
			err := fmt.Errorf("read: %w", &store.RecordError{Bucket: rec.bucket, Key: rec.key, Err: &json.SyntaxError{}})
			write(w, httptest.NewRequest(http.MethodGet, "/x", nil), err)
			var body struct{ Message string }
			_ = json.Unmarshal(w.Body.Bytes(), &body)
			if w.Code != http.StatusInternalServerError {
				t.Errorf("%s writer, %s/%s: status %d, want 500", name, rec.bucket, rec.key, w.Code)
			}
			for _, want := range rec.want {
				if !strings.Contains(body.Message, want) {
					t.Errorf("%s writer, %s/%s: the answer %q does not say %q", name, rec.bucket, rec.key, body.Message, want)
				}
			}
		}
	}
}
