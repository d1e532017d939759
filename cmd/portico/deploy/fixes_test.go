package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoEchoValueIsNeverShown: the value of a NoEcho parameter appears in no
// error, whichever constraint it breaks or wherever the template puts it
// (AllowedPattern and AllowedValues errors printed it), while another
// parameter's value is still shown.
func TestNoEchoValueIsNeverShown(t *testing.T) {
	const secret = "hunter2-Secret"
	param := func(decl string) string {
		return strings.Replace(twoFunctions, "Parameters:\n", "Parameters:\n  Secret:\n    NoEcho: true\n"+decl, 1)
	}
	cases := []struct {
		name, text, want string
	}{
		{"pattern", param("    Type: String\n    AllowedPattern: '[a-z]+'\n"), "parameter Secret is ****, which does not match its AllowedPattern"},
		{"values", param("    Type: String\n    AllowedValues: [a, b]\n"), "parameter Secret is ****, which is not one of its AllowedValues"},
		{"max length", param("    Type: String\n    MaxLength: 3\n"), "parameter Secret is ****, which is longer than its MaxLength 3"},
		{"number", param("    Type: Number\n"), "parameter Secret is a Number but its value is ****"},
		{"in a property", strings.Replace(param("    Type: String\n"), "      CodeUri: other\n", "      CodeUri: other\n      Runtime: !Ref Secret\n", 1), "Runtime **** is not supported"},
		{"in a name", strings.Replace(param("    Type: String\n"), "      CodeUri: other\n", "      CodeUri: other\n      FunctionName: !Sub 'x ${Secret}'\n", 1), "function name \"x ****\" is not a valid function name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := deployText(t, newFake(), fixture(t), "s", c.text, map[string]string{"Secret": secret})
			if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q without the value", err, c.want)
			}
		})
	}
	_, err := deployText(t, newFake(), fixture(t), "s", twoFunctions, map[string]string{"Memory": "lots"})
	if err == nil || !strings.Contains(err.Error(), `"lots"`) {
		t.Fatalf("a parameter without NoEcho: %v, want its value shown", err)
	}
}

// TestFunctionErrorsStopBeforeAnyChange: what Lambda would refuse of a
// function (an invalid AutoPublishAlias, a .zip package without Handler,
// provisioned concurrency above the reserved) stops the deploy in its first
// step, before anything changes (the function was created and published,
// then the deploy failed and rolled back).
func TestFunctionErrorsStopBeforeAnyChange(t *testing.T) {
	other := func(props string) string {
		return strings.Replace(twoFunctions, "      CodeUri: other\n      AutoPublishAlias: live\n", "      CodeUri: other\n"+props, 1)
	}
	cases := []struct{ name, text, want string }{
		{"alias with a space", other("      AutoPublishAlias: 'bad alias'\n"), "Other: AutoPublishAlias \"bad alias\" is not a valid alias name"},
		{"alias of digits", other("      AutoPublishAlias: '123'\n"), "Other: AutoPublishAlias \"123\" is not a valid alias name"},
		{"empty handler", strings.Replace(twoFunctions, "    Handler: bootstrap\n", "    Handler: ''\n", 1), "Hello: Handler is required"},
		{"no handler", strings.Replace(twoFunctions, "    Handler: bootstrap\n", "", 1), "Other: Handler is required"},
		{"provisioned above reserved", other("      AutoPublishAlias: live\n      ReservedConcurrentExecutions: 1\n      ProvisionedConcurrencyConfig:\n        ProvisionedConcurrentExecutions: 5\n"),
			"Other: ProvisionedConcurrentExecutions 5 is more than ReservedConcurrentExecutions 1"},
		// Read in full: it was formatted 1e+06 and read as 1.
		{"provisioned of a million above reserved", other("      AutoPublishAlias: live\n      ReservedConcurrentExecutions: 1\n      ProvisionedConcurrencyConfig:\n        ProvisionedConcurrentExecutions: 1000000\n"),
			"Other: ProvisionedConcurrentExecutions 1000000 is more than ReservedConcurrentExecutions 1"},
		{"provisioned not whole", other("      AutoPublishAlias: live\n      ProvisionedConcurrencyConfig:\n        ProvisionedConcurrentExecutions: 2.5\n"),
			"Other: ProvisionedConcurrentExecutions must be a whole number, not \"2.5\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake()
			_, err := deployText(t, f, fixture(t), "s", c.text, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) || len(f.calls) > 0 {
				t.Fatalf("error %v, calls %v; want %q and no call", err, f.calls, c.want)
			}
		})
	}
}

