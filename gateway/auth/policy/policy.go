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
// (or narrow what it denies). The grammar is read as strictly as IAM reads it,
// for the same reason: element names are case-sensitive, a name given twice and
// an element IAM does not have are refused, and the Version is 2012-10-17,
// 2008-10-17 or absent.
package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
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
	// resVars, when the statement's Resources hold policy variables
	// (Version 2012-10-17), is each resource's pattern with them, nil for
	// one without.
	resVars []*varPattern
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
	// valVars is as Statement.resVars, for Values.
	valVars []*varPattern
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
	Sid          string
	Effect       string
	Action       stringOrList
	NotAction    stringOrList
	Resource     stringOrList
	NotResource  stringOrList
	Principal    json.RawMessage
	NotPrincipal json.RawMessage
	Condition    []conditionBlock
}

// conditionBlock is one operator of a Condition with its keys' values, in the
// document's order.
type conditionBlock struct {
	op   string
	keys []member
}

// member is one name and value of a JSON object.
type member struct {
	name string
	raw  json.RawMessage
}

// Elements of a policy document and of a statement, as IAM spells them.
var (
	documentElements  = []string{"Version", "Id", "Statement"}
	statementElements = []string{"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)

// Policy language versions IAM knows; a document without one is 2008-10-17.
// Policies of VersionVariables have variables (${aws:username}); in the
// others the same text is literal, as IAM reads it.
const (
	VersionVariables = "2012-10-17"
	VersionLiteral   = "2008-10-17"
)

// members reads raw as a JSON object, strictly as IAM reads a policy: a name
// given twice is refused (encoding/json would keep the last value), and so,
// when elements is not nil, is a name that is not one of them, compared
// case-sensitively (encoding/json would take "effect" for "Effect"). what
// names the object in errors.
func members(raw []byte, what string, elements []string) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%s must be a JSON object", what)
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		name, _ := tok.(string)
		for _, m := range out {
			if m.name == name {
				return nil, fmt.Errorf("%s names %q twice", what, truncate(name))
			}
		}
		if elements != nil && !slices.Contains(elements, name) {
			for _, e := range elements {
				if strings.EqualFold(e, name) {
					return nil, fmt.Errorf("%s has the element %q: element names are case-sensitive (%q)", what, truncate(name), e)
				}
			}
			return nil, fmt.Errorf("%s has the element %q, which is not one of %s", what, truncate(name), strings.Join(elements, ", "))
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, member{name: name, raw: v})
	}
	if _, err := dec.Token(); err != nil { // the closing }
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: data after the object", what)
	}
	return out, nil
}

// CheckFields refuses a JSON object that encoding/json would read otherwise
// than its author meant: one naming a member twice (encoding/json keeps the
// last value, so a second "policyDocument" would override the first) or
// naming one in another letter case than a field of fields (encoding/json
// would take "PolicyDocument" or "ISAUTHORIZED" for it). Other names are
// allowed. raw must be a JSON object; what names it in errors, which quote
// names only, never values. It returns the members by name.
func CheckFields(raw []byte, what string, fields ...string) (map[string]json.RawMessage, error) {
	ms, err := members(raw, what, nil)
	if err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(ms))
	for _, m := range ms {
		for _, f := range fields {
			if m.name != f && strings.EqualFold(m.name, f) {
				return nil, fmt.Errorf("%s has the field %q: field names are case-sensitive (%q)", what, truncate(m.name), f)
			}
		}
		out[m.name] = m.raw
	}
	return out, nil
}

// parseStatementDoc reads one statement's elements strictly (members).
func parseStatementDoc(raw []byte, what string) (statementDoc, error) {
	var sd statementDoc
	ms, err := members(raw, what, statementElements)
	if err != nil {
		return sd, err
	}
	for _, m := range ms {
		var err error
		switch m.name {
		case "Sid":
			err = json.Unmarshal(m.raw, &sd.Sid)
		case "Effect":
			err = json.Unmarshal(m.raw, &sd.Effect)
		case "Action":
			err = json.Unmarshal(m.raw, &sd.Action)
		case "NotAction":
			err = json.Unmarshal(m.raw, &sd.NotAction)
		case "Resource":
			err = json.Unmarshal(m.raw, &sd.Resource)
		case "NotResource":
			err = json.Unmarshal(m.raw, &sd.NotResource)
		case "Principal":
			sd.Principal = m.raw
		case "NotPrincipal":
			sd.NotPrincipal = m.raw
		case "Condition":
			sd.Condition, err = parseConditionDoc(m.raw)
		}
		if err != nil {
			return sd, fmt.Errorf("%s: %s: %w", what, m.name, err)
		}
	}
	return sd, nil
}

