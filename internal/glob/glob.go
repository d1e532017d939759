// Package glob matches the wildcard patterns of IAM policies: * matches any run
// of characters ("/" and ":" included) and ? any one character. IAM's StringLike
// and ArnLike, API Gateway's resource policies and Lambda's permissions use it.
package glob

// Match reports whether s matches pattern. It runs in O(len(pattern)*len(s)) at
// worst, without recursion.
func Match(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
