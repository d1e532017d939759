// Package policy is the IAM policy language as API Gateway evaluates it: the
// policies Lambda authorizers return, IAM users' identity policies and REST
// APIs' resource policies. It parses a document once (Parse) and answers
// Evaluate per request without allocating.
//
// Supported: Effect Allow/Deny; Action and NotAction; Resource and NotResource;
// in resource policies Principal and NotPrincipal ("*", {"AWS": ...} with ARNs,
// account ids or "*"); Condition blocks with the operators StringEquals,
// StringNotEquals, StringEqualsIgnoreCase, StringNotEqualsIgnoreCase, StringLike,
// StringNotLike, IpAddress, NotIpAddress and Bool (each also with IfExists) on the
// keys in ConditionKeys. Anything else in a Condition is refused at Parse: a
// condition that is declared but not evaluated would widen what a policy allows
// (or narrow what it denies).
package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/portico-dev/portico/internal/glob"
)

// Decision is a policy's answer for one action on one resource.
type Decision int

// Decisions: no statement matched (an implicit deny), an Allow matched and no
// Deny did, or a Deny matched (it wins over any Allow).
const (
	NoMatch Decision = iota
	Allowed
	ExplicitDeny
)

// String names the decision.
func (d Decision) String() string {
	switch d {
	case Allowed:
		return "allow"
	case ExplicitDeny:
		return "explicit deny"
	}
	return "implicit deny"
}

// Kind says what a document is, which decides what it may hold.
type Kind int

// Kinds of policy document.
const (
	// Identity is an IAM user's policy: no Principal.
	Identity Kind = iota
	// Resource is an API's resource policy: every statement names a Principal
	// or NotPrincipal.
	Resource
	// Authorizer is the policyDocument a Lambda authorizer returns: like
	// Identity, but a Principal is ignored rather than refused (API Gateway
	// ignores it).
	Authorizer
)

// Condition keys that policies may test (compared case-insensitively, as IAM
// does). Request.Value must answer them.
const (
	KeySourceIP         = "aws:sourceip"
	KeyUsername         = "aws:username"
	KeyUserID           = "aws:userid"
	KeyPrincipalARN     = "aws:principalarn"
	KeyPrincipalAccount = "aws:principalaccount"
	KeyPrincipalType    = "aws:principaltype"
	KeySecureTransport  = "aws:securetransport"
	KeyUserAgent        = "aws:useragent"
	KeyReferer          = "aws:referer"
)

// ConditionKeys lists the condition keys Parse accepts.
var ConditionKeys = []string{KeySourceIP, KeyUsername, KeyUserID, KeyPrincipalARN, KeyPrincipalAccount,
	KeyPrincipalType, KeySecureTransport, KeyUserAgent, KeyReferer}

// Policy is a parsed policy document. Read-only after Parse; safe for
// concurrent use.
type Policy struct {
	Statements []Statement
}

// Statement is one statement of a policy.
type Statement struct {
	Sid   string
	Allow bool
	// Actions are lower-cased patterns; NotAction inverts them.
	Actions   []string
	NotAction bool
	// Resources are patterns; NotResource inverts them.
	Resources   []string
	NotResource bool
	// Principals (resource policies) are "*", ARN patterns or account ids;
	// NotPrincipal inverts them. Empty in identity policies.
	Principals   []string
	NotPrincipal bool
	Conditions   []Condition
}

// Condition is one operator on one key with its values.
type Condition struct {
	// Op is the operator without IfExists ("StringEquals", "IpAddress", ...).
	Op string
	// Key is the lower-cased condition key.
	Key      string
	Values   []string
	IfExists bool
	nets     []netip.Prefix
}

// Request is what a policy is evaluated against. Value answers condition keys
// (lower case); a nil Value has no keys.
type Request struct {
	// Action is the lower-cased action, e.g. "execute-api:invoke" (ActionInvoke).
	Action   string
	Resource string
	// Principal is the caller's ARN, "" for an anonymous caller.
	Principal string
	// Account is the caller's account id ("" when anonymous).
	Account string
	Value   func(key string) (string, bool)
}

