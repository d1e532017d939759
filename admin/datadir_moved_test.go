package admin_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestDataDirMovedRefusedWritesCreateNothing is the lambda11 tester's defect
// 1: with the data directory moved under the running server, CreateFunction
// and UpdateFunctionCode answered 503 "nothing was changed" but had already
// made <data-dir>/code/<sha>/ and <sha>.zip, and with them the data directory
// itself at its old path: the operator's `mv` back then landed inside it, and
// every function's code was "missing". The refused writes leave the old path
// missing, so moving the directory back restores the server.
func TestDataDirMovedRefusedWritesCreateNothing(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	env := apptest.Start(t, apptest.Options{DataDir: dir})
	ctx := t.Context()
	c := sdk(env)
	createHello(t, ctx, c, "a", "hi")

	moved := dir + ".moved"
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	other := testkit.Bootstrap(t, "#!/bin/sh\nexit 1\n") // code the server does not hold yet
	for _, w := range []struct {
		name  string
		write func() error
	}{
		{"CreateFunction", func() error {
			_, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("b"),
				Role: aws.String("arn:aws:iam::000000000000:role/any"), Runtime: types.RuntimeProvidedal2023,
				Handler: aws.String("bootstrap"), Code: &types.FunctionCode{ZipFile: other}})
			return err
		}},
		{"UpdateFunctionCode", func() error {
			_, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("a"), ZipFile: other})
			return err
		}},
	} {
		err := w.write()
		apiError(t, err, "ServiceException", 503)
		if ae, ok := errors.AsType[smithy.APIError](err); !ok || !strings.Contains(ae.ErrorMessage(), "nothing was changed") {
			t.Errorf("%s with the data directory moved: %v; want the store's message", w.name, err)
		}
		if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("after the refused %s, the data directory's old path: %v; want it not to exist", w.name, err)
		}
	}

	if err := os.Rename(moved, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "portico.db")); err != nil {
		t.Fatalf("moved back, the data directory is not where it was: %v", err)
	}
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("a"), Payload: []byte(`{}`)})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("Invoke a with the data directory back: %v %v", err, out)
	}
	if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("a"), ZipFile: other}); err != nil {
		t.Fatalf("UpdateFunctionCode with the data directory back: %v", err)
	}
}
