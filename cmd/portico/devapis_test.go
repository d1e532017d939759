package main

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
	"github.com/portico-dev/portico/internal/testkit"
)

// TestDevLeavesTheUsersAPIsAlone: API names are not unique, and a user with
// `make run` up may make an API called hello, chat or chat-page by hand (as
// docs/apigatewayv2.md's quick create does). `portico dev`, run twice as a
// restart of `make run` would, makes its own APIs for the samples beside
// them, finds them again by its tag on the second run, and changes nothing
// of the user's: their routes, stages and answers stay as they were.
func TestDevLeavesTheUsersAPIsAlone(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a guard against hanging, not a timing assertion
	defer cancel()
	c := env.Client()
	post := func(path string, body any) []byte {
		t.Helper()
		resp, err := c.Do(ctx, http.MethodPost, path, nil, body, nil)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		return resp.Body
	}
	get := func(path string) []byte {
		t.Helper()
		resp, err := c.Do(ctx, http.MethodGet, path, nil, nil, nil)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp.Body
	}
	// The user's: an HTTP API by quick create (a $default route and stage),
	// a WebSocket API (portico ws create chat) and a REST API.
	var created struct {
		APIID string `json:"apiId"`
	}
	if err := json.Unmarshal(post("/v2/apis", map[string]any{"name": "hello", "protocolType": "HTTP",
		"target": "arn:aws:lambda:us-east-1:000000000000:function:hello"}), &created); err != nil {
		t.Fatal(err)
	}
	users := map[string]string{"hello": created.APIID}
	for name, def := range map[string]map[string]any{
		"chat":      {"name": "chat", "protocol": "WEBSOCKET", "routeSelectionExpression": "$request.body.action"},
		"chat-page": {"name": "chat-page", "protocol": "REST"},
	} {
		var a struct{ ID string }
		if err := json.Unmarshal(post(apisPath, def), &a); err != nil {
			t.Fatal(err)
		}
		users[name] = a.ID
	}
	snapshot := func() map[string]string {
		t.Helper()
		out := map[string]string{}
		for name, id := range users {
			out[name] = string(get(apisPath+"/"+id)) + "\n" + string(get(apisPath+"/"+id+"/stages"))
		}
		return out
	}
	before := snapshot()

	// The samples' commands: any program serves, none is called (a shell
	// script costs nothing to zip, as the hello sample's binary would).
	boot := []byte("#!/bin/sh\n")
	samples := t.TempDir()
	for _, n := range []string{"hello", "chat-connect", "chat-page", "chat-sendmessage"} {
		if err := os.MkdirAll(filepath.Join(samples, n), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(samples, n, "bootstrap"), boot, 0o755); err != nil { //nolint:gosec // an executable
			t.Fatal(err)
		}
	}
	out := &testkit.LockedBuffer{}
	e := &devEnv{client: c, samples: samples, source: filepath.Join("..", "..", "samples"),
		adminURL: env.AdminURL, gatewayURL: env.GatewayURL, out: out}
	for run := 1; run <= 2; run++ {
		for _, st := range devSteps {
			if err := st.run(ctx, e); err != nil {
				t.Fatalf("run %d: %s: %v\n%s", run, st.name, err, out)
			}
		}
	}
	if after := snapshot(); !maps.Equal(before, after) {
		for name := range before {
			if before[name] != after[name] {
				t.Errorf("dev changed the user's API %s (%s):\nbefore %s\nafter  %s", name, users[name], before[name], after[name])
			}
		}
	}
	var list struct {
		Items []struct{ ID, Name string } `json:"items"`
	}
	if err := json.Unmarshal(get(apisPath), &list); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, a := range list.Items {
		count[a.Name]++
		if a.ID == users[a.Name] {
			continue
		}
		var full struct {
			Tags map[string]string `json:"tags"`
		}
		if err := json.Unmarshal(get(apisPath+"/"+a.ID), &full); err != nil {
			t.Fatal(err)
		}
		if full.Tags[sampleTag] != a.Name {
			t.Errorf("dev's API %s (%s) has tags %v, want %s=%s", a.Name, a.ID, full.Tags, sampleTag, a.Name)
		}
	}
	for name := range users {
		if count[name] != 2 {
			t.Errorf("%d APIs named %s after two runs, want the user's and dev's", count[name], name)
		}
	}
	for _, line := range strings.Split(out.String(), "\n") {
		for name, id := range users {
			if strings.HasPrefix(line, "deployed") && strings.Contains(line, id) {
				t.Errorf("dev says it deployed the user's API %s (%s): %s", name, id, line)
			}
		}
	}
	for name, id := range users {
		if want := "api " + name + " " + id + ": not portico dev's"; strings.Count(out.String(), want) != 1 {
			t.Errorf("dev does not say once that it left the user's API alone (%q):\n%s", want, out)
		}
	}
	// The user's quick-created API still answers through its $default
	// route, not with the sample's routes.
	resp, err := http.Get(env.GatewayURL + "/" + users["hello"] + "/anything")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode == http.StatusInternalServerError {
		t.Errorf("GET the user's hello API: %d", resp.StatusCode)
	}
}
