package deploy

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// recordNames lists the physical ids the stack's record names.
func recordNames(f *fakeTarget, stack string) []string {
	var out []string
	for _, r := range f.stacks[stack].Resources {
		out = append(out, r.PhysicalID)
	}
	slices.Sort(out)
	return out
}

// TestRenamedFunctionIsRecordedAtCreation: a function a FunctionName change
// creates under its new name is in the stack's record from its creation on,
// beside the function it replaces, so that a run that ends right after (the
// server gone: nothing is undone) leaves both to the stack: the next deploy
// deletes the replaced one and keeps the new one, and stack delete deletes
// both.
func TestRenamedFunctionIsRecordedAtCreation(t *testing.T) {
	renamed := strings.Replace(twoFunctions, "      CodeUri: hello\n", "      CodeUri: hello\n      FunctionName: renamed\n", 1)
	start := func(t *testing.T) (*fakeTarget, string) {
		t.Helper()
		dir := fixture(t)
		f := newFake()
		if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil {
			t.Fatal(err)
		}
		f.downAt = "PublishVersion" // the call after the new function's creation
		if _, err := deployText(t, f, dir, "s", renamed, nil); err == nil {
			t.Fatal("the deploy succeeded with the server gone")
		}
		f.downAt, f.down = "", false
		if _, ok := f.fns["renamed"]; !ok {
			t.Fatal("the renamed function was not created")
		}
		if got := recordNames(f, "s"); !slices.Contains(got, "renamed") || !slices.Contains(got, "s-Hello") {
			t.Fatalf("the record names %v, want both renamed (created) and s-Hello (not yet replaced)", got)
		}
		return f, dir
	}
	t.Run("next deploy", func(t *testing.T) {
		f, dir := start(t)
		if _, err := deployText(t, f, dir, "s", renamed, nil); err != nil {
			t.Fatal(err)
		}
		if _, ok := f.fns["s-Hello"]; ok {
			t.Error("the replaced function s-Hello is still there")
		}
		if _, ok := f.fns["renamed"]; !ok {
			t.Error("the function renamed is gone")
		}
		if r := f.stacks["s"].Resources["Hello"]; r == nil || r.PhysicalID != "renamed" || r.Version == "" {
			t.Errorf("record of Hello %+v, want renamed with its version", r)
		}
		if got := recordNames(f, "s"); slices.Contains(got, "s-Hello") {
			t.Errorf("the record still names s-Hello: %v", got)
		}
	})
	t.Run("stack delete", func(t *testing.T) {
		f, _ := start(t)
		p, err := DeletePlan(context.Background(), f, "s")
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		if err := Apply(context.Background(), f, p, &out); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"s-Hello", "renamed", "s-Other"} {
			if _, ok := f.fns[name]; ok {
				t.Errorf("function %s is still there after stack delete", name)
			}
		}
	})
}
