package main

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/deploy"
)

// TestPrintStackKeysLogicalIDs is the ops11 tester's: the deploy's summary
// named a template's own AWS::ApiGateway::ApiKey (Key) as SAM would name its
// key (ChatApiKey), which the template has not. SAM's keys keep their names.
func TestPrintStackKeysLogicalIDs(t *testing.T) {
	t.Parallel()
	rec := &deploy.Record{Resources: map[string]*deploy.Resource{
		"Chat": {Kind: deploy.KindAPI, PhysicalID: "a1", APIKeyID: "k1", UsagePlanID: "p1"},
		"Api":  {Kind: deploy.KindAPI, PhysicalID: "a2", APIKeyID: "k2", UsagePlanID: "p2"},
	}}
	d := &deploy.Desired{APIs: map[string]*deploy.API{
		"Chat": {LogicalID: "Chat", UsagePlan: &deploy.UsagePlan{PlanLogical: "Plan", KeyLogical: "Key"}},
		"Api":  {LogicalID: "Api", UsagePlan: &deploy.UsagePlan{}},
	}}
	var out strings.Builder
	printStackKeys(&out, rec, d)
	for _, want := range []string{"  Key (API key k1 in usage plan p1)", "  ApiApiKey (API key k2 in usage plan p2)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "ChatApiKey") {
		t.Errorf("summary names ChatApiKey, which the template has not:\n%s", out.String())
	}
}
