package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/redact"
)

// serveMock answers a MOCK integration without a backend, as API Gateway does: the
// request template for the request's content type (application/json by default)
// renders to {"statusCode": N}; that status selects an integration response by
// pattern (or "default"), whose status, headers and rendered response template
// make the answer, with any $context.responseOverride the templates set.
func (g *Gateway) serveMock(w http.ResponseWriter, r *http.Request, rc *reqCtx, in *apis.Integration) error {
	req, err := prepareRequest(r, rc, in)
	if err != nil {
		return err
	}
	p := req.plan
	// A rendered request template must give the statusCode: one that gives
	// none (or is no JSON) fails as API Gateway fails it (500, the same
	// configuration error as for a statusCode that is not a number). Without
	// a template (none defined, or none for the content type and a passthrough
	// behavior that lets the request through) the default response answers,
	// as API Gateway's guide describes a MOCK without a request template.
	selector, ok := p.mockStatus[req.template]
	if !req.templated {
		selector = "200"
	} else if !ok {
		s, found, err := mockStatus(req.payload)
		if err != nil {
			return err
		}
		if !found {
			// The rendered template's shape, not its text, which holds
			// the request's values.
			return fmt.Errorf("%s (none in the rendered template, %s): %w", errMockStatus, redact.Shape(req.payload), errConfig)
		}
		selector = s
	}
	key, ir, ok, err := p.selector.selectResponse(selector, true)
	if err != nil {
		return err
	}
	if !ok {
		return noOutputMapping(selector)
	}
	if len(in.Responses) == 0 {
		// A REST method that declares method responses (as the AWS control
		// plane and OpenAPI documents do) but whose MOCK has no integration
		// response fails as on API Gateway, which maps nothing by itself.
		// Portico's own API format needs neither: there the statusCode is
		// the answer's.
		if rc.Protocol == apis.ProtocolREST && rc.Route != nil && len(rc.Route.Responses) > 0 {
			return noOutputMapping(selector)
		}
		ir = apis.IntegrationResponse{StatusCode: selector}
	}
	return g.writeMethodResponse(r.Context(), w, req, integrationResult{key: key, ir: ir, contentType: "application/json", accept: canonicalGet(r.Header, "Accept")})
}

// errMockStatus is API Gateway's execution log message for a MOCK request
// without a statusCode that is a status.
const errMockStatus = "Execution failed due to configuration error: statusCode should be an integer which defined in request template"

// mockStatus reads the statusCode of a rendered MOCK request template (a number
// or a numeric string); found is false when it renders none or no JSON (a REST
// MOCK refuses both; a WebSocket MOCK answers 200 for JSON without one and
// refuses output that is not JSON). A statusCode that is not a
// status is the API's configuration error (500), in API Gateway's words.
func mockStatus(out []byte) (string, bool, error) {
	var v struct {
		StatusCode json.RawMessage `json:"statusCode"`
	}
	if json.Unmarshal(out, &v) != nil || len(v.StatusCode) == 0 || string(v.StatusCode) == "null" {
		return "", false, nil
	}
	s := strings.Trim(string(v.StatusCode), `"`)
	if n, err := strconv.Atoi(s); err != nil || n < 100 || n > 599 {
		return "", false, fmt.Errorf("%s: %w", errMockStatus, errConfig)
	}
	return s, true, nil
}
