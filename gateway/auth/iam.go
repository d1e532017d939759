package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/auth/policy"
	"github.com/portico-dev/portico/gateway/iam"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/rawquery"
	"github.com/portico-dev/portico/internal/signin"
	"github.com/portico-dev/portico/internal/sigv4"
)

// Principals finds the IAM principal of an access key id; *iam.Service
// satisfies it.
type Principals interface {
	Lookup(accessKeyID string) (*iam.Principal, bool)
}

// SetPrincipals sets the IAM principals AWS_IAM routes are checked against.
// Without them every signed request is refused (no key is known).
func (s *Stage) SetPrincipals(p Principals) { s.principals = p }

// SigV4MaxSkew is how far a signed request's X-Amz-Date may be from the
// gateway's clock (API Gateway allows 5 minutes).
const SigV4MaxSkew = 5 * time.Minute

// AWS's answers for requests whose signature fails, by what failed.
const (
	msgInvalidSignature = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgUnknownKey       = "The security token included in the request is invalid."
)

// verifier returns the SigV4 verifier of AWS_IAM routes: service execute-api
// in Portico's region (functions.Region),
// keys from the principals, on the stage's clock, signing keys cached.
func (s *Stage) verifier() *sigv4.Verifier {
	s.verifierOnce.Do(func() {
		s.sigv4 = &sigv4.Verifier{Service: "execute-api", Region: functions.Region, MaxSkew: SigV4MaxSkew, Keys: &s.signingKeys,
			Now: func() time.Time { return s.now() },
			Secret: func(id string) (string, bool) {
				if s.principals == nil {
					return "", false
				}
				p, ok := s.principals.Lookup(id)
				if !ok || !p.Active {
					return "", false
				}
				return p.Secret, true
			}}
	})
	return s.sigv4
}

// signed reports whether r carries a SigV4 signature (header or presigned).
func signed(r *http.Request) bool {
	return r.Header.Get("Authorization") != "" || strings.Contains(r.URL.RawQuery, "X-Amz-Algorithm=")
}

// SetSignIns makes AWS_IAM routes (and $connect) count the signatures that
// fail in l, the limiter of failed sign-ins the admin API shares, per client
// address ($context.identity.sourceIp), and refuse a client that failed too
// often with 429 TooManyRequestsException and Retry-After, before its
// signature is checked. Call it before serving.
func (s *Stage) SetSignIns(l *signin.Limiter) { s.signIns = l }

// tooManySignIns is the gateway's answer to a client that must wait d before
// its signatures are checked again: THROTTLED (429 TooManyRequestsException,
// "Too Many Requests") with Retry-After.
func tooManySignIns(d time.Duration) error {
	return &pipeline.Error{Type: pipeline.Throttled, Header: http.Header{"Retry-After": {signin.RetryAfter(d)}},
		Cause: fmt.Errorf("too many failed signatures from this address: wait %s", signin.RetryAfter(d)+" s")}
}

// verifySigV4 checks r's signature and returns its principal, or the error AWS
// answers: 403 MissingAuthenticationTokenException when unsigned,
// IncompleteSignatureException when the signature does not parse,
// UnrecognizedClientException for an unknown key, InvalidSignatureException
// when it does not match or is out of date; 429 while the client has failed
// too often (SetSignIns). A failure counts against the client.
func (s *Stage) verifySigV4(r *http.Request, c *pipeline.Context) (*iam.Principal, error) {
	if signed(r) {
		if d := s.signIns.Wait(c.Identity.SourceIP, s.now()); d > 0 {
			return nil, tooManySignIns(d)
		}
	}
	p, err := s.checkSigV4(r, c)
	if err != nil && signed(r) {
		s.signIns.Failed(c.Identity.SourceIP, s.now())
	}
	return p, err
}

// checkSigV4 is verifySigV4 without the limit.
func (s *Stage) checkSigV4(r *http.Request, c *pipeline.Context) (*iam.Principal, error) {
	if !signed(r) {
		return nil, pipeline.Errorf(pipeline.MissingAuthenticationToken, "AWS_IAM route %s %s: request is not signed", c.HTTPMethod, c.ResourcePath)
	}
	if err := sigv4.OneAuthorization(r.Header); err != nil {
		return nil, sigv4Error(err)
	}
	v := s.verifier()
	// The query as the client signed it: the check stage splits a raw ';'
	// into '&', which AWS's canonical query does not.
	p, err := v.CheckQuery(r, rawquery.ClientQuery(r))
	if err == nil {
		var body []byte
		if body, err = c.ReadBody(r); err != nil {
			return nil, err
		}
		err = p.VerifyBody(body)
	}
	if err != nil {
		return nil, sigv4Error(err)
	}
	pr, ok := s.principals.Lookup(p.Credential.AccessKeyID)
	if !ok || !pr.Active {
		return nil, sigv4Error(sigv4.ErrUnknownKey)
	}
	return pr, nil
}

