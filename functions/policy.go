package functions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/glob"
	"github.com/portico-dev/portico/internal/ids"
	"github.com/portico-dev/portico/store"
)

// bucketPolicies keeps each function's and each qualifier's resource-based
// policy: name + "\x00" + qualifier ("" for the unqualified function) -> policy.
const bucketPolicies = "policies"

// MaxPolicySize is the largest policy document a function or qualifier may
// have, as Lambda allows (20 KB).
const MaxPolicySize = 20 << 10

// GatewayPrincipal is the service principal API Gateway calls functions as.
const GatewayPrincipal = "apigateway.amazonaws.com"

// Permission is one statement of a resource-based policy, as Lambda's
// AddPermission takes it.
type Permission struct {
	StatementID         string `json:"Sid"`
	Action              string `json:"Action"`
	Principal           string `json:"Principal"`
	SourceArn           string `json:"SourceArn,omitempty"`
	SourceAccount       string `json:"SourceAccount,omitempty"`
	EventSourceToken    string `json:"EventSourceToken,omitempty"`
	PrincipalOrgID      string `json:"PrincipalOrgID,omitempty"`
	FunctionURLAuthType string `json:"FunctionUrlAuthType,omitempty"`
	// InvokedViaFunctionURL limits lambda:InvokeFunction to calls through the
	// function's URL.
	InvokedViaFunctionURL bool `json:"InvokedViaFunctionUrl,omitempty"`
}

// policy is what the store keeps for one function or qualifier.
type policy struct {
	RevisionID string       `json:"RevisionId"`
	Statements []Permission `json:"Statements"`
}

// Patterns of AddPermission's parameters, as Lambda's API model gives them
// (the *Model strings are what its ValidationException quotes).
const (
	statementIDModel = `([a-zA-Z0-9-_.]+)`
	actionModel      = `(lambda:[*]|lambda:[a-zA-Z]+|[*])`
	principalModel   = `[^\s]+`
	sourceArnModel   = `arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)`
	accountModel     = `\d{12}`
	orgIDModel       = `^o-[a-z0-9]{10,32}$`
	tokenModel       = `[a-zA-Z0-9._\-]+` //nolint:gosec // G101: a pattern of EventSourceToken's model, not a credential
)

var (
	statementIDPattern = regexp.MustCompile(`^` + statementIDModel + `$`)
	actionPattern      = regexp.MustCompile(`^` + actionModel + `$`)
	principalPattern   = regexp.MustCompile(`^` + principalModel + `$`)
	sourceArnPattern   = regexp.MustCompile(`^` + sourceArnModel + `$`)
	accountPattern     = regexp.MustCompile(`^` + accountModel + `$`)
	orgIDPattern       = regexp.MustCompile(orgIDModel)
	tokenPattern       = regexp.MustCompile(`^` + tokenModel + `$`)
)

// checkStatementID refuses a StatementId that breaks Lambda's model: its
// pattern, or 1..100 characters.
func checkStatementID(sid string) error {
	var errs []error
	if !statementIDPattern.MatchString(sid) {
		errs = append(errs, Violation("statementId", sid, "satisfy regular expression pattern: "+statementIDModel))
	}
	errs = append(errs, checkLength("statementId", sid, 100))
	return Violations(errs...)
}

// modelPattern is the Violation of member's value v when it is set (or
// required) and does not match re, the model's pattern model.
func modelPattern(member, v string, required bool, re *regexp.Regexp, model string) error {
	if (v == "" && !required) || re.MatchString(v) {
		return nil
	}
	return Violation(member, v, "satisfy regular expression pattern: "+model)
}

// validate refuses a permission whose values break Lambda's API model with
// its ValidationException, every broken member in one answer, as Lambda
// answers; then Portico's own bounds with InvalidParameterValueException.
func (p *Permission) validate() error {
	errs := []error{
		checkStatementID(p.StatementID),
		modelPattern("action", p.Action, true, actionPattern, actionModel),
		modelPattern("principal", p.Principal, true, principalPattern, principalModel),
		modelPattern("sourceArn", p.SourceArn, false, sourceArnPattern, sourceArnModel),
		modelPattern("sourceAccount", p.SourceAccount, false, accountPattern, accountModel),
		modelPattern("principalOrgID", p.PrincipalOrgID, false, orgIDPattern, orgIDModel),
		modelPattern("eventSourceToken", p.EventSourceToken, false, tokenPattern, tokenModel),
		CheckEnum("functionUrlAuthType", p.FunctionURLAuthType, "NONE", "AWS_IAM"),
	}
	if p.EventSourceToken != "" {
		errs = append(errs, checkLength("eventSourceToken", p.EventSourceToken, 256))
	}
	if err := Violations(errs...); err != nil {
		return err
	}
	if len(p.Principal) > 256 {
		return invalidf("Principal %q must be a service (apigateway.amazonaws.com), an account id, an IAM ARN or *, of at most 256 characters", truncate(p.Principal, 200))
	}
	if len(p.SourceArn) > 1024 {
		return invalidf("SourceArn %q is longer than 1024 characters", truncate(p.SourceArn, 200))
	}
	return nil
}

