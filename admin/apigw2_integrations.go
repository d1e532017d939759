package admin

import (
	"encoding/json"
	"maps"
	"net/http"
	"strings"

	"github.com/portico-dev/portico/gateway/apis"
)

// apigatewayv2 integrations and integration responses. Integrations are the
// API's Definition.Integrations; a route targets one and the model copies it
// into the route, so an integration shared by several routes is changed once.

func (s *Server) registerV2IntegrationRoutes(p string) {
	s.handleCollection(p+"/{api}/integrations", "{integration}", s.v2CreateIntegration, s.v2GetIntegrations, s.v2GetIntegration, s.v2UpdateIntegration, s.v2DeleteIntegration)
	const ir = "/{api}/integrations/{integration}/integrationresponses"
	s.handleCollection(p+ir, "{ir}", s.v2CreateIntegrationResponse, s.v2GetIntegrationResponses, s.v2GetIntegrationResponse, s.v2UpdateIntegrationResponse, s.v2DeleteIntegrationResponse)
}

// v2Integration is apigatewayv2's Integration shape.
type v2Integration struct {
	ConnectionID                           string            `json:"connectionId,omitempty"`
	ConnectionType                         string            `json:"connectionType"`
	ContentHandlingStrategy                string            `json:"contentHandlingStrategy,omitempty"`
	CredentialsArn                         string            `json:"credentialsArn,omitempty"`
	Description                            string            `json:"description,omitempty"`
	IntegrationID                          string            `json:"integrationId"`
	IntegrationMethod                      string            `json:"integrationMethod,omitempty"`
	IntegrationResponseSelectionExpression string            `json:"integrationResponseSelectionExpression,omitempty"`
	IntegrationType                        string            `json:"integrationType"`
	IntegrationURI                         string            `json:"integrationUri,omitempty"`
	PassthroughBehavior                    string            `json:"passthroughBehavior,omitempty"`
	PayloadFormatVersion                   string            `json:"payloadFormatVersion,omitempty"`
	RequestParameters                      map[string]string `json:"requestParameters,omitempty"`
	RequestTemplates                       map[string]string `json:"requestTemplates,omitempty"`
	ResponseParameters                     statusParams      `json:"responseParameters,omitempty"`
	TemplateSelectionExpression            string            `json:"templateSelectionExpression,omitempty"`
	TimeoutInMillis                        int               `json:"timeoutInMillis"`
	TLSConfig                              json.RawMessage   `json:"tlsConfig,omitempty"`
}

// statusParams are an HTTP API integration's responseParameters: by status
// code, mapping ("overwrite:header.x") to value.
type statusParams = map[string]map[string]string

// v2IntegrationInput is the body of create-integration and update-integration.
type v2IntegrationInput struct {
	ConnectionID                *string                      `json:"connectionId"`
	ConnectionType              *string                      `json:"connectionType"`
	ContentHandlingStrategy     *string                      `json:"contentHandlingStrategy"`
	CredentialsArn              *string                      `json:"credentialsArn"`
	Description                 *string                      `json:"description"`
	IntegrationMethod           *string                      `json:"integrationMethod"`
	IntegrationSubtype          *string                      `json:"integrationSubtype"`
	IntegrationType             *string                      `json:"integrationType"`
	IntegrationURI              *string                      `json:"integrationUri"`
	PassthroughBehavior         *string                      `json:"passthroughBehavior"`
	PayloadFormatVersion        *string                      `json:"payloadFormatVersion"`
	RequestParameters           map[string]string            `json:"requestParameters"`
	RequestTemplates            map[string]string            `json:"requestTemplates"`
	ResponseParameters          map[string]map[string]string `json:"responseParameters"`
	TemplateSelectionExpression *string                      `json:"templateSelectionExpression"`
	TimeoutInMillis             *int                         `json:"timeoutInMillis"`
	TLSConfig                   json.RawMessage              `json:"tlsConfig"`
}

