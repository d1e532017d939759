package gateway

import (
	"encoding/json"
	"mime"
	"net/http"
	"regexp"
	"strconv"

	"github.com/portico-dev/portico/gateway/apis"
)

var mockStatusRe = regexp.MustCompile(`"statusCode"\s*:\s*"?([0-9]{3})"?`)

// serveMock answers a MOCK integration without a backend, as API Gateway does: the
// request template for the request's content type (application/json by default)
// names a statusCode, that status selects an integration response by pattern (or
// "default"), and the integration response gives the status, static headers and
// the body (its response template, not evaluated yet).
func (g *Gateway) serveMock(w http.ResponseWriter, r *http.Request, rc *reqCtx, in *apis.Integration) error {
	if _, err := readBody(r); err != nil {
		return err
	}
	selector := "200"
	ct := "application/json"
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil {
		ct = mt
	}
	tmpl, ok := in.RequestTemplates[ct]
	if !ok {
		tmpl = in.RequestTemplates["application/json"]
	}
	if m := mockStatusRe.FindStringSubmatch(tmpl); m != nil {
		selector = m[1]
	} else {
		var v struct {
			StatusCode int `json:"statusCode"`
		}
		if json.Unmarshal([]byte(tmpl), &v) == nil && v.StatusCode != 0 {
			selector = strconv.Itoa(v.StatusCode)
		}
	}
	ir, ok := rc.entry.selectResponse(in, selector, false)
	if !ok {
		if d, found := in.Responses["default"]; found {
			ir = d
		} else {
			ir = apis.IntegrationResponse{StatusCode: selector}
		}
	}
	writeIntegrationResponse(w, ir, "application/json", nil)
	return nil
}
