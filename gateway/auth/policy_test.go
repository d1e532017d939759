package auth

import (
	"testing"
)

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "anything/at/all", true},
		{"arn:aws:execute-api:us-east-1:000000000000:abc/dev/GET/pets", "arn:aws:execute-api:us-east-1:000000000000:abc/dev/GET/pets", true},
		{"arn:aws:execute-api:*:*:abc/dev/GET/*", "arn:aws:execute-api:us-east-1:000000000000:abc/dev/GET/pets/1", true},
		{"arn:aws:execute-api:*:*:abc/dev/GET/*", "arn:aws:execute-api:us-east-1:000000000000:abc/dev/POST/pets", false},
		{"arn:aws:execute-api:*:*:abc/*/GET/pets/?", "arn:aws:execute-api:us-east-1:000000000000:abc/prod/GET/pets/7", true},
		{"arn:aws:execute-api:*:*:abc/*/GET/pets/?", "arn:aws:execute-api:us-east-1:000000000000:abc/prod/GET/pets/17", false},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"", "", true},
		{"", "x", false},
		{"**", "", true},
	}
	for _, c := range cases {
		if got := Match(c.pattern, c.s); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func TestEvaluate(t *testing.T) {
	const arn = "arn:aws:execute-api:us-east-1:000000000000:abc/dev/GET/pets"
	cases := []struct {
		name, doc string
		want      Decision
	}{
		{"allow", `{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"` + arn + `"}]}`, Allowed},
		{"single statement object", `{"Statement":{"Action":"execute-api:Invoke","Effect":"Allow","Resource":["x","` + arn + `"]}}`, Allowed},
		{"deny wins", `{"Statement":[{"Action":"execute-api:*","Effect":"Allow","Resource":"*"},{"Action":"execute-api:Invoke","Effect":"Deny","Resource":"arn:aws:execute-api:*:*:abc/*/GET/*"}]}`, ExplicitDeny},
		{"other resource", `{"Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:*:*:abc/dev/POST/*"}]}`, NoMatch},
		{"other action", `{"Statement":[{"Action":"execute-api:InvalidateCache","Effect":"Allow","Resource":"*"}]}`, NoMatch},
		{"action case", `{"Statement":[{"Action":"Execute-API:invoke","Effect":"Allow","Resource":"*"}]}`, Allowed},
	}
	for _, c := range cases {
		p, err := ParsePolicy([]byte(c.doc))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := p.Evaluate(ActionInvoke, arn); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	for _, bad := range []string{`not json`, `{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}`,
		`{"Statement":[{"Effect":"Allow","Resource":"*"}]}`, `{"Statement":[{"Effect":"Allow","Action":7,"Resource":"*"}]}`, `{"Statement":"x"}`} {
		if _, err := ParsePolicy([]byte(bad)); err == nil {
			t.Errorf("ParsePolicy(%s) accepted", bad)
		}
	}
}

// FuzzEvaluate checks that evaluating any policy on any resource neither panics
// nor lets an explicit deny lose: a policy that denies "*" denies everything.
func FuzzEvaluate(f *testing.F) {
	f.Add("arn:aws:execute-api:*:*:abc/*/GET/pets/?", "arn:aws:execute-api:us-east-1:000000000000:abc/dev/GET/pets/1")
	f.Add("a*b?c*", "aXbYc")
	f.Add("***?", "")
	f.Fuzz(func(t *testing.T, pattern, resource string) {
		p := &Policy{Statements: []Statement{{Allow: true, Actions: []string{"*"}, Resources: []string{pattern}}}}
		got := p.Evaluate(ActionInvoke, resource)
		if (got == Allowed) != Match(pattern, resource) {
			t.Fatalf("Evaluate and Match disagree on %q %q", pattern, resource)
		}
		p.Statements = append(p.Statements, Statement{Actions: []string{"execute-api:*"}, Resources: []string{"*"}})
		if p.Evaluate(ActionInvoke, resource) != ExplicitDeny {
			t.Fatalf("a deny of * lost on %q", resource)
		}
		// Match agrees with a literal comparison when the pattern has no wildcards.
		if !containsWildcard(pattern) && Match(pattern, resource) != (pattern == resource) {
			t.Fatalf("literal pattern %q vs %q", pattern, resource)
		}
	})
}

func containsWildcard(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '*' || s[i] == '?' {
			return true
		}
	}
	return false
}
