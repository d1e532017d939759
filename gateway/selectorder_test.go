package gateway

import (
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
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
