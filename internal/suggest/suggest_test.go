package suggest

import "testing"

func TestClosest(t *testing.T) {
	t.Parallel()
	names := []string{"listen", "tls-listen", "admin-listen", "max-sandboxes", "MemorySize"}
	for k, want := range map[string]string{
		"listn":        "listen",
		"max-sandboxs": "max-sandboxes",
		"memorysize":   "MemorySize", // letter case aside
		"runtime":      "",           // nothing close
		"":             "",
	} {
		if got := Closest(k, names); got != want {
			t.Errorf("Closest(%q) = %q, want %q", k, got, want)
		}
	}
	if d := Distance("kitten", "sitting"); d != 3 {
		t.Errorf("Distance(kitten, sitting) = %d, want 3", d)
	}
}
