package responses

import (
	"cmp"
	"context"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/mapping"
	"github.com/portico-dev/portico/gateway/pipeline"
)

// table is an API's gateway responses resolved per response type, with the
// inheritance from DEFAULT_4XX and DEFAULT_5XX applied. Read-only once compiled.
type table map[pipeline.ResponseType]*gatewayResponse

// gatewayResponse is one customised response type, compiled.
type gatewayResponse struct {
	// status replaces the type's status; 0 keeps it.
	status int
	// headers map a header name to its source ('literal', method.request.*,
	// stageVariables.*, context.*).
	headers map[string]string
	// templates are the body templates by content type; types are tried in
	// order (application/json first).
	templates map[string]*mapping.Template
	types     []string
}

// compileTable resolves defs as API Gateway does: a type set explicitly keeps its
// own settings (and its default status when it sets no statusCode); a type still
// on its defaults takes the settings of a customised DEFAULT_4XX or DEFAULT_5XX,
// by its default status: headers, templates and statusCode ("Changing the
// status code of this fallback gateway response changes the status codes of all
// other 4XX responses to the new value"), keeping its own status only when the
// fallback sets none.
func compileTable(defs map[string]apis.GatewayResponse) (table, error) {
	compiled := map[pipeline.ResponseType]*gatewayResponse{}
	for name, def := range defs {
		gr, err := compileResponse(name, def)
		if err != nil {
			return nil, err
		}
		compiled[pipeline.ResponseType(name)] = gr
	}
	tbl := table{}
	for _, t := range pipeline.ResponseTypes() {
		if gr, ok := compiled[t]; ok {
			tbl[t] = gr
			continue
		}
		if gr, ok := compiled[t.Family()]; ok {
			tbl[t] = gr // shared, read only
		}
	}
	return tbl, nil
}

func compileResponse(name string, def apis.GatewayResponse) (*gatewayResponse, error) {
	gr := &gatewayResponse{headers: map[string]string{}, templates: map[string]*mapping.Template{}}
	if def.StatusCode != "" {
		n, err := strconv.Atoi(def.StatusCode)
		if err != nil || n < 200 || n > 599 { // a final status: a 1xx would be an interim answer
			return nil, fmt.Errorf("gateway response %s: statusCode %q is not a status", name, def.StatusCode)
		}
		gr.status = n
	}
	for k, v := range def.ResponseParameters {
		if h, ok := strings.CutPrefix(k, "gatewayresponse.header."); ok && h != "" {
			gr.headers[h] = v
		}
	}
	for ct, src := range def.ResponseTemplates {
		t, err := mapping.Parse(ct, src)
		if err != nil {
			return nil, fmt.Errorf("gateway response %s: %w", name, err)
		}
		gr.templates[ct] = t
		gr.types = append(gr.types, ct)
	}
	slices.SortFunc(gr.types, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == "application/json":
			return -1
		case b == "application/json":
			return 1
		}
		return strings.Compare(a, b)
	})
	return gr, nil
}

// custom applies a customised gateway response: its headers onto h and its
// template rendered as the body (with {"message":$context.error.messageString}
// semantics when it has none). A mapped Content-Type
// (gatewayresponse.header.Content-Type) is the answer's, and picks the
// template of its media type when there is one; otherwise the first template
// (application/json first) renders. A template that fails to render falls
// back to the default body, as application/json, with the reason in the log.
func (wr *Writer) custom(h http.Header, r *http.Request, c *pipeline.Context, rs Resolved, gr *gatewayResponse, body []byte) ([]byte, string) {
	ctx := c.MappingContext()
	if rs.Message == nil {
		ctx.SetPath("error.messageString", "null")
	}
	mapped := ""
	for name, src := range gr.headers {
		if v, ok := c.ParamValue(src, r, ctx); ok {
			if strings.EqualFold(name, "Content-Type") {
				mapped = v
				continue
			}
			h.Set(name, v)
		}
	}
	if len(gr.types) == 0 {
		return body, cmp.Or(mapped, "application/json")
	}
	ct := gr.types[0]
	if mapped != "" {
		if mt, _, err := mime.ParseMediaType(mapped); err == nil && gr.templates[mt] != nil {
			ct = mt
		}
	}
	vars := &mapping.Vars{PathParams: c.PathParameters, Context: ctx, StageVariables: c.StageVariables}
	if r != nil {
		vars.QueryParams = firstValues(r.URL.Query())
		vars.Headers = firstValues(r.Header)
	}
	rctx := context.Background()
	if r != nil {
		rctx = context.WithoutCancel(r.Context())
	}
	out, err := gr.templates[ct].RenderString(rctx, vars)
	if err != nil {
		wr.log.Error("gateway response template failed: the default body is sent", "requestId", c.APIRequestID(), "api", c.APIID,
			"type", string(rs.Type), "err", err)
		return body, "application/json"
	}
	return []byte(out), cmp.Or(mapped, ct)
}

func firstValues(m map[string][]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, vs := range m {
		if len(vs) > 0 {
			out[k] = vs[0]
		}
	}
	return out
}
