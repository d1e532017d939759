package apis

import (
	"encoding/json"
	"strings"

	"github.com/portico-dev/portico/functions"
)

// LambdaInvocationURI is API Gateway's invocation ARN of a Lambda function
// ARN, in Portico's region:
// arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations.
func LambdaInvocationURI(functionARN string) string {
	return "arn:" + functions.Partition + ":apigateway:" + functions.Region + ":lambda:path/2015-03-31/functions/" + functionARN + "/invocations"
}

// ReportedURI is the integration URI surfaces report (get-integration,
// apigatewayv2 get-integrations, exports) for uri, stored as given, of an
// integration of type typ on an API of protocol: what API Gateway reports,
// so that what Portico reports imports into API Gateway too. A function
// integration named function:NAME[:QUALIFIER] reports its function ARN on an
// HTTP API (API Gateway's short form) and its invocation ARN on REST and
// WebSocket APIs, where a bare function ARN reports its invocation ARN too.
// Anything else, stage variable references included, is reported as
// stored.
func ReportedURI(protocol, typ, uri string) string {
	if !strings.EqualFold(typ, IntegrationAWSProxy) && !strings.EqualFold(typ, IntegrationAWS) {
		return uri
	}
	arn, ok := reportedFunctionARN(uri)
	if !ok || protocol == ProtocolHTTP && !strings.HasPrefix(uri, "function:") {
		return uri
	}
	if protocol == ProtocolHTTP {
		return arn
	}
	return LambdaInvocationURI(arn)
}

// ReportedAuthorizerURI is the authorizerUri surfaces report for a Lambda
// authorizer's uri, stored as given: its invocation ARN, as API Gateway
// reports it for every protocol.
func ReportedAuthorizerURI(uri string) string {
	if arn, ok := reportedFunctionARN(uri); ok {
		return LambdaInvocationURI(arn)
	}
	return uri
}

// reportedFunctionARN returns the function ARN that uri, function:NAME[:QUALIFIER]
// (in Portico's account and region) or a function ARN, names, and whether it
// names one in either form. An invocation ARN is not one: it is reported as
// it is.
func reportedFunctionARN(uri string) (string, bool) {
	if strings.HasPrefix(uri, "arn:aws:apigateway:") {
		return "", false
	}
	if _, err := FunctionRef(placeholderVars(uri)); err != nil {
		return "", false
	}
	if rest, ok := strings.CutPrefix(uri, "function:"); ok {
		if strings.Contains(rest, ":function:") {
			// function:ACCOUNT:function:NAME, a partial ARN behind the
			// prefix: reported as given.
			return "", false
		}
		return functions.ARN(rest, ""), true
	}
	return uri, true
}

// ReportedScheme is a security scheme (an entry of Authorizers) as surfaces
// report it: a Lambda authorizer's x-amazon-apigateway-authorizer with its
// authorizerUri as ReportedAuthorizerURI has it. Any other scheme, and one
// whose authorizerUri is reported as stored, is returned as it is.
func ReportedScheme(raw json.RawMessage) json.RawMessage {
	return editAuthorizer(raw, func(x map[string]any) bool {
		uri, ok := x["authorizerUri"].(string)
		if !ok {
			return false
		}
		reported := ReportedAuthorizerURI(uri)
		x["authorizerUri"] = reported
		return reported != uri
	})
}
