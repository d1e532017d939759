package admin_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// lockedBuffer is an io.Writer safe for the server's concurrent log writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestInvokeMissingCodeIsServiceError: a function whose unpacked code is gone
// from the data directory is a fault of the server's store, not of the
// function: its caller gets 503 ServiceException saying the code is missing
// and how to bring it back, with no server path in it; the path is in the
// server's log.
func TestInvokeMissingCodeIsServiceError(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	env := apptest.Start(t, apptest.Options{LogWriter: &logs})
	ctx := t.Context()
	c := sdk(env)
	createHello(t, ctx, c, "gone", "x")
	if err := os.RemoveAll(filepath.Join(env.DataDir, "code")); err != nil {
		t.Fatal(err)
	}
	_, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("gone"), Payload: []byte(`{}`)})
	apiError(t, err, "ServiceException", http.StatusServiceUnavailable)
	var ae smithy.APIError
	if errors.As(err, &ae) {
		msg := ae.ErrorMessage()
		if !strings.Contains(msg, "missing from the server's data directory") || !strings.Contains(msg, "update the function's code") {
			t.Errorf("message %q, want it to say the code is missing and what to do", msg)
		}
		if strings.Contains(msg, env.DataDir) {
			t.Errorf("message %q names the server's data directory", msg)
		}
	}
	if !strings.Contains(logs.String(), filepath.Join(env.DataDir, "code")) {
		t.Errorf("server log does not name the missing code's path:\n%s", logs.String())
	}
}

// TestInvokeWithDataDirMovedNamesTheMove: with the data directory moved
// under the running server, a function with no warm sandbox cannot start
// (its code lives under code/ there); the 503 ServiceException its caller
// gets names the likely cause, a data directory moved or removed while the
// server ran, and what to do about it (put it back), not only a restore of
// code/ from a backup.
func TestInvokeWithDataDirMovedNamesTheMove(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := sdk(env)
	createHello(t, ctx, c, "away", "x")
	moved := env.DataDir + ".moved"
	if err := os.Rename(env.DataDir, moved); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Rename(moved, env.DataDir); err != nil {
			t.Error(err)
		}
	})
	_, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("away"), Payload: []byte(`{}`)})
	apiError(t, err, "ServiceException", http.StatusServiceUnavailable)
	var ae smithy.APIError
	if errors.As(err, &ae) {
		msg := ae.ErrorMessage()
		if !strings.Contains(msg, "data directory was moved or removed while the server ran") || !strings.Contains(msg, "put it back where it was") {
			t.Errorf("message %q, want it to name a moved data directory and what to do", msg)
		}
		if strings.Contains(msg, env.DataDir) {
			t.Errorf("message %q names the server's data directory", msg)
		}
	}
}

// TestInvokeEmptyCodeTreeIsServiceError is the ops23 restore cut short: an
// empty code/HASH/ with no archive beside it (a backup's tar cut inside the
// tree) was taken as code on disk, and every invoke failed as the function's
// own Runtime.InvalidEntrypoint. It is the 503 of missing code; with its
// archive there, the tree is unpacked again and the invoke runs.
func TestInvokeEmptyCodeTreeIsServiceError(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := sdk(env)
	createIdle(t, ctx, c, "short", "x") // never runs: its code is gone
	createHello(t, ctx, c, "mended", "y")
	root := filepath.Join(env.DataDir, "code")
	trees, err := filepath.Glob(filepath.Join(root, "*.zip"))
	if err != nil || len(trees) != 2 {
		t.Fatalf("code archives %v, %v; want two", trees, err)
	}
	short, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("short")})
	if err != nil {
		t.Fatal(err)
	}
	for _, zipPath := range trees {
		dir := strings.TrimSuffix(zipPath, ".zip")
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(dir, hexOf(t, aws.ToString(short.Configuration.CodeSha256))) {
			if err := os.Remove(zipPath); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("short"), Payload: []byte(`{}`)})
	apiError(t, err, "ServiceException", http.StatusServiceUnavailable)
	var ae smithy.APIError
	if errors.As(err, &ae) && !strings.Contains(ae.ErrorMessage(), "missing from the server's data directory") {
		t.Errorf("message %q, want it to say the code is missing", ae.ErrorMessage())
	}
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("mended"), Payload: []byte(`{}`)})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("invoke of the function whose archive is there: %v, %v; want its tree unpacked again", err, out)
	}
}

func hexOf(t *testing.T, b64 string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(raw)
}
