package admin

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
)

// The function-level settings that tools read after every create and on every
// refresh (Terraform's aws_lambda_function reads the code signing
// configuration of each Zip function; the aws_lambda_runtime_management_config
// resource and the CLI read the runtime management configuration; ListTags
// is how most tools read tags) answered as Lambda answers a function that sets
// none of them, since Portico has nothing to set: it verifies no code
// signatures, updates no managed runtimes and keeps no tags.

// functionCodeSigningConfig is GetFunctionCodeSigningConfig's answer.
type functionCodeSigningConfig struct {
	CodeSigningConfigArn string `json:"CodeSigningConfigArn"`
	FunctionName         string `json:"FunctionName"`
}

// getFunctionCodeSigningConfig answers GetFunctionCodeSigningConfig as Lambda
// does for a function without a code signing configuration: an empty
// CodeSigningConfigArn.
func (s *Server) getFunctionCodeSigningConfig(w http.ResponseWriter, r *http.Request, name string) error {
	c, err := s.fns.Get(r.Context(), name, functions.Latest)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, functionCodeSigningConfig{FunctionName: c.FunctionName})
}

// putFunctionCodeSigningConfig refuses PutFunctionCodeSigningConfig: Portico
// verifies no code signatures, so a configuration would be accepted and not
// enforced.
func (s *Server) putFunctionCodeSigningConfig(w http.ResponseWriter, r *http.Request, name string) error {
	var req struct {
		CodeSigningConfigArn string `json:"CodeSigningConfigArn"`
	}
	if err := decodeJSON(w, r, lambdaConfig, &req); err != nil {
		return err
	}
	if _, err := s.fns.Get(r.Context(), name, functions.Latest); err != nil {
		return err
	}
	return invalid("Portico does not verify code signatures, so it cannot enforce code signing configuration %q: "+
		"remove the code signing configuration from function %s (Terraform: code_signing_config_arn)", truncate(req.CodeSigningConfigArn, 200), name)
}

// deleteFunctionCodeSigningConfig answers DeleteFunctionCodeSigningConfig:
// a function never has a code signing configuration on Portico, so there is
// nothing to remove.
func (s *Server) deleteFunctionCodeSigningConfig(w http.ResponseWriter, r *http.Request, name string) error {
	_, err := s.fns.Get(r.Context(), name, functions.Latest)
	return noContent(w, err)
}

// runtimeManagementConfig is GetRuntimeManagementConfig's answer.
type runtimeManagementConfig struct {
	UpdateRuntimeOn   string  `json:"UpdateRuntimeOn"`
	RuntimeVersionArn *string `json:"RuntimeVersionArn"`
	FunctionArn       string  `json:"FunctionArn"`
}

// getRuntimeManagementConfig answers GetRuntimeManagementConfig as Lambda does
// for a function whose runtime update mode was never set: Auto, with a null
// RuntimeVersionArn. Portico's runtimes are the function's own bootstrap (or
// image), which Portico never updates behind it.
func (s *Server) getRuntimeManagementConfig(w http.ResponseWriter, r *http.Request, ref functions.Ref) error {
	if _, err := s.resolveConfig(r, ref); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, runtimeManagementConfig{UpdateRuntimeOn: "Auto", FunctionArn: functions.ARN(ref.Name, ref.Qualifier)})
}

// taggablePattern is Lambda's model's pattern of the tag routes' Resource: an
// ARN, of a function, a code signing configuration, an event source mapping
// or a capacity provider. A bare function name is not one.
const taggablePattern = `arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:` +
	`(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|code-signing-config:csc-[a-z0-9]{17}|` +
	`event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|capacity-provider:[a-zA-Z0-9-_]+)`

var taggableRe = regexp.MustCompile(`^` + taggablePattern + `$`)

// checkTaggable refuses a tag route's Resource that is not a function's ARN:
// one that breaks Lambda's model (a bare name, a layer's ARN) with its
// ValidationException at 'resource'; another resource's ARN, which Portico
// has none of, as not found.
func checkTaggable(raw string) error {
	if !taggableRe.MatchString(raw) || len(raw) > 256 {
		return functions.Violation("resource", raw, "satisfy regular expression pattern: "+taggablePattern+
			" (a function's ARN, arn:aws:lambda:REGION:ACCOUNT:function:NAME)")
	}
	if !strings.Contains(raw, ":function:") {
		return errdefs.New(errdefs.ErrNotFound, "ResourceNotFoundException",
			"Resource not found: "+raw+" (Portico has functions only: no code signing configurations, event source mappings or capacity providers)")
	}
	return nil
}

// byTagged adapts a handler of the function the {arn} path value of the tag
// routes names: a function ARN without a qualifier.
func byTagged(h func(w http.ResponseWriter, r *http.Request, name string) error) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		raw := r.PathValue("arn")
		if err := checkTaggable(raw); err != nil {
			return err
		}
		ref, err := functions.ParseLocalRef(raw)
		if err != nil {
			return err
		}
		if ref.Qualifier != "" {
			return invalid("Tags apply to a function, not to a version or alias: use the unqualified ARN %s", functions.ARN(ref.Name, ""))
		}
		return h(w, r, ref.Name)
	}
}

// listTags answers ListTags: Portico keeps no tags (CreateFunction and
// TagResource refuse them), so a function's tags are none.
func (s *Server) listTags(w http.ResponseWriter, r *http.Request, name string) error {
	if _, err := s.fns.Get(r.Context(), name, functions.Latest); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]map[string]string{"Tags": {}})
}

// tagResource refuses TagResource: Portico keeps no tags on functions.
func (s *Server) tagResource(w http.ResponseWriter, r *http.Request, name string) error {
	var req struct {
		Tags map[string]string `json:"Tags"`
	}
	if err := decodeJSON(w, r, lambdaConfig, &req); err != nil {
		return err
	}
	if _, err := s.fns.Get(r.Context(), name, functions.Latest); err != nil {
		return err
	}
	return invalid("Portico keeps no tags on functions: TagResource is not supported (ListTags answers no tags, UntagResource succeeds)")
}

// untagResource answers UntagResource: a function has no tags on Portico, so
// removing any leaves it as it is.
func (s *Server) untagResource(w http.ResponseWriter, r *http.Request, name string) error {
	_, err := s.fns.Get(r.Context(), name, functions.Latest)
	return noContent(w, err)
}
