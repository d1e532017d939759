package deploy

import (
	"slices"
	"strings"
	"testing"
)

// TestKilledShiftsVersionReused: a run killed during its traffic shift left
// version 2 published, with 10% of the alias's calls. The next deploy of the
// same template updated $LATEST to what version 2 holds, so Lambda's
// PublishVersion returned version 2; the deploy pointed the alias at it and
// then deleted it as "published by a deploy that ended", which Lambda refused
// (an alias names it): rolled back, and the same again on every deploy.
func TestKilledShiftsVersionReused(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	f.tellState = true
	if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil {
		t.Fatal(err)
	}
	rec := f.stacks["s"].Resources["Hello"]
	name := rec.PhysicalID
	fn := f.fns[name]
	// The killed run of Greeting=two: its mark, version 2, 10% on it.
	cp := *rec
	cp.Publishing = "1"
	f.stacks["s"].Resources["Hello"] = &cp
	fn.published, fn.versions = 2, append(fn.versions, "2")
	fn.weights = map[string]map[string]float64{"live": {"2": 0.1}}
	f.republish = "2" // $LATEST, once updated, is version 2's

	two := map[string]string{"Greeting": "two"}
	p, out, err := deployOutput(t, f, dir, "s", twoFunctions, two)
	if err != nil {
		t.Fatalf("deploy: %v\noutput:\n%s", err, out)
	}
	if steps := allSteps(p); !strings.Contains(steps, "kept if the new version is it") {
		t.Errorf("plan steps:\n%s\nwant the leftover version's deletion to say it is kept if re-used", steps)
	}
	if !strings.Contains(out, "re-using version 2 of "+name) || strings.Contains(out, "deleting version 2") {
		t.Errorf("output:\n%s\nwant version 2 re-used, not deleted", out)
	}
	f.republish = ""
	if got := f.stacks["s"].Resources["Hello"]; got.Version != "2" || got.Publishing != "" || fn.aliases["live"] != "2" || len(fn.weights["live"]) > 0 || !slices.Contains(fn.versions, "2") {
		t.Fatalf("after the deploy: record version %q mark %q, alias %s weights %v, versions %v; want version 2 recorded and serving all",
			got.Version, got.Publishing, fn.aliases["live"], fn.weights["live"], fn.versions)
	}
	if p, err := deployText(t, f, dir, "s", twoFunctions, two); err != nil || !p.Empty() {
		t.Fatalf("a deploy after that: plan %v, err %v; want up to date", p, err)
	}
}
