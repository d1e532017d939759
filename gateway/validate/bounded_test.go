package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/portico-dev/portico/gateway/apis"
)

// TestValidationStringBounded: a body of many failing values gets a bounded
// list, the first failures by location and then "... and N more", and
// building it costs allocations for the few it lists, not for every failure
// (r-vtlval29 finding 2: 150,000 failures in 2 MB made a 6 MB string, with
// seconds of CPU and hundreds of MB). A few failures are all listed, sorted.
func TestValidationStringBounded(t *testing.T) {
	v, err := apis.NewModelValidator("a", map[string]json.RawMessage{
		"Node": json.RawMessage(`{"type":"object","properties":{"v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#/definitions/Node"}}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	failing := func(n int) error {
		t.Helper()
		doc := `{"kids":[` + strings.TrimSuffix(strings.Repeat(`{"v":"bad"},`, n), ",") + `]}`
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(doc)))
		if err != nil {
			t.Fatal(err)
		}
		err = v.Validate(context.Background(), "Node", inst)
		if err == nil {
			t.Fatal("validated")
		}
		return err
	}

	if got, want := validationString(failing(3)), "[/kids/0/v: got string, want integer, /kids/1/v: got string, want integer, /kids/2/v: got string, want integer]"; got != want {
		t.Errorf("3 failures: %s, want %s", got, want)
	}

	const n = 20000
	err = failing(n)
	s := validationString(err)
	if len(s) > maxListedBytes+100 {
		t.Errorf("%d failures: %d bytes listed, want about %d at most", n, len(s), maxListedBytes)
	}
	listed := strings.Count(s, ": got string, want integer")
	if listed == 0 || listed > maxListedFailures || !strings.HasSuffix(s, fmt.Sprintf(", ... and %d more]", n-listed)) {
		t.Errorf("%d failures, %d listed: ends %q", n, listed, s[max(0, len(s)-80):])
	}
	if !strings.HasPrefix(s, "[/kids/0/v: got string, want integer, /kids/1/v: got string, want integer, /kids/10/v: ") {
		t.Errorf("not the first by location: %.120s", s)
	}

	// Cost: every failure is counted and placed, only those listed are
	// rendered (before: each one's BasicOutput, sorted and joined).
	allocs := testing.AllocsPerRun(2, func() { validationString(err) })
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	validationString(err)
	runtime.ReadMemStats(&after)
	bytesUsed := after.TotalAlloc - before.TotalAlloc
	if allocs > 2000 || bytesUsed > 2<<20 {
		t.Errorf("%d failures: %.0f allocations, %d bytes; want at most 2000 and 2 MiB", n, allocs, bytesUsed)
	}
	t.Logf("%d failures: %.0f allocations, %d bytes", n, allocs, bytesUsed)
}