func toV2Integration(protocol, id string, in *apis.Integration) v2Integration {
	out := v2Integration{IntegrationID: id, IntegrationType: in.Type, IntegrationURI: apis.ReportedURI(protocol, in.Type, in.URI), IntegrationMethod: in.HTTPMethod,
		ConnectionID: in.ConnectionID, ConnectionType: in.ConnectionType, ContentHandlingStrategy: in.ContentHandling,
		CredentialsArn: in.Credentials, Description: in.Description, PassthroughBehavior: in.PassthroughBehavior,
		PayloadFormatVersion: in.PayloadFormatVersion, RequestParameters: in.RequestParameters,
		RequestTemplates: in.RequestTemplates, ResponseParameters: in.ResponseParameters,
		TemplateSelectionExpression: in.TemplateSelectionExpression,
		TimeoutInMillis:             int(in.TimeoutFor(protocol).Milliseconds()), TLSConfig: in.TLSConfig}
	if out.ConnectionType == "" {
		out.ConnectionType = "INTERNET"
	}
	if out.PayloadFormatVersion == "" {
		out.PayloadFormatVersion = "1.0"
	}
	if protocol == apis.ProtocolWebSocket {
		// The default passthroughBehavior, which API Gateway reports on
		// every WebSocket integration that set none (a proxy's too).
		if out.PassthroughBehavior == "" {
			out.PassthroughBehavior = "WHEN_NO_MATCH"
		}
		// What the integration's responses are selected by, as API Gateway
		// reports it: a Lambda function's errorMessage, else the status.
		out.IntegrationResponseSelectionExpression = "${integration.response.statuscode}"
		if in.Type == apis.IntegrationAWS {
			out.IntegrationResponseSelectionExpression = "${integration.response.body.errorMessage}"
		}
	}
	return out
}

