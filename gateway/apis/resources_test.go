package apis

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/portico-dev/portico/internal/errdefs"
)

func treePaths(a *API) map[string]string {
	out := map[string]string{}
	for _, n := range a.ResourceTree() {
		out[n.Path] = n.ID
	}
	return out
}

// TestResourceTree builds a tree resource by resource through the service,
// moves and deletes parts of it, and checks ids, clashes and persistence.
func TestResourceTree(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	a := mustCreate(t, s, &API{Name: "tree", Protocol: ProtocolREST})
	root := a.ResourceTree()[0]
	if root.Path != "/" || root.ID != ResourceID(a.ID, "/") || root.ParentID != "" {
		t.Fatalf("root = %+v", root)
	}
	add := func(parent, part string) (*ResourceNode, error) {
		var n *ResourceNode
		_, err := s.Modify(ctx, a.ID, func(a *API) error {
			var err error
			n, err = a.AddResource(parent, part)
			return err
		})
		return n, err
	}
	pets, err := add(root.ID, "pets")
	if err != nil {
		t.Fatal(err)
	}
	pet, err := add(pets.ID, "{id}")
	if err != nil {
		t.Fatal(err)
	}
	if pet.Path != "/pets/{id}" || pet.ParentID != pets.ID || pet.ID != ResourceID(a.ID, "/pets/{id}") {
		t.Fatalf("pet = %+v", pet)
	}

	for _, tc := range []struct {
		parent, part string
		kind         error
	}{
		{pets.ID, "{name}", errdefs.ErrInvalid},      // a second variable among siblings
		{root.ID, "pets", errdefs.ErrConflict},       // exists
		{"nosuch", "x", errdefs.ErrNotFound},         // unknown parent
		{root.ID, "a/b", errdefs.ErrInvalid},         // not one segment
		{root.ID, "{p+}x", errdefs.ErrInvalid},       // mixed segment
		{pet.ID, "{rest+}", nil},                     // greedy, allowed
		{root.ID, "ok", nil},                         //
		{pets.ID, "{id}", errdefs.ErrConflict},       // same name
		{pets.ID, "toys", nil},                       // a literal beside a variable
		{root.ID, "{any+}", nil},                     // greedy at the root
		{root.ID, "{other}", errdefs.ErrInvalid},     // beside {any+}: one variable per parent
		{pets.ID, "{other+}", errdefs.ErrInvalid},    // a greedy beside {id}
		{root.ID, "{any+}", errdefs.ErrConflict},     // same name
		{"", "x", errdefs.ErrNotFound},               // no parent
		{pets.ID, "", errdefs.ErrInvalid},            // no part
		{root.ID, "white space", errdefs.ErrInvalid}, // bad characters
		{root.ID, "*", errdefs.ErrInvalid},           // outside a-zA-Z0-9._-
		{root.ID, "a:b", errdefs.ErrInvalid},         // outside a-zA-Z0-9._-
		{root.ID, "x*", errdefs.ErrInvalid},          // outside a-zA-Z0-9._-
	} {
		_, err := add(tc.parent, tc.part)
		if (tc.kind == nil) != (err == nil) || (tc.kind != nil && !errors.Is(err, tc.kind)) {
			t.Errorf("AddResource(%q, %q) = %v, want %v", tc.parent, tc.part, err, tc.kind)
		}
	}
	greedy := ResourceID(a.ID, "/pets/{id}/{rest+}")
	if _, err := add(greedy, "below"); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("child of a greedy resource: %v", err)
	}

	// A method on /pets/{id}; then /pets moves under /ok as /animals: every id
	// in the subtree stays, the route follows.
	a, err = s.Modify(ctx, a.ID, func(a *API) error {
		a.Routes = append(a.Routes, Route{Method: "GET", Path: "/pets/{id}", Integration: &Integration{Type: IntegrationMock}})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	before := treePaths(a)
	ok := before["/ok"]
	a, err = s.Modify(ctx, a.ID, func(a *API) error {
		_, err := a.MoveResource(pets.ID, ok, "animals")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	after := treePaths(a)
	if after["/ok/animals"] != pets.ID || after["/ok/animals/{id}"] != pet.ID || after["/ok/animals/{id}/{rest+}"] != greedy || after["/pets"] != "" {
		t.Fatalf("after the move: %v (before %v)", after, before)
	}
	for p, id := range after {
		if got := a.ResourceIDOf(p); got != id {
			t.Errorf("ResourceIDOf(%s) = %s, the tree says %s", p, got, id)
		}
	}
	if len(a.Routes) != 1 || a.Routes[0].Path != "/ok/animals/{id}" || a.Routes[0].RouteKey != "GET /ok/animals/{id}" {
		t.Fatalf("routes after the move: %+v", a.Routes)
	}
	// A new /pets gets an id of its own, not the moved resource's.
	np, err := add(root.ID, "pets")
	if err != nil || np.ID == pets.ID {
		t.Fatalf("new /pets = %+v, %v (moved one %s)", np, err, pets.ID)
	}
	// Moving a resource under itself is refused; so is touching the root.
	_, err = s.Modify(ctx, a.ID, func(a *API) error { _, err := a.MoveResource(pets.ID, pet.ID, ""); return err })
	if !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("move under itself: %v", err)
	}
	_, err = s.Modify(ctx, a.ID, func(a *API) error { return a.DeleteResource(root.ID) })
	if !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("delete root: %v", err)
	}

	// Persisted: the same tree from the store.
	got, err := s.Get(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := treePaths(got)
	if want["/pets"] != np.ID || want["/ok/animals"] != pets.ID {
		t.Fatalf("stored tree %v", want)
	}

	// Deleting /ok takes its subtree and its methods.
	got, err = s.Modify(ctx, a.ID, func(a *API) error { return a.DeleteResource(ok) })
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Routes) != 0 || treePaths(got)["/ok/animals"] != "" || treePaths(got)["/pets"] != np.ID {
		t.Fatalf("after delete: routes %+v tree %v", got.Routes, treePaths(got))
	}
}

// TestResourcesNormalize: a tree built with bare resources and methods is the
// same value as the routes alone would give, plus only what they lack.
func TestResourcesNormalize(t *testing.T) {
	route := Route{Method: "GET", Path: "/a/b", Integration: &Integration{Type: IntegrationMock}}
	built := &API{ID: "abcdefghij", Name: "x", Protocol: ProtocolREST, Definition: Definition{
		Routes:    []Route{route},
		Resources: []Resource{{Path: "/a"}, {Path: "/a/b"}, {Path: "/c"}, {Path: "/c/d"}, {Path: "/a", ID: ResourceID("abcdefghij", "/a")}},
	}}
	imported := &API{ID: "abcdefghij", Name: "x", Protocol: ProtocolREST, Definition: Definition{
		Routes: []Route{route}, Resources: []Resource{{Path: "/c/d"}},
	}}
	built.Normalize()
	imported.Normalize()
	if !reflect.DeepEqual(built.Definition, imported.Definition) {
		t.Errorf("built %+v\nimported %+v", built.Resources, imported.Resources)
	}
	if err := built.Validate(); err != nil {
		t.Error(err)
	}
	clash := &API{Name: "x", Protocol: ProtocolREST, Definition: Definition{
		Routes: []Route{route}, Resources: []Resource{{Path: "/a/{x}"}, {Path: "/a/{y}"}},
	}}
	clash.Normalize()
	if err := clash.Validate(); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("clashing resources validate: %v", err)
	}
	http := &API{Name: "x", Protocol: ProtocolHTTP, Definition: Definition{Resources: []Resource{{Path: "/a"}}}}
	if err := http.Validate(); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("resources on an HTTP API validate: %v", err)
	}
}

// TestResourceLegacyPathPart: a path part outside API Gateway's set, which
// an older build accepted, still loads, and its resource can still be moved
// under its own name; a new part like it is refused.
func TestResourceLegacyPathPart(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	a := mustCreate(t, s, &API{Name: "legacy", Protocol: ProtocolREST, Definition: Definition{Routes: []Route{
		{Method: "GET", Path: "/old:part", Integration: &Integration{Type: IntegrationMock}},
		{Method: "GET", Path: "/dir", Integration: &Integration{Type: IntegrationMock}},
	}}})
	paths := treePaths(a)
	old, dir := paths["/old:part"], paths["/dir"]
	if old == "" || dir == "" {
		t.Fatalf("tree %v", paths)
	}
	if _, err := s.Modify(ctx, a.ID, func(a *API) error {
		_, err := a.MoveResource(old, dir, "")
		return err
	}); err != nil {
		t.Fatalf("moving a stored part: %v", err)
	}
	if _, err := s.Modify(ctx, a.ID, func(a *API) error {
		_, err := a.AddResource(dir, "new:part")
		return err
	}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("a new part with ':' = %v, want invalid", err)
	}
}