// sigv4Error maps a sigv4 error to API Gateway's answer. The reason goes to the
// log only; no part of the Authorization header is echoed.
func sigv4Error(err error) error {
	if inc, ok := errors.AsType[*sigv4.IncompleteError](err); ok {
		return &pipeline.Error{Type: pipeline.InvalidSignature, ErrorType: "IncompleteSignatureException", Message: inc.Message, Cause: err}
	}
	if de, ok := errors.AsType[*sigv4.DateError](err); ok {
		return &pipeline.Error{Type: pipeline.InvalidSignature, Message: de.Message(), Cause: err}
	}
	var scope *sigv4.ScopeError
	switch {
	case errors.As(err, &scope):
		return &pipeline.Error{Type: pipeline.InvalidSignature, Message: scope.Message(), Cause: err}
	case errors.Is(err, sigv4.ErrMissing), errors.Is(err, sigv4.ErrMalformed):
		return &pipeline.Error{Type: pipeline.InvalidSignature, ErrorType: "IncompleteSignatureException",
			Message: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
			Cause: err}
	case errors.Is(err, sigv4.ErrUnknownKey):
		return &pipeline.Error{Type: pipeline.InvalidSignature, ErrorType: "UnrecognizedClientException", Message: msgUnknownKey, Cause: err}
	case errors.Is(err, sigv4.ErrMismatch):
		return &pipeline.Error{Type: pipeline.InvalidSignature, Message: msgInvalidSignature, Cause: err}
	}
	return err
}

// setIdentity fills $context.identity for an IAM caller, as API Gateway does:
// user and caller are the user id, userArn its ARN.
func setIdentity(c *pipeline.Context, p *iam.Principal) {
	c.Identity.AccessKey, c.Identity.Caller, c.Identity.User = p.AccessKeyID, p.UserID, p.UserID
	c.Identity.UserARN, c.Identity.AccountID = p.ARN, functions.AccountID
	c.Authorizer = pipeline.Authorizer{Kind: "iam"}
}

// conditionValues answers the policy condition keys for a request.
type conditionValues struct {
	r      *http.Request
	c      *pipeline.Context
	caller *iam.Principal
}

func (v *conditionValues) value(key string) (string, bool) {
	switch key {
	case policy.KeySourceIP:
		return v.c.Identity.SourceIP, v.c.Identity.SourceIP != ""
	case policy.KeyUserAgent:
		ua := v.r.UserAgent()
		return ua, ua != ""
	case policy.KeyReferer:
		ref := v.r.Referer()
		return ref, ref != ""
	case policy.KeySecureTransport:
		if v.r.TLS != nil {
			return "true", true
		}
		return "false", true
	}
	if v.caller == nil {
		return "", false
	}
	switch key {
	case policy.KeyUsername:
		return v.caller.UserName, true
	case policy.KeyUserID:
		return v.caller.UserID, true
	case policy.KeyPrincipalARN:
		return v.caller.ARN, true
	case policy.KeyPrincipalAccount:
		return functions.AccountID, true
	case policy.KeyPrincipalType:
		return "User", true
	}
	return "", false
}

// policyRequest is the request a policy sees for action on arn.
func policyRequest(r *http.Request, c *pipeline.Context, caller *iam.Principal, action, arn string) policy.Request {
	req := policy.Request{Action: action, Resource: arn}
	if caller != nil {
		req.Principal, req.Account = caller.ARN, functions.AccountID
	}
	cv := &conditionValues{r: r, c: c, caller: caller}
	req.Value = cv.value
	return req
}

// notAuthorized is API Gateway's 403 for a caller that a policy does not allow:
// {"Message":"User: <arn or anonymous> is not authorized to perform:
// execute-api:Invoke on resource: <arn>[ with an explicit deny]"}.
func notAuthorized(caller *iam.Principal, action, arn string, explicit bool, why string) error {
	who := "anonymous"
	if caller != nil {
		who = caller.ARN
	}
	msg := "User: " + who + " is not authorized to perform: " + action + " on resource: " + arn
	if explicit {
		msg += " with an explicit deny"
	}
	return &pipeline.Error{Type: pipeline.AccessDenied, Message: msg, MessageKey: "Message", Cause: errors.New(why)}
}

// resourcePolicy compiles a REST API's resource policy for the deployment:
// "execute-api:/..." resources become the API's ARNs, as AWS stores them.
func resourcePolicy(d *pipeline.Deployed) (*policy.Policy, error) {
	p, err := d.API.ResourcePolicy()
	if err != nil || p == nil {
		return nil, err
	}
	return p.ExpandResources("execute-api:/", "arn:aws:execute-api:"+functions.Region+":"+functions.AccountID+":"+d.API.ID+"/"), nil
}

