package deploy

import (
	"reflect"
	"strings"
	"testing"
)

// noAlias is twoFunctions with Hello served as $LATEST (no AutoPublishAlias).
var noAlias = strings.Replace(twoFunctions, "      CodeUri: hello\n      AutoPublishAlias: live\n", "      CodeUri: hello\n", 1)

// TestFailedDeployDeletesTheAliasAndVersionItMade: a deploy that gave an
// existing function an alias and a version, then failed, left both behind
// (the rollback only put $LATEST back): the record did not name them, so
// the next deploy said "up to date" and they stayed for good. CloudFormation's
// rollback deletes the AWS::Lambda::Alias it created.
func TestFailedDeployDeletesTheAliasAndVersionItMade(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", noAlias, nil); err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(noAlias, "      CodeUri: hello\n", "      CodeUri: hello\n      AutoPublishAlias: prod\n      ReservedConcurrentExecutions: 5\n", 1)
	f.failAt = "SetReserved"
	if _, err := deployText(t, f, dir, "s", bad, map[string]string{"Greeting": "hi"}); err == nil || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("err = %v, want the injected failure, rolled back", err)
	}
	h := f.fns["s-Hello"]
	if _, ok := h.aliases["prod"]; ok {
		t.Errorf("alias prod, made by the failed deploy, is still there (-> %s)", h.aliases["prod"])
	}
	if len(h.versions) != 0 {
		t.Errorf("versions %v, published by the failed deploy, are still there", h.versions)
	}
	// The next deploy of the template that failed starts afresh: version 2
	// (Lambda does not give a deleted version's number again).
	if _, err := deployText(t, f, dir, "s", bad, map[string]string{"Greeting": "hi"}); err != nil {
		t.Fatal(err)
	}
	if got := h.aliases["prod"]; got != "2" || !reflect.DeepEqual(h.versions, []string{"2"}) {
		t.Fatalf("alias prod -> %q, versions %v; want 2, [2]", got, h.versions)
	}
}

// TestFailedDeployDeletesTheVersionItPublished: an alias the stack had
// points back at its version, and the version the failed run published for
// it goes; a version the publish only returned (Lambda's publish of a
// $LATEST equal to the highest version publishes none) stays.
func TestFailedDeployDeletesTheVersionItPublished(t *testing.T) {
	changed := strings.Replace(twoFunctions, "      AutoPublishAlias: live\n", "      AutoPublishAlias: live\n      ReservedConcurrentExecutions: 5\n", 1)
	for _, republish := range []bool{false, true} {
		name := "published"
		if republish {
			name = "returned"
		}
		t.Run(name, func(t *testing.T) {
			dir := fixture(t)
			f := newFake()
			if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil {
				t.Fatal(err)
			}
			h := f.fns["s-Hello"]
			h.versions = append(h.versions, "2") // published by hand since
			h.published = 2
			if republish {
				f.republish = "2"
			}
			f.failAt = "SetReserved"
			_, out, err := deployOutput(t, f, dir, "s", changed, map[string]string{"Greeting": "hi"})
			if err == nil || !strings.Contains(err.Error(), "rolled back") {
				t.Fatalf("err = %v, want the injected failure, rolled back", err)
			}
			if got := h.aliases["live"]; got != "1" {
				t.Errorf("alias live -> %s after the failure, want 1", got)
			}
			want := []string{"1", "2"}
			if !republish && !strings.Contains(out, "rolling back: delete version 3 of function s-Hello") {
				t.Errorf("no rollback of version 3:\n%s", out)
			}
			if !reflect.DeepEqual(h.versions, want) {
				t.Errorf("versions %v after the failure, want %v\n%s", h.versions, want, out)
			}
		})
	}
}

// TestReservedConcurrencyCheckedFirst: reserved concurrency the account
// cannot hold (it must keep a tenth of its concurrency unreserved, as Lambda
// keeps 100 of 1,000) is refused before anything changes, instead of failing
// in Switching after the functions were updated.
func TestReservedConcurrencyCheckedFirst(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil {
		t.Fatal(err)
	}
	reserve := func(hello, other string) string {
		text := strings.Replace(twoFunctions, "      CodeUri: hello\n", "      CodeUri: hello\n      ReservedConcurrentExecutions: "+hello+"\n", 1)
		return strings.Replace(text, "      CodeUri: other\n", "      CodeUri: other\n      ReservedConcurrentExecutions: "+other+"\n", 1)
	}
	f.calls = nil
	_, err := deployText(t, f, dir, "s", reserve("500", "401"), nil)
	want := "reserved concurrency: the template reserves 901 more (s-Hello 500, s-Other 401), which would leave the account's unreserved concurrency at 99, below its minimum of 100 (of 1000)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if len(f.calls) != 0 {
		t.Fatalf("calls %v: the deploy changed something before refusing", f.calls)
	}
	if _, err := deployText(t, f, dir, "s", reserve("500", "400"), nil); err != nil {
		t.Fatalf("900 of 1000 reserved: %v", err)
	}
	// What the stack reserves already counts for it: lowering one and
	// raising the other by as much is no more.
	if _, err := deployText(t, f, dir, "s", reserve("450", "450"), nil); err != nil {
		t.Fatalf("moving 50 between the stack's functions: %v", err)
	}
}

