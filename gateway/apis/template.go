package apis

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/portico-dev/portico/internal/errdefs"
)

// SegmentKind says what a path template segment matches.
type SegmentKind int

// Segment kinds in precedence order: a literal beats a parameter beats a greedy
// parameter.
const (
	SegLiteral SegmentKind = iota
	SegParam
	SegGreedy
)

// Segment is one "/"-separated part of a path template.
type Segment struct {
	Kind SegmentKind
	// Value is the literal text, or the parameter name without braces and "+".
	Value string
}

var (
	paramNameRe  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)
	literalSegRe = regexp.MustCompile(`^[A-Za-z0-9._~!$&'()*,;=:@%-]+$`)
)

// ParseTemplate parses a path template: "/" or "/a/{b}/c", with at most one
// greedy "{name+}" as the last segment. Parameter names are unique.
func ParseTemplate(path string) ([]Segment, error) {
	bad := func(why string) ([]Segment, error) {
		return nil, fmt.Errorf("path %q %s: %w", truncate(path, 200), why, errdefs.ErrInvalid)
	}
	if path == "" || path[0] != '/' {
		return bad("must start with /")
	}
	if len(path) > 2048 {
		return bad("is longer than 2048 characters")
	}
	if path == "/" {
		return nil, nil
	}
	parts := strings.Split(path[1:], "/")
	segs := make([]Segment, 0, len(parts))
	seen := map[string]bool{}
	for i, p := range parts {
		switch {
		case p == "":
			return bad("has an empty segment")
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
			name := p[1 : len(p)-1]
			kind := SegParam
			if strings.HasSuffix(name, "+") {
				kind = SegGreedy
				name = strings.TrimSuffix(name, "+")
				if i != len(parts)-1 {
					return bad("has a greedy parameter {" + name + "+} that is not the last segment")
				}
			}
			if !paramNameRe.MatchString(name) {
				return bad("has an invalid parameter name {" + name + "}")
			}
			if seen[name] {
				return bad("declares parameter {" + name + "} twice")
			}
			seen[name] = true
			segs = append(segs, Segment{Kind: kind, Value: name})
		case strings.ContainsAny(p, "{}"):
			return bad("has a segment mixing text and a parameter (" + p + "); a parameter must be a whole segment")
		case !literalSegRe.MatchString(p):
			return bad(fmt.Sprintf("has invalid characters in segment %s (%q; a route path segment holds only letters A-Z and a-z, digits and %s, or is a {parameter})",
				truncate(p, 50), firstInvalid(p), literalSegChars))
		default:
			segs = append(segs, Segment{Kind: SegLiteral, Value: p})
		}
	}
	return segs, nil
}

// CheckNewPath refuses, in the path of a route being created or changed, the
// literal segments API Gateway refuses that ParseTemplate (what the router
// reads, stored paths included, so that a route an older build stored keeps
// being served) accepts: a "." or ".." segment (clients resolve it before they
// send the request, so the route could never match) and any "%" (a path is
// matched as the decoded text: "%2e" is not ".", and "%zz" is no escape).
func CheckNewPath(path string) error {
	if path == "" || path == RouteDefault {
		return nil
	}
	for p := range strings.SplitSeq(strings.TrimPrefix(path, "/"), "/") {
		switch {
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
		case p == "." || p == "..":
			return fmt.Errorf("path %q has a %q segment: clients remove dot segments before they send a request, so it would never match; write the path without it: %w",
				truncate(path, 200), p, errdefs.ErrInvalid)
		case strings.Contains(p, "%"):
			return fmt.Errorf("path %q has a %% in segment %q: a path is matched as decoded text, %s: %w",
				truncate(path, 200), truncate(p, 50), escapeAdvice(p), errdefs.ErrInvalid)
		}
	}
	return nil
}

// escapeAdvice says what to write for a path segment with a %-escape: the
// decoded segment when a route path can hold it, else a {parameter}.
func escapeAdvice(seg string) string {
	dec, err := url.PathUnescape(seg)
	switch {
	case err != nil:
		return fmt.Sprintf("and %q is not a valid %%-escape: take the segment as a {parameter}", truncate(seg, 50))
	case strings.IndexFunc(dec, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return fmt.Sprintf("and %q decodes to %q, and a path cannot hold a space or control character: take the segment as a {parameter}",
			truncate(seg, 50), truncate(dec, 50))
	case dec == "." || dec == "..":
		return fmt.Sprintf("and %q decodes to the dot segment %q, which clients remove before they send a request: write the path without it, or take the segment as a {parameter}",
			truncate(seg, 50), dec)
	case strings.ContainsAny(dec, "/?#%"):
		c := dec[strings.IndexAny(dec, "/?#%")]
		return fmt.Sprintf("and %q decodes to %q, and a path segment cannot hold %q: take the segment as a {parameter}", truncate(seg, 50), truncate(dec, 50), c)
	case !literalSegRe.MatchString(dec):
		// The decoded text would be refused in its turn (ParseTemplate).
		return fmt.Sprintf("and %q decodes to %q, and a route path segment cannot hold %q (only letters A-Z and a-z, digits and %s): take the segment as a {parameter}",
			truncate(seg, 50), truncate(dec, 50), firstInvalid(dec), literalSegChars)
	default:
		return fmt.Sprintf("so write %q, not its %%-escape, or take the segment as a {parameter}", truncate(dec, 50))
	}
}

// firstInvalid is the first character of seg that a literal segment cannot hold.
func firstInvalid(seg string) rune {
	for _, r := range seg {
		if !literalSegRe.MatchString(string(r)) {
			return r
		}
	}
	return utf8.RuneError
}

// literalSegChars lists what literalSegRe takes besides letters and digits
// (its "%" is refused in new paths by CheckNewPath).
const literalSegChars = "._~!$&'()*,;=:@-"

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
