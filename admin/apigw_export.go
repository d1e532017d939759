package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/openapi"
	"github.com/portico-dev/portico/internal/errdefs"
)

// This file holds import-rest-api (POST /restapis?mode=import), put-rest-api
// (PUT /restapis/{id}?mode=merge|overwrite) and get-export, over
// gateway/openapi's Import and Export. OpenAPI has no form for a resource
// without methods: an empty path item ("/things": {}) stands for one, both
// ways.

// importedDefinition reads an OpenAPI 3 or Swagger 2.0 document from the body
// as a REST API, with its resources that have no methods. With
// failonwarnings=true, warnings refuse the import; basepath says how the
// document's base path is read.
func (s *Server) importedDefinition(w http.ResponseWriter, r *http.Request) (_ *apis.API, _ []string, stop func(), _ error) {
	stop = func() {}
	failOnWarnings, err := boolQuery(r, "failonwarnings")
	if err != nil {
		return nil, nil, stop, err
	}
	raw, err := readBody(w, r, jsonBody{limit: openapi.MaxDocument})
	if err != nil {
		return nil, nil, stop, err
	}
	stop = watchImport(w)
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil, stop, badRequest("Invalid OpenAPI input: the body is empty; send an OpenAPI 3 or Swagger 2.0 document (JSON or YAML)")
	}
	// --parameters basepath=ignore|prepend|split, as API Gateway reads the
	// document's basePath (OpenAPI 3: its basePath server variable or
	// server url path).
	basePath := r.URL.Query().Get("basepath")
	switch basePath {
	case "", openapi.BasePathIgnore, openapi.BasePathPrepend, openapi.BasePathSplit:
	default:
		return nil, nil, stop, badRequest("Invalid basepath '%s': use ignore (the default), prepend or split", truncate(basePath, 40))
	}
	res, err := openapi.Import(r.Context(), raw, openapi.Options{Protocol: apis.ProtocolREST, BasePath: basePath})
	if err != nil {
		return nil, nil, stop, importError(err)
	}
	if failOnWarnings && len(res.Warnings) > 0 {
		return nil, nil, stop, badRequest("Warnings found during import:\n\t%s", strings.Join(res.Warnings, "\n\t"))
	}
	a := res.API
	bare, err := barePaths(raw)
	if err != nil {
		return nil, nil, stop, importError(err)
	}
	var bad []error
	for _, p := range bare {
		// A path with no methods is a resource too, held to the
		// characters of one with methods (openapi.Import checks those).
		bad = append(bad, apis.CheckRESTPath(res.PathPrefix+p))
		a.Resources = append(a.Resources, apis.Resource{Path: res.PathPrefix + p})
	}
	if err := errors.Join(bad...); err != nil {
		return nil, nil, stop, importError(err)
	}
	if res.PathPrefix != "" {
		// The base path's resources exist even where no path is below them.
		a.Resources = append(a.Resources, apis.Resource{Path: res.PathPrefix})
	}
	return a, res.Warnings, stop, nil
}

// importError names a refused document as AWS does.
func importError(err error) error {
	if errors.Is(err, errdefs.ErrInvalid) || errors.Is(err, errdefs.ErrTooLarge) {
		// Each problem in the client's words (clientMessage: without the
		// ": invalid parameter" each of the joined problems, one a line,
		// ends in), each on a line of this message.
		lines := strings.Split(clientMessage(err), "\n")
		return badRequest("Errors found during import:\n\t%s", strings.Join(lines, "\n\t"))
	}
	return err
}

