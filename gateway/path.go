package gateway

import (
	"fmt"
	"net/url"
	"strings"
)

// mergeSlashes merges each run of slashes in an escaped path into one, as
// nginx's merge_slashes (on by default) does: "//secret", "/secret//" and
// "/a//b" are "/secret", "/secret/" and "/a/b". API Gateway documents no
// meaning for an empty path segment, and a backend that collapses slashes
// serves /secret for "//secret": were the gateway to route the empty segment
// (to {proxy+} or $default) and name it in the execute-api ARN, a Deny on
// .../GET/secret would not hold for it. A path without "//" is returned as it
// is, at no cost. Encoded slashes (%2F) are not separators and are kept.
func mergeSlashes(p string) string {
	i := strings.Index(p, "//")
	if i < 0 {
		return p
	}
	b := make([]byte, 0, len(p)-1)
	b = append(b, p[:i+1]...)
	for j := i + 1; j < len(p); j++ {
		if p[j] == '/' && p[j-1] == '/' {
			continue
		}
		b = append(b, p[j])
	}
	return string(b)
}

// normalizePath resolves the dot segments of a stage-relative escaped path ("."
// and "..", raw or percent-encoded as %2e), as a URL normaliser does, so that
// routing and the integration see the path the client meant. A path that climbs
// above the stage root is refused, and so is a segment that hides a dot segment
// behind an encoded separator (..%2F, ..%5C) or a backslash, which a backend
// could resolve after the gateway has routed: neither can be made safe by
// rewriting. A path that hides a slash behind a percent-encoding is refused
// too (hidesSlash), and so is one with a raw ";" (see below). Other escapes are
// kept as they came; a path with none of `.%\;` is returned at no cost.
//
// A raw ";" starts what Tomcat, Jetty and Spring take for a segment's path
// parameters and strip before they route: they serve /secret for "/secret;a"
// and for "/x/..;/secret" (the "..;" proxy bypass), where the router, the
// execute-api ARN and the integration's backend path saw another path. API
// Gateway documents no meaning for it; like Spring Security's
// StrictHttpFirewall, the gateway refuses it (400) rather than guess how the
// backend reads it. An encoded ";" (%3B) is data to those backends (they strip
// parameters before they decode) and reaches them as sent, so it is kept.
func normalizePath(p string) (string, error) {
	if !strings.ContainsAny(p, ".%\\;") {
		return p, nil
	}
	if strings.IndexByte(p, ';') >= 0 {
		return "", fmt.Errorf("path %q has a \";\" (path parameters): %w", p, errBadRequest)
	}
	if hidesSlash(p) {
		return "", fmt.Errorf("path %q has an encoded slash: %w", p, errBadRequest)
	}
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	trailing := false
	for i, s := range segs {
		if i == 0 && s == "" {
			continue // the leading slash
		}
		last := i == len(segs)-1
		switch dotSegment(s) {
		case 1:
			trailing = last
			continue
		case 2:
			if len(out) == 0 {
				return "", fmt.Errorf("path %q climbs above the stage root: %w", p, errBadRequest)
			}
			out = out[:len(out)-1]
			trailing = last
			continue
		}
		if hidesDotSegment(s) {
			return "", fmt.Errorf("path %q has a dot segment behind an encoded separator: %w", p, errBadRequest)
		}
		out = append(out, s)
		trailing = false
	}
	n := "/" + strings.Join(out, "/")
	if trailing && len(out) > 0 {
		n += "/"
	}
	return n, nil
}

// dotSegment returns 1 for ".", 2 for ".." (either spelled with %2e), else 0.
func dotSegment(s string) int {
	if len(s) == 0 || len(s) > 6 {
		return 0
	}
	dots := 0
	for i := 0; i < len(s); {
		switch {
		case s[i] == '.':
			i++
		case i+2 < len(s) && s[i] == '%' && s[i+1] == '2' && (s[i+2] == 'e' || s[i+2] == 'E'):
			i += 3
		default:
			return 0
		}
		dots++
	}
	if dots > 2 {
		return 0
	}
	return dots
}

// hidesDotSegment reports whether segment s, once decoded, contains a "." or ".."
// between separators ("/" or "\").
func hidesDotSegment(s string) bool {
	if !strings.Contains(s, "%") && !strings.Contains(s, "\\") {
		return false
	}
	d, err := url.PathUnescape(s)
	if err != nil {
		d = s
	}
	if !strings.ContainsAny(d, "/\\") {
		return false
	}
	for _, part := range strings.FieldsFunc(d, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == "." || part == ".." {
			return true
		}
	}
	return false
}

// hidesSlash reports whether escaped path p has a segment that decodes to a
// "/" (%2F, %2f) or to an encoded one (%252F, %25%32%46). API Gateway documents
// no meaning for them; a backend that decodes them (once or twice) and merges
// slashes serves "/secret" for "/%2Fsecret", "/a%2F..%2Fsecret" or
// "/%252Fsecret", where the router, the execute-api ARN that policies and
// authorizers are checked against, and the route's own authorization saw one
// segment. Like Tomcat (encodedSolidusHandling="reject"), Spring Security's
// StrictHttpFirewall and Envoy's REJECT_REQUEST, the gateway refuses them
// (400) rather than guess how the backend reads them. A path with no "%2" is
// answered at no cost.
func hidesSlash(p string) bool {
	if !strings.Contains(p, "%2") {
		return false
	}
	for seg := range strings.SplitSeq(p, "/") {
		if !strings.Contains(seg, "%2") {
			continue
		}
		d, err := url.PathUnescape(seg)
		if err != nil {
			continue // a bad escape is refused where the request target is read
		}
		if strings.Contains(d, "/") || strings.Contains(d, "%2F") || strings.Contains(d, "%2f") {
			return true
		}
	}
	return false
}