// TestParseOverrides: --parameter-overrides is read as sam deploy reads it,
// with shell-like quoting: a quoted value may hold spaces, and its quotes are
// not part of it (S="abc" was the value "abc" with its quotes; a quoted
// value with a space was split).
func TestParseOverrides(t *testing.T) {
	cases := []struct {
		args []string
		want map[string]string
	}{
		{[]string{`S="has space"`}, map[string]string{"S": "has space"}},
		{[]string{`ParameterKey=S,ParameterValue="a b"`}, map[string]string{"S": "a b"}},
		{[]string{`S='a b'`}, map[string]string{"S": "a b"}},
		{[]string{`S="abc"`}, map[string]string{"S": "abc"}},
		{[]string{`A=1 B=2`, `C=x=y`}, map[string]string{"A": "1", "B": "2", "C": "x=y"}},
		{[]string{`A="say \"hi\"" B='it''s'`}, map[string]string{"A": `say "hi"`, "B": "its"}},
		{[]string{`A=a\ b`}, map[string]string{"A": "a b"}},
		{[]string{`A=`, `B=""`}, map[string]string{"A": "", "B": ""}},
		{[]string{"A=1\tB=2\n"}, map[string]string{"A": "1", "B": "2"}},
	}
	for _, c := range cases {
		got, err := ParseOverrides(c.args)
		if err != nil || len(got) != len(c.want) {
			t.Errorf("%q: %v %v, want %v", c.args, got, err, c.want)
			continue
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("%q: %s = %q, want %q", c.args, k, got[k], v)
			}
		}
	}
	for _, bad := range []string{`S="open`, `S='open`, `novalue`, `=1`, `ParameterKey=S`} {
		if got, err := ParseOverrides([]string{bad}); err == nil {
			t.Errorf("%q: %v, want an error", bad, got)
		}
	}
}