// parseConditionDoc reads a Condition element: operators, each with keys and
// their values, no name twice in either.
func parseConditionDoc(raw []byte) ([]conditionBlock, error) {
	ops, err := members(raw, "the Condition", nil)
	if err != nil {
		return nil, err
	}
	out := make([]conditionBlock, 0, len(ops))
	for _, op := range ops {
		keys, err := members(op.raw, "the condition "+strconv.Quote(truncate(op.name)), nil)
		if err != nil {
			return nil, err
		}
		out = append(out, conditionBlock{op: op.name, keys: keys})
	}
	return out, nil
}

// Parse parses a policy document ({"Version", "Id", "Statement": [...] or
// {...}}) of the given kind, strictly as IAM does: element names are
// case-sensitive, none may be given twice, an element IAM's grammar does not
// have is refused (never ignored), and the Version is 2012-10-17, 2008-10-17 or
// absent. A statement needs an Effect of Allow or Deny, an Action or NotAction
// and a Resource or NotResource; resource policies need a Principal or
// NotPrincipal, identity policies may not have one.
func Parse(raw []byte, kind Kind) (*Policy, error) {
	top, err := members(raw, "the policy document", documentElements)
	if err != nil {
		return nil, err
	}
	var version string
	var st json.RawMessage
	for _, m := range top {
		switch m.name {
		case "Version":
			if json.Unmarshal(m.raw, &version) != nil {
				return nil, errors.New("the policy document's Version must be a string")
			}
			if version != VersionVariables && version != VersionLiteral {
				return nil, fmt.Errorf("the policy document's Version %q is not %s or %s", truncate(version), VersionVariables, VersionLiteral)
			}
		case "Id":
			var id string
			if json.Unmarshal(m.raw, &id) != nil {
				return nil, errors.New("the policy document's Id must be a string")
			}
		case "Statement":
			st = bytes.TrimSpace(m.raw)
		}
	}
	var list []statementDoc
	if len(st) > 0 && st[0] == '{' {
		one, err := parseStatementDoc(st, "statement 0")
		if err != nil {
			return nil, err
		}
		list = []statementDoc{one}
	} else {
		var raws []json.RawMessage
		if err := json.Unmarshal(st, &raws); err != nil {
			return nil, errors.New("the policy document's Statement must be a statement or a list of statements")
		}
		for i, r := range raws {
			one, err := parseStatementDoc(r, "statement "+strconv.Itoa(i))
			if err != nil {
				return nil, err
			}
			list = append(list, one)
		}
	}
	if len(list) == 0 {
		return nil, errors.New("policy document has no statements")
	}
	p := &Policy{Statements: make([]Statement, 0, len(list))}
	for i, sd := range list {
		s, err := parseStatement(sd, kind)
		if err == nil && version == VersionVariables {
			err = s.parseVariables(kind)
		}
		if err != nil {
			return nil, fmt.Errorf("statement %d: %w", i, err)
		}
		p.Statements = append(p.Statements, s)
	}
	return p, nil
}

// varPattern is a resource pattern or condition value holding policy
// variables: its pieces are the document's text (whose * and ? stay
// wildcards), a variable (the request's value, matched as literal text), or
// ${*}, ${?}, ${$} (the character itself, literal).
type varPattern struct {
	pieces []piece
}

type piece struct {
	text    string // the document's text, or a literal character
	literal bool   // text is matched as it is, never as a wildcard
	key     string // a variable's condition key (lower case); "" for text
	def     string // the variable's default value, when hasDef
	hasDef  bool
}

