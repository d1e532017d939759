package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// otherProps adds props to twoFunctions' Other function.
func otherProps(props string) string {
	return strings.Replace(twoFunctions, "      CodeUri: other\n      AutoPublishAlias: live\n", "      CodeUri: other\n      AutoPublishAlias: live\n"+props, 1)
}

// TestDeploymentPreferenceStringBooleans: DeploymentPreference.Enabled (and
// any other boolean property) takes the text "true" or "false", as
// CloudFormation does, from the template or a String parameter, on the
// resource or in Globals; PassthroughCondition and Role are accepted.
func TestDeploymentPreferenceStringBooleans(t *testing.T) {
	withParam := func(text string) string {
		return strings.Replace(text, "Parameters:\n", "Parameters:\n  En:\n    Type: String\n    Default: \"false\"\n", 1)
	}
	globals := func(props string) string {
		return withParam(strings.Replace(twoFunctions, "    Handler: bootstrap\n", "    Handler: bootstrap\n    DeploymentPreference:\n"+props, 1))
	}
	cases := []struct {
		name, text string
		params     map[string]string
		shifted    bool // Other's alias takes new versions by a shift
	}{
		{"quoted false", otherProps("      DeploymentPreference:\n        Type: Linear10PercentEvery1Minute\n        Enabled: \"false\"\n"), nil, false},
		{"quoted true", otherProps("      DeploymentPreference:\n        Type: Linear10PercentEvery1Minute\n        Enabled: \"true\"\n"), nil, true},
		{"parameter false", withParam(otherProps("      DeploymentPreference:\n        Type: Linear10PercentEvery1Minute\n        Enabled: !Ref En\n")), nil, false},
		{"parameter true", withParam(otherProps("      DeploymentPreference:\n        Type: Linear10PercentEvery1Minute\n        Enabled: !Ref En\n")), map[string]string{"En": "true"}, true},
		{"globals parameter false", globals("      Type: Linear10PercentEvery1Minute\n      Enabled: !Ref En\n"), nil, false},
		{"globals quoted true", globals("      Type: Linear10PercentEvery1Minute\n      Enabled: \"true\"\n"), nil, true},
		{"passthrough condition", otherProps("      DeploymentPreference:\n        Type: Linear10PercentEvery1Minute\n        PassthroughCondition: true\n        Role: arn:aws:iam::123456789012:role/cd\n"), nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := deployText(t, newFake(), fixture(t), "s", c.text, c.params)
			if err != nil {
				t.Fatal(err)
			}
			tpl, err := Load(writeTemplate(t, c.text), Options{Stack: "s", Parameters: c.params})
			if err != nil {
				t.Fatal(err)
			}
			d, err := Build(tpl)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Functions["Other"].Deployment != nil; got != c.shifted {
				t.Fatalf("Other's DeploymentPreference read as %+v, want enabled %v", d.Functions["Other"].Deployment, c.shifted)
			}
		})
	}
	// Another boolean property: an Api's TracingEnabled from a String parameter.
	text := withParam(strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      TracingEnabled: !Ref En\n", 1))
	if _, err := deployText(t, newFake(), fixture(t), "s", text, nil); err != nil {
		t.Fatalf("TracingEnabled \"false\": %v", err)
	}
}

