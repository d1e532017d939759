package main

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/cmd/portico/deploy"
)

// TestDeployTargetRestoresUsagePlan: the admin API target of portico deploy
// reads a usage plan before updating it and, for the undo of a failed
// deploy, puts back its name, description, throttle, quota (a limit of a
// million, which a float would send as 1e+06) and stages.
func TestDeployTargetRestoresUsagePlan(t *testing.T) {
	env := apptest.Start(t, apptest.Options{})
	ctx := context.Background()
	c := env.Client()
	var api struct {
		ID string `json:"id"`
	}
	resp, err := c.Do(ctx, http.MethodPost, "/portico/v1/apis", nil, map[string]any{"name": "planned", "protocol": "REST",
		"routes": []any{map[string]any{"method": "GET", "path": "/a", "integration": map[string]any{"type": "MOCK"}}}}, nil)
	if err == nil {
		err = json.Unmarshal(resp.Body, &api)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{"one", "two"} {
		if _, err := c.Do(ctx, http.MethodPost, "/portico/v1/apis/"+api.ID+"/deployments", nil, map[string]any{"stageName": st}, nil); err != nil {
			t.Fatal(err)
		}
	}
	target := &deploy.HTTPTarget{C: c}
	one := []deploy.APIStage{{APIID: api.ID, Stage: "one"}}
	id, err := target.CreateUsagePlan(ctx, &deploy.UsagePlan{Name: "before", Throttle: map[string]any{"burstLimit": 5, "rateLimit": 2.5},
		Quota: map[string]any{"limit": 1000000, "period": "WEEK", "offset": 2}}, one)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(ctx, http.MethodPatch, "/usageplans/"+id, nil, map[string]any{"patchOperations": []map[string]string{
		{"op": "replace", "path": "/description", "value": "kept"}}}, nil); err != nil {
		t.Fatal(err)
	}
	read := func() map[string]any {
		var p map[string]any
		adminJSON(t, env, "/usageplans/"+id, &p)
		delete(p, "updatedAt")
		delete(p, "createdAt")
		return p
	}
	want := read()
	saved, err := target.SaveUsagePlan(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := target.UpdateUsagePlan(ctx, id, &deploy.UsagePlan{Name: "after", Throttle: map[string]any{"burstLimit": 50, "rateLimit": 20}},
		[]deploy.APIStage{{APIID: api.ID, Stage: "two"}}); err != nil {
		t.Fatal(err)
	}
	if got := read(); reflect.DeepEqual(got, want) {
		t.Fatalf("the update changed nothing: %v", got)
	}
	if err := target.RestoreUsagePlan(ctx, id, saved); err != nil {
		t.Fatal(err)
	}
	if got := read(); !reflect.DeepEqual(got, want) {
		t.Errorf("usage plan after RestoreUsagePlan:\n%v\nwant\n%v", got, want)
	}
}
