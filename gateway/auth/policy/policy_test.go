package policy

import (
	"strings"
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

const arn = "arn:aws:execute-api:us-east-1:000000000000:abc/dev/GET/pets"

func TestEvaluateIdentity(t *testing.T) {
	cases := []struct {
		name, doc string
		want      Decision
	}{
		{"allow", `{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"` + arn + `"}]}`, Allowed},
		{"single statement object", `{"Statement":{"Action":"execute-api:Invoke","Effect":"Allow","Resource":["x","` + arn + `"]}}`, Allowed},
		{"deny wins", `{"Statement":[{"Action":"execute-api:*","Effect":"Allow","Resource":"*"},{"Action":"execute-api:Invoke","Effect":"Deny","Resource":"arn:aws:execute-api:*:*:abc/*/GET/*"}]}`, ExplicitDeny},
		{"deny first still wins", `{"Statement":[{"Action":"*","Effect":"Deny","Resource":"*"},{"Action":"*","Effect":"Allow","Resource":"*"}]}`, ExplicitDeny},
		{"other resource", `{"Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:*:*:abc/dev/POST/*"}]}`, NoMatch},
		{"other action", `{"Statement":[{"Action":"execute-api:InvalidateCache","Effect":"Allow","Resource":"*"}]}`, NoMatch},
		{"action case", `{"Statement":[{"Action":"Execute-API:invoke","Effect":"Allow","Resource":"*"}]}`, Allowed},
		{"resource case matters", `{"Statement":[{"Action":"*","Effect":"Allow","Resource":"arn:aws:execute-api:*:*:abc/dev/get/pets"}]}`, NoMatch},
		{"NotAction excludes", `{"Statement":[{"NotAction":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]}`, NoMatch},
		{"NotAction includes the rest", `{"Statement":[{"NotAction":"execute-api:InvalidateCache","Effect":"Allow","Resource":"*"}]}`, Allowed},
		{"NotResource excludes", `{"Statement":[{"Action":"*","Effect":"Allow","NotResource":"arn:aws:execute-api:*:*:abc/dev/*"}]}`, NoMatch},
		{"NotResource deny of the rest", `{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*"},{"Action":"*","Effect":"Deny","NotResource":"arn:aws:execute-api:*:*:other/*"}]}`, ExplicitDeny},
		{"ip condition in", `{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.0/24"]}}}]}`, Allowed},
		{"ip condition out", `{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`, NoMatch},
		{"not ip", `{"Statement":[{"Action":"*","Effect":"Deny","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`, ExplicitDeny},
		{"username", `{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*","Condition":{"StringEquals":{"aws:username":"alice"}}}]}`, Allowed},
		{"username like", `{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*","Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/a*"}}}]}`, Allowed},
		{"username other", `{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*","Condition":{"StringNotEquals":{"aws:username":"alice"}}}]}`, NoMatch},
		{"missing key positive", `{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*","Condition":{"StringEquals":{"aws:Referer":"x"}}}]}`, NoMatch},
		{"missing key negated", `{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*","Condition":{"StringNotEquals":{"aws:Referer":"x"}}}]}`, Allowed},
		{"missing key IfExists", `{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*","Condition":{"StringEqualsIfExists":{"aws:Referer":"x"}}}]}`, Allowed},
		{"secure transport", `{"Statement":[{"Action":"*","Effect":"Deny","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":false}}}]}`, ExplicitDeny},
	}
	req := Request{Action: ActionInvoke, Resource: arn, Principal: "arn:aws:iam::000000000000:user/alice", Account: "000000000000",
		Value: func(k string) (string, bool) {
			switch k {
			case KeySourceIP:
				return "192.0.2.7", true
			case KeyUsername:
				return "alice", true
			case KeyPrincipalARN:
				return "arn:aws:iam::000000000000:user/alice", true
			case KeySecureTransport:
				return "false", true
			}
			return "", false
		}}
	for _, c := range cases {
		p, err := Parse([]byte(c.doc), Identity)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := p.Evaluate(req); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	cases := []struct {
		kind Kind
		doc  string
	}{
		{Identity, `not json`},
		{Identity, `{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}`},
		{Identity, `{"Statement":[{"Effect":"Allow","Resource":"*"}]}`},
		{Identity, `{"Statement":[{"Effect":"Allow","Action":7,"Resource":"*"}]}`},
		{Identity, `{"Statement":"x"}`},
		{Identity, `{"Statement":[]}`},
		{Identity, `{"Statement":[{"Effect":"Allow","Action":"*","NotAction":"x","Resource":"*"}]}`},
		{Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Principal":"*"}]}`},
		{Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}]}`},
		{Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/x":"y"}}}]}`},
		{Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/99"}}}]}`},
		{Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:username":"10.0.0.0/8"}}}]}`},
		{Resource, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`},
		{Resource, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Principal":"someone"}]}`},
		{Resource, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Principal":{"Service":"lambda.amazonaws.com"}}]}`},
	}
	for _, c := range cases {
		if _, err := Parse([]byte(c.doc), c.kind); err == nil {
			t.Errorf("Parse(%s) accepted", c.doc)
		}
	}
	if _, err := Parse([]byte(`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Principal":"*"}]}`), Authorizer); err != nil {
		t.Errorf("an authorizer's policy with a Principal: %v", err)
	}
}

// TestResourcePolicyPrincipals is the table of who a resource policy's
// Principal names.
func TestResourcePolicyPrincipals(t *testing.T) {
	const alice = "arn:aws:iam::000000000000:user/alice"
	cases := []struct {
		name, principal string
		caller          string
		want            Decision
	}{
		{"star admits anonymous", `"*"`, "", Allowed},
		{"AWS star admits anonymous", `{"AWS":"*"}`, "", Allowed},
		{"user arn admits the user", `{"AWS":"` + alice + `"}`, alice, Allowed},
		{"user arn refuses another", `{"AWS":"` + alice + `"}`, "arn:aws:iam::000000000000:user/bob", NoMatch},
		{"user arn refuses anonymous", `{"AWS":"` + alice + `"}`, "", NoMatch},
		{"account id admits its users", `{"AWS":"000000000000"}`, alice, Allowed},
		{"account root admits its users", `{"AWS":["arn:aws:iam::000000000000:root"]}`, alice, Allowed},
		{"other account", `{"AWS":"111111111111"}`, alice, NoMatch},
	}
	for _, c := range cases {
		p, err := Parse([]byte(`{"Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*","Principal":`+c.principal+`}]}`), Resource)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		req := Request{Action: ActionInvoke, Resource: arn, Principal: c.caller}
		if c.caller != "" {
			req.Account = "000000000000"
		}
		if got := p.Evaluate(req); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	p, _ := Parse([]byte(`{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*","NotPrincipal":{"AWS":"`+alice+`"}}]}`), Resource)
	if got := p.Evaluate(Request{Action: ActionInvoke, Resource: arn}); got != ExplicitDeny {
		t.Errorf("NotPrincipal deny of anonymous: %v", got)
	}
	if got := p.Evaluate(Request{Action: ActionInvoke, Resource: arn, Principal: alice, Account: "000000000000"}); got != NoMatch {
		t.Errorf("NotPrincipal deny of the named user: %v", got)
	}
}

// TestSourceIPIPv6 checks CIDR lists with IPv6 and IPv4-mapped addresses.
func TestSourceIPIPv6(t *testing.T) {
	p, err := Parse([]byte(`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Principal":"*",
		"Condition":{"IpAddress":{"aws:SourceIp":["2001:db8::/32","203.0.113.9"]}}}]}`), Resource)
	if err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]Decision{"2001:db8::1": Allowed, "2001:db9::1": NoMatch, "203.0.113.9": Allowed,
		"::ffff:203.0.113.9": Allowed, "203.0.113.10": NoMatch, "not-an-ip": NoMatch} {
		req := Request{Action: ActionInvoke, Resource: arn, Value: func(k string) (string, bool) { return ip, k == KeySourceIP }}
		if got := p.Evaluate(req); got != want {
			t.Errorf("%s: %v, want %v", ip, got, want)
		}
	}
}

func TestEvaluateAllocatesNothing(t *testing.T) {
	p, _ := Parse([]byte(`{"Statement":[{"Effect":"Allow","Action":"execute-api:*","Resource":"arn:aws:execute-api:*:*:abc/*/GET/*",
		"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`), Identity)
	req := Request{Action: ActionInvoke, Resource: arn, Value: func(string) (string, bool) { return "10.1.2.3", true }}
	if n := testing.AllocsPerRun(100, func() { p.Evaluate(req) }); n != 0 {
		t.Errorf("Evaluate allocates %v times", n)
	}
}

// FuzzEvaluate checks that evaluating any policy on any resource neither panics
// nor lets an explicit deny lose: a policy that denies "*" denies everything,
// and NotResource is the complement of Resource.
func FuzzEvaluate(f *testing.F) {
	f.Add("arn:aws:execute-api:*:*:abc/*/GET/pets/?", "arn:aws:execute-api:us-east-1:000000000000:abc/dev/GET/pets/1")
	f.Add("a*b?c*", "aXbYc")
	f.Add("***?", "")
	f.Fuzz(func(t *testing.T, pattern, resource string) {
		req := Request{Action: ActionInvoke, Resource: resource}
		p := &Policy{Statements: []Statement{{Allow: true, Actions: []string{"*"}, Resources: []string{pattern}}}}
		got := p.Evaluate(req)
		if (got == Allowed) != Match(pattern, resource) {
			t.Fatalf("Evaluate and Match disagree on %q %q", pattern, resource)
		}
		p.Statements[0].NotResource = true
		if (p.Evaluate(req) == Allowed) == (got == Allowed) {
			t.Fatalf("NotResource is not the complement of Resource on %q %q", pattern, resource)
		}
		p.Statements = append(p.Statements, Statement{Actions: []string{"execute-api:*"}, Resources: []string{"*"}})
		if p.Evaluate(req) != ExplicitDeny {
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

// FuzzParse checks that no document panics Parse, and that any document it
// accepts evaluates without panicking.
func FuzzParse(f *testing.F) {
	f.Add(`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Principal":"*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8"]}}}]}`)
	f.Add(`{"Statement":{"Effect":"Deny","NotAction":"x","NotResource":["a*"],"NotPrincipal":{"AWS":"1"}}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		for _, k := range []Kind{Identity, Resource, Authorizer} {
			p, err := Parse([]byte(doc), k)
			if err != nil {
				continue
			}
			p.Evaluate(Request{Action: ActionInvoke, Resource: "arn:x", Principal: "arn:aws:iam::000000000000:user/a", Account: "000000000000",
				Value: func(string) (string, bool) { return "10.1.1.1", true }})
		}
	})
}

func TestPolicyVariables(t *testing.T) {
	values := map[string]string{KeyUsername: "alice", KeyUserAgent: "*", KeyPrincipalARN: "arn:aws:iam::000000000000:user/alice"}
	req := Request{Action: ActionInvoke, Value: func(k string) (string, bool) { v, ok := values[k]; return v, ok }}
	const v12, v08 = `"Version":"2012-10-17",`, `"Version":"2008-10-17",`
	cases := []struct {
		name, doc, resource string
		kind                Kind
		want                Decision
	}{
		{"username in a resource", `{` + v12 + `"Statement":[{"Action":"*","Effect":"Deny","Resource":"arn:x/GET/home/${aws:username}"}]}`, "arn:x/GET/home/alice", Identity, ExplicitDeny},
		{"another user's resource", `{` + v12 + `"Statement":[{"Action":"*","Effect":"Deny","Resource":"arn:x/GET/home/${aws:username}"}]}`, "arn:x/GET/home/bob", Identity, NoMatch},
		{"key names fold", `{` + v12 + `"Statement":[{"Action":"*","Effect":"Allow","Resource":"arn:x/${AWS:UserName}/*"}]}`, "arn:x/alice/y", Identity, Allowed},
		{"2008-10-17 is literal", `{` + v08 + `"Statement":[{"Action":"*","Effect":"Deny","Resource":"arn:x/${aws:username}"}]}`, "arn:x/alice", Identity, NoMatch},
		{"2008-10-17 matches the text", `{` + v08 + `"Statement":[{"Action":"*","Effect":"Deny","Resource":"arn:x/${aws:username}"}]}`, "arn:x/${aws:username}", Identity, ExplicitDeny},
		{"no Version is literal", `{"Statement":[{"Action":"*","Effect":"Deny","Resource":"arn:x/${aws:username}"}]}`, "arn:x/alice", Identity, NoMatch},
		{"a value is never a wildcard", `{` + v12 + `"Statement":[{"Action":"*","Effect":"Allow","Resource":"arn:x/${aws:UserAgent}"}]}`, "arn:x/anything", Identity, NoMatch},
		{"a value matches itself", `{` + v12 + `"Statement":[{"Action":"*","Effect":"Allow","Resource":"arn:x/${aws:UserAgent}"}]}`, "arn:x/*", Identity, Allowed},
		{"${*} is a literal star", `{` + v12 + `"Statement":[{"Action":"*","Effect":"Allow","Resource":"arn:x/${*}"}]}`, "arn:x/y", Identity, NoMatch},
		{"${*} matches a star", `{` + v12 + `"Statement":[{"Action":"*","Effect":"Allow","Resource":"arn:x/${*}${?}${$}"}]}`, "arn:x/*?$", Identity, Allowed},
		{"text keeps its wildcards", `{` + v12 + `"Statement":[{"Action":"*","Effect":"Allow","Resource":"arn:*/${aws:username}/*"}]}`, "arn:x/alice/y", Identity, Allowed},
		{"a missing key matches nothing", `{` + v12 + `"Statement":[{"Action":"*","Effect":"Deny","Resource":"arn:x/${aws:Referer}"}]}`, "arn:x/", Identity, NoMatch},
		{"a missing key's default", `{` + v12 + `"Statement":[{"Action":"*","Effect":"Deny","Resource":"arn:x/${aws:Referer, 'none'}"}]}`, "arn:x/none", Identity, ExplicitDeny},
		{"in a condition", `{` + v12 + `"Statement":[{"Action":"*","Effect":"Allow","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalArn":"arn:aws:iam::000000000000:user/${aws:username}"}}}]}`, "r", Identity, Allowed},
		{"in a StringLike condition", `{` + v12 + `"Statement":[{"Action":"*","Effect":"Deny","Resource":"*","Condition":{"StringLike":{"aws:PrincipalArn":"*/${aws:username}"}}}]}`, "r", Identity, ExplicitDeny},
		{"in a negated condition", `{` + v12 + `"Statement":[{"Action":"*","Effect":"Allow","Resource":"*","Condition":{"StringNotEquals":{"aws:username":"${aws:username}"}}}]}`, "r", Identity, NoMatch},
		{"resource policy shorthand", `{` + v12 + `"Statement":[{"Principal":"*","Action":"*","Effect":"Deny","Resource":"execute-api:/${aws:username}"}]}`, "arn:api/alice", Resource, ExplicitDeny},
	}
	for _, tc := range cases {
		p, err := Parse([]byte(tc.doc), tc.kind)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if tc.kind == Resource {
			p = p.ExpandResources("execute-api:/", "arn:api/")
		}
		r := req
		r.Resource = tc.resource
		if got := p.Evaluate(r); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	for name, tc := range map[string]struct {
		doc  string
		kind Kind
		want string
	}{
		"unknown key":                {`{` + v12 + `"Statement":[{"Action":"*","Effect":"Deny","Resource":"arn:x/${aws:PrincipalTag/team}"}]}`, Identity, `"${aws:PrincipalTag/team}" is not supported`},
		"unknown key in a condition": {`{` + v12 + `"Statement":[{"Action":"*","Effect":"Deny","Resource":"*","Condition":{"StringEquals":{"aws:username":"${aws:foo}"}}}]}`, Identity, `"${aws:foo}"`},
		"not closed":                 {`{` + v12 + `"Statement":[{"Action":"*","Effect":"Deny","Resource":"arn:x/${aws:username"}]}`, Identity, "not closed"},
		"default not quoted":         {`{` + v12 + `"Statement":[{"Action":"*","Effect":"Deny","Resource":"arn:x/${aws:username, none}"}]}`, Identity, "single quotes"},
		"in an authorizer's":         {`{` + v12 + `"Statement":[{"Action":"*","Effect":"Deny","Resource":"arn:x/${aws:username}"}]}`, Authorizer, "authorizer"},
	} {
		if _, err := Parse([]byte(tc.doc), tc.kind); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, tc.want)
		}
	}
}

// TestParseIsStrict: IAM's grammar, as IAM reads it. Element names are
// case-sensitive, an element named twice is refused (encoding/json would take
// any letter case and keep the last), an element Portico does not know is
// refused rather than ignored (a misspelt Condition would otherwise be an
// unconditional Allow), and the Version is one IAM knows.
func TestParseIsStrict(t *testing.T) {
	const st = `"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"`
	for name, tc := range map[string]struct {
		kind Kind
		doc  string
		want string
	}{
		"misspelt Condition":        {Identity, `{"Version":"2012-10-17","Statement":[{` + st + `,"Conditon":{"IpAddress":{"aws:SourceIp":"10.99.0.0/16"}}}]}`, `"Conditon"`},
		"misspelt NotResource":      {Identity, `{"Statement":[{"Effect":"Allow","Action":"*","NotResourse":"arn:x"}]}`, `"NotResourse"`},
		"unknown top-level element": {Identity, `{"Version":"2012-10-17","Extra":1,"Statement":[{` + st + `}]}`, `"Extra"`},
		"unknown Version":           {Identity, `{"Version":"2012-10-18","Statement":[{` + st + `}]}`, `"2012-10-18"`},
		"Version not a string":      {Identity, `{"Version":2012,"Statement":[{` + st + `}]}`, "Version"},
		"lower-case effect":         {Identity, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`, `"effect"`},
		"upper-case RESOURCE":       {Identity, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:execute-api:*:*:none/*","RESOURCE":"*"}]}`, `"RESOURCE"`},
		"lower-case statement":      {Identity, `{"statement":[{` + st + `}]}`, `"statement"`},
		"duplicate Effect":          {Identity, `{"Statement":[{"Effect":"Deny","Effect":"Allow","Action":"*","Resource":"*"}]}`, `"Effect"`},
		"duplicate Statement":       {Identity, `{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}],"Statement":[{` + st + `}]}`, `"Statement"`},
		"duplicate Version":         {Identity, `{"Version":"2008-10-17","Version":"2012-10-17","Statement":[{` + st + `}]}`, `"Version"`},
		"duplicate operator":        {Identity, `{"Statement":[{` + st + `,"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}}]}`, `"IpAddress"`},
		"duplicate condition key":   {Identity, `{"Statement":[{` + st + `,"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8","aws:SourceIp":"0.0.0.0/0"}}}]}`, `"aws:SourceIp"`},
		"duplicate principal type":  {Resource, `{"Statement":[{` + st + `,"Principal":{"AWS":"arn:aws:iam::000000000000:user/a","AWS":"*"}}]}`, `"AWS"`},
		"resource policy typo":      {Resource, `{"Statement":[{` + st + `,"Principal":"*","Conditon":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}`, `"Conditon"`},
		"resource policy case dup":  {Resource, `{"Statement":[{"Effect":"Deny","effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`, `"effect"`},
		"authorizer typo":           {Authorizer, `{"Version":"2012-10-17","Statement":[{` + st + `,"Conditon":{}}]}`, `"Conditon"`},
		"trailing data":             {Identity, `{"Statement":[{` + st + `}]} {}`, ""},
		"statement not an object":   {Identity, `{"Statement":["x"]}`, ""},
	} {
		_, err := Parse([]byte(tc.doc), tc.kind)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", name, err, tc.want)
		}
	}
	for name, doc := range map[string]string{
		"2012-10-17":       `{"Version":"2012-10-17","Statement":[{` + st + `}]}`,
		"2008-10-17":       `{"Version":"2008-10-17","Statement":[{` + st + `}]}`,
		"no Version":       `{"Statement":{` + st + `}}`,
		"Id and Sid":       `{"Version":"2012-10-17","Id":"p1","Statement":[{"Sid":"s1",` + st + `}]}`,
		"two operators":    `{"Statement":[{` + st + `,"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"StringEquals":{"aws:username":"a"}}}]}`,
		"keys in any case": `{"Statement":[{` + st + `,"Condition":{"StringEquals":{"aws:username":"a","AWS:UserName":"a"}}}]}`,
	} {
		if _, err := Parse([]byte(doc), Identity); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