// Actions API Gateway checks, lower-cased for Request.Action.
const (
	ActionInvoke            = "execute-api:invoke"
	ActionInvalidateCache   = "execute-api:invalidatecache"
	ActionManageConnections = "execute-api:manageconnections"
	// ActionInvokeFunction is checked for an integration that calls its
	// function with the caller's credentials.
	ActionInvokeFunction = "lambda:invokefunction"
)

// stringOrList is a JSON string or list of strings, as IAM allows.
type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("must be a string or a list of strings")
	}
	*s = many
	return nil
}

type statementDoc struct {
	Sid          string                                `json:"Sid"`
	Effect       string                                `json:"Effect"`
	Action       stringOrList                          `json:"Action"`
	NotAction    stringOrList                          `json:"NotAction"`
	Resource     stringOrList                          `json:"Resource"`
	NotResource  stringOrList                          `json:"NotResource"`
	Principal    json.RawMessage                       `json:"Principal"`
	NotPrincipal json.RawMessage                       `json:"NotPrincipal"`
	Condition    map[string]map[string]json.RawMessage `json:"Condition"`
}

// Parse parses a policy document ({"Version", "Statement": [...] or {...}}) of
// the given kind. A statement needs an Effect of Allow or Deny, an Action or
// NotAction and a Resource or NotResource; resource policies need a Principal or
// NotPrincipal, identity policies may not have one.
func Parse(raw []byte, kind Kind) (*Policy, error) {
	var doc struct {
		Version   string          `json:"Version"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("policy document: %w", err)
	}
	var list []statementDoc
	st := bytes.TrimSpace(doc.Statement)
	if len(st) > 0 && st[0] == '{' {
		var one statementDoc
		if err := json.Unmarshal(st, &one); err != nil {
			return nil, fmt.Errorf("policy statement: %w", err)
		}
		list = []statementDoc{one}
	} else if err := json.Unmarshal(st, &list); err != nil {
		return nil, fmt.Errorf("policy statements: %w", err)
	}
	if len(list) == 0 {
		return nil, errors.New("policy document has no statements")
	}
	p := &Policy{Statements: make([]Statement, 0, len(list))}
	for i, sd := range list {
		s, err := parseStatement(sd, kind)
		if err != nil {
			return nil, fmt.Errorf("statement %d: %w", i, err)
		}
		p.Statements = append(p.Statements, s)
	}
	return p, nil
}

func parseStatement(sd statementDoc, kind Kind) (Statement, error) {
	s := Statement{Sid: sd.Sid}
	switch sd.Effect {
	case "Allow":
		s.Allow = true
	case "Deny":
	default:
		return s, fmt.Errorf("the Effect %q must be Allow or Deny", truncate(sd.Effect))
	}
	switch {
	case len(sd.Action) > 0 && len(sd.NotAction) > 0:
		return s, errors.New("has both Action and NotAction")
	case len(sd.Action) > 0:
		s.Actions = lower(sd.Action)
	case len(sd.NotAction) > 0:
		s.Actions, s.NotAction = lower(sd.NotAction), true
	default:
		return s, errors.New("needs an Action or NotAction")
	}
	switch {
	case len(sd.Resource) > 0 && len(sd.NotResource) > 0:
		return s, errors.New("has both Resource and NotResource")
	case len(sd.Resource) > 0:
		s.Resources = sd.Resource
	case len(sd.NotResource) > 0:
		s.Resources, s.NotResource = sd.NotResource, true
	default:
		return s, errors.New("needs a Resource or NotResource")
	}
	hasPrincipal := sd.Principal != nil || sd.NotPrincipal != nil
	switch kind {
	case Identity:
		if hasPrincipal {
			return s, errors.New("an identity policy may not name a Principal")
		}
	case Resource:
		if sd.Principal != nil && sd.NotPrincipal != nil {
			return s, errors.New("has both Principal and NotPrincipal")
		}
		raw := sd.Principal
		if raw == nil {
			raw, s.NotPrincipal = sd.NotPrincipal, true
		}
		if raw == nil {
			return s, errors.New("a resource policy statement needs a Principal or NotPrincipal")
		}
		pr, err := parsePrincipal(raw)
		if err != nil {
			return s, err
		}
		s.Principals = pr
	}
	for op, keys := range sd.Condition {
		for key, rawVals := range keys {
			c, err := parseCondition(op, key, rawVals)
			if err != nil {
				return s, err
			}
			s.Conditions = append(s.Conditions, c)
		}
	}
	return s, nil
}

// parsePrincipal reads "*" or {"AWS": "*" | ARN | account id | [...]}.
func parsePrincipal(raw json.RawMessage) ([]string, error) {
	var star string
	if json.Unmarshal(raw, &star) == nil {
		if star != "*" {
			return nil, fmt.Errorf("the Principal %q must be \"*\" or {\"AWS\": ...}", truncate(star))
		}
		return []string{"*"}, nil
	}
	var m map[string]stringOrList
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("principal: %w", err)
	}
	var out []string
	for k, v := range m {
		if k != "AWS" {
			return nil, fmt.Errorf("principal type %q is not supported (only AWS)", truncate(k))
		}
		out = append(out, v...)
	}
	if len(out) == 0 {
		return nil, errors.New("principal names no one")
	}
	return out, nil
}

// operators are the supported condition operators and whether they negate.
var operators = map[string]bool{
	"StringEquals": false, "StringNotEquals": true, "StringEqualsIgnoreCase": false, "StringNotEqualsIgnoreCase": true,
	"StringLike": false, "StringNotLike": true, "IpAddress": false, "NotIpAddress": true, "Bool": false,
}

func parseCondition(op, key string, raw json.RawMessage) (Condition, error) {
	c := Condition{Op: op}
	if base, ok := strings.CutSuffix(op, "IfExists"); ok {
		c.Op, c.IfExists = base, true
	}
	if _, ok := operators[c.Op]; !ok {
		return c, fmt.Errorf("condition operator %q is not supported (supported: StringEquals, StringNotEquals, StringEqualsIgnoreCase, StringNotEqualsIgnoreCase, StringLike, StringNotLike, IpAddress, NotIpAddress, Bool, each with IfExists)", truncate(op))
	}
	c.Key = strings.ToLower(key)
	known := false
	for _, k := range ConditionKeys {
		known = known || k == c.Key
	}
	if !known {
		return c, fmt.Errorf("condition key %q is not supported (supported: aws:SourceIp, aws:username, aws:userid, aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType, aws:SecureTransport, aws:UserAgent, aws:Referer)", truncate(key))
	}
	var vals stringOrList
	if err := json.Unmarshal(raw, &vals); err != nil {
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return c, fmt.Errorf("condition %s %s: values %w", op, key, err)
		}
		vals = stringOrList{fmt.Sprint(b)}
	}
	c.Values = vals
	if c.Op == "IpAddress" || c.Op == "NotIpAddress" {
		if c.Key != KeySourceIP {
			return c, fmt.Errorf("condition %s takes aws:SourceIp, not %q", op, truncate(key))
		}
		for _, v := range vals {
			pfx, err := parseCIDR(v)
			if err != nil {
				return c, fmt.Errorf("condition %s: %w", op, err)
			}
			c.nets = append(c.nets, pfx)
		}
	}
	return c, nil
}

// parseCIDR reads an IPv4 or IPv6 CIDR, or a bare address (a /32 or /128).
func parseCIDR(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Errorf("%q is not a CIDR block", truncate(s))
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR block", truncate(s))
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func lower(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ToLower(s)
	}
	return out
}

func truncate(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}

// Evaluate answers for req: an explicit deny wins, then an allow; no match is an
// implicit deny. Actions match case-insensitively, resources and principals
// case-sensitively; all take * (any run of characters, "/" included) and ? (one
// character).
func (p *Policy) Evaluate(req Request) Decision {
	d := NoMatch
	for i := range p.Statements {
		st := &p.Statements[i]
		if !st.applies(&req) {
			continue
		}
		if !st.Allow {
			return ExplicitDeny
		}
		d = Allowed
	}
	return d
}

func (st *Statement) applies(req *Request) bool {
	if matchAny(st.Actions, req.Action) == st.NotAction {
		return false
	}
	if matchAny(st.Resources, req.Resource) == st.NotResource {
		return false
	}
	if st.Principals != nil && st.matchPrincipal(req) == st.NotPrincipal {
		return false
	}
	for i := range st.Conditions {
		if !st.Conditions[i].holds(req) {
			return false
		}
	}
	return true
}

// matchPrincipal: "*" is everyone (anonymous callers included); an ARN pattern
// matches the caller's ARN; an account id or arn:aws:iam::ACCOUNT:root matches
// every IAM principal of the account.
func (st *Statement) matchPrincipal(req *Request) bool {
	for _, p := range st.Principals {
		switch {
		case p == "*":
			return true
		case req.Principal == "":
		case p == req.Account && p != "":
			return true
		case strings.HasPrefix(p, "arn:aws:iam::") && strings.HasSuffix(p, ":root"):
			if p == "arn:aws:iam::"+req.Account+":root" {
				return true
			}
		case Match(p, req.Principal):
			return true
		}
	}
	return false
}

func (c *Condition) holds(req *Request) bool {
	var v string
	ok := false
	if req.Value != nil {
		v, ok = req.Value(c.Key)
	}
	if !ok {
		// A missing key: IfExists holds; otherwise a negated operator holds and
		// a positive one does not (IAM's rule).
		return c.IfExists || operators[c.Op]
	}
	switch c.Op {
	case "StringEquals":
		return contains(c.Values, v, false)
	case "StringNotEquals":
		return !contains(c.Values, v, false)
	case "StringEqualsIgnoreCase":
		return contains(c.Values, v, true)
	case "StringNotEqualsIgnoreCase":
		return !contains(c.Values, v, true)
	case "StringLike":
		return matchAny(c.Values, v)
	case "StringNotLike":
		return !matchAny(c.Values, v)
	case "Bool":
		return contains(c.Values, v, true)
	case "IpAddress", "NotIpAddress":
		in := false
		if a, err := netip.ParseAddr(v); err == nil {
			a = a.Unmap()
			for _, n := range c.nets {
				if n.Contains(a) {
					in = true
					break
				}
			}
		}
		return in == (c.Op == "IpAddress")
	}
	return false
}

func contains(vals []string, v string, fold bool) bool {
	for _, x := range vals {
		if x == v || fold && strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// matchAny matches s against patterns (action patterns are lower-cased at
// Parse and Request.Action is lower case).
func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if Match(p, s) {
			return true
		}
	}
	return false
}

// Match reports whether s matches pattern, where * matches any run of
// characters and ? any one character (glob.Match).
func Match(pattern, s string) bool { return glob.Match(pattern, s) }

// ExpandResources returns a copy of p in which resource patterns starting with
// prefix start with replacement instead (a resource policy's "execute-api:/*"
// shorthand names the API's own ARNs).
func (p *Policy) ExpandResources(prefix, replacement string) *Policy {
	out := &Policy{Statements: make([]Statement, len(p.Statements))}
	for i, st := range p.Statements {
		res := make([]string, len(st.Resources))
		for j, r := range st.Resources {
			if rest, ok := strings.CutPrefix(r, prefix); ok {
				r = replacement + rest
			}
			res[j] = r
		}
		st.Resources = res
		out.Statements[i] = st
	}
	return out
}
