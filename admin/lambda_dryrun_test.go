package admin_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestUpdateCodeDryRunChecksThePackage: UpdateFunctionCode with DryRun
// answered 200 with the function's current configuration whatever code it
// was sent (not a zip, no bootstrap, ImageUri on a Zip function), so a CI
// step checking a package with --dry-run passed a package the update
// refuses. It now fails as the update does, answers the CodeSha256 and
// CodeSize of the package it was sent, and changes nothing.
func TestUpdateCodeDryRunChecksThePackage(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := lambda.NewFromConfig(sdkConfig(env.AdminURL, "secret"))
	created := createIdle(t, ctx, c, "dry", "hi")

	var noBootstrap bytes.Buffer
	zw := zip.NewWriter(&noBootstrap)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   lambda.UpdateFunctionCodeInput
	}{
		{"not a zip", lambda.UpdateFunctionCodeInput{ZipFile: []byte("hello")}},
		{"no bootstrap", lambda.UpdateFunctionCodeInput{ZipFile: noBootstrap.Bytes()}},
		{"ImageUri on a Zip function", lambda.UpdateFunctionCodeInput{ImageUri: aws.String("nonexistent/img:1")}},
	} {
		in := tc.in
		in.FunctionName = aws.String("dry")
		_, want := c.UpdateFunctionCode(ctx, &in)
		in.DryRun = true
		_, got := c.UpdateFunctionCode(ctx, &in)
		var wantAE, gotAE smithy.APIError
		if !errors.As(want, &wantAE) || !errors.As(got, &gotAE) ||
			gotAE.ErrorCode() != wantAE.ErrorCode() || gotAE.ErrorMessage() != wantAE.ErrorMessage() {
			t.Errorf("%s: DryRun = %v; want the update's error %v", tc.name, got, want)
		}
	}

	next := testkit.Bootstrap(t, "#!/bin/sh\n# the next package\nexit 0\n")
	sum := sha256.Sum256(next)
	out, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
		FunctionName: aws.String("dry"), ZipFile: next, DryRun: true, Publish: true, RevisionId: created.RevisionId})
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.StdEncoding.EncodeToString(sum[:]); aws.ToString(out.CodeSha256) != want || out.CodeSize != int64(len(next)) {
		t.Errorf("DryRun answered CodeSha256 %s, CodeSize %d; want the package's %s, %d",
			aws.ToString(out.CodeSha256), out.CodeSize, want, len(next))
	}
	if aws.ToString(out.Version) != "$LATEST" || aws.ToString(out.RevisionId) != aws.ToString(created.RevisionId) {
		t.Errorf("DryRun answered version %s, revision %s; want $LATEST unchanged", aws.ToString(out.Version), aws.ToString(out.RevisionId))
	}
	_, err = c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
		FunctionName: aws.String("dry"), ZipFile: next, DryRun: true, RevisionId: aws.String("not-the-revision")})
	if code := errorCode(err); code != "PreconditionFailedException" {
		t.Errorf("DryRun with another RevisionId: %v, want PreconditionFailedException", err)
	}

	cur, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("dry")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(cur.CodeSha256) != aws.ToString(created.CodeSha256) || aws.ToString(cur.RevisionId) != aws.ToString(created.RevisionId) {
		t.Errorf("after the DryRuns $LATEST has CodeSha256 %s, revision %s; want %s, %s unchanged",
			aws.ToString(cur.CodeSha256), aws.ToString(cur.RevisionId), aws.ToString(created.CodeSha256), aws.ToString(created.RevisionId))
	}
	vs, err := c.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("dry")})
	if err != nil || len(vs.Versions) != 1 {
		t.Errorf("after a DryRun with Publish: %v, %v; want $LATEST alone", vs, err)
	}
}