// TestFailedDeployDeletesTheStageItMade: a redeploy that renamed an existing
// API's StageName deployed the new stage, then failed (here its usage plan);
// the rollback put the definition back but left the new stage serving, and
// the record did not name it, so no later deploy removed it. CloudFormation's
// rollback deletes the AWS::ApiGateway::Stage it created; the old stage
// serves as before.
func TestFailedDeployDeletesTheStageItMade(t *testing.T) {
	dir := fixture(t)
	f := newFake()
	if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil {
		t.Fatal(err)
	}
	id := f.stacks["s"].Resources["Api"].PhysicalID
	before := f.apis[id].stages["prod"]
	renamed := strings.Replace(twoFunctions, "      StageName: prod\n", "      StageName: two\n      Auth:\n        UsagePlan:\n          CreateUsagePlan: PER_API\n", 1)
	f.failAt = "CreateUsagePlan"
	if _, err := deployText(t, f, dir, "s", renamed, nil); err == nil || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("err = %v, want the injected failure, rolled back", err)
	}
	if dep, ok := f.apis[id].stages["two"]; ok {
		t.Errorf("stage two (-> %s), made by the failed deploy, is still there", dep)
	}
	if got := f.apis[id].stages["prod"]; got != before {
		t.Errorf("stage prod -> %q after the rollback, want %q as before", got, before)
	}
	if _, err := deployText(t, f, dir, "s", renamed, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.apis[id].stages["two"]; !ok {
		t.Error("the next deploy did not make stage two")
	}
}

// TestRollbackLeavesLatestChangedSince: a failed deploy's rollback put back
// $LATEST of a function it had updated whatever happened to it since, so
// that a change made by hand (or by another run) in between was undone. It
// puts it back only while $LATEST is at the RevisionId the deploy's update
// left; otherwise it leaves it and says so.
func TestRollbackLeavesLatestChangedSince(t *testing.T) {
	changed := strings.Replace(twoFunctions, "      AutoPublishAlias: live\n", "      AutoPublishAlias: live\n      ReservedConcurrentExecutions: 5\n", 1)
	for _, byHand := range []bool{false, true} {
		t.Run(map[bool]string{false: "unchanged", true: "changed by hand"}[byHand], func(t *testing.T) {
			dir := fixture(t)
			f := newFake()
			if _, err := deployText(t, f, dir, "s", twoFunctions, nil); err != nil {
				t.Fatal(err)
			}
			h := f.fns["s-Hello"]
			before := *h.latest
			var mine Function
			f.onCall = func(name string) {
				if name == "SetReserved" && byHand {
					// Someone updates the function while the deploy runs.
					h.revisions++
					mine = *h.latest
					mine.Description = "by hand"
					h.latest = &mine
				}
			}
			f.failAt = "SetReserved"
			_, out, err := deployOutput(t, f, dir, "s", changed, map[string]string{"Greeting": "hi"})
			if err == nil || !strings.Contains(err.Error(), "injected failure") {
				t.Fatalf("err = %v, want the injected failure", err)
			}
			if !byHand {
				if !reflect.DeepEqual(*h.latest, before) || strings.Contains(out, "left as it is") {
					t.Errorf("$LATEST %+v after the rollback, want %+v put back\n%s", *h.latest, before, out)
				}
				return
			}
			if h.latest.Description != "by hand" {
				t.Errorf("$LATEST %+v: the change made by hand was undone", *h.latest)
			}
			if !strings.Contains(out, "left as it is: $LATEST of function s-Hello was changed since this deploy updated it") ||
				!strings.Contains(err.Error(), "left as it is, not rolled back: $LATEST of function s-Hello was changed since this deploy updated it") {
				t.Errorf("err = %v; output does not say $LATEST was left:\n%s", err, out)
			}
		})
	}
}
