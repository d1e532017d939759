package apis

import (
	"context"
	"strings"
	"testing"

	"github.com/portico-dev/portico/store"
)

// TestStoredVariableValuesOutsideTheCharacterSetStay: values that earlier
// versions stored with characters API Gateway refuses load and serve as they
// are, and a change of other variables keeps them; only the values a write
// sets are checked.
func TestStoredVariableValuesOutsideTheCharacterSetStay(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	a := mustCreate(t, s, helloAPI())
	if _, _, err := s.Deploy(ctx, a.ID, DeployInput{StageName: "dev", Variables: map[string]string{"alias": "live"}}); err != nil {
		t.Fatal(err)
	}
	// As an earlier version stored it.
	if _, err := s.updateStage(ctx, a.ID, "dev", false, func(_ *store.Tx, st *Stage) error {
		st.Variables["old"] = "<b> x"
		st.Variables["empty"] = ""
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateStage(ctx, a.ID, "dev", StagePatch{SetVariables: map[string]string{"alias": "v2"}}); err != nil {
		t.Fatalf("changing another variable: %v", err)
	}
	if _, err := s.UpdateStage(ctx, a.ID, "dev", StagePatch{SetVariables: map[string]string{"alias": "<b>"}}); err == nil {
		t.Error("a new value with < was taken")
	}
	// API Gateway's pattern is [A-Za-z0-9-._~:/?#&=,]+: an empty value is
	// refused on every write, while the stored one above stays.
	if _, err := s.UpdateStage(ctx, a.ID, "dev", StagePatch{SetVariables: map[string]string{"alias": ""}}); err == nil || !strings.Contains(err.Error(), `stage variable "alias" has an empty (or null) value`) {
		t.Errorf("UpdateStage setting an empty value: %v", err)
	}
	if _, _, err := s.Deploy(ctx, a.ID, DeployInput{StageName: "dev", Variables: map[string]string{"e": ""}}); err == nil {
		t.Error("Deploy took an empty value")
	}
	if _, _, err := s.Deploy(ctx, a.ID, DeployInput{StageName: "dev", Canary: &CanarySettings{PercentTraffic: 5, StageVariableOverrides: map[string]string{"e": ""}}}); err == nil {
		t.Error("Deploy took an empty canary override")
	}
	st, err := s.GetStage(ctx, a.ID, "dev")
	if err != nil || st.Variables["old"] != "<b> x" || st.Variables["alias"] != "v2" || st.Variables["empty"] != "" || len(st.Variables) != 3 {
		t.Fatalf("GetStage: %v %v", st, err)
	}
}