// TestUpdateReplacePolicyRetainIsRefused: UpdateReplacePolicy Retain (or
// Snapshot) is refused as DeletionPolicy Retain is: Portico deletes the old
// function a FunctionName change replaces (it was warned about, then the
// function was deleted). Delete, the default, is taken.
func TestUpdateReplacePolicyRetainIsRefused(t *testing.T) {
	with := func(policy string) string {
		return strings.Replace(twoFunctions, "  Other:\n    Type: AWS::Serverless::Function\n", "  Other:\n    Type: AWS::Serverless::Function\n    UpdateReplacePolicy: "+policy+"\n", 1)
	}
	for _, policy := range []string{"Retain", "Snapshot"} {
		f := newFake()
		_, err := deployText(t, f, fixture(t), "s", with(policy), nil)
		if err == nil || !strings.Contains(err.Error(), "resource Other: UpdateReplacePolicy "+policy+" is not supported") || len(f.calls) > 0 {
			t.Errorf("UpdateReplacePolicy %s: %v, calls %v", policy, err, f.calls)
		}
	}
	p, err := deployText(t, newFake(), fixture(t), "s", with("Delete"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range p.Warnings {
		if strings.Contains(w, "UpdateReplacePolicy") {
			t.Errorf("UpdateReplacePolicy Delete: warning %q", w)
		}
	}
	if _, err := deployText(t, newFake(), fixture(t), "s", with("[Retain]"), nil); err == nil || !strings.Contains(err.Error(), "UpdateReplacePolicy must be a string") {
		t.Errorf("UpdateReplacePolicy as a list: %v", err)
	}
}

// TestDefinitionUriShortFormIntrinsics: an intrinsic function's short form
// (!Sub, !GetAtt, !Ref) in a DefinitionUri file is refused as its long form
// is, naming it and its line (the YAML reader dropped the tag and the value
// was deployed as written).
func TestDefinitionUriShortFormIntrinsics(t *testing.T) {
	text := strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      DefinitionUri: api.yaml\n", 1)
	for _, c := range []struct{ value, want string }{
		{"!Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Hello.Arn}/invocations", "!Sub at line 9"},
		{"!GetAtt Hello.Arn", "!GetAtt at line 9"},
		{"!Ref Hello", "!Ref at line 9"},
	} {
		dir := fixture(t)
		doc := "openapi: 3.0.1\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      x-amazon-apigateway-integration:\n        type: aws_proxy\n        httpMethod: POST\n        uri: " + c.value + "\n"
		writeFileT(t, dir, "api.yaml", doc)
		f := newFake()
		_, err := deployText(t, f, dir, "s", text, nil)
		want := "Api: DefinitionUri api.yaml has " + c.want + ": intrinsic functions in a DefinitionUri file are not resolved (as in SAM)"
		if err == nil || !strings.Contains(err.Error(), want) || len(f.calls) > 0 {
			t.Errorf("%s: %v, want %q", c.value, err, want)
		}
	}
}

func writeFileT(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDeployMessages: an error is given once (a MemorySize out of range was
// given twice, four times with another error); an S3 CodeUri is refused as
// such (it "did not exist"); an event invoke config without a maximum age
// says "default", not "default s"; a FunctionName replacement counts the old
// function's deletion ("0 to delete").
func TestDeployMessages(t *testing.T) {
	text := strings.Replace(twoFunctions, "      CodeUri: other\n", "      CodeUri: other\n      MemorySize: 64\n      Timeout: 0\n", 1)
	_, err := deployText(t, newFake(), fixture(t), "s", text, nil)
	if err == nil || strings.Count(err.Error(), "MemorySize 64 is out of range") != 1 || !strings.Contains(err.Error(), "Timeout 0 is out of range") {
		t.Errorf("MemorySize and Timeout out of range: %v, want each once", err)
	}
	s3 := strings.Replace(twoFunctions, "CodeUri: other", "CodeUri: s3://bucket/key.zip", 1)
	if _, err := deployText(t, newFake(), fixture(t), "s", s3, nil); err == nil || !strings.Contains(err.Error(), "Other: CodeUri s3://bucket/key.zip: S3 locations are refused") ||
		strings.Contains(err.Error(), "does not exist") {
		t.Errorf("an S3 CodeUri: %v", err)
	}
	two := 2
	if got := (&EventInvoke{MaximumRetryAttempts: &two}).String(); got != "2 retries, maximum age default" {
		t.Errorf("EventInvoke.String() = %q", got)
	}
	dir := fixture(t)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil {
		t.Fatal(err)
	}
	renamed := strings.Replace(twoFunctions, "      CodeUri: hello\n", "      CodeUri: hello\n      FunctionName: renamed\n", 1)
	p, err := deployText(t, f, dir, "s", renamed, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	p.Print(&out)
	if n := p.Counts(); n[Delete] != 1 || !strings.Contains(out.String(), "1 to delete") {
		t.Errorf("counts %v, plan:\n%s", n, out.String())
	}
}

// TestDisableExecuteApiEndpointTakesTemplateBooleans: DisableExecuteApiEndpoint
// takes what every other boolean of a template takes, the text "true" or
// "false" (a String parameter's value, through !Ref) as well as a YAML
// boolean, and reaches the document as a boolean (it was refused unless a
// YAML boolean).
func TestDisableExecuteApiEndpointTakesTemplateBooleans(t *testing.T) {
	withParam := strings.Replace(twoFunctions, "Parameters:\n", "Parameters:\n  Closed:\n    Type: String\n    AllowedValues: [\"true\", \"false\"]\n    Default: \"true\"\n", 1)
	cases := []struct {
		name, value string
		params      map[string]string
		want        bool
	}{
		{"yaml boolean", "true", nil, true},
		{"string", `"true"`, nil, true},
		{"string false", `"False"`, nil, false},
		{"ref of a String parameter", "!Ref Closed", nil, true},
		{"ref overridden", "!Ref Closed", map[string]string{"Closed": "false"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake()
			text := strings.Replace(withParam, "      StageName: prod\n", "      StageName: prod\n      DisableExecuteApiEndpoint: "+c.value+"\n", 1)
			if _, err := deployText(t, f, fixture(t), "s", text, c.params); err != nil {
				t.Fatal(err)
			}
			def := f.apis[f.stacks["s"].Resources["Api"].PhysicalID].def
			ec, _ := def.Document[extEndpointConfig].(map[string]any)
			if got := ec["disableExecuteApiEndpoint"]; got != c.want {
				t.Fatalf("%s = %v (%T), want %v", extEndpointConfig, ec, got, c.want)
			}
		})
	}
	text := strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      DisableExecuteApiEndpoint: \"yes\"\n", 1)
	if _, err := deployText(t, newFake(), fixture(t), "s", text, nil); err == nil || !strings.Contains(err.Error(), "DisableExecuteApiEndpoint") {
		t.Fatalf("DisableExecuteApiEndpoint \"yes\": %v, want it refused", err)
	}
}