// barePaths returns the document's paths whose item has no operation; the x-
// extensions directly under paths are not paths.
func barePaths(raw []byte) ([]string, error) {
	var doc struct {
		Paths map[string]json.RawMessage `json:"paths"`
	}
	js, err := openapi.ToJSON(raw) // JSON read as JSON, as the import reads it
	if err == nil {
		err = json.Unmarshal(js, &doc)
	}
	if err != nil {
		return nil, errdefs.New(errdefs.ErrInvalid, "BadRequestException", "paths: "+err.Error())
	}
	var out []string
	for p, raw := range doc.Paths {
		if strings.HasPrefix(p, "x-") {
			continue
		}
		var item map[string]json.RawMessage
		if err := json.Unmarshal(raw, &item); err != nil {
			return nil, errdefs.New(errdefs.ErrInvalid, "BadRequestException", "paths["+strconv.Quote(p)+"] must be a path item object")
		}
		bare := p != "/"
		for k := range item {
			if k == "x-amazon-apigateway-any-method" || slices.Contains([]string{"get", "put", "post", "delete", "options", "head", "patch"}, k) {
				bare = false
			}
		}
		if bare {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (s *Server) apigwImportRestAPI(w http.ResponseWriter, r *http.Request) error {
	a, warnings, stop, err := s.importedDefinition(w, r)
	defer stop()
	if err != nil {
		return err
	}
	// --parameters endpointConfigurationTypes=REGIONAL, as AWS takes it.
	if t := r.URL.Query().Get("endpointConfigurationTypes"); t != "" {
		if err := checkEndpointTypes([]string{t}, nil); err != nil {
			return err
		}
		a.EndpointTypes = []string{t}
	}
	if err := s.importMayCommit(r); err != nil {
		return err
	}
	created, err := s.gw.APIs.Create(r.Context(), a)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toRestAPIJSON(created, warnings))
}

// apigwPutRestAPI is put-rest-api: mode overwrite replaces the definition,
// mode merge (the default) adds the document's definitions to it, replacing
// the methods, models, authorizers, validators and gateway responses of the
// same names. Resources keep their ids in both.
func (s *Server) apigwPutRestAPI(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("api")
	mode := r.URL.Query().Get("mode")
	switch mode {
	case "":
		mode = "merge"
	case "merge", "overwrite":
	default:
		return badRequest("Invalid mode '%s': use merge or overwrite", truncate(mode, 40))
	}
	if _, err := s.restAPI(r.Context(), id); err != nil {
		return err
	}
	def, warnings, stop, err := s.importedDefinition(w, r)
	defer stop()
	if err != nil {
		return err
	}
	if err := s.importMayCommit(r); err != nil {
		return err
	}
	a, err := s.modifyRestAPI(r.Context(), id, func(a *apis.API) error {
		if mode == "overwrite" {
			overwriteDefinition(a, def)
		} else {
			mergeDefinition(a, def)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toRestAPIJSON(a, warnings))
}

// overwriteDefinition replaces a's definition with def's; resources that moved
// earlier keep their ids where their paths remain. As API Gateway's
// overwrite, the name is the document's title and a description the document
// leaves out is cleared, like the other settings it leaves out.
func overwriteDefinition(a, def *apis.API) {
	kept := a.Resources
	a.Definition = def.Definition
	a.Description = def.Description
	if def.Name != "" {
		a.Name = def.Name
	}
	paths := map[string]bool{}
	for _, n := range a.ResourceTree() {
		paths[n.Path] = true
	}
	for _, res := range kept {
		if res.ID != "" && paths[res.Path] {
			a.Resources = append(a.Resources, res)
		}
	}
}

// mergeDefinition adds def's definitions to a's.
func mergeDefinition(a, def *apis.API) {
	d, n := &a.Definition, &def.Definition
	for _, rt := range n.Routes {
		i := slices.IndexFunc(d.Routes, func(x apis.Route) bool { return x.Method == rt.Method && x.Path == rt.Path })
		if i >= 0 {
			d.Routes[i] = rt
		} else {
			d.Routes = append(d.Routes, rt)
		}
	}
	d.Resources = append(d.Resources, n.Resources...)
	for _, mt := range n.BinaryMediaTypes {
		if !slices.Contains(d.BinaryMediaTypes, mt) {
			d.BinaryMediaTypes = append(d.BinaryMediaTypes, mt)
		}
	}
	if n.APIKeySource != "" {
		d.APIKeySource = n.APIKeySource
	}
	if n.RequestValidator != "" {
		d.RequestValidator = n.RequestValidator
	}
	if n.Version != "" {
		d.Version = n.Version
	}
	d.Authorizers = mergeMap(d.Authorizers, n.Authorizers)
	d.Models = mergeMap(d.Models, n.Models)
	d.Extensions = mergeMap(d.Extensions, n.Extensions)
	d.RequestValidators = mergeMap(d.RequestValidators, n.RequestValidators)
	d.GatewayResponses = mergeMap(d.GatewayResponses, n.GatewayResponses)
}

func mergeMap[V any](dst, src map[string]V) map[string]V {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = map[string]V{}
	}
	maps.Copy(dst, src)
	return dst
}

// stageNotFound is API Gateway's answer for an unknown stage.
func stageNotFound() error {
	return errdefs.New(errdefs.ErrNotFound, "NotFoundException", "Invalid Stage identifier specified")
}

// deployedAPI returns the API as the stage serves it (its deployment's
// snapshot).
func (s *Server) deployedAPI(ctx context.Context, apiID, stage string) (*apis.API, error) {
	if _, err := s.restAPI(ctx, apiID); err != nil {
		return nil, err
	}
	_, dep, err := s.gw.APIs.Resolve(ctx, apiID, stage)
	if errors.Is(err, errdefs.ErrNotFound) {
		return nil, stageNotFound()
	}
	if err != nil {
		return nil, err
	}
	return &dep.API, nil
}

// apigwGetExport is get-export: the stage's deployment as OpenAPI 3.0
// (exportType oas30) or Swagger 2.0 (swagger), JSON or, with Accept:
// application/yaml, YAML. The x-amazon-apigateway-* extensions are left out
// unless parameters name them: extensions=integrations keeps the integrations,
// extensions=authorizers the authorizers, extensions=apigateway all of them.
func (s *Server) apigwGetExport(w http.ResponseWriter, r *http.Request) error {
	var format string
	switch t := r.PathValue("type"); t {
	case "oas30":
		format = openapi.FormatOAS3
	case "swagger":
		format = openapi.FormatSwagger2
	default:
		return badRequest("Invalid export type '%s': use oas30 or swagger", truncate(t, 40))
	}
	keep, err := exportExtensions(r.URL.Query().Get("extensions"))
	if err != nil {
		return err
	}
	a, err := s.deployedAPI(r.Context(), r.PathValue("api"), r.PathValue("stage"))
	if err != nil {
		return err
	}
	out, warnings, err := openapi.ExportStage(a, format, s.stageServer(r.PathValue("stage")))
	if err != nil {
		return err
	}
	addWarnings(w.Header(), warnings)
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		return err
	}
	// Resources without methods, and without descendants that have some,
	// are empty path items.
	paths, _ := doc["paths"].(map[string]any)
	for _, res := range a.Resources {
		implied := slices.ContainsFunc(a.Routes, func(rt apis.Route) bool {
			return rt.Path == res.Path || strings.HasPrefix(rt.Path, res.Path+"/")
		})
		if !implied && paths != nil {
			paths[res.Path] = map[string]any{}
		}
	}
	stripExtensions(doc, keep)
	yamlOut := strings.Contains(r.Header.Get("Accept"), "yaml")
	name := a.Name + "-" + r.PathValue("stage")
	if yamlOut {
		body, err := yaml.Marshal(doc)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/yaml")
		w.Header().Set("Content-Disposition", `attachment; filename="`+safeFilename(name)+`.yaml"`)
		_, err = w.Write(body)
		return err
	}
	body, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="`+safeFilename(name)+`.json"`)
	_, err = w.Write(append(body, '\n')) //nolint:gosec // a JSON document served as application/json, not HTML
	return err
}

// safeFilename keeps a file name to characters that need no quoting.
func safeFilename(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, s)
}

// exportExtensions says which x-amazon-apigateway-* extensions an export keeps:
// nil keeps all (apigateway), an empty set none. postman (API Gateway's
// Postman extensions) is refused, as is any value API Gateway does not take.
func exportExtensions(param string) (map[string]bool, error) {
	keep := map[string]bool{}
	all := false
	for _, e := range strings.Split(param, ",") {
		switch e = strings.TrimSpace(e); e {
		case "":
		case "apigateway":
			all = true
		case "integrations":
			keep["x-amazon-apigateway-integration"] = true
		case "authorizers":
			keep["x-amazon-apigateway-authorizer"] = true
			keep["x-amazon-apigateway-authtype"] = true
		case "postman":
			return nil, badRequest("Invalid extensions 'postman': Portico does not export Postman extensions; use integrations, authorizers or apigateway, or export as oas30 and import that into Postman")
		default:
			return nil, badRequest("Invalid extensions '%s': use integrations, authorizers or apigateway", truncate(e, 40))
		}
	}
	if all {
		return nil, nil
	}
	return keep, nil
}

// stripExtensions removes the x-amazon-apigateway-* keys keep does not name
// (all but -any-method, which holds operations); nil keep removes nothing.
func stripExtensions(v any, keep map[string]bool) {
	if keep == nil {
		return
	}
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			if strings.HasPrefix(k, "x-amazon-apigateway-") && k != "x-amazon-apigateway-any-method" && !keep[k] {
				delete(t, k)
				continue
			}
			stripExtensions(child, keep)
		}
	case []any:
		for _, child := range t {
			stripExtensions(child, keep)
		}
	}
}

// stageServer is where the gateway serves stage of an API, for an export of
// the stage: its base URL and the domain of its host-based URLs.
func (s *Server) stageServer(stage string) openapi.Server {
	return openapi.Server{Base: s.gw.Server.URL(), Domain: s.gw.Server.Gateway().Config().Domain, Stage: stage}
}
