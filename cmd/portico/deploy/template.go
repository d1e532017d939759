// Package deploy turns a SAM template (Transform AWS::Serverless-2016-10-31)
// into the functions, APIs, stages and usage plans Portico should hold, plans
// what a deploy must change against the stack's record of what it made last
// time, and applies the plan through a small Target interface (the admin API's
// client in `portico deploy`, a fake in tests).
//
// The template is parsed and its intrinsic functions resolved with goformation;
// Ref, Fn::Sub and Fn::GetAtt are Portico's own, as they name Portico's
// resources (function names, function ARNs) and fail on names the template does
// not define. Everything is read and checked (code paths, Refs, API documents
// through the gateway's OpenAPI importer) before anything changes.
package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/awslabs/goformation/v7/intrinsics"
	"gopkg.in/yaml.v3"

	"github.com/portico-dev/portico/functions"
)

// Transform is the SAM transform a template must declare.
const Transform = "AWS::Serverless-2016-10-31"

// LanguageExtensions is the CloudFormation transform of Fn::ForEach,
// Fn::Length, Fn::ToJsonString and Fn::FindInMap's DefaultValue, which
// Portico does not run.
const LanguageExtensions = "AWS::LanguageExtensions"

// Resource types the deployer knows.
const (
	TypeFunction      = "AWS::Serverless::Function"
	TypeAPI           = "AWS::Serverless::Api"
	TypeHTTPAPI       = "AWS::Serverless::HttpApi"
	TypeV2API         = "AWS::ApiGatewayV2::Api"
	TypeV2Route       = "AWS::ApiGatewayV2::Route"
	TypeV2Integration = "AWS::ApiGatewayV2::Integration"
	TypeV2Stage       = "AWS::ApiGatewayV2::Stage"
	TypeV2Deployment  = "AWS::ApiGatewayV2::Deployment"
	// TypeV2Authorizer, TypeV2IntegrationResponse and TypeV2RouteResponse
	// belong to a WebSocket API's routes and integrations; TypeV2Model is
	// refused (the gateway validates no WebSocket message against a model).
	TypeV2Authorizer          = "AWS::ApiGatewayV2::Authorizer"
	TypeV2IntegrationResponse = "AWS::ApiGatewayV2::IntegrationResponse"
	TypeV2RouteResponse       = "AWS::ApiGatewayV2::RouteResponse"
	TypeV2Model               = "AWS::ApiGatewayV2::Model"
	TypePermission            = "AWS::Lambda::Permission"
	TypeIAMRole               = "AWS::IAM::Role"
	TypeUsagePlan             = "AWS::ApiGateway::UsagePlan"
)

// Implicit API logical ids, as SAM names them.
const (
	ImplicitRestAPI = "ServerlessRestApi"
	ImplicitHTTPAPI = "ServerlessHttpApi"
)

// The logical ids SAM gives the usage plan, API key and usage plan key that
// REST APIs with Auth.UsagePlan CreateUsagePlan SHARED share. An API's own
// (PER_API) are <Api>UsagePlan, <Api>ApiKey and <Api>UsagePlanKey.
const (
	SharedUsagePlan    = "ServerlessUsagePlan"
	SharedAPIKey       = "ServerlessApiKey"
	SharedUsagePlanKey = "ServerlessUsagePlanKey"
)

// Options say how to read a template.
type Options struct {
	// Stack is the stack's name: it prefixes the names of functions that do not
	// set FunctionName, and is AWS::StackName.
	Stack string
	// Parameters override the template's parameter defaults (--parameter-overrides).
	Parameters map[string]string
}

// rawTemplate is a template's top level before its intrinsics are resolved.
type rawTemplate struct {
	Transform  any                       `json:"Transform"`
	Parameters map[string]map[string]any `json:"Parameters"`
	Globals    map[string]map[string]any `json:"Globals"`
	Resources  map[string]*rawResource   `json:"Resources"`
	Outputs    map[string]any            `json:"Outputs"`
	Conditions map[string]any            `json:"Conditions"`
}

// rawResource is one resource of the template.
type rawResource struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
	DependsOn  any            `json:"DependsOn,omitempty"`
	Condition  any            `json:"Condition,omitempty"`
	Metadata   any            `json:"Metadata,omitempty"`
	// DeletionPolicy: only Delete (the default) is supported.
	DeletionPolicy string `json:"DeletionPolicy,omitempty"`
	// UpdateReplacePolicy: only Delete (the default) is supported.
	UpdateReplacePolicy string `json:"UpdateReplacePolicy,omitempty"`
	// fromGlobals names the properties the resource has from Globals
	// alone (it does not set them itself), for errors to say where a
	// value came from.
	fromGlobals map[string]bool
}

// Template is a read, resolved template. Build reads it (and resolves the
// functions' names into it), so it is not safe for concurrent use.
type Template struct {
	// Path is the template file; relative code and definition paths are relative
	// to its directory.
	Path string
	// Resources are the resolved resources by logical id.
	Resources map[string]*rawResource
	// Warnings name what the template holds that Portico does not act on.
	Warnings []string
	// Outputs are the template's Outputs, resolved but for the names of what
	// the deploy creates (see Outputs).
	Outputs map[string]string
	stack   string
	// secrets are the values of NoEcho parameters, which Redact masks.
	secrets []string
	// unknownAttrs holds, by token («Queue.Arn»), why each attribute of a
	// resource Portico does not make that the resources name cannot be
	// resolved: an error only where what the deploy reads holds it (not in
	// an ignored event, or a resource Portico does not make).
	unknownAttrs map[string]string
}

// masked is what a NoEcho parameter's value is shown as, as CloudFormation
// shows it.
const masked = "****"

// minRedacted is the length from which a NoEcho value is masked wherever it
// appears in what the deploy prints (errors, warnings, the plan, progress);
// a shorter one would mask unrelated text. Errors about the parameter itself
// never show its value, whatever its length.
const minRedacted = 3

// Redact returns s with the value of each NoEcho parameter masked.
func (t *Template) Redact(s string) string {
	if t == nil {
		return s
	}
	for _, v := range t.secrets {
		s = strings.ReplaceAll(s, v, masked)
	}
	return s
}

// RedactError is err with Redact applied to its text (nil for nil).
func (t *Template) RedactError(err error) error {
	if err == nil || t == nil {
		return err
	}
	if r := t.Redact(err.Error()); r != err.Error() {
		return errors.New(r)
	}
	return err
}

