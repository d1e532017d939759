package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/gateway/apis"
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
	selector := "200"
	if st, ok := p.mockStatus[req.template]; ok && req.templated {
		selector = st
	} else if req.templated {
		s, ok, err := mockStatus(req.payload)
		if err != nil {
			return err
		}
		if ok {
			selector = s
		}
	}
	key, ir, ok, err := p.selector.selectResponse(selector, true)
	if err != nil {
		return err
	}
	if !ok {
		return noOutputMapping(selector)
	}
	if len(in.Responses) == 0 {
		// Without integration responses the statusCode is the answer's.
		ir = apis.IntegrationResponse{StatusCode: selector}
	}
	return writeMethodResponse(r.Context(), w, req, integrationResult{key: key, ir: ir, contentType: "application/json", accept: canonicalGet(r.Header, "Accept")})
}

// mockStatus reads the statusCode of a rendered MOCK request template (a number
// or a numeric string). A template that renders no statusCode selects 200; one
// whose statusCode is not a status is the API's configuration error (500), in
// API Gateway's words.
func mockStatus(out []byte) (string, bool, error) {
	var v struct {
		StatusCode json.RawMessage `json:"statusCode"`
	}
	if json.Unmarshal(out, &v) != nil || len(v.StatusCode) == 0 || string(v.StatusCode) == "null" {
		return "", false, nil
	}
	s := strings.Trim(string(v.StatusCode), `"`)
	if n, err := strconv.Atoi(s); err != nil || n < 100 || n > 599 {
		return "", false, fmt.Errorf("statusCode should be an integer which defined in request template: %w", errConfig)
	}
	return s, true, nil
}
