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

	"github.com/awslabs/goformation/v7/intrinsics"

	"github.com/portico-dev/portico/functions"
)

// Transform is the SAM transform a template must declare.
const Transform = "AWS::Serverless-2016-10-31"

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
	TypePermission    = "AWS::Lambda::Permission"
)

// Implicit API logical ids, as SAM names them.
const (
	ImplicitRestAPI = "ServerlessRestApi"
	ImplicitHTTPAPI = "ServerlessHttpApi"
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
}

// ResolveOutputs returns the template's outputs with the resources they name
// replaced by what the stack's record says they are: function names and ARNs,
// API ids.
func (t *Template) ResolveOutputs(rec *Record) map[string]string {
	out := map[string]string{}
	for k, v := range t.Outputs {
		out[k] = tokenPattern.ReplaceAllStringFunc(v, func(tok string) string {
			m := tokenPattern.FindStringSubmatch(tok)
			r := rec.Resources[m[1]]
			if r == nil {
				return tok
			}
			switch {
			case m[2] == "" || m[2] == "ApiId":
				return r.PhysicalID
			case m[2] == "Arn" && r.Kind == KindFunction:
				return functions.ARN(r.PhysicalID, "")
			}
			return tok
		})
	}
	return out
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

// Parse is Load on the template's bytes; path gives the directory relative
// paths are resolved in.
func Parse(path string, data []byte, opts Options) (*Template, error) {
	if strings.TrimSpace(string(data)) == "" {
		return nil, fmt.Errorf("%s is empty: a SAM template is a YAML or JSON document with Transform: %s and Resources", path, Transform)
	}
	// First pass: YAML (or JSON, which is YAML) to JSON with the short-form tags
	// (!Ref, !Sub, !GetAtt) in their long form, nothing resolved yet.
	unresolved, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, fmt.Errorf("%s is not a YAML or JSON template: %s", path, strings.TrimPrefix(err.Error(), "invalid YAML template: "))
	}
	var top map[string]any
	if err := json.Unmarshal(unresolved, &top); err != nil || top == nil {
		return nil, fmt.Errorf("%s is not a template: its top level must be a mapping with Transform and Resources", path)
	}
	var raw rawTemplate
	if err := json.Unmarshal(unresolved, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !hasTransform(raw.Transform) {
		return nil, fmt.Errorf("%s: Transform must be %s (a SAM template)", path, Transform)
	}
	if len(raw.Resources) == 0 {
		return nil, fmt.Errorf("%s: the template has no Resources", path)
	}
	t := &Template{Path: path, stack: opts.Stack}
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
			case "Type", "Properties", "DependsOn", "Condition", "Metadata", "DeletionPolicy":
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
		if r.Condition != nil {
			return nil, fmt.Errorf("resource %s: Condition is not supported; remove it or the resource", id)
		}
		if r.Properties == nil {
			r.Properties = map[string]any{}
		}
	}
	addImplicitAPIs(raw.Resources)
	if err := applyGlobals(raw.Globals, raw.Resources, t); err != nil {
		return nil, err
	}
	params, err := parameterValues(raw.Parameters, opts.Parameters)
	if err != nil {
		return nil, err
	}
	names := map[string]*rawResource{}
	for id, r := range raw.Resources {
		names[id] = r
	}
	// SAM's implicit APIs, made when a function has an Api or HttpApi event
	// without naming an API.
	for _, id := range []string{ImplicitRestAPI, ImplicitHTTPAPI} {
		if _, ok := names[id]; !ok {
			names[id] = &rawResource{Type: map[string]string{ImplicitRestAPI: TypeAPI, ImplicitHTTPAPI: TypeHTTPAPI}[id]}
		}
	}
	res := &resolver{params: params, resources: names, stack: opts.Stack}
	// Second pass: resolve intrinsics over Resources and Outputs, with the
	// Mappings Fn::FindInMap reads and the Conditions Fn::If tests.
	body, err := json.Marshal(map[string]any{"Resources": raw.Resources, "Outputs": raw.Outputs,
		"Mappings": top["Mappings"], "Conditions": raw.Conditions})
	if err != nil {
		return nil, err
	}
	processed, err := intrinsics.ProcessJSON(body, &intrinsics.ProcessorOptions{
		EvaluateConditions: true,
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Fn::FindInMap": func(n string, in any, tpl any) any {
				v := intrinsics.FnFindInMap(n, in, tpl)
				if v == nil {
					res.fail("Fn::FindInMap %v: Mappings has no such entry", in)
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
				res.fail("Fn::ImportValue %v: stacks do not export values in Portico", in)
				return nil
			},
			"Fn::Transform": func(_ string, in any, _ any) any {
				res.fail("Fn::Transform is not supported; use DefinitionUri for an API definition in a file")
				return nil
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(res.errs) > 0 {
		return nil, errors.Join(res.errs...)
	}
	var out struct {
		Resources map[string]*rawResource `json:"Resources"`
		Outputs   map[string]struct {
			Value any `json:"Value"`
		} `json:"Outputs"`
	}
	if err := json.Unmarshal(processed, &out); err != nil {
		return nil, err
	}
	t.Resources = out.Resources
	for _, r := range t.Resources {
		if r.Properties == nil {
			r.Properties = map[string]any{}
		}
	}
	t.Outputs = map[string]string{}
	for k, o := range out.Outputs {
		t.Outputs[k] = fmt.Sprint(o.Value)
	}
	return t, nil
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
// default. A Number parameter's value is a JSON number.
func parameterValues(decl map[string]map[string]any, overrides map[string]string) (map[string]any, error) {
	var names []string
	for k := range overrides {
		if _, ok := decl[k]; !ok {
			names = append(names, k)
		}
	}
	if len(names) > 0 {
		sort.Strings(names)
		return nil, fmt.Errorf("--parameter-overrides names %s, which the template does not declare under Parameters", strings.Join(names, ", "))
	}
	out := map[string]any{}
	for name, p := range decl {
		typ, _ := p["Type"].(string)
		v, ok := any(nil), false
		if s, set := overrides[name]; set {
			v, ok = s, true
		} else if d, set := p["Default"]; set {
			v, ok = d, true
		}
		if !ok {
			return nil, fmt.Errorf("parameter %s has no Default: pass --parameter-overrides %s=VALUE", name, name)
		}
		if allowed, _ := p["AllowedValues"].([]any); len(allowed) > 0 {
			found := false
			for _, a := range allowed {
				if fmt.Sprint(a) == fmt.Sprint(v) {
					found = true
				}
			}
			if !found {
				return nil, fmt.Errorf("parameter %s is %v, which is not one of its AllowedValues %v", name, v, allowed)
			}
		}
		switch typ {
		case "Number":
			f, err := strconv.ParseFloat(fmt.Sprint(v), 64)
			if err != nil {
				return nil, fmt.Errorf("parameter %s is a Number but its value is %q", name, fmt.Sprint(v))
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
	return out, nil
}

// addImplicitAPIs adds SAM's implicit APIs to the resources when a function's
// Api event names no RestApiId (ServerlessRestApi, stage Prod) or its HttpApi
// event no ApiId (ServerlessHttpApi, stage $default), unless the template
// defines a resource of that name. They are added before Globals are merged,
// so that Globals.Api and Globals.HttpApi apply to them as SAM applies them:
// an API key or authorizer declared there is enforced on the implicit API too.
// The stage is set here, as Globals cannot change an implicit API's stage in
// SAM.
func addImplicitAPIs(resources map[string]*rawResource) {
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
		}
	}
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
		if section == "Api" {
			auth, _ := props["Auth"].(map[string]any)
			if plan, _ := auth["UsagePlan"].(map[string]any); plan["CreateUsagePlan"] == "SHARED" {
				return errors.New("Globals.Api.Auth.UsagePlan: CreateUsagePlan SHARED is not supported; use PER_API (a usage plan per API)")
			}
		}
		for _, r := range resources {
			if r.Type != typ {
				continue
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
	stack     string
	errs      []error
}

func (r *resolver) fail(format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf(format, args...))
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

func (r *resolver) known() string {
	var names []string
	for k := range r.params {
		names = append(names, k)
	}
	for k := range r.resources {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "the template defines no parameters or resources"
	}
	return "the template defines " + strings.Join(names, ", ")
}

// lookup resolves one name as Ref does.
func (r *resolver) lookup(name string) (any, bool) {
	if v, ok := r.pseudo(name); ok {
		return v, true
	}
	if v, ok := r.params[name]; ok {
		return v, true
	}
	if _, ok := r.resources[name]; ok {
		return tokenOpen + name + tokenClose, true
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
		r.fail("Ref %s: no parameter or resource is named %s (%s)", name, name, r.known())
		return nil
	}
	return v
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

// attribute resolves Resource.Attribute where Portico knows it.
func (r *resolver) attribute(id, attr, where string) any {
	res, ok := r.resources[id]
	if !ok {
		r.fail("%s: no resource is named %s (%s)", where, id, r.known())
		return nil
	}
	known := map[string][]string{
		TypeFunction: {"Arn"},
		TypeV2API:    {"ApiEndpoint", "ApiId"},
		TypeAPI:      {"RootResourceId"},
		TypeHTTPAPI:  {"ApiId", "ApiEndpoint"},
	}
	for _, a := range known[res.Type] {
		if a == attr {
			return tokenOpen + id + "." + attr + tokenClose
		}
	}
	if len(known[res.Type]) == 0 {
		r.fail("%s: Portico knows no attributes of %s (%s)", where, id, res.Type)
	} else {
		r.fail("%s: %s (%s) has no attribute %s that Portico knows (it knows %s)", where, id, res.Type, attr, strings.Join(known[res.Type], ", "))
	}
	return nil
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
		if id, attr, ok := strings.Cut(name, "."); ok {
			if _, isRes := r.resources[id]; isRes {
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
