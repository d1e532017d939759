package deploy

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// wsKeyed is testdata/ws-api-key.yaml: a WebSocket API whose $connect
// requires an API key, with a raw usage plan on its stage (a quota of 3 a
// day), an API key and the usage plan key that puts the key in the plan.
func wsKeyed(t *testing.T) string {
	t.Helper()
	return readTestdata(t, "ws-api-key.yaml")
}

// TestRawUsagePlanOnWebSocketStage: the raw usage plan, key and usage plan
// key of a WebSocket API become the API's usage plan (name, throttle, quota,
// on its stage) with the key in it, and $connect requires a key; a redeploy
// keeps the key; a disabled key is disabled; dropping the three deletes the
// plan and the key, and a failed step leaves nothing made. (Before, the
// route's ApiKeyRequired: true was refused and the raw types ignored.)
func TestRawUsagePlanOnWebSocketStage(t *testing.T) {
	keyed := wsKeyed(t)
	dir := fixture(t)
	f := newFake()
	_, out, err := deployOutput(t, f, dir, "s", keyed, nil)
	if err != nil {
		t.Fatal(err)
	}
	var chat *fakeAPI
	for _, a := range f.apis {
		chat = a
	}
	m := wsModel(chat.def)
	if !m.Routes[0].APIKeyRequired || m.Routes[1].APIKeyRequired || m.APIKeySource != "" {
		t.Fatalf("routes %+v, key source %q: want $connect alone to require a key, from the header", m.Routes, m.APIKeySource)
	}
	rec := f.stacks["s"].Resources["Chat"]
	p := f.plans[rec.UsagePlanID]
	if p == nil || p.Name != "chat-plan" || p.Quota["limit"] != 3.0 || p.Throttle["burstLimit"] != 200.0 {
		t.Fatalf("usage plan %s = %+v", rec.UsagePlanID, p)
	}
	if st := f.planStages[rec.UsagePlanID]; len(st) != 1 || st[0].Stage != "live" || st[0].APIID != rec.PhysicalID {
		t.Fatalf("plan stages %v", st)
	}
	k := f.keySpecs[rec.APIKeyID]
	if k.Name != "chat-key" || !k.Enabled || k.Value != "" || len(f.planKeys[rec.UsagePlanID]) != 1 {
		t.Fatalf("key %s = %+v in plan keys %v", rec.APIKeyID, k, f.planKeys)
	}
	if !strings.Contains(out, "(chat-key, Key)") {
		t.Errorf("deploy output does not name the key by its logical id:\n%s", out)
	}

	// A redeploy disabling the key keeps it and disables it.
	if _, err := deployText(t, f, dir, "s", strings.Replace(keyed, "Enabled: true", "Enabled: false", 1), nil); err != nil {
		t.Fatal(err)
	}
	again := f.stacks["s"].Resources["Chat"]
	if again.APIKeyID != rec.APIKeyID || again.UsagePlanID != rec.UsagePlanID || f.keySpecs[rec.APIKeyID].Enabled {
		t.Fatalf("redeploy: key %s plan %s enabled %v, want %s %s kept and disabled", again.APIKeyID, again.UsagePlanID,
			f.keySpecs[rec.APIKeyID].Enabled, rec.APIKeyID, rec.UsagePlanID)
	}

	// Dropping the plan, key and usage plan key deletes the plan and key.
	cut := keyed[:strings.Index(keyed, "  Plan:\n")]
	if _, err := deployText(t, f, dir, "s", strings.Replace(cut, "ApiKeyRequired: true", "ApiKeyRequired: false", 1), nil); err != nil {
		t.Fatal(err)
	}
	if len(f.plans) != 0 || len(f.keys) != 0 {
		t.Fatalf("plans %v keys %v after dropping them, want none", f.plans, f.keys)
	}

	// A first deploy that fails adding the key to the plan leaves no plan
	// and no key.
	g := newFake()
	g.failAt = "AddUsagePlanKey"
	if _, err := deployText(t, g, dir, "t", keyed, nil); err == nil {
		t.Fatal("deploy with a failing AddUsagePlanKey succeeded")
	}
	if len(g.plans) != 0 || len(g.keys) != 0 {
		t.Fatalf("after a failed deploy: plans %v keys %v, want none", g.plans, g.keys)
	}
}

// keyValue1 and keyValue2 are raw ApiKey Values of the tests; valuedKey is wsKeyed with
// its key's Value keyValue1.
const keyValue1, keyValue2 = "first-value-0123456789abcdef", "second-value-0123456789abcdef"

func valuedKey(t *testing.T) string {
	t.Helper()
	return strings.Replace(wsKeyed(t), "Enabled: true", "Enabled: true\n      Value: "+keyValue1, 1)
}

