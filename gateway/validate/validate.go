// Package validate is the request-validation stage of the gateway's pipeline:
// REST APIs' request validators (x-amazon-apigateway-request-validators, chosen
// per method or API-wide with x-amazon-apigateway-request-validator) refuse
// requests that lack a required query string, header or path parameter, or whose
// body breaks the method's request model, before the integration runs.
package validate

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"go.uber.org/fx"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
)

// Stage validates requests. It holds no state but its logger: each stage
// deployment compiles its models once in Compile. Safe for concurrent use.
type Stage struct {
	log *slog.Logger
}

// New returns the validation stage, logging to log (nil: nowhere) the
// bodies refused because a model's pattern took too long to match.
func New(log *slog.Logger) *Stage {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Stage{log: log}
}

var _ pipeline.Stage = (*Stage)(nil)

// Name implements pipeline.Stage.
func (*Stage) Name() string { return "validate" }

// Order implements pipeline.Stage.
func (*Stage) Order() int { return pipeline.OrderValidate }

// routePlan is what one route validates.
type routePlan struct {
	// required are the required parameters, in declaration order (nil when the
	// validator does not validate parameters).
	required []apis.Parameter
	// bodies are the request models by content type (nil when the validator does
	// not validate bodies), models what validates them.
	bodies map[string]string
	models *apis.ModelValidator
	log    *slog.Logger
}

// Compile implements pipeline.Stage: the routes with a validator get a plan, the
// models compiled once; an API without validators costs nothing.
func (s *Stage) Compile(d *pipeline.Deployed) (pipeline.Middleware, error) {
	if d == nil || d.API == nil || d.API.Protocol != apis.ProtocolREST || len(d.API.RequestValidators) == 0 {
		return nil, nil
	}
	var models *apis.ModelValidator
	plans := map[*apis.Route]*routePlan{}
	for i := range d.API.Routes {
		rt := &d.API.Routes[i]
		name := rt.RequestValidator
		if name == "" {
			name = d.API.RequestValidator
		}
		v, ok := d.API.RequestValidators[name]
		if !ok || (!v.ValidateRequestBody && !v.ValidateRequestParameters) {
			continue
		}
		p := &routePlan{log: s.log}
		if v.ValidateRequestParameters {
			for _, prm := range rt.Parameters {
				if prm.Required {
					p.required = append(p.required, prm)
				}
			}
		}
		if v.ValidateRequestBody && len(rt.RequestModels) > 0 {
			if models == nil {
				var err error
				if models, err = apis.NewModelValidator(d.API.ID, d.API.Models); err != nil {
					return nil, err
				}
			}
			p.bodies, p.models = map[string]string{}, models
			for ct, model := range rt.RequestModels {
				if !models.Has(model) {
					return nil, fmt.Errorf("route %q: request model %q is not defined", rt.RouteKey, model)
				}
				p.bodies[ct] = model
			}
		}
		if len(p.required) > 0 || len(p.bodies) > 0 {
			plans[rt] = p
		}
	}
	if len(plans) == 0 {
		return nil, nil
	}
	return func(next pipeline.Handler) pipeline.Handler {
		return pipeline.HandlerFunc(func(w http.ResponseWriter, r *http.Request, c *pipeline.Context) error {
			if p := plans[c.Route]; p != nil {
				if err := p.check(r, c); err != nil {
					return err
				}
			}
			return next.ServeRequest(w, r, c)
		})
	}, nil
}

// check validates one request against p.
func (p *routePlan) check(r *http.Request, c *pipeline.Context) error {
	if len(p.required) > 0 {
		var missing []string
		query := r.URL.Query()
		for _, prm := range p.required {
			// Included and not blank, as API Gateway has it; of a repeated
			// parameter, the value checked is the last, the one a mapping reads.
			var v string
			switch prm.In {
			case "query":
				v = last(query[prm.Name])
			case "header":
				v = last(pipeline.HeaderValues(r, prm.Name))
			case "path":
				v = c.PathParameters[prm.Name]
			}
			if strings.TrimSpace(v) == "" {
				missing = append(missing, prm.Name)
			}
		}
		if len(missing) > 0 {
			return &pipeline.Error{Type: pipeline.BadRequestParameters,
				Message: "Missing required request parameters: [" + strings.Join(missing, ", ") + "]",
				Cause:   fmt.Errorf("missing required request parameters %v", missing)}
		}
	}
	if len(p.bodies) == 0 {
		return nil
	}
	ct := "application/json"
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil {
		ct = mt
	}
	model := p.bodyModel(ct)
	if model == "" {
		return nil
	}
	body, err := c.ReadBody(r)
	if err != nil {
		return err
	}
	doc := body
	if len(bytes.TrimSpace(doc)) == 0 {
		doc = []byte("{}") // an empty body validates as {}, as API Gateway does
	}
	if n, depth, ok := jsonValues(doc, maxBodyValues, maxBodyDepth); !ok {
		if depth > maxBodyDepth {
			// The JSON decoder stops there too, naming no limit.
			return invalidBody(c, fmt.Sprintf("[the body nests JSON arrays and objects more than %d levels deep, more than a request validator checks]", maxBodyDepth),
				fmt.Errorf("JSON nested %d levels or more: %w", depth, errTooDeep))
		}
		// Decoding it would take hundreds of MB (about 150 bytes a value).
		return invalidBody(c, fmt.Sprintf("[the body has more than %d JSON values, more than a request validator checks]", maxBodyValues),
			fmt.Errorf("%d JSON values or more: %w", n, errTooManyValues))
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		if bytes.HasPrefix(doc, []byte("\xef\xbb\xbf")) {
			// RFC 8259 8.1: JSON text has no byte order mark; say so
			// rather than quote the mark's first byte as a character.
			return invalidBody(c, "[Invalid JSON: the body starts with a UTF-8 byte order mark (EF BB BF): send it without one]", err)
		}
		return invalidBody(c, fmt.Sprintf("[Invalid JSON: %v]", err), err)
	}
	if err := p.models.Validate(r.Context(), model, inst); err != nil {
		if r.Context().Err() != nil {
			// The client left (or the server is stopping): nobody reads
			// the answer, which is recorded as such.
			return invalidBody(c, "[the request ended during validation]", err)
		}
		if errors.Is(err, apis.ErrPatternTimeout) {
			// Not known to be valid, so refused: the reason goes to the log
			// (the request's 400 is logged at debug level only).
			p.log.Warn("request body refused: a model pattern took too long to match", "requestId", c.RequestID,
				"api", c.APIID, "stage", c.Stage, "route", c.RouteKey, "err", err)
			return invalidBody(c, "[a pattern took too long to match]", err)
		}
		return invalidBody(c, validationString(err), err)
	}
	return nil
}