// authorizeIAM decides an AWS_IAM request by AWS's table for IAM and resource
// policies in one account: an explicit deny in either wins; otherwise an allow
// in either admits; otherwise the implicit deny.
func authorizeIAM(r *http.Request, c *pipeline.Context, caller *iam.Principal, rp policy.Decision, arn string) error {
	d := caller.Evaluate(policyRequest(r, c, caller, policy.ActionInvoke, arn))
	switch {
	case d == policy.ExplicitDeny:
		return notAuthorized(caller, "execute-api:Invoke", arn, true, "an identity policy denies")
	case d == policy.NoMatch && rp != policy.Allowed:
		return notAuthorized(caller, "execute-api:Invoke", arn, false, "no identity or resource policy allows")
	}
	return nil
}

// callerInvokeARN names the function an integration with the caller's
// credentials calls, as the ARN its lambda:InvokeFunction is checked on (with
// the qualifier, as Lambda checks a qualified invocation).
func callerInvokeARN(uri string, vars map[string]string) (string, error) {
	uri, err := apis.SubstituteStageVariables(uri, vars)
	if err != nil {
		return "", err
	}
	ref, err := apis.FunctionRef(uri)
	if err != nil {
		return "", err
	}
	return functions.ARN(ref.Name, ref.Qualifier), nil
}

// authorizeCallerInvoke checks, for an integration that calls its function
// with the caller's credentials, that the caller's policies allow
// lambda:InvokeFunction on it. As API Gateway does, a refusal is a 500
// API_CONFIGURATION_ERROR ("Invalid permissions on Lambda function"), not a
// 403: the method admitted the caller, the integration could not run.
func authorizeCallerInvoke(r *http.Request, c *pipeline.Context, caller *iam.Principal, a *compiled) error {
	if a.invokeARN == "" && a.invokeErr == nil {
		return nil
	}
	if a.invokeErr != nil {
		return pipeline.Errorf(pipeline.APIConfigurationError, "Execution failed due to configuration error: integration function: %v", a.invokeErr)
	}
	if caller.Evaluate(policyRequest(r, c, caller, policy.ActionInvokeFunction, a.invokeARN)) != policy.Allowed {
		return pipeline.Errorf(pipeline.APIConfigurationError, "Execution failed due to configuration error: Invalid permissions on Lambda function: %s may not lambda:InvokeFunction on %s with its own credentials", caller.ARN, a.invokeARN)
	}
	return nil
}

// AuthorizeInvalidation implements the cache stage's hook: it reports whether
// r may invalidate its cache entry (Cache-Control: max-age=0), that is whether
// its caller is an IAM principal (the AWS_IAM route's, or one whose signature
// verifies now) whose policies allow execute-api:InvalidateCache on the
// method's ARN. err is the error of a signature that does not verify with an
// IAM key (an unknown key included: the admin token's, say); the cache stage,
// which checks the admin token's signature next, counts the failed sign-in.
func (s *Stage) AuthorizeInvalidation(r *http.Request, c *pipeline.Context) (allowed bool, err error) {
	var caller *iam.Principal
	switch {
	case s.principals == nil:
		return false, sigv4.ErrUnknownKey
	case c.Identity.AccessKey != "" && c.Authorizer.Kind == "iam":
		p, ok := s.principals.Lookup(c.Identity.AccessKey)
		if !ok || !p.Active {
			return false, nil
		}
		caller = p
	default:
		p, err := s.checkSigV4(r, c)
		if err != nil {
			return false, err
		}
		caller = p
	}
	return caller.Evaluate(policyRequest(r, c, caller, policy.ActionInvalidateCache, MethodARN(c))) == policy.Allowed, nil
}

// authorizeConnectIAM checks an AWS_IAM $connect: the upgrade request's
// signature (pipeline.RequestFrom(ctx)) and the caller's policies for
// execute-api:Invoke on arn:...:{apiId}/{stage}/$connect. The $connect event's
// requestContext.identity then names the caller.
func (s *Stage) authorizeConnectIAM(ctx context.Context, route *apis.Route, ev *events.APIGatewayWebsocketProxyRequest) error {
	r := pipeline.RequestFrom(ctx)
	if r == nil {
		return configError("route %s: AWS_IAM needs the upgrade request, which the gateway did not pass", route.RouteKey)
	}
	rc := &ev.RequestContext
	c := &pipeline.Context{APIID: rc.APIID, Stage: rc.Stage, RequestID: rc.RequestID, Protocol: apis.ProtocolWebSocket,
		RouteKey: route.RouteKey, ResourcePath: route.RouteKey, HTTPMethod: r.Method,
		Identity: pipeline.Identity{SourceIP: rc.Identity.SourceIP, UserAgent: rc.Identity.UserAgent}}
	caller, err := s.verifySigV4(r, c)
	if err != nil {
		return err
	}
	arn := "arn:aws:execute-api:" + functions.Region + ":" + functions.AccountID + ":" + rc.APIID + "/" + rc.Stage + "/" + route.RouteKey
	if err := authorizeIAM(r, c, caller, policy.NoMatch, arn); err != nil {
		return err
	}
	rc.Identity.AccessKey, rc.Identity.Caller, rc.Identity.User = caller.AccessKeyID, caller.UserID, caller.UserID
	rc.Identity.UserArn, rc.Identity.AccountID = caller.ARN, functions.AccountID
	return nil
}