// statementDoc is a statement as GetPolicy and AddPermission show it: IAM's
// policy language, the fields in Lambda's order.
type statementDoc struct {
	Sid       string                       `json:"Sid"`
	Effect    string                       `json:"Effect"`
	Principal any                          `json:"Principal"`
	Action    string                       `json:"Action"`
	Resource  string                       `json:"Resource"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

// principalDoc writes a principal as Lambda does: a service as {"Service": ...},
// an account id as its root ARN, an ARN as {"AWS": ...}, * as "*".
func principalDoc(p string) any {
	switch {
	case p == "*":
		return "*"
	case accountPattern.MatchString(p):
		return map[string]string{"AWS": "arn:aws:iam::" + p + ":root"}
	case strings.HasPrefix(p, "arn:"):
		return map[string]string{"AWS": p}
	}
	return map[string]string{"Service": p}
}

func (p *Permission) doc(resource string) statementDoc {
	d := statementDoc{Sid: p.StatementID, Effect: "Allow", Principal: principalDoc(p.Principal), Action: p.Action, Resource: resource}
	cond := func(op, key, v string) {
		if v == "" {
			return
		}
		if d.Condition == nil {
			d.Condition = map[string]map[string]string{}
		}
		if d.Condition[op] == nil {
			d.Condition[op] = map[string]string{}
		}
		d.Condition[op][key] = v
	}
	cond("ArnLike", "AWS:SourceArn", p.SourceArn)
	cond("StringEquals", "AWS:SourceAccount", p.SourceAccount)
	cond("StringEquals", "aws:PrincipalOrgID", p.PrincipalOrgID)
	cond("StringEquals", "lambda:EventSourceToken", p.EventSourceToken)
	cond("StringEquals", "lambda:FunctionUrlAuthType", p.FunctionURLAuthType)
	if p.InvokedViaFunctionURL {
		cond("Bool", "lambda:InvokedViaFunctionUrl", "true")
	}
	return d
}

// policyDoc is the document GetPolicy answers.
func (p *policy) document(name, qualifier string) ([]byte, error) {
	resource := ARN(name, qualifier)
	doc := struct {
		Version   string         `json:"Version"`
		ID        string         `json:"Id"`
		Statement []statementDoc `json:"Statement"`
	}{Version: "2012-10-17", ID: "default", Statement: make([]statementDoc, len(p.Statements))}
	for i := range p.Statements {
		doc.Statement[i] = p.Statements[i].doc(resource)
	}
	return json.Marshal(doc)
}

func policyKey(name, qualifier string) string { return name + "\x00" + qualifier }

// policyQualifier is the qualifier a policy is kept under: "" for the function
// itself ($LATEST included, as Lambda checks a call to fn:$LATEST against the
// function's policy), a version's number, or an alias.
func policyQualifier(q string) (string, error) {
	switch {
	case q == "" || q == Latest:
		return "", nil
	case ValidQualifier(q):
		return q, nil
	}
	return "", invalidf("Qualifier %q is not a version or an alias name", truncate(q, 200))
}

func noPolicy() error {
	return errdefs.New(errdefs.ErrNotFound, "ResourceNotFoundException", "The resource you requested does not exist.")
}

// qualifierExists is the part of a policy change that checks its function (and
// qualifier) exist, in the change's transaction.
func (s *Service) qualifierExists(name, qualifier string, target *string) []store.Step {
	var steps []store.Step
	if _, isVersion := parseVersion(qualifier); qualifier != "" && !isVersion && s.aliases != nil {
		steps = append(steps, s.aliases.Target(name, qualifier, target))
	}
	return append(steps, func(tx *store.Tx) error {
		if _, err := getLatest(tx, name); err != nil {
			return err
		}
		switch v, isVersion := parseVersion(qualifier); {
		case qualifier == "":
		case isVersion:
			if !tx.Has(bucketVersions, versionKey(name, v)) {
				return notFound(name, qualifier)
			}
		case *target == "":
			return notFound(name, qualifier)
		}
		return nil
	})
}

// AddPermission adds a statement to the resource-based policy of function name
// (qualifier "") or of one of its versions or aliases, as Lambda's
// AddPermission does, and returns the statement as the policy shows it.
// revisionID, when set, must be the policy's current RevisionId.
//
// Portico's gateway calls a function (or qualifier) that has no policy as it
// always has; once the function or qualifier it calls has a policy, the call
// must be allowed by a statement of it (GatewayMayInvoke).
func (s *Service) AddPermission(ctx context.Context, name, qualifier string, p Permission, revisionID string) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	q, err := policyQualifier(qualifier)
	if err != nil {
		return nil, err
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	var target string
	var out []byte
	err = s.st.Together(ctx, append(s.qualifierExists(name, q, &target), func(tx *store.Tx) error {
		var pol policy
		if err := tx.Get(bucketPolicies, policyKey(name, q), &pol); err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			return err
		}
		if revisionID != "" && revisionID != pol.RevisionID {
			return errPolicyPrecondition()
		}
		for _, st := range pol.Statements {
			if st.StatementID == p.StatementID {
				return errdefs.New(errdefs.ErrConflict, "ResourceConflictException",
					fmt.Sprintf("The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", p.StatementID))
			}
		}
		pol.Statements = append(pol.Statements, p)
		doc, err := pol.document(name, q)
		if err != nil {
			return err
		}
		if len(doc) > MaxPolicySize {
			return errdefs.New(errdefs.ErrInvalid, "PolicyLengthExceededException",
				fmt.Sprintf("The final policy size (%d) is bigger than the limit (%d): remove a statement (remove-permission) first.", len(doc), MaxPolicySize))
		}
		pol.RevisionID = ids.UUID()
		if out, err = json.Marshal(p.doc(ARN(name, q))); err != nil {
			return err
		}
		return tx.Put(bucketPolicies, policyKey(name, q), &pol)
	})...)
	if err != nil {
		return nil, err
	}
	s.log.Info("permission added", "function", name, "qualifier", q, "sid", p.StatementID, "principal", p.Principal)
	return out, nil
}

// RemovePermission removes statement sid from the policy of function name or
// of one of its qualifiers; the last statement's removal removes the policy.
func (s *Service) RemovePermission(ctx context.Context, name, qualifier, sid, revisionID string) error {
	if err := checkName(name); err != nil {
		return err
	}
	q, err := policyQualifier(qualifier)
	if err != nil {
		return err
	}
	if err := checkStatementID(sid); err != nil {
		return err
	}
	var target string
	err = s.st.Together(ctx, append(s.qualifierExists(name, q, &target), func(tx *store.Tx) error {
		var pol policy
		if err := tx.Get(bucketPolicies, policyKey(name, q), &pol); err != nil {
			if errors.Is(err, errdefs.ErrNotFound) {
				return errdefs.New(errdefs.ErrNotFound, "ResourceNotFoundException", "No policy is associated with the given resource.")
			}
			return err
		}
		if revisionID != "" && revisionID != pol.RevisionID {
			return errPolicyPrecondition()
		}
		n := len(pol.Statements)
		pol.Statements = deleteStatement(pol.Statements, sid)
		switch {
		case len(pol.Statements) == n:
			return errdefs.New(errdefs.ErrNotFound, "ResourceNotFoundException",
				fmt.Sprintf("Statement %s is not found in resource policy.", sid))
		case len(pol.Statements) == 0:
			return tx.Delete(bucketPolicies, policyKey(name, q))
		}
		pol.RevisionID = ids.UUID()
		return tx.Put(bucketPolicies, policyKey(name, q), &pol)
	})...)
	if err != nil {
		return err
	}
	s.log.Info("permission removed", "function", name, "qualifier", q, "sid", sid)
	return nil
}

func deleteStatement(sts []Permission, sid string) []Permission {
	out := sts[:0:0]
	for _, st := range sts {
		if st.StatementID != sid {
			out = append(out, st)
		}
	}
	return out
}

func errPolicyPrecondition() error {
	return errdefs.New(errdefs.ErrPrecondition, "PreconditionFailedException",
		"The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id")
}

// GetPolicy returns the resource-based policy document of function name or of
// one of its qualifiers, and its RevisionId. A function or qualifier without
// one is ResourceNotFoundException, as in Lambda.
func (s *Service) GetPolicy(ctx context.Context, name, qualifier string) (doc []byte, revisionID string, err error) {
	if err := checkName(name); err != nil {
		return nil, "", err
	}
	q, err := policyQualifier(qualifier)
	if err != nil {
		return nil, "", err
	}
	var target string
	err = s.st.Together(ctx, append(s.qualifierExists(name, q, &target), func(tx *store.Tx) error {
		var pol policy
		if err := tx.Get(bucketPolicies, policyKey(name, q), &pol); err != nil {
			if errors.Is(err, errdefs.ErrNotFound) {
				return noPolicy()
			}
			return err
		}
		revisionID = pol.RevisionID
		doc, err = pol.document(name, q)
		return err
	})...)
	return doc, revisionID, err
}

// GatewayMayInvoke reports whether API Gateway may call function name through
// qualifier (as an integration's or authorizer's URI names it) for a request
// known by the execute-api ARNs from gives (the method's or route's, or the
// authorizer's; asked only when there is a policy). A function without any
// policy, on itself or on a version or alias, may be called through any
// qualifier, as Portico's gateway always has. Once it has one, the function
// (and $LATEST), a version and an alias may each be called only when its own
// policy, or for a version or alias without one the function's, has a
// statement that allows
// lambda:InvokeFunction to apigateway.amazonaws.com (or *) with a SourceArn
// (if any) matching one of sourceARNs, and a SourceAccount (if any) that is
// Portico's account. Statements with conditions no gateway call meets
// (PrincipalOrgID, EventSourceToken, FunctionUrlAuthType,
// InvokedViaFunctionUrl) never allow it.
func (s *Service) GatewayMayInvoke(ctx context.Context, name, qualifier string, from CallSource) (bool, error) {
	q, err := policyQualifier(qualifier)
	if err != nil {
		return false, err
	}
	pol, err := s.policies.Get(viewKey{name, q}, func() (*policy, error) {
		var out *policy
		err := s.st.View(ctx, func(tx *store.Tx) error {
			var pol policy
			switch err := tx.Get(bucketPolicies, policyKey(name, q), &pol); {
			case errors.Is(err, errdefs.ErrNotFound):
				// No policy of its own. A version or alias falls back to
				// the function's policy (stores from older builds grant
				// there the calls their integrations make through aliases);
				// else it is open only while the function has none
				// anywhere, and otherwise a policy without statements.
				if q != "" {
					var fp policy
					switch err := tx.Get(bucketPolicies, policyKey(name, ""), &fp); {
					case err == nil:
						out = &fp
						return nil
					case !errors.Is(err, errdefs.ErrNotFound):
						return err
					}
				}
				err := tx.ForEach(bucketPolicies, name+"\x00", func(string, []byte) error { return errFound })
				switch {
				case errors.Is(err, errFound):
					out = &policy{}
				case err != nil:
					return err
				}
				return nil
			case err != nil:
				return err
			}
			out = &pol
			return nil
		})
		return out, err
	})
	if err != nil || pol == nil {
		return err == nil, err
	}
	arns := from.SourceARNs()
	for i := range pol.Statements {
		if pol.Statements[i].allowsGateway(arns) {
			return true, nil
		}
	}
	return false, nil
}

// errFound stops a walk of the store at its first key.
var errFound = errors.New("found")

// CallSource names a call the gateway makes: the execute-api ARNs a
// statement's SourceArn may match. An interface rather than a func, so that
// the gateway hands over a pointer it has without allocating a closure.
type CallSource interface {
	SourceARNs() []string
}

// SourceList is a CallSource of fixed ARNs.
type SourceList []string

// SourceARNs implements CallSource.
func (l SourceList) SourceARNs() []string { return l }

func (p *Permission) allowsGateway(sourceARNs []string) bool {
	switch strings.ToLower(p.Action) {
	case "lambda:invokefunction", "lambda:*", "*":
	default:
		return false
	}
	if p.Principal != "*" && p.Principal != GatewayPrincipal {
		return false
	}
	if p.PrincipalOrgID != "" || p.EventSourceToken != "" || p.FunctionURLAuthType != "" || p.InvokedViaFunctionURL {
		return false
	}
	if p.SourceAccount != "" && p.SourceAccount != AccountID {
		return false
	}
	if p.SourceArn == "" {
		return true
	}
	for _, arn := range sourceARNs {
		if glob.Match(p.SourceArn, arn) {
			return true
		}
	}
	return false
}