// maxBodyValues bounds the JSON values (objects, arrays and scalars) of a
// body a validator decodes: decoded for the schema validator, a value costs
// 100 to 150 bytes, so a 9 MB body of 3 million empty objects cost 300 MB a
// request. At the bound a body decodes to about 80 MB at most; a body of
// records of a few fields each reaches it near 4 MB.
const maxBodyValues = 1 << 19

// maxBodyDepth bounds how deep a body a validator decodes nests arrays and
// objects: encoding/json's own bound (10000), which it reports as "invalid
// character '[' exceeded max depth", checked here first to say so plainly.
const maxBodyDepth = 10000

// errTooManyValues is the cause of a body refused for maxBodyValues.
var errTooManyValues = errors.New("too many JSON values to validate")

// errTooDeep is the cause of a body refused for maxBodyDepth.
var errTooDeep = errors.New("JSON nested too deep to validate")

// jsonValues counts the JSON values of doc, from above (each ',', plus two
// for each '{' and '['; what is inside strings aside), and how deep its
// arrays and objects nest, stopping past maxValues or maxDepth: n, the depth
// reached, and false when either is over its bound. It does not check that
// doc is JSON.
func jsonValues(doc []byte, maxValues, maxDepth int) (n, depth int, ok bool) {
	n = 1
	for i := 0; i < len(doc); i++ {
		switch doc[i] {
		case '"':
			for i++; i < len(doc) && doc[i] != '"'; i++ {
				if doc[i] == '\\' {
					i++
				}
			}
		case ',':
			n++
		case '{', '[':
			n += 2
			if depth++; depth > maxDepth {
				return n, depth, false
			}
		case '}', ']':
			depth--
			continue
		default:
			continue
		}
		if n > maxValues {
			return n, depth, false
		}
	}
	return n, depth, true
}

// last is the last of vs, "" when there are none.
func last(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// bodyModel is the model of a request body of content type ct: the one
// declared for ct, else for its type's wildcard ("text/*"), else for "*/*", so
// that a model declared under a wildcard is enforced; "" when none applies.
func (p *routePlan) bodyModel(ct string) string {
	if model, ok := p.bodies[ct]; ok {
		return model
	}
	if typ, _, ok := strings.Cut(ct, "/"); ok {
		if model, ok := p.bodies[typ+"/*"]; ok {
			return model
		}
	}
	return p.bodies["*/*"]
}

// invalidBody is the 400 "Invalid request body" with the detail in
// $context.error.validationErrorString.
func invalidBody(c *pipeline.Context, detail string, cause error) error {
	c.Error.ValidationErrorString = detail
	return &pipeline.Error{Type: pipeline.BadRequestBody, Message: "Invalid request body", Cause: fmt.Errorf("request body: %w", cause)}
}

// validationString lists a schema validation's failures, "[/path: reason, ...]":
// the reasons themselves, the leaves of the error's tree of causes, sorted
// (the validator walks an object's members in map order). (The flat BasicOutput has an entry for every schema around a failing
// keyword too, and under a $ref it gives the reference's "validation failed"
// in place of the keyword's reason.)
func validationString(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return "[" + err.Error() + "]"
	}
	var out []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		u := e.BasicOutput() // a leaf's: its location and its reason
		if u.Error == nil {
			return
		}
		loc := u.InstanceLocation
		if loc == "" {
			loc = "/"
		}
		reason := u.Error.String()
		if k, ok := e.ErrorKind.(*kind.Enum); ok {
			reason = cmp.Or(enumReason(k), reason)
		}
		out = append(out, loc+": "+reason)
	}
	walk(ve)
	slices.Sort(out)
	return "[" + strings.Join(out, ", ") + "]"
}

// enumReason is the validator's reason for an enum of JSON primitives
// ("value must be one of 1, '1', null"), with JSON's null where the
// validator's own shows Go's <nil>; "" for an enum with an array or object.
func enumReason(k *kind.Enum) string {
	want := make([]string, 0, len(k.Want))
	for _, v := range k.Want {
		switch v := v.(type) {
		case nil:
			want = append(want, "null")
		case string:
			q := strings.ReplaceAll(fmt.Sprintf("%q", v), `\"`, `"`)
			want = append(want, "'"+strings.ReplaceAll(q[1:len(q)-1], "'", `\'`)+"'")
		case []any, map[string]any:
			return ""
		default:
			want = append(want, fmt.Sprint(v))
		}
	}
	if len(want) == 1 {
		return "value must be " + want[0]
	}
	return "value must be one of " + strings.Join(want, ", ")
}

// Module provides the stage to the gateway's pipeline.
var Module = fx.Module("validate",
	fx.Provide(pipeline.AsStage(func(log *slog.Logger) *Stage { return New(log.With("component", "gateway")) })),
)
