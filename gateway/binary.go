package gateway

import (
	"bytes"
	"encoding/base64"
	"mime"
	"net/http"
	"strings"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/mapping"
	"github.com/portico-dev/portico/gateway/pipeline"
)

// A non-proxy integration's payloads are text or binary, as API Gateway's
// "content type conversions" table has it:
//
//   - a request body is binary when its Content-Type matches one of the API's
//     binaryMediaTypes; the integration's contentHandling CONVERT_TO_TEXT turns
//     it into its base64 text before the request template, CONVERT_TO_BINARY
//     base64-decodes a text payload (after the template) for the backend;
//   - an integration response payload is binary when the backend's Content-Type
//     matches binaryMediaTypes (a function's result and a MOCK's are text); the
//     client wants binary when the first media type of its Accept header matches
//     them. The integration response's contentHandling decides, and without one
//     the payload is converted toward what the client accepts: binary to base64
//     text for a text Accept, text base64-decoded for a binary Accept.
//
// Templates only ever see text: a binary payload that stays binary passes
// through without its template. A text payload that should become binary but is
// not base64 is API Gateway's 500 (an API configuration error).

// isBinaryAccept reports whether the first media type of an Accept header
// matches one of the binary media types. No Accept header is a text client.
func isBinaryAccept(accept string, binaryTypes []string) bool {
	if len(binaryTypes) == 0 || accept == "" {
		return false
	}
	first, _, _ := strings.Cut(accept, ",")
	return isBinaryREST(first, binaryTypes)
}

// integrationRequest is a non-proxy integration's request once contentHandling
// and its request template have been applied: what goes to the backend.
type integrationRequest struct {
	plan *integrationPlan
	// lv are the request's template variables, built when a template reads them
	// (pointing at vars).
	lv   *lazyVars
	vars lazyVars
	// template is the request template that rendered payload (templated).
	template *mapping.Template
	// payload is what the backend receives.
	payload []byte
	// templated says a request template rendered payload.
	templated bool
	// ctx is the request's own $context for responseParameters' context.X
	// sources, built when one reads it (responseParam).
	ctx *mapping.Map
	// hv holds the method response's Content-Type and Content-Length values
	// (writeMethodResponse), so that they cost no allocation of their own.
	hv [2]string
}

// prepareRequest reads r's body, applies in's contentHandling and the request
// template chosen by content type (with the passthrough behavior's 415s).
func prepareRequest(r *http.Request, rc *reqCtx, in *apis.Integration) (*integrationRequest, error) {
	p, err := rc.entry.plan(in)
	if err != nil {
		return nil, err
	}
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	rc.SetBody(body) // what requestParameters' method.request.body reads
	t, err := p.requestTemplate(in, r)
	if err != nil {
		return nil, err
	}
	binary := isBinaryREST(requestContentType(r), p.binaryTypes)
	if binary && in.ContentHandling == contentToText {
		body, binary = base64Encode(body), false
	}
	ir := rc.irBuf
	if ir == nil {
		ir = new(integrationRequest)
	}
	rc.irBuf = nil // used once
	*ir = integrationRequest{plan: p, vars: lazyVars{r: r, rc: rc, body: body}, payload: body}
	ir.lv = &ir.vars
	if binary {
		// A binary body passes through as it is, template or not.
		return ir, nil
	}
	if t != nil {
		if ir.payload, err = renderRequest(r.Context(), p, t, ir.lv); err != nil {
			return nil, err
		}
		ir.templated, ir.template = true, t
	}
	if in.ContentHandling == contentToBinary {
		if ir.payload, err = base64Decode(ir.payload, "integration request"); err != nil {
			return nil, err
		}
	}
	return ir, nil
}

// contentHandling values.
const (
	contentToText   = apis.ContentHandlingToText
	contentToBinary = apis.ContentHandlingToBinary
)

func base64Encode(b []byte) []byte {
	out := make([]byte, base64.StdEncoding.EncodedLen(len(b)))
	base64.StdEncoding.Encode(out, b)
	return out
}

// base64Decode decodes a text payload that must become binary; text that is
// not base64 is an API configuration error (500), as API Gateway answers it.
func base64Decode(b []byte, what string) ([]byte, error) {
	b = bytes.TrimSpace(b)
	out := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
	n, err := base64.StdEncoding.Decode(out, b)
	if err != nil {
		return nil, pipeline.Errorf(pipeline.APIConfigurationError, "%s: unable to base64-decode the payload for CONVERT_TO_BINARY: %v", what, err)
	}
	return out[:n], nil
}

// responseBinary reports whether an HTTP backend's answer is binary: its
// Content-Type matches the binary media types.
func responseBinary(h http.Header, binaryTypes []string) bool {
	ct := h.Get("Content-Type")
	if ct == "" || len(binaryTypes) == 0 {
		return false
	}
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		ct = mt
	}
	return isBinaryREST(ct, binaryTypes)
}
