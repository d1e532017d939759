package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestAPIDeployVarOnAnExistingStage: `api deploy --stage EXISTING --var K=V`
// sets K on the stage and keeps its other variables, as create-deployment
// --variables does (it was dropped without a word).
func TestAPIDeployVarOnAnExistingStage(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	resp, err := env.Client().Do(context.Background(), http.MethodPost, apisPath, nil, map[string]any{"name": "vars", "protocol": "HTTP",
		"routes": []any{map[string]any{"method": "GET", "path": "/x", "integration": map[string]any{"type": "HTTP_PROXY", "uri": "http://${stageVariables.a}/x"}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var api struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(resp.Body, &api); err != nil || api.ID == "" {
		t.Fatalf("create: %s %v", resp.Body, err)
	}
	for _, args := range [][]string{
		{"api", "deploy", api.ID, "--stage", "dev", "--var", "a=1", "--var", "b=2"},
		{"api", "deploy", api.ID, "--stage", "dev", "--var", "b=3", "--var", "c=4"},
	} {
		if out, err := portico(t, env, args...); err != nil {
			t.Fatalf("portico %v: %v\n%s", args, err, out)
		}
	}
	var st struct {
		Variables map[string]string `json:"variables"`
	}
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal([]byte(cli(t, env, "-o", "json", "stage", "list", api.ID)), &list); err != nil || len(list.Items) != 1 {
		t.Fatalf("stage list: %+v %v", list, err)
	}
	_ = json.Unmarshal(list.Items[0], &st)
	if want := map[string]string{"a": "1", "b": "3", "c": "4"}; len(st.Variables) != len(want) || st.Variables["a"] != "1" || st.Variables["b"] != "3" || st.Variables["c"] != "4" {
		t.Fatalf("dev's variables after two deploys with --var: %v, want %v", st.Variables, want)
	}
}
