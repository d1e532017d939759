// Package redact keeps request secrets out of logs and traces: the values of
// presigned-URL query parameters (X-Amz-Signature, X-Amz-Credential,
// X-Amz-Security-Token), of the Signature and Credential parts of a SigV4
// Authorization header, of API keys sent as parameters (x-api-key,
// api_key) and of OAuth 2.0 tokens and secrets (access_token, client_secret,
// id_token, refresh_token), passwords and Authorization values sent as
// parameters (names matched
// without regard to case, '-' and '_', and through JSON string escapes and
// percent-encoding) are replaced
// by "REDACTED" wherever they appear in a string: a URL, an error message
// that quotes one, a header. String is for the places that
// write text out (span statuses, messages); Logger wraps a slog.Logger so that
// nothing its handlers write carries them.
package redact

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// Mask is what a secret value is replaced with.
const Mask = "REDACTED"

// Masks other than Mask that mark a value as already masked, which String
// leaves as it is: URLMask, as URL and Query write, and HeaderMask, as the
// execution log writes (StringWith, Values).
const (
	URLMask    = "xxxxx"
	HeaderMask = "********"
)

// masked reports whether v is a mask already.
func masked(v string) bool { return v == Mask || v == URLMask || v == HeaderMask }

// names are the parameter names whose values are secrets, folded (fold):
// lower case, without '-' and '_', so that x-api-key, api_key, apiKey and
// API-KEY are one name, as are client_secret and clientSecret.
var names = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range []string{
		"x-amz-signature", "x-amz-credential", "x-amz-security-token",
		"signature", "credential",
		"x-api-key", "api_key", "apikey", "api-key",
		// OAuth 2.0's and OpenID Connect's (RFC 6750's bearer token in a query,
		// RFC 6749's client secret and grants), and a password sent as a parameter.
		"access_token", "client_secret", "id_token", "refresh_token", "password",
		// The header's name, as a body that echoes a request's headers
		// writes it ({"Authorization":"Bearer ..."}).
		"authorization",
	} {
		m[fold(n)] = true
	}
	return m
}()