// noEcho reports whether a parameter declares NoEcho: true.
func noEcho(p map[string]any) bool {
	switch v := p["NoEcho"].(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}

// quoteShown quotes a parameter's value for an error, or shows the mask.
func quoteShown(shown string) string {
	if shown == masked {
		return masked
	}
	return strconv.Quote(shown)
}

// APIAttributes reads the attributes of an API that only the server knows,
// for the outputs' !GetAtt. HTTPTarget implements it through the admin API.
type APIAttributes interface {
	// APIEndpoint returns the API's base URL as apigatewayv2's GetApi
	// reports it: the gateway's URL and the API's id (a stage's URL is it
	// and the stage name; an HTTP API's $default stage answers at it).
	APIEndpoint(ctx context.Context, id string) (string, error)
	// RootResourceID returns a REST API's root resource id ("/").
	RootResourceID(ctx context.Context, id string) (string, error)
	// V2IDs returns the ids of an HTTP or WebSocket API's routes and their
	// integrations (by route key) and of its authorizers (by name), as
	// apigatewayv2's GetRoutes and GetAuthorizers report them.
	V2IDs(ctx context.Context, id string) (*V2IDs, error)
}

// V2IDs are the ids of an apigatewayv2 API's routes, integrations and
// authorizers.
type V2IDs struct {
	Routes       map[string]string // route key -> route id
	Integrations map[string]string // route key -> integration id
	Authorizers  map[string]string // name -> authorizer id
}

// ResolveOutputs returns the template's outputs with the resources they name
// replaced by what the stack's record and the server say they are: function
// names and ARNs, API ids, an API's endpoint (ApiEndpoint) and a REST API's
// RootResourceId. An output that cannot be resolved is left out and named in
// the warnings returned.
func (t *Template) ResolveOutputs(ctx context.Context, rec *Record, attrs APIAttributes) (map[string]string, []string) {
	out := map[string]string{}
	var warnings []string
	for _, k := range slices.Sorted(maps.Keys(t.Outputs)) {
		var failed error
		v := tokenPattern.ReplaceAllStringFunc(t.Outputs[k], func(tok string) string {
			m := tokenPattern.FindStringSubmatch(tok)
			name := strings.TrimSuffix(m[1]+"."+m[2], ".")
			var r *Resource
			if rec != nil {
				r = rec.Resources[m[1]]
			}
			if r == nil {
				v, err := t.v2SubID(ctx, rec, attrs, m[1])
				if err != nil {
					failed = fmt.Errorf("%s: %w", name, err)
					return tok
				}
				return v
			}
			var v string
			var err error
			switch {
			case m[2] == "" || m[2] == "ApiId":
				return r.PhysicalID
			case m[2] == "Arn" && r.Kind == KindFunction:
				return functions.ARN(r.PhysicalID, "")
			case m[2] == "ApiEndpoint" && r.Kind == KindAPI:
				v, err = attrs.APIEndpoint(ctx, r.PhysicalID)
			case m[2] == "RootResourceId" && r.Kind == KindAPI:
				v, err = attrs.RootResourceID(ctx, r.PhysicalID)
			case m[2] == "Alias" && r.Kind == KindFunction && r.Alias != "":
				return functions.ARN(r.PhysicalID, r.Alias)
			case m[2] == "Version" && r.Kind == KindFunction && r.Version != "":
				return functions.ARN(r.PhysicalID, r.Version)
			case m[2] == "Stage" && r.Kind == KindAPI:
				v = r.Stage
			case m[2] == "Deployment" && r.Kind == KindAPI:
				v = r.Deployment
			case m[2] == "UsagePlan" && r.Kind == KindAPI:
				v = r.UsagePlanID
			case (m[2] == "ApiKey" || m[2] == "UsagePlanKey") && (r.Kind == KindAPI || r.Kind == KindUsagePlan):
				// A usage plan key's id is its API key's, as API Gateway's
				// CreateUsagePlanKey returns it.
				v = r.APIKeyID
			default:
				err = errors.New("not an attribute portico deploy resolves")
			}
			if err == nil && v == "" {
				err = errors.New("the server reports none")
			}
			if err != nil {
				failed = fmt.Errorf("%s: %w", name, err)
				return tok
			}
			return v
		})
		if failed != nil {
			warnings = append(warnings, fmt.Sprintf("output %s is left out: %v", k, failed))
			continue
		}
		out[k] = v
	}
	return out, warnings
}

// v2SubID is the id of AWS::ApiGatewayV2 Authorizer, Route or Integration
// logical (its Ref, and its AuthorizerId, RouteId or IntegrationId), or the
// name of Stage logical (its Ref), as the
// server reports it for the API of the stack that holds it: the authorizer
// by its Name, the route by its RouteKey, the integration by a route that
// targets it.
func (t *Template) v2SubID(ctx context.Context, rec *Record, attrs APIAttributes, logical string) (string, error) {
	res := t.Resources[logical]
	if res == nil || rec == nil {
		return "", fmt.Errorf("the stack's record holds no %s", logical)
	}
	apiOf := func(props map[string]any) string {
		if m := tokenPattern.FindStringSubmatch(propString(props["ApiId"])); m != nil && m[2] == "" {
			return m[1]
		}
		return ""
	}
	api := apiOf(res.Properties)
	r := rec.Resources[api]
	if r == nil || r.Kind != KindAPI {
		return "", fmt.Errorf("the stack's record holds no API %q of %s", api, logical)
	}
	ids, err := attrs.V2IDs(ctx, r.PhysicalID)
	if err != nil {
		return "", err
	}
	var v string
	switch res.Type {
	case TypeV2Stage:
		// CloudFormation's Ref of a stage is its name.
		v = propString(res.Properties["StageName"])
	case TypeV2Authorizer:
		v = ids.Authorizers[propString(res.Properties["Name"])]
	case TypeV2Route:
		v = ids.Routes[propString(res.Properties["RouteKey"])]
	case TypeV2Integration:
		for _, id := range slices.Sorted(maps.Keys(t.Resources)) {
			rt := t.Resources[id]
			if rt.Type == TypeV2Route && apiOf(rt.Properties) == api &&
				strings.TrimPrefix(propString(rt.Properties["Target"]), "integrations/") == tokenOpen+logical+tokenClose {
				v = ids.Integrations[propString(rt.Properties["RouteKey"])]
				break
			}
		}
	}
	if v == "" {
		return "", errors.New("the server reports none")
	}
	return v, nil
}

// propString is property value v as a string ("" for any other value).
func propString(v any) string {
	s, _ := v.(string)
	return s
}

// refToken marks a Ref or Fn::GetAtt to a resource in a resolved value until
// the deployer knows what it names: «Logical» or «Logical.Attribute».
const (
	tokenOpen  = "«"
	tokenClose = "»"
)

var tokenPattern = regexp.MustCompile(tokenOpen + `([A-Za-z0-9]+)(?:\.([A-Za-z0-9.]+))?` + tokenClose)

// Load reads and resolves the template at path. The error names what to fix:
// a file that is not YAML or JSON, a missing Transform, a Ref to a name the
// template does not define, a parameter without a value.
func Load(path string, opts Options) (*Template, error) {
	data, err := os.ReadFile(path) //nolint:gosec // G304: the user names their own template
	if err != nil {
		return nil, fmt.Errorf("reading the template: %w", err)
	}
	return Parse(path, data, opts)
}

// MaxTemplateBytes is the largest template Load and Parse accept:
// CloudFormation's quota for a template (1 MB, the one uploaded to S3; a
// template body sent in the request is at most 51,200 bytes).
const MaxTemplateBytes = 1 << 20

// goformationYAML serializes goformation's ProcessYAML, which registers its
// YAML tags in a package map on every call: Load and Parse are safe for
// concurrent use (two deploys in one process, as in tests).
var goformationYAML sync.Mutex

func processYAML(data []byte) ([]byte, error) {
	goformationYAML.Lock()
	defer goformationYAML.Unlock()
	return intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
}

// Parse is Load on the template's bytes; path gives the directory relative
// paths are resolved in. Its errors show no NoEcho parameter's value.
func Parse(path string, data []byte, opts Options) (*Template, error) {
	if len(data) > MaxTemplateBytes {
		// Refused before parsing: the parse of a template this large takes
		// minutes (and does not stop for Ctrl-C) for one CloudFormation
		// refuses anyway.
		return nil, fmt.Errorf("the template is %d bytes; at most %d are accepted (CloudFormation's quota for a template is 1 MB): split it into stacks, or move large values (Metadata, inline code, API definitions) into files it refers to (CodeUri, DefinitionUri)",
			len(data), MaxTemplateBytes)
	}
	var secrets []string
	t, err := parse(path, data, opts, &secrets)
	if err != nil {
		return nil, (&Template{secrets: secrets}).RedactError(err)
	}
	return t, nil
}

func parse(path string, data []byte, opts Options, secrets *[]string) (*Template, error) {
	if strings.TrimSpace(string(data)) == "" {
		return nil, fmt.Errorf("%s is empty: a SAM template is a YAML or JSON document with Transform: %s and Resources", path, Transform)
	}
	// First pass: YAML (or JSON, which is YAML) to JSON with the short-form tags
	// (!Ref, !Sub, !GetAtt) in their long form, nothing resolved yet.
	if err := checkTags(data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := checkDepth(data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	data, err := longFormConditions(data)
	if err == nil {
		var unresolvedData []byte
		unresolvedData, err = processYAML(data)
		data = unresolvedData
	}
	unresolved := data
	if err != nil {
		return nil, fmt.Errorf("%s is not a YAML or JSON template: %s", path, strings.TrimPrefix(err.Error(), "invalid YAML template: "))
	}
	var top map[string]any
	if err := json.Unmarshal(unresolved, &top); err != nil || top == nil {
		return nil, fmt.Errorf("%s is not a template: its top level must be a mapping with Transform and Resources", path)
	}
	if err := checkSections(top); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var raw rawTemplate
	if err := json.Unmarshal(unresolved, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := checkConditions(raw.Conditions); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !hasTransform(raw.Transform) {
		return nil, fmt.Errorf("%s: Transform must be %s (a SAM template)", path, Transform)
	}
	if len(raw.Resources) == 0 {
		return nil, fmt.Errorf("%s: the template has no Resources", path)
	}
	t := &Template{Path: path, stack: opts.Stack}
	if ts, _ := raw.Transform.([]any); slices.Contains(ts, any(LanguageExtensions)) {
		t.warn("Transform %s is not run: its functions (Fn::ForEach, Fn::Length, Fn::ToJsonString, Fn::FindInMap's DefaultValue) are refused where the template uses them", LanguageExtensions)
	}
	for k := range top {
		switch k {
		case "AWSTemplateFormatVersion", "Transform", "Description", "Parameters", "Globals", "Resources", "Outputs", "Metadata", "Mappings", "Conditions":
		default:
			t.warn("top-level section %s is not supported and is ignored", k)
		}
	}
	rawResources, _ := top["Resources"].(map[string]any)
	for _, id := range slices.Sorted(maps.Keys(rawResources)) {
		m, _ := rawResources[id].(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			switch k {
			case "Type", "Properties", "DependsOn", "Condition", "Metadata", "DeletionPolicy", "UpdateReplacePolicy":
			default:
				t.warn("%s: resource attribute %s is not supported and is ignored", id, k)
			}
		}
	}
	for id, r := range raw.Resources {
		if r == nil || r.Type == "" {
			return nil, fmt.Errorf("resource %s has no Type", id)
		}
		if r.DeletionPolicy != "" && r.DeletionPolicy != "Delete" {
			return nil, fmt.Errorf("resource %s: DeletionPolicy %s is not supported: Portico deletes what a template no longer has (remove the attribute, or keep the resource in the template)", id, r.DeletionPolicy)
		}
		if r.UpdateReplacePolicy != "" && r.UpdateReplacePolicy != "Delete" {
			return nil, fmt.Errorf("resource %s: UpdateReplacePolicy %s is not supported: Portico deletes what a change replaces (the function under its old FunctionName) once the replacement serves (remove the attribute, or keep FunctionName as it is)", id, r.UpdateReplacePolicy)
		}
		if r.Condition != nil {
			return nil, fmt.Errorf("resource %s: Condition is not supported; remove it or the resource", id)
		}
		if r.Properties == nil {
			r.Properties = map[string]any{}
		}
	}
	generated := map[string]string{}
	for _, id := range addImplicitAPIs(raw.Resources) {
		generated[id] = ""
	}
	if err := applyGlobals(raw.Globals, raw.Resources, t); err != nil {
		return nil, err
	}
	if err := checkConditionFuncs(raw.Resources, raw.Outputs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	params, noEchoValues, err := parameterValues(raw.Parameters, opts.Parameters)
	if err != nil {
		return nil, err
	}
	t.secrets, *secrets = noEchoValues, noEchoValues
	names := map[string]*rawResource{}
	for id, r := range raw.Resources {
		names[id] = r
	}
	// The execution role SAM makes for each function without a Role
	// (FunctionNameRole), which templates name in outputs: Portico makes no
	// roles, so a reference resolves to the one it reports for every
	// function, with a warning (resolver.implicitRole).
	for _, id := range slices.Sorted(maps.Keys(raw.Resources)) {
		r := raw.Resources[id]
		if _, hasRole := r.Properties["Role"]; r.Type != TypeFunction || hasRole {
			continue
		}
		if _, taken := names[id+"Role"]; !taken {
			names[id+"Role"] = &rawResource{Type: TypeIAMRole}
			generated[id+"Role"] = id
		}
	}
	for _, id := range slices.Sorted(maps.Keys(raw.Parameters)) {
		if _, clash := raw.Resources[id]; clash {
			// Ref G would name either: CloudFormation refuses the template.
			return nil, fmt.Errorf("%s: %s is declared both as a parameter and as a resource: logical ids must be unique across Parameters and Resources, as CloudFormation requires; rename one", path, id)
		}
	}
	res := &resolver{params: params, resources: names, stack: opts.Stack, generated: generated, unknownAttrs: map[string]string{}}
	if err := checkDependsOn(raw.Resources, t.warn); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// An output's Condition attribute is read after the conditions are
	// evaluated: goformation would replace the whole output with its value.
	for _, k := range slices.Sorted(maps.Keys(raw.Outputs)) {
		o, _ := raw.Outputs[k].(map[string]any)
		if c, ok := o["Condition"]; ok {
			name, _ := c.(string)
			if _, defined := raw.Conditions[name]; !defined {
				return nil, fmt.Errorf("%s: output %s: Condition %v is not one of the template's Conditions", path, k, c)
			}
			delete(o, "Condition")
			o[outputCondition] = name
		}
		if _, ok := o["Export"]; ok {
			t.warn("output %s: Export is ignored: Portico stacks export nothing (Fn::ImportValue is refused)", k)
		}
	}
	// Second pass: resolve intrinsics over Resources, with the Mappings
	// Fn::FindInMap reads and the Conditions Fn::If tests; then over each
	// output on its own (resolveOutput).
	body, err := json.Marshal(map[string]any{"Resources": raw.Resources,
		"Mappings": top["Mappings"], "Conditions": raw.Conditions})
	if err != nil {
		return nil, err
	}
	processed, err := processJSON(body, res.options())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(res.errs) == 0 {
		res.unresolved(processed)
	}
	if len(res.errs) > 0 {
		return nil, errors.Join(res.errs...)
	}
	t.Warnings = append(t.Warnings, res.warns...)
	t.unknownAttrs = res.unknownAttrs
	var out struct {
		Resources map[string]*rawResource `json:"Resources"`
	}
	if err := json.Unmarshal(processed, &out); err != nil {
		return nil, err
	}
	t.Resources = out.Resources
	for id, r := range t.Resources {
		if was := raw.Resources[id]; was != nil {
			r.fromGlobals = was.fromGlobals // not in the JSON
		}
		if r.Properties == nil {
			r.Properties = map[string]any{}
		}
		// Ref AWS::NoValue (resolved to null) removes the property or list
		// entry it stands for, as in CloudFormation.
		dropNulls(r.Properties)
	}
	t.Outputs = map[string]string{}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(raw.Outputs)) {
		v, ok, err := t.resolveOutput(k, raw.Outputs[k], top["Mappings"], raw.Conditions, res)
		if err != nil {
			errs = append(errs, err)
		} else if ok {
			t.Outputs[k] = v
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: %w", path, errors.Join(errs...))
	}
	return t, nil
}

// resolveOutput resolves output k, its intrinsics resolved by a resolver of
// its own: a name the template does not define (a typo) is an error, but
// what Portico cannot resolve though CloudFormation could (an attribute
// Portico does not know, a resource it does not make) leaves the output out
// with a warning saying so. ok is false when the output is left out.
func (t *Template) resolveOutput(k string, o, mappings, conds any, base *resolver) (v string, ok bool, err error) {
	r := &resolver{params: base.params, resources: base.resources, stack: base.stack, generated: base.generated, in: "output " + k + ": "}
	body, err := json.Marshal(map[string]any{"Outputs": map[string]any{k: o}, "Mappings": mappings, "Conditions": conds})
	if err != nil {
		return "", false, err
	}
	processed, err := processJSON(body, r.options())
	if err != nil {
		return "", false, fmt.Errorf("output %s: %w", k, err)
	}
	r.unresolved(processed)
	var hard []error
	var soft []string
	for _, e := range r.errs {
		if u := (unresolvable{}); errors.As(e, &u) {
			soft = append(soft, e.Error())
		} else {
			hard = append(hard, fmt.Errorf("output %s: %w", k, e))
		}
	}
	if len(hard) > 0 {
		return "", false, errors.Join(hard...)
	}
	if len(soft) > 0 {
		t.warn("output %s is left out: %s; remove it from the template", k, strings.Join(soft, "; "))
		return "", false, nil
	}
	var out struct {
		Outputs map[string]struct {
			Value     any    `json:"Value"`
			Condition string `json:"x-portico-condition"`
		} `json:"Outputs"`
		Conditions map[string]any `json:"Conditions"`
	}
	if err := json.Unmarshal(processed, &out); err != nil {
		return "", false, err
	}
	res := out.Outputs[k]
	if res.Condition != "" {
		v, ok := out.Conditions[res.Condition].(bool)
		if !ok {
			return "", false, fmt.Errorf("output %s: condition %s could not be evaluated", k, res.Condition)
		}
		if !v {
			return "", false, nil
		}
	}
	v = t.rawPlanTokens(fmt.Sprint(res.Value))
	for _, m := range tokenPattern.FindAllStringSubmatch(v, -1) {
		typ := "an unknown type"
		if res := base.resources[m[1]]; res != nil {
			typ = res.Type
		} else if m[1] == SharedUsagePlan {
			typ = TypeUsagePlan
		}
		switch typ {
		case TypeFunction, TypeAPI, TypeHTTPAPI, TypeV2API, TypeUsagePlan:
		case TypeV2Authorizer, TypeV2Route, TypeV2Integration, TypeV2Stage: // v2SubID
		default:
			t.warn("output %s is left out: it names %s (%s), which Portico does not make; remove it from the template", k, m[1], typ)
			return "", false, nil
		}
	}
	t.Warnings = append(t.Warnings, r.warns...)
	return v, true, nil
}

// options are goformation's options with the resolver's intrinsic functions.
func (r *resolver) options() *intrinsics.ProcessorOptions {
	res := r
	return &intrinsics.ProcessorOptions{
		EvaluateConditions: true,
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Fn::FindInMap": func(n string, in any, tpl any) any {
				args, _ := in.([]any)
				if len(args) == 4 {
					if m, ok := args[3].(map[string]any); ok && m["DefaultValue"] != nil {
						res.fail("Fn::FindInMap %s: DefaultValue (of the %s transform) is not supported: add the entry to Mappings", templateValue(in), LanguageExtensions)
						return nil
					}
				}
				if len(args) != 3 {
					res.fail("Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey], not %s", templateValue(in))
					return nil
				}
				v := intrinsics.FnFindInMap(n, in, tpl)
				if v == nil {
					res.fail("Fn::FindInMap %s: Mappings has no such entry", templateValue(in))
				}
				return v
			},
			"Fn::If": func(n string, in any, tpl any) any {
				args, _ := in.([]any)
				conds, _ := tpl.(map[string]any)["Conditions"].(map[string]any)
				if len(args) != 3 {
					res.fail("Fn::If takes [Condition, value if true, value if false]")
					return nil
				}
				if _, ok := conds[fmt.Sprint(args[0])].(bool); !ok {
					res.fail("Fn::If %v: Conditions has no condition %v that Portico can evaluate", args[0], args[0])
					return nil
				}
				return intrinsics.FnIf(n, in, tpl)
			},
			"Ref":        res.ref,
			"Fn::Sub":    res.sub,
			"Fn::GetAtt": res.getAtt,
			"Fn::ImportValue": func(_ string, in any, _ any) any {
				res.cannot("Fn::ImportValue %v: stacks do not export values in Portico", in)
				return nil
			},
			"Fn::Join":   res.join,
			"Fn::Select": res.selectFn,
			"Fn::Split":  res.split,
			"Fn::Cidr": func(_ string, in any, _ any) any {
				res.cannot("Fn::Cidr %v: Portico has no VPCs to give address blocks", in)
				return nil
			},
			"Fn::Transform": func(_ string, in any, _ any) any {
				res.cannot("Fn::Transform is not supported; use DefinitionUri for an API definition in a file")
				return nil
			},
		},
	}
}

// shortTags are the YAML short forms of CloudFormation's intrinsic functions
// that goformation reads (and !Condition, which longFormConditions rewrites).
var shortTags = []string{"!And", "!Base64", "!Cidr", "!Condition", "!Equals", "!FindInMap", "!GetAZs", "!GetAtt", "!If",
	"!ImportValue", "!Join", "!Not", "!Or", "!Ref", "!Select", "!Split", "!Sub"}

// checkTags refuses a YAML tag that is not one of shortTags (nor a standard
// !!tag): goformation drops a tag it does not know and keeps the value, so
// `!Frobnicate x` deployed x and `!Refx Name` the text Name.
func checkTags(data []byte) error {
	if !bytes.Contains(data, []byte("!")) {
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil // the first pass says what is wrong with it
	}
	var bad error
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if bad != nil {
			return
		}
		if tag := n.Tag; strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!") && tag != "!" && !slices.Contains(shortTags, tag) {
			if tag == "!Transform" {
				bad = fmt.Errorf("line %d: Fn::Transform (!Transform) is not supported: write the API definition inline in DefinitionBody or in a DefinitionUri file", n.Line)
				return
			}
			bad = fmt.Errorf("line %d: unknown tag %s: the short forms of intrinsic functions are %s", n.Line, tag, strings.Join(shortTags, ", "))
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	return bad
}

// maxTemplateDepth bounds how deeply a template nests mappings and lists
// (an intrinsic function is a mapping, its arguments a list): far beyond
// what a template needs, and low enough that resolving the intrinsics, whose
// cost grows faster than the depth, stays quick.
const maxTemplateDepth = 200

// checkDepth refuses a template nested deeper than maxTemplateDepth, naming
// the limit and the line where it is passed. An alias is not followed: what
// it names is counted where it stands.
func checkDepth(data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil // the first pass says what is wrong with it
	}
	var deep *yaml.Node
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if deep != nil {
			return
		}
		if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
			if depth++; depth > maxTemplateDepth {
				deep = n
				return
			}
		}
		for _, c := range n.Content {
			walk(c, depth)
		}
	}
	walk(&doc, 0)
	if deep == nil {
		return nil
	}
	format := "YAML"
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' {
		format = "JSON"
	}
	return fmt.Errorf("line %d: the template nests mappings and lists (intrinsic functions included) more than %d levels deep, the most Portico reads; this %s nests deeper", deep.Line, maxTemplateDepth, format)
}