func writeTemplate(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(fixture(t), "template.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTemplateErrorsNameWhereAndHow: each mistake is one line naming the
// resource, the property's path and what to write instead.
func TestTemplateErrorsNameWhereAndHow(t *testing.T) {
	event := func(props string) string {
		return strings.Replace(twoFunctions, "        Any:\n          Type: HttpApi\n", "        Any:\n"+props, 1)
	}
	cases := []struct{ name, text, want string }{
		{"misspelled Type", otherProps("      DeploymentPreference: {Typ: AllAtOnce}\n"),
			"Other: property DeploymentPreference.Typ is not a property of DeploymentPreference, which has Alarms, Enabled, Hooks, PassthroughCondition, Role, TriggerConfigurations, Type (did you mean Type?)"},
		{"Enabled not a boolean", otherProps("      DeploymentPreference: {Type: AllAtOnce, Enabled: maybe}\n"),
			`Other: property DeploymentPreference.Enabled must be true or false (or the text "true" or "false"), not the string "maybe"`},
		{"trigger configurations", otherProps("      DeploymentPreference:\n        Type: AllAtOnce\n        TriggerConfigurations: [{TriggerName: x}]\n"),
			"Other (AWS::Serverless::Function): property DeploymentPreference is refused: TriggerConfigurations are refused: Portico has no SNS to notify of the deployment's events. Remove them"},
		{"misspelled HttpApi Method", event("          Type: HttpApi\n          Properties: {Path: /x, Methd: get}\n"),
			"Other event Any (HttpApi): property Events.Any.Properties.Methd is not a property of an HttpApi event, which has ApiId, Auth, Method, Path, PayloadFormatVersion, RouteSettings, TimeoutInMillis (did you mean Method?)"},
		{"HttpApi without Method", event("          Type: HttpApi\n          Properties: {Path: /x}\n"),
			"Other event Any (HttpApi): an event on ServerlessHttpApi needs Path and Method: set Properties.Method (e.g. Path: /items, Method: get)"},
		{"negative reserved", otherProps("      ReservedConcurrentExecutions: -1\n"),
			"Other: ReservedConcurrentExecutions -1 must not be negative: give 0 or more (0 stops every invocation), or leave it out for none"},
		{"misspelled nested property", otherProps("      EventInvokeConfig: {MaximumRetryAtempts: 1}\n"),
			"Other (AWS::Serverless::Function): property EventInvokeConfig.MaximumRetryAtempts is not a property SAM knows of EventInvokeConfig (did you mean MaximumRetryAttempts?)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := deployText(t, newFake(), fixture(t), "s", c.text, nil)
			if err == nil || err.Error() != c.want {
				t.Fatalf("error:\n%v\nwant (one line):\n%s", err, c.want)
			}
		})
	}
}

// TestIgnoredScheduleAndImageMetadataSayWhatToDo: a Schedule event's warning
// says the function is never run on a schedule, as sam.md promises; an Image
// function laid out as sam init makes it (a Dockerfile in Metadata, no
// ImageUri) is told to build the image with portico build and set ImageUri.
func TestIgnoredScheduleAndImageMetadataSayWhatToDo(t *testing.T) {
	text := strings.Replace(twoFunctions, "        Any:\n          Type: HttpApi\n", "        Any:\n          Type: Schedule\n          Properties: {Schedule: rate(1 minute)}\n", 1)
	p, err := deployText(t, newFake(), fixture(t), "s", text, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "Other event Any (Schedule): event type Schedule is not supported by Portico and is ignored: the function is never run on a schedule"
	if !slices.ContainsFunc(p.Warnings, func(w string) bool { return strings.HasPrefix(w, want) }) {
		t.Fatalf("warnings %q lack %q", p.Warnings, want)
	}
	image := `Transform: AWS::Serverless-2016-10-31
Resources:
  HelloWorldFunction:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
    Metadata:
      Dockerfile: Dockerfile
      DockerContext: ./hello-world
      DockerTag: go1.x-v1
`
	_, err = deployText(t, newFake(), fixture(t), "s", image, nil)
	want = "HelloWorldFunction: PackageType Image needs ImageUri: portico deploy does not build the image its Metadata (Dockerfile, DockerContext, DockerTag) describes, as sam build does; " +
		"build it with `portico build ./hello-world -t helloworldfunction:go1.x-v1` (add --import for a containerd server) and set ImageUri: helloworldfunction:go1.x-v1"
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n%v\nwant:\n%s", err, want)
	}
}

// TestHandReadBooleansTakeText: the boolean properties read by hand (an
// event's Auth.ApiKeyRequired, RequestModel.ValidateBody) take "true" too.
func TestHandReadBooleansTakeText(t *testing.T) {
	text := strings.Replace(twoFunctions, "            RestApiId: !Ref Api\n",
		"            RestApiId: !Ref Api\n            Auth:\n              ApiKeyRequired: \"true\"\n", 1)
	if _, err := deployText(t, newFake(), fixture(t), "s", text, nil); err != nil {
		t.Fatalf("ApiKeyRequired \"true\": %v", err)
	}
}
