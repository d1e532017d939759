package doctest

import (
	"fmt"
	"regexp"
	"strings"
)

// The looseness of an output block: each kind of text that differs from run to
// run, as the page writes it, and what it matches in the output.
var loose = []struct {
	name  string
	in    *regexp.Regexp // in the page's output block
	match string         // in the output
}{
	{"uuid", regexp.MustCompile(`\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`),
		`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`},
	{"time", regexp.MustCompile(`\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?`),
		`\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?`},
	{"date", regexp.MustCompile(`\b\d{4}-\d\d-\d\d\b`), `\d{4}-\d\d-\d\d`},
	{"port", regexp.MustCompile(`(127\.0\.0\.1|localhost|\[::1\]):\d{2,5}\b`), ``}, // the host kept, any port
	{"duration", regexp.MustCompile(`\b\d+(\.\d+)?\s?(ns|µs|us|ms|s)\b`), `\d+(\.\d+)?\s?(ns|µs|us|ms|s)`},
	// an id as API Gateway and Portico make them: lower-case letters and digits,
	// as the page writes one (with a digit, so that words stay words); the
	// output's may be any such string of the same length.
	{"id", regexp.MustCompile(`\b[a-z0-9]*[0-9][a-z0-9]*[a-z][a-z0-9]*\b|\b[a-z0-9]*[a-z][a-z0-9]*[0-9][a-z0-9]*\b`), ``},
}

// Pattern compiles an output block into the regular expression the output must
// match as a whole (after [Tidy]): text literally, except that
//
//   - a UUID, a time (2006-01-02T15:04:05Z, with or without a fraction and
//     zone), a date and a duration (41.3s, 12 ms) match any other;
//   - 127.0.0.1:PORT, localhost:PORT and [::1]:PORT match any port of that host;
//   - an id of 6 to 12 lower-case letters and digits, with at least one of each,
//     matches any string of lower-case letters and digits of its length;
//   - a run of spaces or tabs matches any such run (tables pad their columns);
//   - a line `...` matches any number of lines, and `...` within a line any text.
func Pattern(want string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString(`\A`)
	lines := strings.Split(Tidy(want), "\n")
	elided := func(i int) bool { return i >= 0 && i < len(lines) && strings.TrimSpace(lines[i]) == "..." }
	last := len(lines) - 1
	for i, line := range lines {
		if elided(i) {
			switch {
			case i == last && i > 0 && !elided(i-1):
				// no line may follow at all (the line before wrote no
				// newline: see below)
				b.WriteString(`(?:\n[^\n]*)*`)
			case i == last:
				b.WriteString(`(?:[^\n]*\n)*?[^\n]*`)
			default:
				b.WriteString(`(?:[^\n]*\n)*?`)
			}
			continue
		}
		for j, part := range strings.Split(line, "...") {
			if j > 0 {
				b.WriteString(`[^\n]*?`)
			}
			b.WriteString(loosen(part))
		}
		// A last line `...` writes this line's newline itself, so that it
		// may stand for no line at all.
		if endsElided := i == last-1 && elided(last); i < last && !endsElided {
			b.WriteString(`\n`)
		}
	}
	b.WriteString(`\z`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("output block: %w", err)
	}
	return re, nil
}

// loosen quotes one piece of a line, loosening what varies.
func loosen(s string) string {
	var b strings.Builder
	for s != "" {
		at, end, k := -1, -1, -1
		for i, l := range loose {
			for _, m := range l.in.FindAllStringIndex(s, -1) {
				if l.name == "id" && (m[1]-m[0] < 6 || m[1]-m[0] > 12) {
					continue
				}
				if at < 0 || m[0] < at {
					at, end, k = m[0], m[1], i
				}
				break
			}
		}
		if at < 0 {
			b.WriteString(spaces(s))
			break
		}
		b.WriteString(spaces(s[:at]))
		tok := s[at:end]
		switch loose[k].name {
		case "port":
			host, _, _ := strings.Cut(tok, "]:")
			if strings.HasPrefix(tok, "[") {
				b.WriteString(regexp.QuoteMeta(host+"]:") + `\d+`)
			} else {
				host, _, _ = strings.Cut(tok, ":")
				b.WriteString(regexp.QuoteMeta(host+":") + `\d+`)
			}
		case "id":
			fmt.Fprintf(&b, `[a-z0-9]{%d}`, len(tok))
		default:
			b.WriteString(loose[k].match)
		}
		s = s[end:]
	}
	return b.String()
}

var blanks = regexp.MustCompile(`[ \t]+`)

func spaces(s string) string {
	parts := blanks.Split(s, -1)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return strings.Join(parts, `[ \t]+`)
}

// Tidy is what both sides go through before they are compared: carriage returns
// dropped, trailing white space cut from every line, and blank lines at the
// start and end removed.
func Tidy(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	for len(lines) > 0 && lines[0] == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n")
}

// Match reports whether got is the output want shows, as [Pattern] reads it.
func Match(want, got string) (bool, error) {
	re, err := Pattern(want)
	if err != nil {
		return false, err
	}
	return re.MatchString(Tidy(got)), nil
}