// longFormConditions rewrites each !Condition NAME (the short form of a
// condition inside Fn::And, Fn::Or and Fn::Not) as {Condition: NAME}, which
// goformation evaluates: its YAML reader knows no !Condition tag and leaves
// the bare NAME, which its Fn::And, Fn::Or and Fn::Not read only if that
// condition happened to be evaluated first (in map order), so the same
// template deployed or failed at random.
func longFormConditions(data []byte) ([]byte, error) {
	if !bytes.Contains(data, []byte("!Condition")) {
		return data, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Tag == "!Condition" && n.Kind == yaml.ScalarNode {
			name := *n
			name.Tag = "!!str"
			*n = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column,
				Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: "Condition"}, &name}}
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	return yaml.Marshal(&doc)
}

// conditionFuncs are CloudFormation's condition functions, which it takes in
// the Conditions section only (Fn::If takes a condition's name).
var conditionFuncs = []string{"Fn::And", "Fn::Equals", "Fn::Not", "Fn::Or"}

// checkConditionFuncs refuses a condition function used as a value in a
// resource's properties or an output: CloudFormation refuses the template,
// and goformation evaluated it to nothing, so the property was dropped
// without a word (XX: !Or [...] as an environment variable).
func checkConditionFuncs(resources map[string]*rawResource, outputs map[string]any) error {
	var errs []error
	var walk func(where, at string, v any)
	walk = func(where, at string, v any) {
		if len(errs) >= 10 {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			if len(x) == 1 {
				for k := range x {
					if slices.Contains(conditionFuncs, k) {
						errs = append(errs, fmt.Errorf("%s %s: %s is a condition function, which CloudFormation takes only in the Conditions section, "+
							"not as a value: define the condition there and use Fn::If (!If [Condition, value if true, value if false]) here", where, at, k))
						return
					}
				}
			}
			for _, k := range slices.Sorted(maps.Keys(x)) {
				sub := k
				if at != "" {
					sub = at + "." + k
				}
				walk(where, sub, x[k])
			}
		case []any:
			for i, e := range x {
				walk(where, fmt.Sprintf("%s[%d]", at, i), e)
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(resources)) {
		if r := resources[id]; r != nil {
			for _, k := range slices.Sorted(maps.Keys(r.Properties)) {
				walk("resource "+id+": property", k, r.Properties[k])
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(outputs)) {
		if o, ok := outputs[k].(map[string]any); ok {
			walk("output "+k+":", "Value", o["Value"])
		}
	}
	return errors.Join(errs...)
}

// checkConditions fails on a condition that names a condition the template
// does not define, or on conditions that name each other in a cycle, which
// goformation would follow until the stack overflowed.
func checkConditions(conds map[string]any) error {
	refs := map[string][]string{}
	var collect func(from string, v any)
	collect = func(from string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if name, ok := x["Condition"].(string); ok && len(x) == 1 {
				refs[from] = append(refs[from], name)
				return
			}
			for _, k := range slices.Sorted(maps.Keys(x)) {
				collect(from, x[k])
			}
		case []any:
			for _, e := range x {
				collect(from, e)
			}
		}
	}
	names := slices.Sorted(maps.Keys(conds))
	for _, n := range names {
		collect(n, conds[n])
		for _, r := range refs[n] {
			if _, ok := conds[r]; !ok {
				return fmt.Errorf("condition %s names condition %s, which Conditions does not define", n, r)
			}
		}
	}
	const (
		unseen = iota
		visiting
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(n string) error
	visit = func(n string) error {
		switch state[n] {
		case visiting:
			i := slices.Index(path, n)
			return fmt.Errorf("conditions %s name each other in a cycle", strings.Join(append(path[i:], n), " -> "))
		case done:
			return nil
		}
		state[n] = visiting
		path = append(path, n)
		for _, r := range refs[n] {
			if err := visit(r); err != nil {
				return err
			}
		}
		path = path[:len(path)-1]
		state[n] = done
		return nil
	}
	for _, n := range names {
		if err := visit(n); err != nil {
			return err
		}
	}
	return nil
}

// outputCondition holds an output's Condition while intrinsics are resolved.
const outputCondition = "x-portico-condition"

// checkDependsOn fails on resources depending on each other in a cycle, as
// CloudFormation refuses them, and warns about a DependsOn naming a
// resource the template does not define. Portico orders nothing by
// DependsOn.
func checkDependsOn(resources map[string]*rawResource, warn func(format string, args ...any)) error {
	deps := map[string][]string{}
	refs := false // a property names another resource
	ids := slices.Sorted(maps.Keys(resources))
	for _, id := range ids {
		var names []string
		switch d := resources[id].DependsOn.(type) {
		case nil:
		case string:
			names = []string{d}
		case []any:
			for _, e := range d {
				s, ok := e.(string)
				if !ok {
					return fmt.Errorf("resource %s: DependsOn must be a resource name or a list of them", id)
				}
				names = append(names, s)
			}
		default:
			return fmt.Errorf("resource %s: DependsOn must be a resource name or a list of them", id)
		}
		for _, n := range names {
			if _, ok := resources[n]; !ok {
				// A resource SAM generates (ServerlessRestApiProdStage,
				// FnRole) is a valid target Portico does not make.
				warn("resource %s: DependsOn names %s, which the template does not define (Portico makes few of the resources SAM generates, and orders nothing by DependsOn)", id, n)
				continue
			}
			deps[id] = append(deps[id], n)
		}
		// The resources its properties name through Ref, Fn::GetAtt and
		// Fn::Sub, as CloudFormation orders them. A function's Events are
		// left out: SAM makes the API depend on the function, not the other
		// way round.
		props := resources[id].Properties
		if resources[id].Type == TypeFunction {
			props = without(props, "Events")
		}
		for _, n := range propertyRefs(props, resources) {
			if !slices.Contains(deps[id], n) {
				deps[id] = append(deps[id], n)
				refs = true
			}
		}
	}
	state := map[string]int{}
	var visit func(id string, path []string) error
	visit = func(id string, path []string) error {
		switch state[id] {
		case 1:
			i := slices.Index(path, id)
			cycle := path[i:]
			if refs {
				return fmt.Errorf("circular dependency between resources: [%s] (%s, through DependsOn, Ref, Fn::GetAtt or Fn::Sub): CloudFormation refuses it too; remove one of the references", strings.Join(cycle, ", "), strings.Join(append(slices.Clone(cycle), id), " -> "))
			}
			return fmt.Errorf("resources %s depend on each other in a cycle (DependsOn)", strings.Join(append(cycle, id), " -> "))
		case 2:
			return nil
		}
		state[id] = 1
		for _, d := range deps[id] {
			if err := visit(d, append(path, id)); err != nil {
				return err
			}
		}
		state[id] = 2
		return nil
	}
	for _, id := range ids {
		if err := visit(id, nil); err != nil {
			return err
		}
	}
	return nil
}

// propertyRefs returns the resources of the template v names through Ref,
// Fn::GetAtt and Fn::Sub (and SAM's Resource.Alias and the like), sorted.
func propertyRefs(v any, resources map[string]*rawResource) []string {
	found := map[string]bool{}
	add := func(name string) {
		id, _, _ := strings.Cut(name, ".")
		if _, ok := resources[id]; ok {
			found[id] = true
		}
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if len(x) == 1 {
				for k, arg := range x {
					switch k {
					case "Ref":
						if s, ok := arg.(string); ok {
							add(s)
						}
					case "Fn::GetAtt":
						switch a := arg.(type) {
						case string:
							add(a)
						case []any:
							if len(a) > 0 {
								if s, ok := a[0].(string); ok {
									add(s)
								}
							}
						}
					case "Fn::Sub":
						src, vars := arg, map[string]any(nil)
						if a, ok := arg.([]any); ok && len(a) == 2 {
							src = a[0]
							vars, _ = a[1].(map[string]any)
						}
						if str, ok := src.(string); ok {
							for _, m := range subVar.FindAllStringSubmatch(str, -1) {
								if _, local := vars[m[1]]; !local && !strings.HasPrefix(m[1], "!") {
									add(m[1])
								}
							}
						}
					}
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return slices.Sorted(maps.Keys(found))
}

// dropNulls removes null values from maps and lists, in place.
func dropNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
				continue
			}
			x[k] = dropNulls(e)
		}
	case []any:
		out := x[:0]
		for _, e := range x {
			if e != nil {
				out = append(out, dropNulls(e))
			}
		}
		return out
	}
	return v
}

func (t *Template) warn(format string, args ...any) {
	t.Warnings = append(t.Warnings, fmt.Sprintf(format, args...))
}

// Dir is the directory relative paths are resolved in.
func (t *Template) Dir() string { return filepath.Dir(t.Path) }

func hasTransform(v any) bool {
	switch x := v.(type) {
	case string:
		return x == Transform
	case []any:
		for _, e := range x {
			if e == Transform {
				return true
			}
		}
	}
	return false
}

// parameterValues gives each parameter its value: the override, else the
// default. A Number parameter's value is a JSON number. It returns the values
// of the NoEcho parameters too (for Redact): its errors never show them.
func parameterValues(decl map[string]map[string]any, overrides map[string]string) (map[string]any, []string, error) {
	var names []string
	for k := range overrides {
		if _, ok := decl[k]; !ok {
			names = append(names, k)
		}
	}
	if len(names) > 0 {
		sort.Strings(names)
		return nil, nil, fmt.Errorf("--parameter-overrides names %s, which the template does not declare under Parameters", strings.Join(names, ", "))
	}
	out := map[string]any{}
	var secrets []string
	for _, name := range slices.Sorted(maps.Keys(decl)) {
		p := decl[name]
		typ, _ := p["Type"].(string)
		if !parameterType(typ) {
			return nil, nil, fmt.Errorf("parameter %s: Unrecognized parameter type: %q; use String, Number, List<Number>, CommaDelimitedList or an AWS-specific type (AWS::EC2::VPC::Id, AWS::SSM::Parameter::Value<String>, ...)", name, typ)
		}
		v, ok := any(nil), false
		if s, set := overrides[name]; set {
			v, ok = s, true
		} else if d, set := p["Default"]; set {
			v, ok = d, true
		}
		if !ok {
			return nil, nil, fmt.Errorf("parameter %s has no Default: pass --parameter-overrides %s=VALUE", name, name)
		}
		shown := fmt.Sprint(v)
		if noEcho(p) {
			if len(shown) >= minRedacted {
				secrets = append(secrets, shown)
			}
			shown = masked
		}
		allowed, isList := p["AllowedValues"].([]any)
		if v, set := p["AllowedValues"]; set && !isList {
			return nil, nil, fmt.Errorf("parameter %s: AllowedValues must be a list, not %s", name, shape(v))
		}
		if len(allowed) > 0 {
			found := false
			for _, a := range allowed {
				if fmt.Sprint(a) == fmt.Sprint(v) {
					found = true
				}
			}
			if !found {
				return nil, nil, fmt.Errorf("parameter %s is %s, which is not one of its AllowedValues %v", name, shown, allowed)
			}
		}
		if strings.HasPrefix(typ, "AWS::SSM::Parameter::") {
			return nil, nil, fmt.Errorf("parameter %s is of type %s, which Portico cannot resolve: it has no Systems Manager Parameter Store (use a String parameter)", name, typ)
		}
		if err := parameterConstraints(name, typ, fmt.Sprint(v), shown, p); err != nil {
			return nil, nil, err
		}
		switch typ {
		case "Number":
			f, err := strconv.ParseFloat(fmt.Sprint(v), 64)
			if err != nil {
				return nil, nil, fmt.Errorf("parameter %s is a Number but its value is %s", name, quoteShown(shown))
			}
			out[name] = f
		case "CommaDelimitedList", "List<Number>":
			var list []any
			for _, s := range strings.Split(fmt.Sprint(v), ",") {
				list = append(list, strings.TrimSpace(s))
			}
			out[name] = list
		default:
			out[name] = fmt.Sprint(v)
		}
	}
	return out, secrets, nil
}

// parameterType reports whether typ is a CloudFormation parameter type.
func parameterType(typ string) bool {
	switch typ {
	case "String", "Number", "List<Number>", "CommaDelimitedList":
		return true
	}
	return strings.HasPrefix(typ, "AWS::") || strings.HasPrefix(typ, "List<AWS::")
}

// parameterConstraints checks a parameter's value against its
// AllowedPattern, MinLength and MaxLength (String) and MinValue and MaxValue
// (Number), as CloudFormation does before it changes anything.
func parameterConstraints(name, typ, v, shown string, p map[string]any) error {
	fail := func(format string, args ...any) error {
		msg := fmt.Sprintf("parameter %s is %s, which "+format, append([]any{name, quoteShown(shown)}, args...)...)
		if d, _ := p["ConstraintDescription"].(string); d != "" {
			msg += ": " + d
		}
		return errors.New(msg)
	}
	num := func(k string) (float64, bool, error) {
		x, ok := p[k]
		if !ok {
			return 0, false, nil
		}
		f, err := strconv.ParseFloat(fmt.Sprint(x), 64)
		if err != nil {
			return 0, false, fmt.Errorf("parameter %s: %s must be a number, not %v", name, k, x)
		}
		return f, true, nil
	}
	if pat, ok := p["AllowedPattern"]; ok && (typ == "" || typ == "String") {
		re, err := regexp.Compile(`^(?:` + fmt.Sprint(pat) + `)$`)
		if err != nil {
			return fmt.Errorf("parameter %s: AllowedPattern %q is not a regular expression Portico reads: %w", name, pat, err)
		}
		if !re.MatchString(v) {
			return fail("does not match its AllowedPattern %s", pat)
		}
	}
	for _, c := range []struct {
		key  string
		of   float64
		less bool
		what string
	}{
		{"MinLength", float64(len(v)), true, "is shorter than its MinLength"},
		{"MaxLength", float64(len(v)), false, "is longer than its MaxLength"},
	} {
		lim, ok, err := num(c.key)
		if err != nil {
			return err
		}
		if ok && (typ == "" || typ == "String") && ((c.less && c.of < lim) || (!c.less && c.of > lim)) {
			return fail("%s %v", c.what, lim)
		}
	}
	if typ == "Number" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil // reported by the caller
		}
		if lim, ok, err := num("MinValue"); err != nil {
			return err
		} else if ok && f < lim {
			return fail("is below its MinValue %v", lim)
		}
		if lim, ok, err := num("MaxValue"); err != nil {
			return err
		} else if ok && f > lim {
			return fail("is above its MaxValue %v", lim)
		}
	}
	return nil
}

// checkSections checks the shape of the template's sections before they are
// decoded, so that a section written as a list or a string is refused with
// where it is and what it takes (it was a Go decoder message, or dropped).
func checkSections(top map[string]any) error {
	mapOf := func(where string, v any, takes string) (map[string]any, error) {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s must be a mapping (%s), not %s", where, takes, shape(v))
		}
		return m, nil
	}
	sections := map[string]string{
		"Parameters": "parameter names to {Type, Default, ...}", "Globals": "Function, Api, HttpApi to their properties",
		"Resources": "logical ids to {Type, Properties}", "Outputs": "output names to {Value, ...}",
		"Conditions": "condition names to conditions", "Mappings": "map names to mappings",
	}
	for _, sec := range slices.Sorted(maps.Keys(sections)) {
		v, set := top[sec]
		if !set || (v == nil && sec != "Resources") {
			continue
		}
		m, err := mapOf(sec, v, sections[sec])
		if err != nil {
			return err
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if strings.HasPrefix(k, "Fn::ForEach::") {
				return fmt.Errorf("%s.%s: Fn::ForEach (of the AWS::LanguageExtensions transform) is not supported: write the %s out one by one", sec, k, strings.ToLower(sec))
			}
			switch sec {
			case "Parameters", "Outputs", "Resources":
				e, err := mapOf(sec+"."+k, m[k], map[string]string{"Parameters": "Type, Default, ...", "Outputs": "Value, ...", "Resources": "Type, Properties, ..."}[sec])
				if err != nil {
					return err
				}
				if sec != "Resources" {
					continue
				}
				if t, ok := e["Type"]; ok {
					if _, isString := t.(string); !isString {
						return fmt.Errorf("resource %s: Type must be a string, not %s", k, shape(t))
					}
				}
				if p, ok := e["Properties"]; ok && p != nil {
					if _, err := mapOf("resource "+k+": Properties", p, "property names to values"); err != nil {
						return err
					}
					if err := noNulls("/Resources/"+k+"/Properties", p); err != nil {
						return err
					}
				}
				for _, attr := range []string{"DeletionPolicy", "UpdateReplacePolicy"} {
					if d, ok := e[attr]; ok {
						if _, isString := d.(string); !isString {
							return fmt.Errorf("resource %s: %s must be a string, not %s", k, attr, shape(d))
						}
					}
				}
			case "Globals":
				g, err := mapOf("Globals."+k, m[k], "property names to values")
				if err != nil {
					return err
				}
				if err := noNulls("/Globals/"+k, g); err != nil {
					return err
				}
				if a, ok := g["Auth"]; ok && (k == "Api" || k == "HttpApi") {
					if _, err := mapOf("Globals."+k+".Auth", a, "DefaultAuthorizer, Authorizers, ..."); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// noNulls refuses a null value under path, as CloudFormation does: YAML's
// `Name:` without a value, or `null`, was dropped without a word (Ref
// AWS::NoValue is how a template leaves a property out).
func noNulls(path string, v any) error {
	switch x := v.(type) {
	case nil:
		return fmt.Errorf("[%s] 'null' values are not allowed in templates: give it a value, or remove it (or use !Ref AWS::NoValue)", path)
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if err := noNulls(path+"/"+k, x[k]); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range x {
			if err := noNulls(fmt.Sprintf("%s/%d", path, i), e); err != nil {
				return err
			}
		}
	}
	return nil
}

// shape names the shape of a template value, for errors.
func shape(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		if len(x) > 40 {
			x = x[:40] + "..."
		}
		return fmt.Sprintf("the string %q", x)
	case float64:
		return fmt.Sprintf("the number %v", x)
	case bool:
		return fmt.Sprint(x)
	}
	return fmt.Sprintf("a %T", v)
}

// addImplicitAPIs adds SAM's implicit APIs to the resources when a function's
// Api event names no RestApiId (ServerlessRestApi, stage Prod) or its HttpApi
// event no ApiId (ServerlessHttpApi, stage $default), unless the template
// defines a resource of that name. They are added before Globals are merged,
// so that Globals.Api and Globals.HttpApi apply to them as SAM applies them:
// an API key or authorizer declared there is enforced on the implicit API too.
// The stage is set here, as Globals cannot change an implicit API's stage in
// SAM.
//
// It returns the ids of the APIs it added.
func addImplicitAPIs(resources map[string]*rawResource) []string {
	var added []string
	implicit := map[string]struct{ event, idProp, typ, stage string }{
		ImplicitRestAPI: {"Api", "RestApiId", TypeAPI, "Prod"},
		ImplicitHTTPAPI: {"HttpApi", "ApiId", TypeHTTPAPI, "$default"},
	}
	for _, id := range slices.Sorted(maps.Keys(implicit)) {
		im := implicit[id]
		if _, ok := resources[id]; ok {
			continue
		}
		used := false
		for _, r := range resources {
			if r.Type != TypeFunction {
				continue
			}
			events, _ := r.Properties["Events"].(map[string]any)
			for _, ev := range events {
				e, _ := ev.(map[string]any)
				if e["Type"] != im.event {
					continue
				}
				p, _ := e["Properties"].(map[string]any)
				api, named := p[im.idProp]
				if ref, _ := api.(map[string]any); !named || (len(ref) == 1 && ref["Ref"] == id) {
					used = true
				}
			}
		}
		if used {
			resources[id] = &rawResource{Type: im.typ, Properties: map[string]any{"StageName": im.stage}}
			added = append(added, id)
		}
	}
	return added
}

// applyGlobals merges the Globals section into the resources it applies to:
// the resource's own values win, maps merge, lists are the global entries then
// the resource's, as SAM merges them.
func applyGlobals(globals map[string]map[string]any, resources map[string]*rawResource, t *Template) error {
	target := map[string]string{"Function": TypeFunction, "Api": TypeAPI, "HttpApi": TypeHTTPAPI}
	for section, props := range globals {
		typ, ok := target[section]
		if !ok {
			t.warn("Globals.%s is not supported and is ignored", section)
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(props)) {
			if msg := notSAMProperty(typ, k); msg != "" {
				return fmt.Errorf("Globals.%s: %s", section, msg) //nolint:staticcheck // ST1005: it names the template section
			}
		}
		for _, r := range resources {
			if r.Type != typ {
				continue
			}
			for k := range props {
				if r.Properties[k] == nil {
					if r.fromGlobals == nil {
						r.fromGlobals = map[string]bool{}
					}
					r.fromGlobals[k] = true
				}
			}
			merged, _ := mergeGlobal(props, r.Properties).(map[string]any)
			r.Properties = merged
		}
	}
	return nil
}

func mergeGlobal(global, local any) any {
	gm, gok := global.(map[string]any)
	lm, lok := local.(map[string]any)
	if gok && lok {
		// An intrinsic (a map of one Fn:: or Ref key) is a value, not a map to merge.
		if isIntrinsic(lm) || isIntrinsic(gm) {
			return local
		}
		out := map[string]any{}
		for k, v := range gm {
			out[k] = v
		}
		for k, v := range lm {
			if g, ok := gm[k]; ok {
				out[k] = mergeGlobal(g, v)
			} else {
				out[k] = v
			}
		}
		return out
	}
	gl, gok := global.([]any)
	ll, lok := local.([]any)
	if gok && lok {
		return append(append([]any{}, gl...), ll...)
	}
	if local == nil {
		return global
	}
	return local
}

func isIntrinsic(m map[string]any) bool {
	if len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

// resolver resolves Ref, Fn::Sub and Fn::GetAtt against the template's
// parameters, the pseudo parameters and its resources, and collects what it
// cannot resolve.
type resolver struct {
	params    map[string]any
	resources map[string]*rawResource
	// generated are the resources SAM generates that the template names
	// without defining (the implicit APIs, the functions' roles), with the
	// function a role is made for.
	generated map[string]string
	stack     string
	// in prefixes warnings: what is being resolved ("output X: ").
	in    string
	errs  []error
	warns []string
	// unknownAttrs, when not nil, takes the attributes of resources
	// Portico does not make, by token, with why they cannot be resolved
	// (Template.unknownAttrs); a nil one fails them at once (outputs).
	unknownAttrs map[string]string
}

func (r *resolver) fail(format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf(format, args...))
}

// unresolvable is an error for what CloudFormation would resolve and Portico
// cannot (an attribute it does not know, an imported value): it fails a
// resource's property, and leaves an output out with a warning.
type unresolvable struct{ error }

func (r *resolver) cannot(format string, args ...any) {
	r.errs = append(r.errs, unresolvable{fmt.Errorf(format, args...)})
}

// implicitRole resolves a reference to the execution role SAM makes for a
// function (Ref: the role's name; Arn), with a warning: Portico makes no
// roles, and reports one role for every function.
func (r *resolver) implicitRole(id, attr, where string) (any, bool) {
	fn := r.generated[id]
	if r.resources[id] == nil || r.resources[id].Type != TypeIAMRole || fn == "" {
		return nil, false
	}
	var v string
	switch attr {
	case "":
		v = functions.RoleARN[strings.LastIndex(functions.RoleARN, "/")+1:]
	case "Arn":
		v = functions.RoleARN
	default:
		r.cannot("%s: %s is the execution role SAM would make for function %s; Portico makes no roles and knows only its Arn", where, id, fn)
		return nil, true
	}
	r.warns = append(r.warns, fmt.Sprintf("%s%s: %s is the execution role SAM would make for function %s; Portico makes no IAM roles (its functions run with the server's own permissions), so it gives %s, from the Role Portico reports for every function",
		r.in, where, id, fn, v))
	return v, true
}

// pseudo resolves AWS pseudo parameters.
func (r *resolver) pseudo(name string) (any, bool) {
	switch name {
	case "AWS::Region":
		return functions.Region, true
	case "AWS::AccountId":
		return functions.AccountID, true
	case "AWS::StackName":
		return r.stack, true
	case "AWS::StackId":
		return "arn:aws:cloudformation:" + functions.Region + ":" + functions.AccountID + ":stack/" + r.stack + "/portico", true
	case "AWS::Partition":
		return "aws", true
	case "AWS::URLSuffix":
		return "amazonaws.com", true
	case "AWS::NoValue":
		return nil, true
	}
	return nil, false
}

// unsupportedPseudo says why name, an AWS:: pseudo parameter pseudo does
// not resolve, is not one ("": name is not AWS::...).
func unsupportedPseudo(name string) string {
	switch {
	case name == "AWS::NotificationARNs":
		return "pseudo parameter AWS::NotificationARNs is not supported (Portico's stacks send no notifications)"
	case strings.HasPrefix(name, "AWS::"):
		return "no pseudo parameter is named " + name + " (Portico resolves AWS::Region, AWS::AccountId, AWS::StackName, AWS::StackId, AWS::Partition, AWS::URLSuffix and AWS::NoValue)"
	}
	return ""
}

func (r *resolver) known() string {
	var names, generated []string
	for k := range r.params {
		names = append(names, k)
	}
	for k := range r.resources {
		if _, ok := r.generated[k]; ok {
			generated = append(generated, k)
		} else {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	sort.Strings(generated)
	out := "the template defines no parameters or resources"
	if len(names) > 0 {
		out = "the template defines " + strings.Join(names, ", ")
	}
	if len(generated) > 0 {
		out += "; SAM generates " + strings.Join(generated, ", ")
	}
	return out
}

// lookup resolves one name as Ref does.
func (r *resolver) lookup(name string) (any, bool) {
	if v, ok := r.pseudo(name); ok {
		return v, true
	}
	if v, ok := r.params[name]; ok {
		return v, true
	}
	if v, ok := r.implicitRole(name, "", "Ref "+name); ok {
		return v, true
	}
	if _, ok := r.resources[name]; ok {
		return tokenOpen + name + tokenClose, true
	}
	return r.referenceable(name)
}

// referenceable resolves SAM's referenceable properties (Function.Alias,
// Function.Version, Api.Stage, Api.Deployment) and the logical ids SAM
// generates for them that can be named (FunctionAliasLIVE,
// ApiSTAGEStage, HttpApiApiGatewayDefaultStage; those of Auth.UsagePlan:
// planResource) to a token: «Function.Alias»
// and «Api.Stage» resolve everywhere (Build), the others in outputs
// (ResolveOutputs). What CloudFormation's Ref gives: the alias's and the
// version's ARN, the stage's name, the deployment's id.
func (r *resolver) referenceable(name string) (any, bool) {
	token := func(id, prop string) (any, bool) { return tokenOpen + id + "." + prop + tokenClose, true }
	if id, prop, ok := strings.Cut(name, "."); ok {
		res := r.resources[id]
		if res == nil {
			return nil, false
		}
		switch {
		case res.Type == TypeFunction && (prop == "Alias" || prop == "Version"):
			if _, set := res.Properties["AutoPublishAlias"]; !set {
				r.fail("%s: %s has no AutoPublishAlias, so SAM makes no %s for it", name, id, strings.ToLower(prop))
				return nil, true
			}
			return token(id, prop)
		case (res.Type == TypeAPI || res.Type == TypeHTTPAPI) && prop == "Stage", res.Type == TypeAPI && prop == "Deployment":
			return token(id, prop)
		}
		return nil, false
	}
	if tok, _ := r.planResource(name); tok != "" {
		return tok, true
	}
	for _, id := range slices.Sorted(maps.Keys(r.resources)) {
		res := r.resources[id]
		rest, ok := strings.CutPrefix(name, id)
		if !ok || rest == "" {
			continue
		}
		switch res.Type {
		case TypeFunction:
			if alias, _ := res.Properties["AutoPublishAlias"].(string); alias != "" && rest == "Alias"+alias {
				return token(id, "Alias")
			}
		case TypeAPI, TypeHTTPAPI:
			stage, _ := res.Properties["StageName"].(string)
			if (stage != "" && rest == stage+"Stage") || (res.Type == TypeHTTPAPI && (stage == "" || stage == "$default") && rest == "ApiGatewayDefaultStage") {
				return token(id, "Stage")
			}
		}
	}
	return nil, false
}

func (r *resolver) ref(_ string, in any, _ any) any {
	name, ok := in.(string)
	if !ok {
		r.fail("Ref takes a name, not %v", in)
		return nil
	}
	v, ok := r.lookup(name)
	if !ok {
		if _, why := r.planResource(name); why != "" {
			r.fail("Ref %s: %s", name, why)
			return nil
		}
		if why := unsupportedPseudo(name); why != "" {
			r.fail("Ref %s: %s", name, why)
			return nil
		}
		r.fail("Ref %s: no parameter or resource is named %s (%s)", name, name, r.known())
		return nil
	}
	return v
}

// planResource resolves a logical id SAM generates for a REST API's
// Auth.UsagePlan to a token: <Api>UsagePlan, <Api>ApiKey and <Api>UsagePlanKey
// (CreateUsagePlan PER_API) to «Api.UsagePlan», «Api.ApiKey» and
// «Api.UsagePlanKey»; ServerlessUsagePlan, ServerlessApiKey and
// ServerlessUsagePlanKey (SHARED) to «ServerlessUsagePlan»,
// «ServerlessUsagePlan.ApiKey» and «ServerlessUsagePlan.UsagePlanKey». Each
// resolves in outputs (ResolveOutputs) to what CloudFormation's Ref gives:
// the plan's id, the key's id (a usage plan key's id is its key's). why
// says, for one of these names, why the template makes no such resource;
// both are "" for another name.
func (r *resolver) planResource(name string) (tok, why string) {
	switch name {
	case SharedUsagePlan, SharedAPIKey, SharedUsagePlanKey:
		for _, res := range r.resources {
			if res.Type == TypeAPI && createUsagePlan(res) == "SHARED" {
				kind := strings.TrimPrefix(name, "Serverless")
				if kind == "UsagePlan" {
					return tokenOpen + SharedUsagePlan + tokenClose, ""
				}
				return tokenOpen + SharedUsagePlan + "." + kind + tokenClose, ""
			}
		}
		return "", fmt.Sprintf("SAM makes %s only when an AWS::Serverless::Api's Auth.UsagePlan says CreateUsagePlan: SHARED, and none of the template's does", name)
	}
	for _, kind := range []string{"UsagePlanKey", "ApiKey", "UsagePlan"} {
		api, ok := strings.CutSuffix(name, kind)
		if !ok || api == "" {
			continue
		}
		res := r.resources[api]
		if res == nil || res.Type != TypeAPI {
			return "", ""
		}
		if createUsagePlan(res) != "PER_API" {
			return "", fmt.Sprintf("SAM makes %s only for an API whose Auth.UsagePlan says CreateUsagePlan: PER_API, and %s's does not", name, api)
		}
		return tokenOpen + api + "." + kind + tokenClose, ""
	}
	return "", ""
}

// planAttributes are the attributes !GetAtt resolves of the resources SAM
// generates for Auth.UsagePlan, by their kind (planResource), as
// CloudFormation names them.
var planAttributes = map[string]string{"ApiKey": "APIKeyId", "UsagePlan": "Id", "UsagePlanKey": "Id"}

// createUsagePlan is an API's Auth.UsagePlan.CreateUsagePlan, Globals merged
// ("" when not a literal).
func createUsagePlan(res *rawResource) string {
	auth, _ := res.Properties["Auth"].(map[string]any)
	plan, _ := auth["UsagePlan"].(map[string]any)
	s, _ := plan["CreateUsagePlan"].(string)
	return s
}

func (r *resolver) getAtt(_ string, in any, _ any) any {
	var parts []string
	switch x := in.(type) {
	case string:
		parts = strings.SplitN(x, ".", 2)
	case []any:
		for _, p := range x {
			s, ok := p.(string)
			if !ok {
				r.fail("Fn::GetAtt takes [Resource, Attribute], not %v", in)
				return nil
			}
			parts = append(parts, s)
		}
	}
	if len(parts) != 2 {
		r.fail("Fn::GetAtt takes Resource.Attribute, not %v", in)
		return nil
	}
	return r.attribute(parts[0], parts[1], fmt.Sprintf("!GetAtt %s.%s", parts[0], parts[1]))
}

// knownAttributes are the attributes !GetAtt resolves, by resource type: each
// is resolved in outputs by ResolveOutputs, and a function's Arn everywhere
// (Build).
var knownAttributes = map[string][]string{
	TypeFunction: {"Arn"},
	TypeV2API:    {"ApiEndpoint", "ApiId"},
	TypeAPI:      {"RootResourceId"},
	TypeHTTPAPI:  {"ApiId", "ApiEndpoint"},
}

// partAttributes are the attributes by which a WebSocket API's parts name
// each other (AuthorizerId: !GetAtt Auth.AuthorizerId), as by !Ref: they
// resolve to the part's token, which the builder reads; outputs cannot name
// them (the stack's record holds no such ids).
var partAttributes = map[string]string{
	TypeV2Authorizer:  "AuthorizerId",
	TypeV2Integration: "IntegrationId",
	TypeV2Route:       "RouteId",
}

// attribute resolves Resource.Attribute where Portico knows it.
func (r *resolver) attribute(id, attr, where string) any {
	res, ok := r.resources[id]
	if tok, why := r.planResource(id); !ok && (tok != "" || why != "") {
		kind := strings.TrimSuffix(strings.TrimPrefix(tok, tokenOpen), tokenClose)
		kind = kind[strings.LastIndex(kind, ".")+1:]
		if kind == SharedUsagePlan {
			kind = "UsagePlan"
		}
		switch {
		case why != "":
			r.fail("%s: %s", where, why)
			return nil
		case planAttributes[kind] != attr:
			r.cannot("%s: %s has no attribute %s that Portico knows (it knows %s)", where, id, attr, planAttributes[kind])
			return nil
		}
		return tok
	}
	if !ok {
		r.fail("%s: no resource is named %s (%s)", where, id, r.known())
		return nil
	}
	if v, ok := r.implicitRole(id, attr, where); ok {
		return v
	}
	if a, ok := partAttributes[res.Type]; ok && a == attr {
		return tokenOpen + id + "." + attr + tokenClose
	}
	known := knownAttributes
	for _, a := range known[res.Type] {
		if a == attr {
			return tokenOpen + id + "." + attr + tokenClose
		}
	}
	if len(known[res.Type]) == 0 {
		if r.unknownAttrs != nil {
			// An SQS event's Queue: !GetAtt Queue.Arn is an error only
			// where the deploy reads it (builder.leftovers).
			tok := tokenOpen + id + "." + attr + tokenClose
			r.unknownAttrs[tok] = fmt.Sprintf("!GetAtt %s.%s: Portico knows no attributes of %s (%s)", id, attr, id, res.Type)
			return tok
		}
		r.cannot("%s: Portico knows no attributes of %s (%s)", where, id, res.Type)
	} else {
		r.cannot("%s: %s (%s) has no attribute %s that Portico knows (it knows %s)", where, id, res.Type, attr, strings.Join(known[res.Type], ", "))
	}
	return nil
}

// processJSON is goformation's ProcessJSON, with a panic of one of its
// intrinsic functions (an argument list too short) turned into an error.
func processJSON(body []byte, opts *intrinsics.ProcessorOptions) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("an intrinsic function could not be resolved (check its arguments): %v", r)
		}
	}()
	return intrinsics.ProcessJSON(body, opts)
}

// templateValue is v as a template writes it (JSON), for an error: not Go's
// map[...] formatting.
func templateValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// unresolved fails on an intrinsic function left in the resolved template:
// one goformation does not know (Fn::Length, Fn::ToJsonString of the
// LanguageExtensions transform), which would otherwise reach a property as
// a mapping.
func (r *resolver) unresolved(processed []byte) {
	var v any
	if err := json.Unmarshal(processed, &v); err != nil {
		return
	}
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if len(x) == 1 {
				for k := range x {
					if strings.HasPrefix(k, "Fn::") && !seen[k] {
						seen[k] = true
						if k == "Fn::Length" || k == "Fn::ToJsonString" {
							r.cannot("%s (of the %s transform) is not supported: Portico does not run that transform", k, LanguageExtensions)
						} else {
							r.cannot("%s is not an intrinsic function Portico resolves", k)
						}
					}
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
}

// scalarString is a Join or Split operand as CloudFormation reads it: a
// string, or a number or boolean (a Number parameter) as its text.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// join is Fn::Join: [delimiter, [values]].
func (r *resolver) join(_ string, in any, _ any) any {
	if args, _ := in.([]any); len(args) == 2 {
		delim, ok := args[0].(string)
		list, isList := args[1].([]any)
		if ok && isList {
			parts := make([]string, 0, len(list))
			for _, e := range list {
				s, isScalar := scalarString(e)
				if !isScalar {
					r.fail("Fn::Join %v: each value must be a string, not %v", in, e)
					return nil
				}
				parts = append(parts, s)
			}
			return strings.Join(parts, delim)
		}
	}
	r.fail("Fn::Join takes [delimiter, [values]], not %v", in)
	return nil
}

// split is Fn::Split: [delimiter, string].
func (r *resolver) split(_ string, in any, _ any) any {
	args, _ := in.([]any)
	if len(args) == 2 {
		delim, ok1 := args[0].(string)
		src, ok2 := scalarString(args[1])
		if ok1 && ok2 && delim != "" {
			var out []any
			for _, p := range strings.Split(src, delim) {
				out = append(out, p)
			}
			return out
		}
	}
	r.fail("Fn::Split takes [delimiter, string], not %v", in)
	return nil
}

// selectFn is Fn::Select: [index, [values]].
func (r *resolver) selectFn(_ string, in any, _ any) any {
	args, _ := in.([]any)
	if len(args) != 2 {
		r.fail("Fn::Select takes [index, [values]], not %v", in)
		return nil
	}
	s, _ := scalarString(args[0])
	i, err := strconv.Atoi(s)
	list, ok := args[1].([]any)
	if err != nil || !ok {
		r.fail("Fn::Select takes [index, [values]], not %v", in)
		return nil
	}
	if i < 0 || i >= len(list) {
		r.fail("Fn::Select %v: index %d is out of range (the list has %d values)", in, i, len(list))
		return nil
	}
	return list[i]
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

func (r *resolver) sub(_ string, in any, _ any) any {
	var src string
	vars := map[string]any{}
	switch x := in.(type) {
	case string:
		src = x
	case []any:
		if len(x) != 2 {
			r.fail("Fn::Sub takes a string or [string, {variables}]")
			return nil
		}
		s, ok := x[0].(string)
		m, ok2 := x[1].(map[string]any)
		if !ok || !ok2 {
			r.fail("Fn::Sub takes a string or [string, {variables}]")
			return nil
		}
		src, vars = s, m
	default:
		r.fail("Fn::Sub takes a string or [string, {variables}], not %v", in)
		return nil
	}
	return subVar.ReplaceAllStringFunc(src, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}" // ${!Literal} is the literal ${Literal}
		}
		if v, ok := vars[name]; ok {
			return fmt.Sprint(v)
		}
		if v, ok := r.referenceable(name); ok {
			if v == nil {
				return ""
			}
			return fmt.Sprint(v)
		}
		if id, attr, ok := strings.Cut(name, "."); ok {
			tok, why := r.planResource(id)
			if _, isRes := r.resources[id]; isRes || tok != "" || why != "" {
				v := r.attribute(id, attr, "!Sub ${"+name+"}")
				if v == nil {
					return ""
				}
				return fmt.Sprint(v)
			}
			r.fail("!Sub ${%s}: no resource is named %s (%s)", name, id, r.known())
			return ""
		}
		v, ok := r.lookup(name)
		if _, why := r.planResource(name); !ok && why != "" {
			r.fail("!Sub ${%s}: %s", name, why)
			return ""
		}
		if why := unsupportedPseudo(name); !ok && why != "" {
			r.fail("!Sub ${%s}: %s", name, why)
			return ""
		}
		if !ok {
			r.fail("!Sub ${%s}: no parameter or resource is named %s (%s)", name, name, r.known())
			return ""
		}
		if v == nil {
			return ""
		}
		return fmt.Sprint(v)
	})
}