// parseVariables finds the policy variables of the statement's resources and
// condition values (Version 2012-10-17). A variable must name a condition key
// Parse accepts (ConditionKeys), optionally with a default value
// (${aws:username, 'nobody'}); an authorizer's policy may not hold any (its
// request has no keys to substitute).
func (st *Statement) parseVariables(kind Kind) error {
	for i, r := range st.Resources {
		vp, err := parseVarPattern(r)
		if err != nil {
			return err
		}
		if vp != nil {
			if kind == Authorizer {
				return fmt.Errorf("policy variables (%q) are not supported in an authorizer's policy", truncate(r))
			}
			if st.resVars == nil {
				st.resVars = make([]*varPattern, len(st.Resources))
			}
			st.resVars[i] = vp
		}
	}
	for ci := range st.Conditions {
		c := &st.Conditions[ci]
		for i, v := range c.Values {
			vp, err := parseVarPattern(v)
			if err != nil {
				return err
			}
			if vp != nil {
				if kind == Authorizer {
					return fmt.Errorf("policy variables (%q) are not supported in an authorizer's policy", truncate(v))
				}
				if c.valVars == nil {
					c.valVars = make([]*varPattern, len(c.Values))
				}
				c.valVars[i] = vp
			}
		}
	}
	return nil
}

// parseVarPattern reads the policy variables of s: nil when it has none.
func parseVarPattern(s string) (*varPattern, error) {
	if !strings.Contains(s, "${") {
		return nil, nil
	}
	vp := &varPattern{}
	rest := s
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			if rest != "" {
				vp.pieces = append(vp.pieces, piece{text: rest})
			}
			return vp, nil
		}
		if i > 0 {
			vp.pieces = append(vp.pieces, piece{text: rest[:i]})
		}
		end := strings.IndexByte(rest[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("policy variable %q is not closed with }", truncate(rest[i:]))
		}
		whole, body := rest[i:i+end+1], strings.TrimSpace(rest[i+2:i+end])
		rest = rest[i+end+1:]
		switch body {
		case "*", "?", "$":
			vp.pieces = append(vp.pieces, piece{text: body, literal: true})
			continue
		}
		name, def, hasDef := strings.Cut(body, ",")
		pc := piece{key: strings.ToLower(strings.TrimSpace(name)), hasDef: hasDef}
		if hasDef {
			d := strings.TrimSpace(def)
			if len(d) < 2 || d[0] != '\'' || d[len(d)-1] != '\'' {
				return nil, fmt.Errorf("policy variable %q: its default value must be in single quotes", truncate(whole))
			}
			pc.def = d[1 : len(d)-1]
		}
		if !slices.Contains(ConditionKeys, pc.key) {
			return nil, fmt.Errorf("policy variable %q is not supported (supported: ${aws:username}, ${aws:userid}, ${aws:PrincipalArn}, ${aws:PrincipalAccount}, ${aws:PrincipalType}, ${aws:SourceIp}, ${aws:SecureTransport}, ${aws:UserAgent}, ${aws:Referer}, and ${*}, ${?}, ${$})", truncate(whole))
		}
		vp.pieces = append(vp.pieces, pc)
	}
}

// resolve appends the pattern with req's values to pat, and to lit whether
// each byte is literal; false when a variable has no value and no default
// (then the pattern matches nothing).
func (vp *varPattern) resolve(req *Request, pat []byte, lit []bool) ([]byte, []bool, bool) {
	for _, pc := range vp.pieces {
		text, literal := pc.text, pc.literal
		if pc.key != "" {
			v, ok := "", false
			if req.Value != nil {
				v, ok = req.Value(pc.key)
			}
			switch {
			case ok:
				text = v
			case pc.hasDef:
				text = pc.def
			default:
				return pat, lit, false
			}
			literal = true
		}
		pat = append(pat, text...)
		for range len(text) {
			lit = append(lit, literal)
		}
	}
	return pat, lit, true
}