// apply sets in's fields on integ, an integration of an API of protocol;
// create says integ is new (create-integration), so that a mapping's ""
// value deletes nothing and is kept for the validation to refuse.
func (in *v2IntegrationInput) apply(protocol string, integ *apis.Integration, create bool) error {
	if in.IntegrationSubtype != nil && *in.IntegrationSubtype != "" {
		return v2BadRequest("integrationSubtype (AWS service integrations) is not supported")
	}
	if v := in.TemplateSelectionExpression; v != nil && *v != "" && *v != `\$default` && *v != "$default" {
		// A WebSocket integration's selects its request template
		// ($request.body.kind); the API's validation checks it.
		if protocol != apis.ProtocolWebSocket {
			return v2BadRequest("templateSelectionExpression %q is not supported: it is supported only for WebSocket APIs", truncate(*v, 100))
		}
	}
	if protocol == apis.ProtocolHTTP {
		// Declared but not applied, so refused (an HTTP API import ignores
		// them with a warning): HTTP APIs do not transform requests.
		if len(in.RequestTemplates) > 0 {
			return v2BadRequest("requestTemplates are supported only for WebSocket APIs: an HTTP API passes requests through as they are (map parameters with requestParameters)")
		}
		if v := in.PassthroughBehavior; v != nil && *v != "" {
			return v2BadRequest("passthroughBehavior is supported only for WebSocket APIs: an HTTP API passes every request through")
		}
	}
	set := func(dst *string, v *string, upper bool) {
		if v != nil {
			*dst = *v
			if upper {
				*dst = strings.ToUpper(*dst)
			}
		}
	}
	set(&integ.Type, in.IntegrationType, true)
	if protocol == apis.ProtocolHTTP && in.IntegrationType != nil && !apis.ProxyType(integ.Type) {
		// Checked on the type given only: an integration stored before
		// this refusal (or through the native admin API, which takes
		// them) stays editable and is served as it was.
		switch integ.Type {
		case "MOCK", "HTTP", "AWS":
			return v2BadRequest("%s", apis.HTTPProxyOnly)
		}
		// A typo (HTTP_PROXI) is named, as other enum fields' refusals do.
		return v2BadRequest("integrationType %q must be AWS_PROXY or HTTP_PROXY (an HTTP API's integrations are proxy integrations)", truncate(integ.Type, 40))
	}
	set(&integ.URI, in.IntegrationURI, false)
	if integ.URI == "" && (integ.Type == apis.IntegrationHTTPProxy || integ.Type == "HTTP") {
		return v2BadRequest("integrationUri is required for an %s integration: the backend's URL, e.g. https://example.com/{proxy}", integ.Type)
	}
	set(&integ.HTTPMethod, in.IntegrationMethod, true)
	set(&integ.ConnectionID, in.ConnectionID, false)
	set(&integ.ConnectionType, in.ConnectionType, true)
	set(&integ.ContentHandling, in.ContentHandlingStrategy, true)
	set(&integ.Credentials, in.CredentialsArn, false)
	set(&integ.Description, in.Description, false)
	set(&integ.PassthroughBehavior, in.PassthroughBehavior, true)
	set(&integ.PayloadFormatVersion, in.PayloadFormatVersion, false)
	set(&integ.TemplateSelectionExpression, in.TemplateSelectionExpression, false)
	if integ.ConnectionType == "INTERNET" {
		integ.ConnectionType = ""
	}
	if create {
		// Nothing to merge into or delete: a "" value is kept, and the
		// API's validation refuses it (a remove mapping takes ''), as API
		// Gateway's refuses a mapping without a source, rather than a
		// declared mapping being dropped without a word.
		integ.RequestParameters = maps.Clone(in.RequestParameters)
		integ.ResponseParameters = maps.Clone(in.ResponseParameters)
		maps.DeleteFunc(integ.ResponseParameters, func(_ string, m map[string]string) bool { return len(m) == 0 })
	} else {
		in.mergeParameters(integ)
	}
	if in.RequestTemplates != nil {
		integ.RequestTemplates = in.RequestTemplates
	}
	setIfGiven(&integ.TimeoutInMillis, in.TimeoutInMillis)
	if in.TLSConfig != nil {
		integ.TLSConfig = in.TLSConfig
	}
	if (integ.Type == apis.IntegrationAWSProxy || integ.Type == apis.IntegrationAWS && protocol == apis.ProtocolWebSocket) && integ.HTTPMethod == "" {
		integ.HTTPMethod = http.MethodPost
	}
	if protocol == apis.ProtocolHTTP && integ.Type == apis.IntegrationAWSProxy && integ.HTTPMethod != http.MethodPost &&
		(in.IntegrationType != nil || in.IntegrationMethod != nil) {
		// Checked when the request sets the type or the method only, as
		// the proxy-only refusal above: one stored before stays editable
		// and is served as it was (the function invoked with POST).
		return v2BadRequest("%s", apis.LambdaProxyPOST)
	}
	if integ.Type == apis.IntegrationAWSProxy && protocol == apis.ProtocolHTTP && integ.PayloadFormatVersion == "" {
		return v2BadRequest("payloadFormatVersion is required for AWS_PROXY integrations of HTTP APIs (1.0 or 2.0)")
	}
	return nil
}

// mergeParameters merges in's mappings into integ's, as API Gateway's
// update-integration does: requestParameters merge, a key with the value ""
// removing that mapping; a responseParameters status given replaces that
// status's mappings (HTTP APIs' response mappings, which the gateway applies;
// the API's validation checks them and other protocols refuse them), its ""
// values left out; an empty map removes the status; the statuses not given
// stay.
func (in *v2IntegrationInput) mergeParameters(integ *apis.Integration) {
	integ.RequestParameters = mergeParams(integ.RequestParameters, in.RequestParameters)
	if in.ResponseParameters == nil {
		return
	}
	rp := maps.Clone(integ.ResponseParameters)
	if rp == nil {
		rp = statusParams{}
	}
	for status, m := range in.ResponseParameters {
		if m = mergeParams(nil, m); len(m) == 0 {
			delete(rp, status)
		} else {
			rp[status] = m
		}
	}
	if len(rp) == 0 {
		rp = nil
	}
	integ.ResponseParameters = rp
}

