package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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

// Policy is a parsed IAM policy document: what an authorizer returns as its
// policyDocument. Read-only after Parse; safe for concurrent use.
type Policy struct {
	Statements []Statement
}

// Statement is one statement of a policy.
type Statement struct {
	Allow     bool
	Actions   []string
	Resources []string
}

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
	Effect   string       `json:"Effect"`
	Action   stringOrList `json:"Action"`
	Resource stringOrList `json:"Resource"`
}

// ParsePolicy parses a policy document ({"Version", "Statement": [...] or {...}}).
// A statement needs an Effect of Allow or Deny, an Action and a Resource.
func ParsePolicy(raw []byte) (*Policy, error) {
	var doc struct {
		Version   string          `json:"Version"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("policy document: %w", err)
	}
	var list []statementDoc
	if len(doc.Statement) > 0 && doc.Statement[0] == '{' {
		var one statementDoc
		if err := json.Unmarshal(doc.Statement, &one); err != nil {
			return nil, fmt.Errorf("policy statement: %w", err)
		}
		list = []statementDoc{one}
	} else if err := json.Unmarshal(doc.Statement, &list); err != nil {
		return nil, fmt.Errorf("policy statements: %w", err)
	}
	p := &Policy{}
	for i, st := range list {
		var allow bool
		switch st.Effect {
		case "Allow":
			allow = true
		case "Deny":
		default:
			return nil, fmt.Errorf("statement %d: Effect %q must be Allow or Deny", i, st.Effect)
		}
		if len(st.Action) == 0 || len(st.Resource) == 0 {
			return nil, fmt.Errorf("statement %d: needs an Action and a Resource", i)
		}
		p.Statements = append(p.Statements, Statement{Allow: allow, Actions: st.Action, Resources: st.Resource})
	}
	return p, nil
}

// Evaluate answers for action (e.g. "execute-api:Invoke") on resource (an ARN):
// an explicit deny wins, then an allow; no match is an implicit deny. Actions
// match case-insensitively, resources case-sensitively; both take * (any run of
// characters, "/" included) and ? (one character).
func (p *Policy) Evaluate(action, resource string) Decision {
	d := NoMatch
	for _, st := range p.Statements {
		if !matchAny(st.Actions, action, true) || !matchAny(st.Resources, resource, false) {
			continue
		}
		if !st.Allow {
			return ExplicitDeny
		}
		d = Allowed
	}
	return d
}

func matchAny(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			if Match(strings.ToLower(p), strings.ToLower(s)) {
				return true
			}
		} else if Match(p, s) {
			return true
		}
	}
	return false
}

// Match reports whether s matches pattern, where * matches any run of
// characters and ? any one character. It runs in O(len(pattern)*len(s)) at
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
