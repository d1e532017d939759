// Package suggest finds, for a name that is not known, the known name it most
// likely meant: the "did you mean ...?" of error messages.
package suggest

import "strings"

// Closest returns the one of names closest to k (fewer than 3 edits away,
// letter case aside; the first of equally close ones), or "" when none is.
func Closest(k string, names []string) string {
	best, dist := "", 3
	for _, n := range names {
		if d := Distance(strings.ToLower(k), strings.ToLower(n)); d < dist {
			best, dist = n, d
		}
	}
	return best
}

// Distance is the Levenshtein distance of a and b: how many single-byte
// insertions, deletions and substitutions make one the other.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
