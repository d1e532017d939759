package functions

import (
	"strings"
	"testing"
)

// TestCheckAliasNameNoteOnlyForLeadingDigit: the note that Portico refuses
// a leading digit was added to every pattern violation, also where the
// reason is AWS's own ($LATEST's $, an all-digit name): it is added only
// when the leading digit is the whole reason.
func TestCheckAliasNameNoteOnlyForLeadingDigit(t *testing.T) {
	const note = "in Portico an alias name also may not start with a digit"
	for name, want := range map[string]bool{"$LATEST": false, "1": false, "123": false, "a$b": false, "1live": true, "9-x_y": true} {
		err := CheckAliasName(name)
		if err == nil {
			t.Fatalf("CheckAliasName(%q) = nil, want an error", name)
		}
		if got := strings.Contains(err.Error(), note); got != want {
			t.Errorf("CheckAliasName(%q) = %v; note %v, want %v", name, err, got, want)
		}
		if !strings.Contains(err.Error(), "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)") {
			t.Errorf("CheckAliasName(%q) = %v, want Lambda's pattern", name, err)
		}
	}
}
