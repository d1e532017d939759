package deploy

import (
	"fmt"
	"strings"
)

// wafAssociationTypes are the resource types that attach a web ACL (a WAF)
// to a resource: Portico has no WAF.
var wafAssociationTypes = map[string]bool{
	"AWS::WAFv2::WebACLAssociation":       true,
	"AWS::WAFRegional::WebACLAssociation": true,
}

// wafAssociation fails the build for a web ACL association that protects an
// API the stack deploys (its ResourceArn names a resource of the template)
// or any API Gateway API (an API Gateway ARN): ignored, the API would be
// served unfiltered, though the template declares it filtered, as AWS
// filters it. One that protects something else (a load balancer) is not
// deployed, with a warning, as other types Portico does not make.
func (b *builder) wafAssociation(id, typ string, props map[string]any) {
	arn := fmt.Sprint(props["ResourceArn"])
	target := ""
	if m := tokenPattern.FindStringSubmatch(arn); m != nil {
		target = m[1]
	} else if strings.Contains(arn, ":apigateway:") {
		target = arn
	}
	if target == "" {
		b.warn("%s: resource type %s is not supported by Portico and is not deployed", id, typ)
		return
	}
	b.fail("%s (%s): refused: it attaches a web ACL to %s, and Portico has no WAF to filter its requests with; "+
		"remove the association (and enforce what the web ACL does with an authorizer or a resource policy)", id, typ, target)
}
