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
	"golang.org/x/sync/semaphore"

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
	n, depth, ok := jsonValues(doc, maxBodyValues, maxBodyDepth)
	if !ok {
		if depth > maxBodyDepth {
			// The JSON decoder stops there too, naming no limit.
			return invalidBody(c, fmt.Sprintf("[the body nests JSON arrays and objects more than %d levels deep, more than a request validator checks]", maxBodyDepth),
				fmt.Errorf("JSON nested %d levels or more: %w", depth, errTooDeep))
		}
		// Decoding it would take hundreds of MB (about 150 bytes a value).
		return invalidBody(c, fmt.Sprintf("[the body has more than %d JSON values, more than a request validator checks]", maxBodyValues),
			fmt.Errorf("%d JSON values or more: %w", n, errTooManyValues))
	}
	if n > bigBodyValues {
		// Big bodies are validated one share of bigValidations at a time:
		// decoded and checked, a value takes 100 to 150 bytes and a failing
		// one about 1.5 KB more (the validator's error for it), so that
		// bodies of many failing values sent at once would otherwise take
		// gigabytes together.
		if err := bigValidations.Acquire(r.Context(), int64(n)); err != nil {
			return invalidBody(c, "[the request ended during validation]", err)
		}
		defer bigValidations.Release(int64(n))
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		if bytes.HasPrefix(doc, []byte("\xef\xbb\xbf")) {
			// RFC 8259 8.1: JSON text has no byte order mark; say so
			// rather than quote the mark's first byte as a character.
			return invalidBody(c, "[Invalid JSON: the body starts with a UTF-8 byte order mark (EF BB BF): send it without one]", err)
		}
		// Where and what, not the decoder's guess of what was meant.
		if why := pipeline.NotJSON(doc); why != "" {
			return invalidBody(c, "[Invalid JSON "+why+"]", err)
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

// bigBodyValues is the size, in JSON values, past which a body's validation
// takes a share of bigValidations: about 1.5 MB decoded, and 25 MB if every
// value fails.
const bigBodyValues = 1 << 14

// bigValidations bounds the JSON values that the validations of big bodies
// hold decoded at once, process-wide, to maxBodyValues: one body at the
// bound, or several smaller ones, validate together, and the others wait
// (their request's deadline bounds the wait). A body of many failing values
// costs about 1.5 KB a failing value while it is validated (the validator
// builds an error for each, which the validation string then lists only a
// hundred of), so this keeps what such bodies sent at once can take to that
// of one: several hundred MB, not gigabytes.
var bigValidations = semaphore.NewWeighted(maxBodyValues)

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

// maxListedFailures and maxListedBytes bound the failures validationString
// lists: a body of many failing values (150,000 in 2 MB) gives a short
// $context.error.validationErrorString that ends "... and N more", where
// rendering and sorting every reason took seconds and megabytes.
const (
	maxListedFailures = 100
	maxListedBytes    = 4096
)

// failure is one leaf of a validation error, for validationString: its
// instance location as a JSON pointer followed by ": " (the sort key), at
// key[from:to] of the arena they share.
type failure struct {
	from, to int
	e        *jsonschema.ValidationError
}

// validationString lists a schema validation's failures, "[/path: reason, ...]":
// the reasons themselves, the leaves of the error's tree of causes, sorted
// by location (the validator walks an object's members in map order), then
// by reason. At most maxListedFailures (and about maxListedBytes) are listed,
// the list then ending "... and N more": only those are rendered, the others
// only counted and placed. (The flat BasicOutput has an entry for every
// schema around a failing keyword too, and under a $ref it gives the
// reference's "validation failed" in place of the keyword's reason.)
func validationString(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return "[" + err.Error() + "]"
	}
	// The locations go to one arena, sized by a first walk as the failures'
	// slice is, so that a body of many failures costs two allocations until
	// the few that are listed are rendered.
	leaves, size := 0, 0
	var count func(e *jsonschema.ValidationError)
	count = func(e *jsonschema.ValidationError) {
		for _, c := range e.Causes {
			count(c)
		}
		if len(e.Causes) == 0 {
			leaves, size = leaves+1, size+3 // "/" (the root) or the slashes, and ": "
			for _, tok := range e.InstanceLocation {
				size += 1 + len(tok) + strings.Count(tok, "~") + strings.Count(tok, "/")
			}
		}
	}
	count(ve)
	keys := make([]byte, 0, size)
	all := make([]failure, 0, leaves)
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		from := len(keys)
		if len(e.InstanceLocation) == 0 {
			keys = append(keys, '/')
		}
		for _, tok := range e.InstanceLocation { // a JSON pointer, as BasicOutput writes it
			keys = append(keys, '/')
			for i := 0; i < len(tok); i++ {
				switch tok[i] {
				case '~':
					keys = append(keys, "~0"...)
				case '/':
					keys = append(keys, "~1"...)
				default:
					keys = append(keys, tok[i])
				}
			}
		}
		keys = append(keys, ": "...)
		all = append(all, failure{from: from, to: len(keys), e: e})
	}
	walk(ve)
	key := func(f failure) []byte { return keys[f.from:f.to] }
	// Render the maxListedFailures first by location, and those that share
	// the last one's location, then sort them by reason too.
	first := firstFailures(all, maxListedFailures, key)
	out := make([]string, 0, len(first))
	for _, f := range first {
		u := f.e.BasicOutput() // a leaf's: its reason
		reason := ""
		if u.Error != nil {
			reason = u.Error.String()
		}
		if k, ok := f.e.ErrorKind.(*kind.Enum); ok {
			reason = cmp.Or(enumReason(k), reason)
		}
		out = append(out, string(key(f))+reason)
	}
	slices.Sort(out)
	listed, length := 0, 0
	for listed < len(out) && listed < maxListedFailures && (listed == 0 || length+len(out[listed]) <= maxListedBytes) {
		length += len(out[listed]) + 2
		listed++
	}
	list := strings.Join(out[:listed], ", ")
	if more := len(all) - listed; more > 0 {
		list += fmt.Sprintf(", ... and %d more", more)
	}
	return "[" + list + "]"
}

