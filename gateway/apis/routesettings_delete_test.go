package apis

import (
	"context"
	"slices"
	"testing"
)

// TestDeletedRouteLosesStageRouteSettings: deleting an HTTP API route
// removes its stage routeSettings entry, so that a route created later with
// the same key does not inherit its throttle; the other routes' entries stay,
// and a rename still moves its route's entry to the new key.
func TestDeletedRouteLosesStageRouteSettings(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t)
	ctx := context.Background()
	in := func() *Integration {
		return &Integration{Type: IntegrationAWSProxy, URI: "function:echo", HTTPMethod: "POST", PayloadFormatVersion: "2.0"}
	}
	a := mustCreate(t, s, &API{Name: "h", Protocol: ProtocolHTTP, Definition: Definition{Routes: []Route{
		{Method: "GET", Path: "/a", Integration: in()},
		{Method: "GET", Path: "/b", Integration: in()},
		{Method: "GET", Path: "/c", Integration: in()},
	}}})
	if _, err := s.CreateStage(ctx, a.ID, StageInput{Name: "dev"}); err != nil {
		t.Fatal(err)
	}
	zero := MethodSetting{ThrottlingBurstLimit: ptr(0), ThrottlingRateLimit: ptr(0.0)}
	if _, err := s.SetMethodSettings(ctx, a.ID, "dev", map[string]MethodSetting{"GET /a": zero, "GET /b": zero, "GET /c": zero}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRoute(ctx, a.ID, RouteID("GET /a")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Modify(ctx, a.ID, func(a *API) error {
		r := a.RouteByKey("GET /c")
		r.Path, r.RouteKey = "/d", "GET /d" // a rename keeps the id
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	st, err := s.GetStage(ctx, a.ID, "dev")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range st.MethodSettings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"GET /b", "GET /d"}) {
		t.Fatalf("stage route settings after deleting GET /a and renaming GET /c: %q, want [GET /b GET /d]", keys)
	}
	if _, err := s.AddRoute(ctx, a.ID, Route{Method: "GET", Path: "/a", Integration: in()}); err != nil {
		t.Fatal(err)
	}
	st, _ = s.GetStage(ctx, a.ID, "dev")
	if _, ok := st.MethodSettings["GET /a"]; ok {
		t.Fatalf("a new route GET /a inherited the deleted route's settings: %+v", st.MethodSettings["GET /a"])
	}
}
