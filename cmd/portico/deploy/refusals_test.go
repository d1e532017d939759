package deploy

import (
	"strings"
	"testing"
)

// TestUsagePlanUnknownPropertiesRefused: a misspelt key of Auth.UsagePlan
// (Quta) got the warning of a property Portico does not act on, and the plan
// went ahead without the quota it declared; a misspelt CreateUsagePlan got
// "CreateUsagePlan must be PER_API or NONE" without naming the key. Each is
// refused naming it, with "did you mean", as other unknown properties are.
func TestUsagePlanUnknownPropertiesRefused(t *testing.T) {
	auth := func(plan string) string {
		return strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: prod\n      Auth:\n        ApiKeyRequired: true\n        UsagePlan: "+plan+"\n", 1)
	}
	for _, tc := range []struct{ name, plan, want string }{
		{"key", "{CreateUsagePlan: PER_API, Quta: {Limit: 5, Period: DAY}}",
			"Api Auth.UsagePlan: Quta is not a property of UsagePlan, which has CreateUsagePlan, Description, Quota, Tags, Throttle, UsagePlanName (did you mean Quota?)"},
		{"CreateUsagePlan key", "{CreatePlan: PER_API}",
			"Api Auth.UsagePlan: CreatePlan is not a property of UsagePlan, which has CreateUsagePlan, Description, Quota, Tags, Throttle, UsagePlanName (did you mean CreateUsagePlan?)"},
		{"quota key", "{CreateUsagePlan: PER_API, Quota: {Limt: 5, Period: DAY}}",
			"Api Auth.UsagePlan.Quota: Limt is not a property of Quota, which has Limit, Offset, Period (did you mean Limit?)"},
		{"throttle key", "{CreateUsagePlan: PER_API, Throttle: {BurstLimit: 5, Rate: 2}}",
			"Api Auth.UsagePlan.Throttle: Rate is not a property of Throttle, which has BurstLimit, RateLimit"},
		{"value", "{CreateUsagePlan: PER-API}", "Api Auth.UsagePlan: CreateUsagePlan must be PER_API, SHARED or NONE, not PER-API (did you mean PER_API?)"},
		{"missing", "{UsagePlanName: p}", "Api Auth.UsagePlan: CreateUsagePlan must be PER_API, SHARED or NONE, not missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			p, err := deployText(t, f, fixture(t), "s", auth(tc.plan), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				var warnings []string
				if p != nil {
					warnings = p.Warnings
				}
				t.Fatalf("err = %v (warnings %q), want %q", err, warnings, tc.want)
			}
		})
	}
}

// TestGetAttInIgnoredEvent: !GetAtt Queue.Arn in an SQS event (which
// Portico ignores with a warning) stopped the deploy, naming no property:
// Portico knows no attributes of a queue. It matters only where the deploy
// reads it, and there the error names the property's path.
func TestGetAttInIgnoredEvent(t *testing.T) {
	const text = `
Transform: AWS::Serverless-2016-10-31
Resources:
  Q: {Type: AWS::SQS::Queue}
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      CodeUri: hello
      Events:
        S: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn}}
        D: {Type: DynamoDB, Properties: {Stream: !GetAtt T.StreamArn, StartingPosition: LATEST}}
`
	p, err := deployText(t, newFake(), fixture(t), "s", text, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.Join(p.Warnings, "\n"); !strings.Contains(w, "event type SQS is not supported by Portico and is ignored") || !strings.Contains(w, "event type DynamoDB is not supported") {
		t.Errorf("warnings:\n%s", w)
	}
	env := strings.Replace(text, "      CodeUri: hello\n", "      CodeUri: hello\n      Environment:\n        Variables:\n          QUEUE: !Sub \"queue=${Q.Arn}\"\n", 1)
	_, err = deployText(t, newFake(), fixture(t), "s", env, nil)
	if want := "Fn Environment.Variables.QUEUE: !GetAtt Q.Arn: Portico knows no attributes of Q (AWS::SQS::Queue)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// TestGeneratedFunctionNameTooLong: a stack name may be 128 characters but a
// function name 64, and the name made from it (STACK-LogicalId) was refused
// as if the template had written it.
func TestGeneratedFunctionNameTooLong(t *testing.T) {
	stack := "s" + strings.Repeat("x", 70)
	_, err := deployText(t, newFake(), fixture(t), stack, twoFunctions, nil)
	want := "Hello: the function name " + stack + "-Hello that Portico makes from the stack name and the logical id (the function has no FunctionName) is 77 characters, more than Lambda's 64: use a shorter --stack or set FunctionName"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// TestParameterAndResourceSameID: a parameter and a resource both named G
// got "circular dependency between resources: [G] (G -> G ...)" for a
// function whose environment names !Ref G.
func TestParameterAndResourceSameID(t *testing.T) {
	text := strings.Replace(twoFunctions, "  Greeting:\n", "  Hello:\n    Type: String\n    Default: one\n  Greeting:\n", 1)
	text = strings.Replace(text, "!Ref Greeting", "!Ref Hello", 1)
	_, err := deployText(t, newFake(), fixture(t), "s", text, nil)
	want := "Hello is declared both as a parameter and as a resource: logical ids must be unique across Parameters and Resources, as CloudFormation requires; rename one"
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "circular") {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// TestMemorySizeOutOfRangeOnce: MemorySize 100 was refused twice, in words
// and in the server's "1 validation error detected" form.
func TestMemorySizeOutOfRangeOnce(t *testing.T) {
	for _, v := range []string{"100", "20000"} {
		text := strings.Replace(twoFunctions, "      CodeUri: other\n", "      CodeUri: other\n      MemorySize: "+v+"\n", 1)
		_, err := deployText(t, newFake(), fixture(t), "s", text, nil)
		want := "Other: MemorySize " + v + " is out of range: it must be between 128 and 10240 MB"
		if err == nil || err.Error() != want {
			t.Errorf("MemorySize %s: err = %v, want %q alone", v, err, want)
		}
	}
}
