package gateway

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/internal/javaregex"
	"github.com/portico-dev/portico/gateway/pipeline"
)

// TestSelectionPatternOrder pins what docs/apis-and-stages.md says: of
// several selectionPatterns that match, the one whose text sorts first wins,
// every time (r-vtlval27 #7).
func TestSelectionPatternOrder(t *testing.T) {
	sel := compileResponses(map[string]apis.IntegrationResponse{
		"Bad.*": {StatusCode: "401"}, ".*Request": {StatusCode: "402"},
		`4\d{2}`: {StatusCode: "411"}, "404": {StatusCode: "412"}, "default": {StatusCode: "200"},
	})
	for selector, want := range map[string]string{"BadRequest": "402", "404": "412", "405": "411", "Other": "200"} {
		for range 10 {
			_, ir, ok, err := sel.selectResponse(selector, true)
			if err != nil || !ok || ir.StatusCode != want {
				t.Fatalf("%s: %s %v %v; want %s", selector, ir.StatusCode, ok, err, want)
			}
		}
	}
}

// TestSelectionBudget: the backtracking matches of one selection share one
// budget (selectionBudget), however many patterns there are; once it is used
// the selection is the API's configuration error, as one slow match is
// (r-vtlval29 #5: 100 patterns each just under 100 ms took 4.9 s). Patterns
// RE2 runs are not charged. The clock is a fake that moves on each reading.
func TestSelectionBudget(t *testing.T) {
	responses := map[string]apis.IntegrationResponse{"default": {StatusCode: "200"}, "#plain.*": {StatusCode: "400"}}
	for i := range 5 {
		responses[fmt.Sprintf(`(?=x)?(a|aa)+\1?b%d`, i)] = apis.IntegrationResponse{StatusCode: "500"}
	}
	sel := compileResponses(responses)
	var readings int
	clock := time.Unix(0, 0)
	sel.now = func() time.Time { // each match "takes" 40% of the budget
		readings++
		clock = clock.Add(selectionBudget * 4 / 10)
		return clock
	}
	_, _, _, err := sel.selectResponse("aaac", true)
	if pe, ok := pipeline.AsError(err); !ok || pe.Type != pipeline.APIConfigurationError || !errors.Is(err, javaregex.ErrTimeout) ||
		!strings.Contains(err.Error(), "budget") {
		t.Fatalf("err %v, want the API's configuration error for the budget", err)
	}
	if readings != 6 { // three matches, the fourth not started
		t.Errorf("%d clock readings, want 6 (three matches)", readings)
	}
	// A selection that a pattern RE2 runs decides first reads no clock; a
	// new selection has the whole budget again.
	readings = 0
	if key, _, ok, err := sel.selectResponse("#plain text", true); err != nil || !ok || key != "#plain.*" { // sorts first
		t.Fatalf("plain: %q %v %v", key, ok, err)
	}
	if key, _, ok, err := sel.selectResponse("ab0", true); err != nil || !ok || key != `(?=x)?(a|aa)+\1?b0` {
		t.Fatalf("ab0: %q %v %v", key, ok, err)
	}
	if readings != 2 {
		t.Errorf("%d clock readings, want 2", readings)
	}
}