// TestRawAPIKeyValueChangeReplacesKey: an ApiKey's Value is given to the key
// it makes (never printed); a changed Value makes a new key in the plan and
// deletes the old one, as CloudFormation replaces the key.
func TestRawAPIKeyValueChangeReplacesKey(t *testing.T) {
	dir, f, text := fixture(t), newFake(), valuedKey(t)
	_, out, err := deployOutput(t, f, dir, "s", text, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := f.stacks["s"].Resources["Chat"]
	if f.keySpecs[rec.APIKeyID].Value != keyValue1 || strings.Contains(out, keyValue1) {
		t.Fatalf("key %+v; output shows the value: %v", f.keySpecs[rec.APIKeyID], strings.Contains(out, keyValue1))
	}
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	if got := f.stacks["s"].Resources["Chat"].APIKeyID; got != rec.APIKeyID {
		t.Fatalf("an unchanged redeploy replaced key %s by %s", rec.APIKeyID, got)
	}
	_, out, err = deployOutput(t, f, dir, "s", strings.Replace(text, keyValue1, keyValue2, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	now := f.stacks["s"].Resources["Chat"]
	if now.APIKeyID == rec.APIKeyID || f.keySpecs[now.APIKeyID].Value != keyValue2 || f.keys[rec.APIKeyID] != "" ||
		len(f.planKeys[now.UsagePlanID]) != 1 || f.planKeys[now.UsagePlanID][0] != now.APIKeyID || strings.Contains(out, keyValue2) {
		t.Fatalf("after a Value change: key %s (%+v), plan keys %v, old key kept %v", now.APIKeyID, f.keySpecs[now.APIKeyID],
			f.planKeys, f.keys[rec.APIKeyID] != "")
	}
}

// TestRawUsagePlanRefusals: what the raw resources would get wrong fails the
// build, naming it.
func TestRawUsagePlanRefusals(t *testing.T) {
	keyed := wsKeyed(t)
	dir := fixture(t)
	for _, tc := range []struct{ name, old, new, want string }{
		{"misspelt quota", "Quota:", "Quta:", "Quta is not a property of AWS::ApiGateway::UsagePlan"},
		{"misspelt limit", "Limit: 3", "Limt: 3", "Limt is not a property of Quota"},
		{"unknown key property", "Name: chat-key", "Nmae: chat-key", "Nmae is not a property of AWS::ApiGateway::ApiKey"},
		{"unknown plan key property", "KeyType: API_KEY", "KeyType: API_KEY\n      Extra: 1", "Extra is not a property of AWS::ApiGateway::UsagePlanKey"},
		{"key on a message route", "RouteKey: $default", "RouteKey: $default\n      ApiKeyRequired: true", "ApiKeyRequired is refused on route $default"},
		{"bad selection", "$request.header.x-api-key", "$request.header.x-key", "ApiKeySelectionExpression must be"},
		{"other stage", "Stage: !Ref Stage", "Stage: other", "ApiStages: Stage must name the stage of API Chat"},
		{"no plan key", "KeyId: !Ref Key", "KeyId: nokey", "KeyId must be !Ref to an AWS::ApiGateway::ApiKey"},
		{"key type", "KeyType: API_KEY", "KeyType: OTHER", "KeyType must be API_KEY"},
		{"short value", "Enabled: true", "Enabled: true\n      Value: short", "Value must be 20 to 128"},
		{"quota period", "Period: DAY", "Period: YEAR", "Plan.Quota: Invalid quota period"},
		{"negative limit", "Limit: 3", "Limit: -5", "Plan.Quota: Invalid quota limit"},
		{"tags as a mapping", "Quota:", "Tags: {team: chat}\n      Quota:", "Plan (AWS::ApiGateway::UsagePlan): Tags must be a list of Key and Value"},
		{"tag without value", "Name: chat-key", "Name: chat-key\n      Tags: [{Key: team}]", "Key (AWS::ApiGateway::ApiKey): Tags[0] must be a mapping of Key and Value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(keyed, tc.old, tc.new, 1)
			if text == keyed {
				t.Fatal("the case changes nothing")
			}
			_, err := deployText(t, newFake(), dir, "s", text, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// restKeyed is twoFunctions' REST API with a raw usage plan on its stage
// (Stage: !Ref Api.Stage), a key and the usage plan key.
const restKeyed = `  Plan:
    Type: AWS::ApiGateway::UsagePlan
    Properties:
      ApiStages:
        - ApiId: !Ref Api
          Stage: !Ref Api.Stage
      Throttle: {RateLimit: 5, BurstLimit: 10}
  Key:
    Type: AWS::ApiGateway::ApiKey
    Properties:
      Enabled: true
      StageKeys:
        - RestApiId: !Ref Api
          StageName: prod
  PlanKey:
    Type: AWS::ApiGateway::UsagePlanKey
    Properties:
      KeyId: !Ref Key
      KeyType: API_KEY
      UsagePlanId: !Ref Plan
`

// TestRawUsagePlanOnRESTStage: the raw resources work on a REST API's stage
// too, named after the stack and logical ids as CloudFormation names them;
// an HTTP API's stage, or an API that has Auth.UsagePlan, is refused.
func TestRawUsagePlanOnRESTStage(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", twoFunctions+restKeyed, nil); err != nil {
		t.Fatal(err)
	}
	rec := f.stacks["s"].Resources["Api"]
	p := f.plans[rec.UsagePlanID]
	if p == nil || p.Name != "s-Plan" || p.Throttle["rateLimit"] != 5.0 || f.keySpecs[rec.APIKeyID].Name != "s-Key" || !f.keySpecs[rec.APIKeyID].Enabled {
		t.Fatalf("plan %+v key %+v", p, f.keySpecs[rec.APIKeyID])
	}
	for _, tc := range []struct{ name, text, want string }{
		{"http api", strings.Replace(twoFunctions+restKeyed, "ApiId: !Ref Api\n          Stage: !Ref Api.Stage", "ApiId: !Ref ServerlessHttpApi\n          Stage: $default", 1),
			"API ServerlessHttpApi is an HTTP API"},
		{"sam plan too", strings.Replace(twoFunctions+restKeyed, "      StageName: prod\n", "      StageName: prod\n      Auth:\n        UsagePlan:\n          CreateUsagePlan: PER_API\n", 1),
			"API Api already has a usage plan"},
		{"stage key elsewhere", strings.Replace(twoFunctions+restKeyed, "StageName: prod\n  PlanKey", "StageName: dev\n  PlanKey", 1),
			"Stage must name the stage of API Api"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := deployText(t, newFake(), dir, "s", tc.text, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestRawPlanOutputs: an output's Ref to the raw usage plan, API key or
// usage plan key resolves, as CloudFormation's Ref does, to the plan's id and
// the key's id (they were left out: "Portico does not make" them).
func TestRawPlanOutputs(t *testing.T) {
	keyed := wsKeyed(t)
	dir := fixture(t)
	text := keyed + `Outputs:
  PlanId:
    Value: !Ref Plan
  KeyId:
    Value: !Ref Key
  PlanKeyId:
    Value: !Sub "${PlanKey}"
`
	f := newFake()
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	tpl, err := Load(filepath.Join(dir, "template.yaml"), Options{Stack: "s"})
	if err != nil {
		t.Fatal(err)
	}
	rec := f.stacks["s"].Resources["Chat"]
	outs, warnings := tpl.ResolveOutputs(context.Background(), f.stacks["s"], fakeAttrs{})
	want := map[string]string{"PlanId": rec.UsagePlanID, "KeyId": rec.APIKeyID, "PlanKeyId": rec.APIKeyID}
	if !reflect.DeepEqual(outs, want) || len(warnings) != 0 || len(tpl.Warnings) != 0 {
		t.Fatalf("outputs = %v (warnings %q %q), want %v", outs, warnings, tpl.Warnings, want)
	}
}

// TestWebSocketKeyFromAuthorizer: ApiKeySelectionExpression
// $context.authorizer.usageIdentifierKey reaches the API as key source
// AUTHORIZER (the $connect authorizer's usageIdentifierKey is the key).
func TestWebSocketKeyFromAuthorizer(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	text := strings.Replace(wsKeyed(t), "$request.header.x-api-key", "$context.authorizer.usageIdentifierKey", 1)
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	for _, a := range f.apis {
		if got := wsModel(a.def).APIKeySource; got != "AUTHORIZER" {
			t.Fatalf("key source %q, want AUTHORIZER", got)
		}
	}
}

// TestRawAPIKeyChangesInThePlanAndUndone: the printed plan says, one line
// each, that a raw ApiKey of the stack is enabled, disabled or replaced (its
// Value changed; the value is never printed), where it said only that the
// usage plan is updated; and a deploy whose later step fails (here the
// stack's record) sets the key's Enabled back, as it undoes its other steps.
func TestRawAPIKeyChangesInThePlanAndUndone(t *testing.T) {
	dir, f, text := fixture(t), newFake(), valuedKey(t)
	if _, err := deployText(t, f, dir, "s", text, nil); err != nil {
		t.Fatal(err)
	}
	key := f.stacks["s"].Resources["Chat"].APIKeyID
	printed := func(p *Plan) string {
		var b strings.Builder
		p.PrintChanges(&b)
		return b.String()
	}
	off := strings.Replace(text, "Enabled: true", "Enabled: false", 1)

	// Disabling fails at the record: the key is enabled again.
	f.failAt = "PutStack"
	p, out, err := deployOutput(t, f, dir, "s", off, nil)
	if err == nil {
		t.Fatal("deploy with a failing PutStack succeeded")
	}
	if want := "- disable API key " + key + " (Key)"; !strings.Contains(printed(p), want) {
		t.Errorf("plan does not say %q:\n%s", want, printed(p))
	}
	if !f.keySpecs[key].Enabled || !strings.Contains(out, "rolling back: enable API key "+key) {
		t.Fatalf("after the failed deploy key %s is enabled %v, want enabled again; output:\n%s", key, f.keySpecs[key].Enabled, out)
	}

	// Disabling, then enabling, each said.
	if _, err := deployText(t, f, dir, "s", off, nil); err != nil || f.keySpecs[key].Enabled {
		t.Fatalf("disable: %v, enabled %v", err, f.keySpecs[key].Enabled)
	}
	p, _, err = deployOutput(t, f, dir, "s", text, nil)
	if err != nil || !strings.Contains(printed(p), "- enable API key "+key+" (Key)") || !f.keySpecs[key].Enabled {
		t.Fatalf("enable: %v, enabled %v, plan:\n%s", err, f.keySpecs[key].Enabled, printed(p))
	}

	// A changed Value: the plan says the key is replaced, not with what.
	p, _, err = deployOutput(t, f, dir, "s", strings.Replace(text, keyValue1, keyValue2, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := printed(p); !strings.Contains(s, "- replace API key "+key+" (Key)") || strings.Contains(s, keyValue1) || strings.Contains(s, keyValue2) ||
		strings.Contains(s, "enable API key") {
		t.Fatalf("plan of a Value change:\n%s", s)
	}
	// Only the key changed, not its usage plan (r-sam26 #5): no plan step
	// says the plan is updated, here or for a change of Enabled.
	if s := printed(p); strings.Contains(s, "update usage plan") {
		t.Fatalf("plan of a Value change updates the usage plan:\n%s", s)
	}
	p, _, err = deployOutput(t, f, dir, "s", strings.Replace(strings.Replace(text, keyValue1, keyValue2, 1), "Enabled: true", "Enabled: false", 1), nil)
	if s := printed(p); err != nil || !strings.Contains(s, "- disable API key") || strings.Contains(s, "update usage plan") {
		t.Fatalf("plan of an Enabled change (%v):\n%s", err, s)
	}
}

// TestRawUsagePlanTagsAndDescription: Tags and Description on the raw usage
// plan and API key, common in CloudFormation templates, are taken with a
// warning that says how to set them after the deploy (Tags were refused,
// with "did you mean ApiStages?"; Description was dropped without a word).
func TestRawUsagePlanTagsAndDescription(t *testing.T) {
	text := strings.Replace(wsKeyed(t), "      Quota:", "      Description: chat plan\n      Tags: [{Key: team, Value: chat}]\n      Quota:", 1)
	text = strings.Replace(text, "      Name: chat-key\n", "      Name: chat-key\n      Description: chat key\n      Tags:\n        - Key: team\n          Value: chat\n", 1)
	p, err := deployText(t, newFake(), fixture(t), "s", text, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(p.Warnings, "\n")
	for _, want := range []string{
		"Plan (AWS::ApiGateway::UsagePlan): Tags are not applied by portico deploy", "::/usageplans/ID --tags",
		"Plan (AWS::ApiGateway::UsagePlan): Description is not applied", "update-usage-plan --usage-plan-id ID",
		"Key (AWS::ApiGateway::ApiKey): Tags are not applied", "::/apikeys/ID --tags",
		"Key (AWS::ApiGateway::ApiKey): Description is not applied", "update-api-key --api-key ID",
	} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings do not say %q:\n%s", want, w)
		}
	}
}

// TestKnownKeysSuggestsNearMissesOnly: a property that is another's letters
// with some left out is suggested only when it starts as that one does
// (CreatePlan: CreateUsagePlan), not Tags for ApiStages or StageKeys.
func TestKnownKeysSuggestsNearMissesOnly(t *testing.T) {
	for _, tc := range []struct {
		key   string
		props []string
		want  string
	}{
		{"Tags", []string{"ApiStages", "StageKeys"}, ""},
		{"CreatePlan", []string{"CreateUsagePlan", "Quota"}, " (did you mean CreateUsagePlan?)"},
	} {
		b := &builder{d: &Desired{}}
		b.knownKeys("R", "T", map[string]any{tc.key: 1}, tc.props)
		if len(b.errs) != 1 {
			t.Fatalf("%s: errors %v", tc.key, b.errs)
		}
		msg := b.errs[0].Error()
		if got := msg[strings.Index(msg, ", which has"):]; !strings.HasSuffix(got, strings.Join(tc.props, ", ")+tc.want) {
			t.Errorf("%s: %q, want it to end in %q", tc.key, msg, tc.want)
		}
	}
}