// matchVar reports whether s matches vp with req's values: as a glob (the
// variables' values literal) when glob, else equal (case-insensitively when
// fold).
func (vp *varPattern) matchVar(req *Request, s string, glob, fold bool) bool {
	var pbuf [128]byte
	var lbuf [128]bool
	pat, lit, ok := vp.resolve(req, pbuf[:0], lbuf[:0])
	switch {
	case !ok:
		return false
	case glob:
		return matchLiteral(pat, lit, s)
	case fold:
		return strings.EqualFold(string(pat), s)
	}
	return string(pat) == s
}

// matchLiteral is glob.Match where the bytes of pattern marked literal are
// never wildcards.
func matchLiteral(pattern []byte, literal []bool, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*' && !literal[p]:
			star, mark = p, i
			p++
		case p < len(pattern) && (pattern[p] == '?' && !literal[p] || pattern[p] == s[i]):
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
	for p < len(pattern) && pattern[p] == '*' && !literal[p] {
		p++
	}
	return p == len(pattern)
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
	for _, block := range sd.Condition {
		for _, k := range block.keys {
			c, err := parseCondition(block.op, k.name, k.raw)
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
	ms, err := members(raw, "the Principal", nil)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range ms {
		if m.name != "AWS" {
			return nil, fmt.Errorf("principal type %q is not supported (only AWS)", truncate(m.name))
		}
		var v stringOrList
		if err := json.Unmarshal(m.raw, &v); err != nil {
			return nil, fmt.Errorf("principal: %w", err)
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
	if st.matchResource(req) == st.NotResource {
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

// matchResource reports whether one of the statement's resources matches
// the request's, its policy variables substituted.
func (st *Statement) matchResource(req *Request) bool {
	if st.resVars == nil {
		return matchAny(st.Resources, req.Resource)
	}
	for i, r := range st.Resources {
		if vp := st.resVars[i]; vp != nil {
			if vp.matchVar(req, req.Resource, true, false) {
				return true
			}
		} else if Match(r, req.Resource) {
			return true
		}
	}
	return false
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
		return c.contains(req, v, false)
	case "StringNotEquals":
		return !c.contains(req, v, false)
	case "StringEqualsIgnoreCase":
		return c.contains(req, v, true)
	case "StringNotEqualsIgnoreCase":
		return !c.contains(req, v, true)
	case "StringLike":
		return c.like(req, v)
	case "StringNotLike":
		return !c.like(req, v)
	case "Bool":
		return c.contains(req, v, true)
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

// contains reports whether one of the condition's values, its policy
// variables substituted, is v.
func (c *Condition) contains(req *Request, v string, fold bool) bool {
	if c.valVars == nil {
		return contains(c.Values, v, fold)
	}
	for i, x := range c.Values {
		if vp := c.valVars[i]; vp != nil {
			if vp.matchVar(req, v, false, fold) {
				return true
			}
		} else if x == v || fold && strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// like reports whether v matches one of the condition's values as a pattern,
// its policy variables substituted.
func (c *Condition) like(req *Request, v string) bool {
	if c.valVars == nil {
		return matchAny(c.Values, v)
	}
	for i, x := range c.Values {
		if vp := c.valVars[i]; vp != nil {
			if vp.matchVar(req, v, true, false) {
				return true
			}
		} else if Match(x, v) {
			return true
		}
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
		var vars []*varPattern
		if st.resVars != nil {
			vars = make([]*varPattern, len(st.resVars))
		}
		for j, r := range st.Resources {
			if rest, ok := strings.CutPrefix(r, prefix); ok {
				r = replacement + rest
				if vars != nil && st.resVars[j] != nil {
					// The prefix is text: it stays the first piece's start.
					vp := &varPattern{pieces: slices.Clone(st.resVars[j].pieces)}
					if len(vp.pieces) > 0 && vp.pieces[0].key == "" && !vp.pieces[0].literal && strings.HasPrefix(vp.pieces[0].text, prefix) {
						vp.pieces[0].text = replacement + strings.TrimPrefix(vp.pieces[0].text, prefix)
					}
					vars[j] = vp
					res[j] = r
					continue
				}
			}
			res[j] = r
			if vars != nil {
				vars[j] = st.resVars[j]
			}
		}
		st.Resources, st.resVars = res, vars
		out.Statements[i] = st
	}
	return out
}
