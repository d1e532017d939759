package admin

import (
	"net/http"
	"strings"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/sigv4"
)

// Requests for AWS services Portico does not serve. With --endpoint-url
// pointing at the admin port, an AWS client sends every service's calls
// there, and the JSON and query protocols all POST to "/": without this,
// `aws logs get-log-events` reached IAM's query API and was refused as a
// signature scoped to the wrong service ('iam'), which reads as a credentials
// problem.

// unservedHints says, for a service whose calls users commonly send to the
// admin port, what Portico has instead.
var unservedHints = map[string]struct{ name, hint string }{
	"logs": {"CloudWatch Logs", "A function's logs are `portico logs FUNCTION` (--follow to follow them), " +
		"or GET /portico/v1/functions/NAME/logs on this port; access logs go to the destination a stage's access log names."},
	"monitoring": {"CloudWatch", "Portico's metrics are Prometheus text on GET /metrics (the --metrics-listen port, or this one)."},
	"xray":       {"X-Ray", "Portico exports traces over OTLP (--otlp-endpoint)."},
}

// served are the signing names of the services the admin port serves, and
// STS's: a POST / signed for one of them is IAM's call with a signature of
// the wrong scope (or STS's, noSTS), which authentication answers as such.
var served = map[string]bool{"iam": true, "sts": true, "lambda": true, "apigateway": true, "codedeploy": true}

// unservedTargets maps the prefix of an X-Amz-Target to its service's
// signing name, for a call signed with none (an unsigned one).
var unservedTargets = map[string]string{"Logs_20140328": "logs", "GraniteServiceVersion20100801": "monitoring"}

// unservedService returns the refusal of r, a call of an AWS service that
// Portico does not serve, and whether it is a JSON protocol call (an
// X-Amz-Target; else a query protocol one); a nil error when r is not one. A call on
// "/" is one when it names an X-Amz-Target (CodeDeploy's, which Portico
// serves, is claimed before), or when it is a POST signed for a service
// that is neither one the admin port serves nor STS (served: those are
// answered by the signature's check, STS's by noSTS).
// It is answered before authentication, as AWS checks a call's service before
// its signature: it tells the client nothing but which service is not
// served.
func unservedService(r *http.Request) (jsonProtocol bool, err error) {
	if r.URL.Path != "/" {
		return false, nil
	}
	signed := ""
	if a, err := sigv4.ParseAuthorization(r.Header.Get("Authorization")); err == nil {
		signed = a.Credential.Service
	}
	service := signed
	target := r.Header.Get("X-Amz-Target")
	switch {
	case target != "":
		if service == "" {
			prefix, _, _ := strings.Cut(target, ".")
			service = unservedTargets[prefix]
			if service == "" {
				service = prefix
			}
		}
	case r.Method != http.MethodPost || service == "" || served[service]:
		return false, nil
	}
	name, hint := service, ""
	if h, ok := unservedHints[service]; ok {
		name, hint = h.name, " "+h.hint
	}
	what := "signed for service " + service
	if target != "" {
		what = "X-Amz-Target " + target
		if signed != "" {
			what += ", signed for service " + signed
		}
	}
	msg := "Portico does not serve " + name + " (" + what + "): its admin port serves Lambda, API Gateway (v1 and v2), " +
		"IAM's query API and CodeDeploy's PutLifecycleEventHookExecutionStatus." + hint
	if target != "" {
		return true, errdefs.New(errdefs.ErrInvalid, "UnknownOperationException", msg)
	}
	return false, errdefs.New(errdefs.ErrInvalid, "InvalidAction", msg)
}