// firstFailures returns the k first of all by key, in key order, with those
// after them that share the k-th's key; all itself when it has at most k. It
// keeps k in a heap (the last first) while it goes through all: O(n log k),
// where sorting every failure of a large body cost more than validating it.
func firstFailures(all []failure, k int, key func(failure) []byte) []failure {
	cmpKey := func(a, b failure) int { return bytes.Compare(key(a), key(b)) }
	if len(all) <= k {
		slices.SortStableFunc(all, cmpKey)
		return all
	}
	h := make([]failure, 0, k) // a max-heap by key
	down := func(i int) {
		for {
			c := 2*i + 1
			if c >= len(h) {
				return
			}
			if c+1 < len(h) && cmpKey(h[c+1], h[c]) > 0 {
				c++
			}
			if cmpKey(h[c], h[i]) <= 0 {
				return
			}
			h[i], h[c] = h[c], h[i]
			i = c
		}
	}
	for _, f := range all {
		switch {
		case len(h) < k:
			h = append(h, f)
			for i := len(h) - 1; i > 0 && cmpKey(h[(i-1)/2], h[i]) < 0; i = (i - 1) / 2 {
				h[i], h[(i-1)/2] = h[(i-1)/2], h[i]
			}
		case cmpKey(f, h[0]) < 0:
			h[0] = f
			down(0)
		}
	}
	last := key(h[0])
	first := h[:0]
	for _, f := range all { // in all's order, so that ties keep it
		if bytes.Compare(key(f), last) <= 0 {
			first = append(first, f)
		}
	}
	slices.SortStableFunc(first, cmpKey)
	return first
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