// mergeParams returns cur with in's mappings set on it and the keys whose
// value in in is "" removed; nil when nothing is left. cur is not changed.
func mergeParams(cur, in map[string]string) map[string]string {
	if in == nil {
		return cur
	}
	out := make(map[string]string, len(cur)+len(in))
	maps.Copy(out, cur)
	for k, v := range in {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// v2FindIntegration returns integration {integration} of a, with AWS's 404.
func v2FindIntegration(a *apis.API, id string) (apis.Integration, error) {
	if in, ok := a.Integrations[id]; ok {
		return in, nil
	}
	return apis.Integration{}, v2NotFound("Integration", id)
}

func (s *Server) v2CreateIntegration(w http.ResponseWriter, r *http.Request) error {
	var in v2IntegrationInput
	if err := decodeV2(w, r, &in); err != nil {
		return err
	}
	if in.IntegrationType == nil {
		return v2BadRequest("Invalid request body: integrationType is required")
	}
	id := apis.NewIntegrationID()
	a, err := s.v2Modify(r, func(a *apis.API) error {
		var integ apis.Integration
		if err := in.apply(a.Protocol, &integ, true); err != nil {
			return err
		}
		// Refused on its own first: the API's validation would name the
		// id, of an integration that is never created.
		if err := integ.Validate(a.Protocol); err != nil {
			return err
		}
		if a.Integrations == nil {
			a.Integrations = map[string]apis.Integration{}
		}
		a.Integrations[id] = integ
		return nil
	})
	if err != nil {
		return err
	}
	integ := a.Integrations[id]
	return writeJSON(w, http.StatusCreated, toV2Integration(a.Protocol, id, &integ))
}

func (s *Server) v2GetIntegrations(w http.ResponseWriter, r *http.Request) error {
	return v2List(s, w, r, func(a *apis.API) ([]v2Integration, error) {
		return sortedItems(a.Integrations, func(id string, integ apis.Integration) v2Integration {
			return toV2Integration(a.Protocol, id, &integ)
		}), nil
	}, func(i v2Integration) sortKey { return sortKey{i.IntegrationID} })
}

func (s *Server) v2GetIntegration(w http.ResponseWriter, r *http.Request) error {
	return v2Get(s, w, r, func(a *apis.API) (v2Integration, error) {
		id := r.PathValue("integration")
		integ, err := v2FindIntegration(a, id)
		return toV2Integration(a.Protocol, id, &integ), err
	})
}

func (s *Server) v2UpdateIntegration(w http.ResponseWriter, r *http.Request) error {
	var in v2IntegrationInput
	if err := decodeV2(w, r, &in); err != nil {
		return err
	}
	id := r.PathValue("integration")
	a, err := s.v2Modify(r, func(a *apis.API) error {
		integ, err := v2FindIntegration(a, id)
		if err != nil {
			return err
		}
		if err := in.apply(a.Protocol, &integ, false); err != nil {
			return err
		}
		a.Integrations[id] = integ
		return nil
	})
	if err != nil {
		return err
	}
	integ := a.Integrations[id]
	return writeJSON(w, http.StatusOK, toV2Integration(a.Protocol, id, &integ))
}

func (s *Server) v2DeleteIntegration(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("integration")
	_, err := s.v2Modify(r, func(a *apis.API) error {
		if _, err := v2FindIntegration(a, id); err != nil {
			return err
		}
		if users := a.IntegrationUsers(id); len(users) > 0 {
			return v2Conflict("Integration %s is the target of route(s) %s; change their target first", id, strings.Join(users, ", "))
		}
		delete(a.Integrations, id)
		return nil
	})
	return noContent(w, err)
}

// v2IntegrationResponse is apigatewayv2's IntegrationResponse shape (WebSocket
// APIs). Its key is "$default" or a status pattern between slashes
// ("/4\d{2}/"); the model keeps it under "default" or the bare pattern.
type v2IntegrationResponse struct {
	ContentHandlingStrategy     string            `json:"contentHandlingStrategy,omitempty"`
	IntegrationResponseID       string            `json:"integrationResponseId"`
	IntegrationResponseKey      string            `json:"integrationResponseKey"`
	ResponseParameters          map[string]string `json:"responseParameters,omitempty"`
	ResponseTemplates           map[string]string `json:"responseTemplates,omitempty"`
	TemplateSelectionExpression string            `json:"templateSelectionExpression,omitempty"`
}

// v2IntegrationResponseInput is the body of create- and
// update-integration-response.
type v2IntegrationResponseInput struct {
	ContentHandlingStrategy     *string           `json:"contentHandlingStrategy"`
	IntegrationResponseKey      *string           `json:"integrationResponseKey"`
	ResponseParameters          map[string]string `json:"responseParameters"`
	ResponseTemplates           map[string]string `json:"responseTemplates"`
	TemplateSelectionExpression *string           `json:"templateSelectionExpression"`
}

// integrationResponsePattern turns an integration response key into the
// model's pattern: "$default" is "default", "/re/" is "re".
func integrationResponsePattern(key string) (string, error) {
	if key == apis.RouteDefault {
		return "default", nil
	}
	if len(key) > 2 && strings.HasPrefix(key, "/") && strings.HasSuffix(key, "/") {
		return key[1 : len(key)-1], nil
	}
	return "", v2BadRequest("Invalid integrationResponseKey %q: use $default or a pattern between slashes such as /4\\d{2}/", truncate(key, 100))
}

func integrationResponseKey(pattern string) string {
	return apis.WSIntegrationResponseKey(pattern)
}

func toV2IntegrationResponse(pattern string, ir apis.IntegrationResponse) v2IntegrationResponse {
	key := integrationResponseKey(pattern)
	return v2IntegrationResponse{IntegrationResponseID: derivedID("integrationresponse", key), IntegrationResponseKey: key,
		ContentHandlingStrategy: ir.ContentHandling, ResponseParameters: ir.ResponseParameters, ResponseTemplates: ir.ResponseTemplates,
		TemplateSelectionExpression: ir.TemplateSelectionExpression}
}

func (in *v2IntegrationResponseInput) apply(ir *apis.IntegrationResponse) error {
	if in.TemplateSelectionExpression != nil {
		// Which response template renders the answer; the API's
		// validation refuses the forms the gateway does not select by.
		ir.TemplateSelectionExpression = *in.TemplateSelectionExpression
	}
	if in.ContentHandlingStrategy != nil {
		ir.ContentHandling = strings.ToUpper(*in.ContentHandlingStrategy)
	}
	if in.ResponseParameters != nil {
		ir.ResponseParameters = in.ResponseParameters
	}
	if in.ResponseTemplates != nil {
		ir.ResponseTemplates = in.ResponseTemplates
	}
	if ir.StatusCode == "" {
		// WebSocket integration responses have no status; the model wants
		// one. The gateway never answers with it: the backend's (or a
		// MOCK's rendered) status stays the answer's, and decides a
		// $connect's handshake (ws_mock.go).
		ir.StatusCode = "200"
	}
	return nil
}

// v2IntegrationResponseOf finds integration response {ir} of integration
// {integration} of a, returning its pattern.
func v2IntegrationResponseOf(a *apis.API, r *http.Request) (string, apis.IntegrationResponse, error) {
	integ, err := v2FindIntegration(a, r.PathValue("integration"))
	if err != nil {
		return "", apis.IntegrationResponse{}, err
	}
	for pattern, ir := range integ.Responses {
		if derivedID("integrationresponse", integrationResponseKey(pattern)) == r.PathValue("ir") {
			return pattern, ir, nil
		}
	}
	return "", apis.IntegrationResponse{}, v2NotFound("IntegrationResponse", r.PathValue("ir"))
}

// setV2IntegrationResponse stores ir under pattern in integration id of a.
func setV2IntegrationResponse(a *apis.API, id, pattern string, ir *apis.IntegrationResponse) {
	integ := a.Integrations[id]
	resp := make(map[string]apis.IntegrationResponse, len(integ.Responses)+1)
	for k, v := range integ.Responses {
		resp[k] = v
	}
	if ir == nil {
		delete(resp, pattern)
	} else {
		resp[pattern] = *ir
	}
	integ.Responses = resp
	a.Integrations[id] = integ
}

func (s *Server) v2CreateIntegrationResponse(w http.ResponseWriter, r *http.Request) error {
	var in v2IntegrationResponseInput
	if err := decodeV2(w, r, &in); err != nil {
		return err
	}
	if in.IntegrationResponseKey == nil {
		return v2BadRequest("Invalid request body: integrationResponseKey is required")
	}
	pattern, err := integrationResponsePattern(*in.IntegrationResponseKey)
	if err != nil {
		return err
	}
	var ir apis.IntegrationResponse
	id := r.PathValue("integration")
	_, err = s.v2Modify(r, func(a *apis.API) error {
		if a.Protocol != apis.ProtocolWebSocket {
			return v2BadRequest("Integration responses are for WEBSOCKET APIs")
		}
		integ, err := v2FindIntegration(a, id)
		if err != nil {
			return err
		}
		if _, ok := integ.Responses[pattern]; ok {
			return v2Conflict("IntegrationResponse with key %s already exists for this Integration", *in.IntegrationResponseKey)
		}
		if err := in.apply(&ir); err != nil {
			return err
		}
		setV2IntegrationResponse(a, id, pattern, &ir)
		return nil
	})
	return reply(w, http.StatusCreated, toV2IntegrationResponse(pattern, ir), err)
}

func (s *Server) v2GetIntegrationResponses(w http.ResponseWriter, r *http.Request) error {
	return v2List(s, w, r, func(a *apis.API) ([]v2IntegrationResponse, error) {
		integ, err := v2FindIntegration(a, r.PathValue("integration"))
		if err != nil {
			return nil, err
		}
		return sortedItems(integ.Responses, toV2IntegrationResponse), nil
	}, func(ir v2IntegrationResponse) sortKey { return sortKey{ir.IntegrationResponseKey} })
}

func (s *Server) v2GetIntegrationResponse(w http.ResponseWriter, r *http.Request) error {
	a, err := s.v2LoadAPI(r)
	if err != nil {
		return err
	}
	pattern, ir, err := v2IntegrationResponseOf(a, r)
	return reply(w, http.StatusOK, toV2IntegrationResponse(pattern, ir), err)
}

func (s *Server) v2UpdateIntegrationResponse(w http.ResponseWriter, r *http.Request) error {
	var in v2IntegrationResponseInput
	if err := decodeV2(w, r, &in); err != nil {
		return err
	}
	var pattern string
	var ir apis.IntegrationResponse
	_, err := s.v2Modify(r, func(a *apis.API) error {
		var err error
		if pattern, ir, err = v2IntegrationResponseOf(a, r); err != nil {
			return err
		}
		old := pattern
		if in.IntegrationResponseKey != nil {
			if pattern, err = integrationResponsePattern(*in.IntegrationResponseKey); err != nil {
				return err
			}
		}
		if err := in.apply(&ir); err != nil {
			return err
		}
		id := r.PathValue("integration")
		if pattern != old {
			if _, taken := a.Integrations[id].Responses[pattern]; taken {
				return v2Conflict("IntegrationResponse with key %s already exists for this Integration", integrationResponseKey(pattern))
			}
			setV2IntegrationResponse(a, id, old, nil)
		}
		setV2IntegrationResponse(a, id, pattern, &ir)
		return nil
	})
	return reply(w, http.StatusOK, toV2IntegrationResponse(pattern, ir), err)
}

func (s *Server) v2DeleteIntegrationResponse(w http.ResponseWriter, r *http.Request) error {
	_, err := s.v2Modify(r, func(a *apis.API) error {
		pattern, _, err := v2IntegrationResponseOf(a, r)
		if err != nil {
			return err
		}
		setV2IntegrationResponse(a, r.PathValue("integration"), pattern, nil)
		return nil
	})
	return noContent(w, err)
}
