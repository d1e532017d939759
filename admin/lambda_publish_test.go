package admin_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestPublishedVersionHasItsOwnRevisionId: PublishVersion gives the new
// version a RevisionId of its own, as Lambda does, not $LATEST's; publishing
// again with nothing changed returns that version with its RevisionId.
func TestPublishedVersionHasItsOwnRevisionId(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := sdk(env)
	created := createIdle(t, ctx, c, "rev", "x")
	v1, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("rev")})
	if err != nil {
		t.Fatal(err)
	}
	latest, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("rev")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(v1.RevisionId) == "" || aws.ToString(v1.RevisionId) == aws.ToString(latest.RevisionId) ||
		aws.ToString(v1.RevisionId) == aws.ToString(created.RevisionId) {
		t.Errorf("version 1's RevisionId %q; want one of its own, not $LATEST's %q", aws.ToString(v1.RevisionId), aws.ToString(latest.RevisionId))
	}
	got, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("rev"), Qualifier: aws.String("1")})
	if err != nil || aws.ToString(got.RevisionId) != aws.ToString(v1.RevisionId) {
		t.Errorf("GetFunctionConfiguration rev:1 RevisionId %q (%v), want PublishVersion's %q", aws.ToString(got.RevisionId), err, aws.ToString(v1.RevisionId))
	}
	again, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("rev")})
	if err != nil || aws.ToString(again.Version) != "1" || aws.ToString(again.RevisionId) != aws.ToString(v1.RevisionId) {
		t.Errorf("PublishVersion with nothing changed: version %q RevisionId %q (%v), want version 1 as published",
			aws.ToString(again.Version), aws.ToString(again.RevisionId), err)
	}
}

// TestPublishAfterDescriptionChange: a change of $LATEST's Description alone
// is a change of its configuration, so PublishVersion publishes a new
// version, as Lambda does; the Description PublishVersion gives a version is
// not one, so publishing again with another one returns the same version.
func TestPublishAfterDescriptionChange(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := sdk(env)
	createIdle(t, ctx, c, "desc", "x")
	publish := func(desc string) string {
		t.Helper()
		in := &lambda.PublishVersionInput{FunctionName: aws.String("desc")}
		if desc != "" {
			in.Description = aws.String(desc)
		}
		out, err := c.PublishVersion(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Version)
	}
	if v := publish("release one"); v != "1" {
		t.Fatalf("first publish: version %s", v)
	}
	if v := publish("another description"); v != "1" {
		t.Errorf("publish with nothing changed but PublishVersion's Description: version %s, want 1", v)
	}
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("desc"), Description: aws.String("now described"),
	}); err != nil {
		t.Fatal(err)
	}
	if v := publish(""); v != "2" {
		t.Errorf("publish after a change of $LATEST's Description: version %s, want 2", v)
	}
	got, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("desc"), Qualifier: aws.String("2")})
	if err != nil {
		t.Fatalf("GetFunctionConfiguration desc:2: %v", err)
	}
	if aws.ToString(got.Description) != "now described" {
		t.Errorf("version 2's Description %q, want $LATEST's", aws.ToString(got.Description))
	}
	if v := publish(""); v != "2" {
		t.Errorf("publish with nothing changed since version 2: version %s, want 2", v)
	}
}

// TestListAliasesByFunctionVersion: ListAliases with FunctionVersion lists the
// aliases whose FunctionVersion is that version, as Lambda does, not those
// that only route weighted traffic to it.
func TestListAliasesByFunctionVersion(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx := t.Context()
	c := sdk(env)
	createIdle(t, ctx, c, "al", "x")
	for i := range 2 {
		if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String("al"), Timeout: aws.Int32(int32(10 + i)),
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("al")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("al"), Name: aws.String("canary"),
		FunctionVersion: aws.String("1"),
		RoutingConfig:   &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("al"), Name: aws.String("live"),
		FunctionVersion: aws.String("2")}); err != nil {
		t.Fatal(err)
	}
	for v, want := range map[string]string{"1": "canary", "2": "live"} {
		out, err := c.ListAliases(ctx, &lambda.ListAliasesInput{FunctionName: aws.String("al"), FunctionVersion: aws.String(v)})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range out.Aliases {
			got = append(got, aws.ToString(a.Name))
		}
		if len(got) != 1 || got[0] != want {
			t.Errorf("ListAliases FunctionVersion %s = %v, want [%s]", v, got, want)
		}
	}
}