// fold returns n in lower case without '-' and '_'.
func fold(n string) string {
	var b strings.Builder
	b.Grow(len(n))
	for i := 0; i < len(n); i++ {
		switch c := n[i]; {
		case c == '-' || c == '_':
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// String returns s with the value of every secret parameter ("name=value",
// name matched without regard to case, '-' and '_', as in a query string or
// an Authorization header) replaced by Mask. A string without '=' (or an
// escaped one) is returned as it is, without allocating. A value that is a
// mask already (Mask, URLMask, HeaderMask) is kept.
func String(s string) string { return StringWith(s, Mask) }

// StringWith is String with mask written instead of Mask. The string
// value of a JSON member named as a secret parameter ("refresh_token":
// "...", as OAuth 2.0 token responses carry them), or each string of an
// array that is its value ("client_secret":["..."]), is masked too, also in a
// JSON document quoted in a JSON string (an event's "body" holding the
// client's JSON: {\"password\":\"...\"}).
//
// Names are read as JSON string escaping and percent-encoding write them,
// once or more: "a=1\u0026client_secret=..." (Go's encoding/json writes '&'
// so), "client%5Fsecret=...", {"access\u005ftoken":"..."}; and so is the
// '=' after one ("client_secret%3D...", "client_secret\u003d...").
func StringWith(s, mask string) string {
	s = jsonMembers(s, mask)
	if strings.IndexByte(s, '=') < 0 && !hasEscapedEquals(s) {
		return s
	}
	var b strings.Builder
	last := 0 // s[:last] is written to b (when b is in use)
	for i := 0; i < len(s); i++ {
		sep := equalsAt(s, i)
		if sep == 0 {
			continue
		}
		if !secretName(paramName(s[nameStart(s, i):i])) {
			continue
		}
		start := i + sep
		end := start
		for end < len(s) && !valueEnd(s[end]) {
			end++
		}
		if end == start || masked(s[start:end]) || s[start:end] == mask {
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last:start])
		b.WriteString(mask)
		last, i = end, end-1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// hasEscapedEquals reports whether s may hold '=' percent-encoded or as a
// JSON \u escape.
func hasEscapedEquals(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] == '%' || s[i] == '\\') && equalsAt(s, i) > 0 {
			return true
		}
	}
	return false
}

// equalsAt returns the length of the '=' at s[i]: 1 for '=', 3 for "%3D",
// 6 for "\u003d" (any case), 0 for none.
func equalsAt(s string, i int) int {
	switch s[i] {
	case '=':
		return 1
	case '%':
		if i+3 <= len(s) && strings.EqualFold(s[i:i+3], "%3d") {
			return 3
		}
	case '\\':
		if i+6 <= len(s) && strings.EqualFold(s[i:i+6], `\u003d`) {
			return 6
		}
	}
	return 0
}

// maxName bounds the bytes read of a parameter's or a JSON member's name
// (escaped): the longest secret name is 20 bytes.
const maxName = 160

// jsonMembers returns s with the string value of every JSON member whose
// name is a secret parameter's ("password": "x") replaced by mask; s
// itself when it has none, without allocating. A member of a JSON document
// quoted in a JSON string, once or more ({\"password\":\"x\"}), is found
// too: its quotes are escaped as that string's level of quoting writes
// them.
func jsonMembers(s, mask string) string {
	if strings.IndexByte(s, ':') < 0 || strings.IndexByte(s, '"') < 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '"' {
			continue
		}
		// A member name at some level of quoting: "name", \"name\", ...,
		// then optional spaces and a colon.
		lvl, ok := quoteLevel(s, i)
		if !ok {
			continue
		}
		q := 1<<lvl - 1 // the backslashes before each quote of this level
		nameEnd, ok := closeQuote(s, i+1, lvl, maxName)
		if !ok || !secretName(memberName(s[i+1:nameEnd-q], lvl)) {
			continue
		}
		k := skipSpace(s, nameEnd+1)
		if k >= len(s) || s[k] != ':' {
			continue
		}
		k = skipSpace(s, k+1)
		inArray := k < len(s) && s[k] == '['
		if inArray {
			// An array's string elements are each masked
			// ("client_secret":["a","b"], [1,"b"]); its other elements
			// are left.
			k = skipScalars(s, skipSpace(s, k+1))
		}
		// Each string (not a number, null, an object, an array's end).
		for k+q < len(s) && s[k+q] == '"' && strings.Count(s[k:k+q], `\`) == q {
			start := k + q + 1
			end, closed := closeQuote(s, start, lvl, len(s))
			valueEnd := len(s) // unterminated: masked to the end
			if closed {
				valueEnd = end - q
			} else {
				end = len(s)
			}
			if v := s[start:valueEnd]; v != "" && !masked(v) && v != mask {
				if b.Len() == 0 {
					b.Grow(len(s))
				}
				b.WriteString(s[last:start])
				b.WriteString(mask)
				last = valueEnd
			}
			i = end
			if !inArray {
				break
			}
			// The next string element, after a comma (and any numbers,
			// true, false or null before it).
			k = skipSpace(s, end+1)
			if k >= len(s) || s[k] != ',' {
				break
			}
			k = skipScalars(s, skipSpace(s, k+1))
		}
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// quoteLevel returns the level of quoting of the quote s[i], by the
// backslashes before it: 0 for '"', 1 for '\"', 2 for '\\\"',
// 3 for 7 backslashes; false for other counts.
func quoteLevel(s string, i int) (int, bool) {
	r := backslashes(s, i, 0)
	for lvl := 0; lvl < 4; lvl++ {
		if r == 1<<lvl-1 {
			return lvl, true
		}
	}
	return 0, false
}

// backslashes returns how many backslashes s[from:i] ends with.
func backslashes(s string, i, from int) int {
	r := 0
	for i-r > from && s[i-r-1] == '\\' {
		r++
	}
	return r
}

// closeQuote returns the index of the quote that closes a string of level
// lvl whose text starts at s[from], looking at most limit bytes on: a '"'
// after 2^lvl-1 backslashes (and any number of escaped backslashes, 2^(lvl+1)
// each), not one escaped in the string's text.
func closeQuote(s string, from, lvl, limit int) (int, bool) {
	for p := from; p < len(s) && p-from <= limit; p++ {
		if s[p] == '"' && backslashes(s, p, from)%(2<<lvl) == 1<<lvl-1 {
			return p, true
		}
	}
	return 0, false
}

// skipSpace returns the index of the first byte of s from k on that is not
// JSON white space.
func skipSpace(s string, k int) int {
	for k < len(s) && (s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r') {
		k++
	}
	return k
}

// memberName returns the name raw, the text of a JSON string at level lvl
// of quoting, decoded.
func memberName(raw string, lvl int) string {
	for range lvl + 1 {
		if strings.IndexByte(raw, '\\') < 0 {
			break
		}
		raw = unescape(raw, false)
	}
	return raw
}

// nameStart returns where the parameter name ending at s[i] (its '=')
// begins: the name's bytes, and the escapes ('\\', '%') that may stand for
// them or for a separator before them, at most maxName bytes.
func nameStart(s string, i int) int {
	j := i
	for j > 0 && i-j < maxName {
		if c := s[j-1]; nameByte(c) || c == '\\' || c == '%' {
			j--
			continue
		}
		break
	}
	return j
}

// paramName returns the parameter name that raw (from nameStart) ends
// with, its escapes decoded: "1\u0026client_secret" names client_secret.
func paramName(raw string) string {
	raw = strings.TrimRight(raw, `\`) // of an escaped '=': "name\\u003d"
	for range 4 {
		if strings.IndexByte(raw, '\\') < 0 && strings.IndexByte(raw, '%') < 0 {
			break
		}
		next := unescape(raw, true)
		if next == raw {
			break
		}
		raw = next
	}
	k := len(raw)
	for k > 0 && nameByte(raw[k-1]) {
		k--
	}
	return raw[k:]
}

// nameByte reports whether c may be part of a parameter's name.
func nameByte(c byte) bool {
	return c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// unescape decodes one level of JSON string escapes in s ("\u0026",
// "\\", "\n") and, with percent, of percent-encoding ("%5F"); what is not
// a valid escape is kept as it is.
func unescape(s string, percent bool) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && percent && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		case c != '\\' || i+1 >= len(s):
			b.WriteByte(c)
			continue
		}
		switch e := s[i+1]; e {
		case 'u':
			if i+6 <= len(s) && isHex(s[i+2]) && isHex(s[i+3]) && isHex(s[i+4]) && isHex(s[i+5]) {
				r := rune(unhex(s[i+2]))<<12 | rune(unhex(s[i+3]))<<8 | rune(unhex(s[i+4]))<<4 | rune(unhex(s[i+5]))
				b.WriteRune(r)
				i += 5
				continue
			}
			b.WriteByte(c)
		case '"', '\\', '/':
			b.WriteByte(e)
			i++
		case 'n', 't', 'r', 'b', 'f':
			b.WriteByte(' ') // white space: not part of a name
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// SecretName reports whether a parameter named n (a query parameter, say)
// holds a secret, as String finds them: X-Amz-Signature, api_key, apiKey,
// ...
func SecretName(n string) bool { return secretName(n) }

func secretName(n string) bool {
	return n != "" && len(n) <= maxName && names[fold(n)]
}

// valueEnd reports whether c ends a parameter's value.
func valueEnd(c byte) bool {
	switch c {
	case '&', ',', ';', ' ', '"', '\'', '#', '\n', '\r', '\t', '\\', ')', '>':
		return true
	}
	return false
}

// Error returns err's message redacted, or nil for nil.
func Error(err error) string {
	if err == nil {
		return ""
	}
	return String(err.Error())
}

// Logger returns a logger writing through l's handler with every string,
// error and formatted value redacted (String), in the record's message, its
// attributes and the attributes added by With.
func Logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return nil
	}
	if _, ok := l.Handler().(*handler); ok {
		return l
	}
	return slog.New(&handler{next: l.Handler()})
}

// handler redacts what it passes to next. Safe for concurrent use as next is.
type handler struct{ next slog.Handler }

// Enabled implements slog.Handler.
func (h *handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle implements slog.Handler.
func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = attr(a)
	}
	return &handler{next: h.next.WithAttrs(red)}
}

// WithGroup implements slog.Handler.
func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{next: h.next.WithGroup(name)}
}

// attr returns a with its value redacted.
func attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if s := v.String(); strings.IndexByte(s, '=') >= 0 {
			return slog.String(a.Key, String(s))
		}
	case slog.KindGroup:
		gs := v.Group()
		red := make([]slog.Attr, len(gs))
		for i, g := range gs {
			red[i] = attr(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(red...)}
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			if s := x.Error(); String(s) != s {
				return slog.Any(a.Key, redactedError{msg: String(s), err: x})
			}
		case fmt.Stringer:
			if s := x.String(); String(s) != s {
				return slog.String(a.Key, String(s))
			}
		case nil:
		default:
			if s := fmt.Sprint(x); String(s) != s {
				return slog.String(a.Key, String(s))
			}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// redactedError is an error whose message is redacted; it still unwraps to
// the original for errors.Is.
type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }

// URL returns raw, a URL a user configured (a collector's, a backend's), as
// logs and errors may name it: its password replaced by "xxxxx"
// (url.URL.Redacted) and each query parameter's value too ("?key=xxxxx"),
// since either may be a credential. A raw that does not parse is masked the
// same way as text: whatever lies between "//" and the last "@" before the
// path, and everything after "?", are not written.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		rest := raw
		scheme, after, ok := strings.Cut(raw, "//")
		if ok {
			end := strings.IndexAny(after, "/?#")
			if end < 0 {
				end = len(after)
			}
			if at := strings.LastIndexByte(after[:end], '@'); at >= 0 {
				after = URLMask + after[at:]
			}
			rest = scheme + "//" + after
		}
		if q := strings.IndexByte(rest, '?'); q >= 0 {
			rest = rest[:q+1] + URLMask
		}
		return rest
	}
	return URLOf(u)
}

// URLOf is URL for a parsed URL. The values it masks, the password and the
// query's values, are masked wherever else the URL holds them too (a path
// "/hooks/TOKEN" beside "?token=TOKEN"), decoded or escaped.
func URLOf(u *url.URL) string {
	secrets := urlSecrets(u)
	v := *u
	v.RawQuery = Query(u.RawQuery)
	if at := strings.LastIndexByte(v.Opaque, '@'); at >= 0 {
		v.Opaque = URLMask + v.Opaque[at:] // "user:pass@host" without "//"
	}
	if len(secrets) > 0 {
		v.Opaque = Values(v.Opaque, secrets, URLMask)
		v.Fragment = Values(v.Fragment, secrets, URLMask)
		if p := Values(v.Path, secrets, URLMask); p != v.Path {
			v.Path, v.RawPath = p, ""
		} else if v.RawPath != "" {
			v.RawPath = Values(v.RawPath, secrets, URLMask)
		}
	}
	return v.Redacted()
}

// urlSecrets returns the values URLOf masks: u's password and its query's
// values, each decoded and as written.
func urlSecrets(u *url.URL) []string {
	var out []string
	if p, ok := u.User.Password(); ok {
		out = append(out, p)
	}
	for p := range strings.SplitSeq(u.RawQuery, "&") {
		if _, raw, ok := strings.Cut(p, "="); ok && raw != "" {
			out = append(out, raw)
			if v, err := url.QueryUnescape(raw); err == nil && v != raw {
				out = append(out, v)
			}
		}
	}
	for _, v := range out[:len(out):len(out)] {
		if e := url.PathEscape(v); e != v {
			out = append(out, e)
		}
	}
	return out
}

// Query returns the query string raw with each parameter's value replaced
// by "xxxxx", names kept.
func Query(raw string) string {
	var b strings.Builder
	b.Grow(len(raw))
	for i, p := range strings.Split(raw, "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		name, _, hasValue := strings.Cut(p, "=")
		b.WriteString(name)
		if hasValue {
			b.WriteByte('=')
			b.WriteString(URLMask)
		}
	}
	return b.String()
}

// minValue is the length under which Values does not look for a secret: a
// value of a byte or three would mask every occurrence of common text.
const minValue = 4

// Values returns s with every occurrence of each of secrets replaced by mask:
// as it is, and as JSON string escaping writes it once or twice (a document
// quoting the value, a document quoting that document), with and without
// HTML escaping. Secrets shorter than 4 bytes are not looked for; longer
// secrets are replaced first.
func Values(s string, secrets []string, mask string) string {
	if s == "" || len(secrets) == 0 {
		return s
	}
	var forms []string
	for _, v := range secrets {
		if len(v) < minValue {
			continue
		}
		for range 3 {
			forms = append(forms, v)
			next := jsonEscape(v, false)
			if h := jsonEscape(v, true); h != next {
				forms = append(forms, h)
			}
			if next == v {
				break
			}
			v = next
		}
	}
	slices.SortFunc(forms, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	for _, f := range slices.Compact(forms) {
		if strings.Contains(s, f) {
			s = strings.ReplaceAll(s, f, mask)
		}
	}
	return s
}

// jsonEscape returns v as the inside of a JSON string, with <, > and &
// escaped when html is set (as encoding/json.Marshal writes them).
func jsonEscape(v string, html bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	if enc.Encode(v) != nil {
		return v
	}
	out := strings.TrimSuffix(b.String(), "\n")
	return strings.TrimSuffix(strings.TrimPrefix(out, `"`), `"`)
}

// maxFields and maxFieldName bound what Shape names of a payload.
const (
	maxFields    = 20
	maxFieldName = 40
)

// Shape describes payload, a function's or an authorizer's answer, for a log
// line or an error cause without any of its values: the names of a JSON
// object's top-level fields ("a JSON object with fields context, principalId,
// usageIdentifierKey"), sorted, at most 20 and each cut at 40 bytes; the kind
// of any other JSON value ("a JSON string"); or "not JSON". The size in bytes
// follows. A field's value, which may be an API key, a token or a user's
// claims, never appears.
func Shape(payload []byte) string {
	n := fmt.Sprintf(" (%d bytes)", len(payload))
	var v any
	if !json.Valid(payload) || json.Unmarshal(payload, &v) != nil {
		return "not JSON" + n
	}
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			return "an empty JSON object" + n
		}
		keys := slices.Sorted(maps.Keys(x))
		more := ""
		if len(keys) > maxFields {
			more = fmt.Sprintf(" and %d more", len(keys)-maxFields)
			keys = keys[:maxFields]
		}
		for i, k := range keys {
			if len(k) > maxFieldName {
				keys[i] = strings.ToValidUTF8(k[:maxFieldName], "") + "..."
			}
		}
		return "a JSON object with fields " + strings.Join(keys, ", ") + more + n
	case []any:
		return "a JSON array" + n
	case string:
		return "a JSON string" + n
	case float64:
		return "a JSON number" + n
	case bool:
		return "a JSON boolean" + n
	}
	return "JSON null" + n
}

// maxQuoted is the longest value Quote repeats.
const maxQuoted = 200

// Quote is %q of a value that an error message repeats back to its sender,
// or Withheld's description of it when it should not be repeated.
func Quote(v string) string {
	if w := Withheld(v); w != "" {
		return w
	}
	return fmt.Sprintf("%q", v)
}

// Withheld says what v looks like, "(... not repeated here)", when an error
// message should not repeat it: when it holds PEM (a private key pasted in
// the wrong field, say) or is longer than maxQuoted bytes, as an answer is
// printed into terminals and CI logs. It is "" for a value fit to repeat.
func Withheld(v string) string {
	if k := PEMKind(v); k != "" {
		return "(" + k + ", not repeated here)"
	}
	if len(v) > maxQuoted {
		return fmt.Sprintf("(a value of %d bytes, not repeated here)", len(v))
	}
	return ""
}

// PEMKind says what v holds when it holds PEM, in words ("what looks like a
// PEM private key", "a PEM block"), so that an error can name it without
// repeating it: "" for anything else.
func PEMKind(v string) string {
	switch {
	case strings.Contains(v, "PRIVATE KEY"):
		return "what looks like a PEM private key"
	case strings.Contains(v, "-----BEGIN") || strings.Contains(v, "-----END"):
		return "a PEM block"
	}
	return ""
}

// skipScalars skips, from k, the array elements that are numbers, true,
// false or null, each with the comma after it, and returns where the next
// element (or the array's end) begins.
func skipScalars(s string, k int) int {
	for k < len(s) && strings.IndexByte("-0123456789tfn", s[k]) >= 0 {
		j := k
		for j < len(s) && (s[j] == '-' || s[j] == '+' || s[j] == '.' || s[j] >= '0' && s[j] <= '9' || s[j] >= 'a' && s[j] <= 'z' || s[j] == 'E') {
			j++
		}
		j = skipSpace(s, j)
		if j >= len(s) || s[j] != ',' {
			return j
		}
		k = skipSpace(s, j+1)
	}
	return k
}
