package admin

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/portico-dev/portico/aliases"
	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/invoker"
)

// Body limits of the Lambda API routes.
const (
	// maxInvokeBody is Lambda's synchronous invoke payload limit (6 MB).
	maxInvokeBody = 6 << 20
	// maxCodeBody bounds CreateFunction and UpdateFunctionCode bodies: a 50 MB zip
	// grows by a third in base64, plus the rest of the JSON.
	maxCodeBody = 70 << 20
	// maxConfigBody bounds every other JSON body.
	maxConfigBody = 1 << 20
	// maxClientContext is Lambda's limit on the base64 X-Amz-Client-Context header.
	maxClientContext = 3583
	// defaultLogBytes is how much of a function's log GET .../logs returns by default.
	defaultLogBytes = 64 << 10
)

// roleARN is the execution role Portico reports; Portico does not use IAM roles.
const roleARN = "arn:aws:iam::" + functions.AccountID + ":role/portico"

// lambdaDeps are the services behind the Lambda API routes.
type lambdaDeps struct {
	fns     *functions.Service
	aliases *aliases.Service
	inv     *invoker.Invoker
}

// registerLambdaRoutes registers the Lambda API subset under /2015-03-31 (and the
// concurrency routes under their own API versions), plus Portico's log route.
func (s *Server) registerLambdaRoutes() {
	const fn = "/2015-03-31/functions"
	s.Handle("POST "+fn, s.createFunction)
	s.Handle("POST "+fn+"/{$}", s.createFunction)
	s.Handle("GET "+fn, s.listFunctions)
	s.Handle("GET "+fn+"/{$}", s.listFunctions)
	s.Handle("GET "+fn+"/{name}", s.getFunction)
	s.Handle("DELETE "+fn+"/{name}", s.deleteFunction)
	s.Handle("GET "+fn+"/{name}/configuration", s.getFunctionConfiguration)
	s.Handle("PUT "+fn+"/{name}/configuration", s.updateFunctionConfiguration)
	s.Handle("PUT "+fn+"/{name}/code", s.updateFunctionCode)
	s.Handle("POST "+fn+"/{name}/versions", s.publishVersion)
	s.Handle("GET "+fn+"/{name}/versions", s.listVersions)
	s.Handle("POST "+fn+"/{name}/aliases", s.createAlias)
	s.Handle("GET "+fn+"/{name}/aliases", s.listAliases)
	s.Handle("GET "+fn+"/{name}/aliases/{alias}", s.getAlias)
	s.Handle("PUT "+fn+"/{name}/aliases/{alias}", s.updateAlias)
	s.Handle("DELETE "+fn+"/{name}/aliases/{alias}", s.deleteAlias)
	s.Handle("POST "+fn+"/{name}/invocations", s.invoke)

	s.Handle("PUT /2017-10-31/functions/{name}/concurrency", s.putConcurrency)
	s.Handle("DELETE /2017-10-31/functions/{name}/concurrency", s.deleteConcurrency)
	s.Handle("GET /2019-09-30/functions/{name}/concurrency", s.getConcurrency)
	s.Handle("PUT /2019-09-30/functions/{name}/provisioned-concurrency", s.putProvisioned)
	s.Handle("GET /2019-09-30/functions/{name}/provisioned-concurrency", s.getProvisioned)
	s.Handle("DELETE /2019-09-30/functions/{name}/provisioned-concurrency", s.deleteProvisioned)

	s.Handle("GET /portico/v1/functions/{name}/logs", s.functionLogs)
	s.Handle("GET /portico/v1/functions/{name}/code", s.functionCode)
}

// ---- wire shapes (Lambda's JSON) ----

// functionConfiguration is Lambda's FunctionConfiguration.
type functionConfiguration struct {
	FunctionName      string                 `json:"FunctionName"`
	FunctionArn       string                 `json:"FunctionArn"`
	Runtime           string                 `json:"Runtime,omitempty"`
	Role              string                 `json:"Role"`
	Handler           string                 `json:"Handler,omitempty"`
	CodeSize          int64                  `json:"CodeSize"`
	Description       string                 `json:"Description"`
	Timeout           int                    `json:"Timeout"`
	MemorySize        int                    `json:"MemorySize"`
	LastModified      string                 `json:"LastModified"`
	CodeSha256        string                 `json:"CodeSha256"`
	Version           string                 `json:"Version"`
	Environment       *environment           `json:"Environment,omitempty"`
	TracingConfig     tracingConfig          `json:"TracingConfig"`
	RevisionID        string                 `json:"RevisionId"`
	State             string                 `json:"State"`
	LastUpdateStatus  string                 `json:"LastUpdateStatus"`
	FileSystemConfigs []functions.FileSystem `json:"FileSystemConfigs,omitempty"`
	PackageType       string                 `json:"PackageType"`
	Architectures     []string               `json:"Architectures"`
	EphemeralStorage  ephemeralStorage       `json:"EphemeralStorage"`
}

type environment struct {
	Variables map[string]string `json:"Variables"`
}

type tracingConfig struct {
	Mode string `json:"Mode"`
}

type ephemeralStorage struct {
	Size int `json:"Size"`
}

// lambdaTime is the timestamp format of Lambda's LastModified fields.
const lambdaTime = "2006-01-02T15:04:05.000-0700"

// toConfiguration renders c in Lambda's shape; qualifier is the one the ARN carries
// ("" for the unqualified function ARN).
// publishedQualifier is the qualifier of a configuration that Create or
// UpdateCode returned: its version when it published one ("Publish": true), else
// none ($LATEST is reported unqualified).
func publishedQualifier(c *functions.Config) string {
	if c.Version != "" && c.Version != functions.Latest {
		return c.Version
	}
	return ""
}

func toConfiguration(c *functions.Config, qualifier string) functionConfiguration {
	out := functionConfiguration{
		FunctionName:      c.FunctionName,
		FunctionArn:       functions.ARN(c.FunctionName, qualifier),
		Runtime:           c.Runtime,
		Role:              roleARN,
		Handler:           c.Handler,
		CodeSize:          c.CodeSize,
		Description:       c.Description,
		Timeout:           c.Timeout,
		MemorySize:        c.MemorySize,
		LastModified:      c.LastModified.UTC().Format(lambdaTime),
		CodeSha256:        c.CodeSha256,
		Version:           c.Version,
		TracingConfig:     tracingConfig{Mode: "PassThrough"},
		RevisionID:        c.RevisionID,
		State:             "Active",
		LastUpdateStatus:  "Successful",
		FileSystemConfigs: c.FileSystems,
		PackageType:       c.PackageType,
		Architectures:     []string{"x86_64"},
		EphemeralStorage:  ephemeralStorage{Size: 512},
	}
	if out.Version == "" {
		out.Version = functions.Latest
	}
	if out.PackageType == "" {
		out.PackageType = functions.PackageZip
	}
	if len(c.Environment) > 0 {
		out.Environment = &environment{Variables: c.Environment}
	}
	return out
}

// fileSystemConfigs accepts Lambda's FileSystemConfigs list.
type fileSystemConfigs = []functions.FileSystem

type functionCode struct {
	ZipFile         []byte `json:"ZipFile"`
	ImageURI        string `json:"ImageUri"`
	S3Bucket        string `json:"S3Bucket"`
	S3Key           string `json:"S3Key"`
	S3ObjectVersion string `json:"S3ObjectVersion"`
}

type createFunctionRequest struct {
	FunctionName      string             `json:"FunctionName"`
	Runtime           string             `json:"Runtime"`
	Role              string             `json:"Role"`
	Handler           string             `json:"Handler"`
	Code              *functionCode      `json:"Code"`
	Description       string             `json:"Description"`
	Timeout           *int               `json:"Timeout"`
	MemorySize        *int               `json:"MemorySize"`
	Publish           bool               `json:"Publish"`
	PackageType       string             `json:"PackageType"`
	Environment       *environment       `json:"Environment"`
	FileSystemConfigs *fileSystemConfigs `json:"FileSystemConfigs"`
}

type updateCodeRequest struct {
	ZipFile         []byte `json:"ZipFile"`
	ImageURI        string `json:"ImageUri"`
	S3Bucket        string `json:"S3Bucket"`
	S3Key           string `json:"S3Key"`
	S3ObjectVersion string `json:"S3ObjectVersion"`
	Publish         bool   `json:"Publish"`
	DryRun          bool   `json:"DryRun"`
	RevisionID      string `json:"RevisionId"`
}

type updateConfigRequest struct {
	Runtime           *string            `json:"Runtime"`
	Role              *string            `json:"Role"`
	Handler           *string            `json:"Handler"`
	Description       *string            `json:"Description"`
	Timeout           *int               `json:"Timeout"`
	MemorySize        *int               `json:"MemorySize"`
	Environment       *environment       `json:"Environment"`
	FileSystemConfigs *fileSystemConfigs `json:"FileSystemConfigs"`
	RevisionID        string             `json:"RevisionId"`
}

type publishVersionRequest struct {
	Description string `json:"Description"`
	RevisionID  string `json:"RevisionId"`
	CodeSha256  string `json:"CodeSha256"`
}

type aliasRequest struct {
	Name            string                 `json:"Name"`
	FunctionVersion string                 `json:"FunctionVersion"`
	Description     *string                `json:"Description"`
	RoutingConfig   *aliases.RoutingConfig `json:"RoutingConfig"`
	RevisionID      string                 `json:"RevisionId"`
}

type concurrencyDoc struct {
	ReservedConcurrentExecutions *int `json:"ReservedConcurrentExecutions,omitempty"`
}

type provisionedRequest struct {
	ProvisionedConcurrentExecutions *int `json:"ProvisionedConcurrentExecutions"`
}

type provisionedResponse struct {
	RequestedProvisionedConcurrentExecutions int    `json:"RequestedProvisionedConcurrentExecutions"`
	AllocatedProvisionedConcurrentExecutions int    `json:"AllocatedProvisionedConcurrentExecutions"`
	AvailableProvisionedConcurrentExecutions int    `json:"AvailableProvisionedConcurrentExecutions"`
	Status                                   string `json:"Status"`
	LastModified                             string `json:"LastModified"`
}

// ---- request helpers ----

// invalid returns an InvalidParameterValueException.
func invalid(format string, args ...any) error {
	return errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException", fmt.Sprintf(format, args...))
}

// decodeJSON reads a JSON body of at most limit bytes into v. An empty body is an
// empty object. Malformed JSON is InvalidRequestContentException; an oversized body
// RequestTooLargeException.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errdefs.New(errdefs.ErrTooLarge, "RequestTooLargeException",
				fmt.Sprintf("Request must be smaller than %d bytes for this operation", limit))
		}
		return errdefs.New(errdefs.ErrInvalid, "InvalidRequestContentException", "could not read the request body: "+err.Error())
	}
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errdefs.New(errdefs.ErrInvalid, "InvalidRequestContentException",
			"Could not parse request body into json: "+err.Error())
	}
	return nil
}

// pathRef parses the {name} path value and merges ?Qualifier.
func pathRef(r *http.Request) (functions.Ref, error) {
	ref, err := functions.ParseRef(r.PathValue("name"))
	if err != nil {
		return functions.Ref{}, err
	}
	return ref.WithQualifier(r.URL.Query().Get("Qualifier"))
}

// pathName parses the {name} path value of routes that take no qualifier.
func pathName(r *http.Request) (string, error) {
	ref, err := functions.ParseRef(r.PathValue("name"))
	if err != nil {
		return "", err
	}
	if ref.Qualifier != "" {
		return "", invalid("function name %q must not carry a qualifier for this operation", r.PathValue("name"))
	}
	return ref.Name, nil
}

// pathAlias validates the {alias} path value.
func pathAlias(r *http.Request) (string, error) {
	a := r.PathValue("alias")
	if !functions.ValidAliasName(a) {
		return "", invalid("alias name %q must match [A-Za-z0-9_-]{1,128} and not be all digits", a)
	}
	return a, nil
}

// resolveConfig returns the configuration a GetFunction-style call names: a version,
// $LATEST, or the version an alias points at (not weighted).
func (s *Server) resolveConfig(r *http.Request, ref functions.Ref) (*functions.Config, error) {
	if ref.IsVersion() {
		return s.fns.Get(r.Context(), ref.Name, ref.Qualifier)
	}
	a, err := s.aliases.Get(r.Context(), ref.Name, ref.Qualifier)
	if err != nil {
		return nil, err
	}
	return s.fns.Get(r.Context(), ref.Name, a.FunctionVersion)
}

// checkRevision fails with PreconditionFailedException when want is set and differs
// from $LATEST's revision.
func (s *Server) checkRevision(r *http.Request, name, want string) error {
	if want == "" {
		return nil
	}
	cur, err := s.fns.Get(r.Context(), name, functions.Latest)
	if err != nil {
		return err
	}
	if cur.RevisionID != want {
		return errdefs.New(errdefs.ErrPrecondition, "PreconditionFailedException",
			"The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
	}
	return nil
}

func validTimeoutMemory(timeout, memory *int) error {
	if timeout != nil && (*timeout < 1 || *timeout > functions.MaxTimeout) {
		return invalid("Timeout %d is out of range: 1..%d seconds", *timeout, functions.MaxTimeout)
	}
	if memory != nil && (*memory < functions.MinMemory || *memory > functions.MaxMemory) {
		return invalid("MemorySize %d is out of range: %d..%d MB", *memory, functions.MinMemory, functions.MaxMemory)
	}
	return nil
}

func noS3(bucket, key, version string) error {
	if bucket != "" || key != "" || version != "" {
		return invalid("Code from S3 (S3Bucket, S3Key, S3ObjectVersion) is not supported by Portico: send Code.ZipFile (base64) or Code.ImageUri")
	}
	return nil
}

// ---- functions ----

func (s *Server) createFunction(w http.ResponseWriter, r *http.Request) error {
	var req createFunctionRequest
	if err := decodeJSON(w, r, maxCodeBody, &req); err != nil {
		return err
	}
	ref, err := functions.ParseRef(req.FunctionName)
	if err != nil {
		return err
	}
	if ref.Qualifier != "" {
		return invalid("FunctionName %q must not carry a qualifier", req.FunctionName)
	}
	if req.Code == nil {
		return invalid("Code is required: Code.ZipFile (base64) or Code.ImageUri")
	}
	if err := noS3(req.Code.S3Bucket, req.Code.S3Key, req.Code.S3ObjectVersion); err != nil {
		return err
	}
	if err := validTimeoutMemory(req.Timeout, req.MemorySize); err != nil {
		return err
	}
	in := functions.CreateInput{
		FunctionName: ref.Name,
		Description:  req.Description,
		PackageType:  req.PackageType,
		Runtime:      req.Runtime,
		Handler:      req.Handler,
		ZipFile:      req.Code.ZipFile,
		ImageURI:     req.Code.ImageURI,
		Publish:      req.Publish,
	}
	if req.Timeout != nil {
		in.Timeout = *req.Timeout
	}
	if req.MemorySize != nil {
		in.MemorySize = *req.MemorySize
	}
	if req.Environment != nil {
		in.Environment = req.Environment.Variables
	}
	if req.FileSystemConfigs != nil {
		in.FileSystems = *req.FileSystemConfigs
	}
	c, err := s.fns.Create(r.Context(), in)
	if err != nil {
		return err
	}
	// Create returns $LATEST, or with Publish the published version.
	return writeJSON(w, http.StatusCreated, toConfiguration(c, publishedQualifier(c)))
}

func (s *Server) getFunction(w http.ResponseWriter, r *http.Request) error {
	ref, err := pathRef(r)
	if err != nil {
		return err
	}
	c, err := s.resolveConfig(r, ref)
	if err != nil {
		return err
	}
	type codeLocation struct {
		RepositoryType   string `json:"RepositoryType"`
		Location         string `json:"Location,omitempty"`
		ImageURI         string `json:"ImageUri,omitempty"`
		ResolvedImageURI string `json:"ResolvedImageUri,omitempty"`
	}
	out := struct {
		Configuration functionConfiguration `json:"Configuration"`
		Code          codeLocation          `json:"Code"`
		Concurrency   *concurrencyDoc       `json:"Concurrency,omitempty"`
	}{Configuration: toConfiguration(c, ref.Qualifier)}
	if c.PackageType == functions.PackageImage {
		out.Code = codeLocation{RepositoryType: "ECR", ImageURI: c.ImageURI, ResolvedImageURI: c.ResolvedImage}
	} else {
		loc := "http://" + r.Host + "/portico/v1/functions/" + c.FunctionName + "/code"
		if ref.Qualifier != "" {
			loc += "?Qualifier=" + ref.Qualifier
		}
		out.Code = codeLocation{RepositoryType: "S3", Location: loc}
	}
	if c.ReservedConcurrency != nil {
		out.Concurrency = &concurrencyDoc{ReservedConcurrentExecutions: c.ReservedConcurrency}
	} else if latest, err := s.fns.Get(r.Context(), ref.Name, functions.Latest); err == nil && latest.ReservedConcurrency != nil {
		// Reserved concurrency lives on the function; versions may not carry it.
		out.Concurrency = &concurrencyDoc{ReservedConcurrentExecutions: latest.ReservedConcurrency}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getFunctionConfiguration(w http.ResponseWriter, r *http.Request) error {
	ref, err := pathRef(r)
	if err != nil {
		return err
	}
	c, err := s.resolveConfig(r, ref)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toConfiguration(c, ref.Qualifier))
}

// page applies Lambda's Marker/MaxItems paging to n items; markers are offsets.
func page(r *http.Request, n int) (from, to int, next string, err error) {
	q := r.URL.Query()
	if m := q.Get("Marker"); m != "" {
		from, err = strconv.Atoi(m)
		if err != nil || from < 0 || from > n {
			return 0, 0, "", invalid("Marker %q is not one this API returned", m)
		}
	}
	max := 50
	if v := q.Get("MaxItems"); v != "" {
		max, err = strconv.Atoi(v)
		if err != nil || max < 1 || max > 10000 {
			return 0, 0, "", invalid("MaxItems %q must be 1..10000", v)
		}
	}
	to = min(from+max, n)
	if to < n {
		next = strconv.Itoa(to)
	}
	return from, to, next, nil
}

func (s *Server) listFunctions(w http.ResponseWriter, r *http.Request) error {
	fv := r.URL.Query().Get("FunctionVersion")
	if fv != "" && fv != "ALL" {
		return invalid("FunctionVersion must be ALL")
	}
	list, err := s.fns.List(r.Context())
	if err != nil {
		return err
	}
	var all []functionConfiguration
	for _, c := range list {
		if fv != "ALL" {
			all = append(all, toConfiguration(c, ""))
			continue
		}
		versions, err := s.fns.ListVersions(r.Context(), c.FunctionName)
		if err != nil {
			if errors.Is(err, errdefs.ErrNotFound) {
				continue // deleted meanwhile
			}
			return err
		}
		for _, v := range versions {
			all = append(all, toConfiguration(v, v.Version))
		}
	}
	from, to, next, err := page(r, len(all))
	if err != nil {
		return err
	}
	out := struct {
		Functions  []functionConfiguration `json:"Functions"`
		NextMarker string                  `json:"NextMarker,omitempty"`
	}{Functions: append([]functionConfiguration{}, all[from:to]...), NextMarker: next}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) updateFunctionCode(w http.ResponseWriter, r *http.Request) error {
	name, err := pathName(r)
	if err != nil {
		return err
	}
	var req updateCodeRequest
	if err := decodeJSON(w, r, maxCodeBody, &req); err != nil {
		return err
	}
	if err := noS3(req.S3Bucket, req.S3Key, req.S3ObjectVersion); err != nil {
		return err
	}
	if len(req.ZipFile) == 0 && req.ImageURI == "" {
		return invalid("one of ZipFile (base64) or ImageUri is required")
	}
	if err := s.checkRevision(r, name, req.RevisionID); err != nil {
		return err
	}
	if req.DryRun {
		c, err := s.fns.Get(r.Context(), name, functions.Latest)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, toConfiguration(c, ""))
	}
	c, err := s.fns.UpdateCode(r.Context(), name, functions.CodeInput{ZipFile: req.ZipFile, ImageURI: req.ImageURI, Publish: req.Publish})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toConfiguration(c, publishedQualifier(c)))
}

func (s *Server) updateFunctionConfiguration(w http.ResponseWriter, r *http.Request) error {
	name, err := pathName(r)
	if err != nil {
		return err
	}
	var req updateConfigRequest
	if err := decodeJSON(w, r, maxConfigBody, &req); err != nil {
		return err
	}
	if err := validTimeoutMemory(req.Timeout, req.MemorySize); err != nil {
		return err
	}
	if err := s.checkRevision(r, name, req.RevisionID); err != nil {
		return err
	}
	p := functions.ConfigPatch{
		Description: req.Description,
		Handler:     req.Handler,
		Runtime:     req.Runtime,
		Timeout:     req.Timeout,
		MemorySize:  req.MemorySize,
		FileSystems: req.FileSystemConfigs,
	}
	if req.Environment != nil {
		vars := req.Environment.Variables
		if vars == nil {
			vars = map[string]string{}
		}
		p.Environment = &vars
	}
	c, err := s.fns.UpdateConfig(r.Context(), name, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toConfiguration(c, ""))
}

func (s *Server) deleteFunction(w http.ResponseWriter, r *http.Request) error {
	ref, err := pathRef(r)
	if err != nil {
		return err
	}
	version := ""
	switch {
	case ref.Qualifier == "":
	case ref.Qualifier == functions.Latest:
		return invalid("$LATEST version cannot be deleted without deleting the function")
	case !ref.IsVersion():
		return invalid("Deletion of aliases is not supported by DeleteFunction: use DeleteAlias")
	default:
		version = ref.Qualifier
	}
	if err := s.fns.Delete(r.Context(), ref.Name, version); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- versions ----

func (s *Server) publishVersion(w http.ResponseWriter, r *http.Request) error {
	name, err := pathName(r)
	if err != nil {
		return err
	}
	var req publishVersionRequest
	if err := decodeJSON(w, r, maxConfigBody, &req); err != nil {
		return err
	}
	if req.CodeSha256 != "" {
		cur, err := s.fns.Get(r.Context(), name, functions.Latest)
		if err != nil {
			return err
		}
		if cur.CodeSha256 != req.CodeSha256 {
			return invalid("CodeSha256 (%s) is different from current CodeSha256 in $LATEST (%s). Please try again with the CodeSha256 in $LATEST.", req.CodeSha256, cur.CodeSha256)
		}
	}
	c, err := s.fns.Publish(r.Context(), name, req.Description, req.RevisionID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toConfiguration(c, c.Version))
}

func (s *Server) listVersions(w http.ResponseWriter, r *http.Request) error {
	name, err := pathName(r)
	if err != nil {
		return err
	}
	versions, err := s.fns.ListVersions(r.Context(), name)
	if err != nil {
		return err
	}
	from, to, next, err := page(r, len(versions))
	if err != nil {
		return err
	}
	out := struct {
		Versions   []functionConfiguration `json:"Versions"`
		NextMarker string                  `json:"NextMarker,omitempty"`
	}{Versions: []functionConfiguration{}, NextMarker: next}
	for _, v := range versions[from:to] {
		out.Versions = append(out.Versions, toConfiguration(v, v.Version))
	}
	return writeJSON(w, http.StatusOK, out)
}

// ---- aliases ----

func aliasDoc(fn string, a *aliases.Alias) *aliases.Alias {
	if a.AliasArn == "" {
		a.AliasArn = functions.ARN(fn, a.Name)
	}
	return a
}

func (s *Server) createAlias(w http.ResponseWriter, r *http.Request) error {
	name, err := pathName(r)
	if err != nil {
		return err
	}
	var req aliasRequest
	if err := decodeJSON(w, r, maxConfigBody, &req); err != nil {
		return err
	}
	if !functions.ValidAliasName(req.Name) {
		return invalid("alias name %q must match [A-Za-z0-9_-]{1,128} and not be all digits", req.Name)
	}
	if req.FunctionVersion == "" {
		return invalid("FunctionVersion is required")
	}
	a, err := s.aliases.Create(r.Context(), name, aliases.Input{
		Name: req.Name, FunctionVersion: req.FunctionVersion, Description: req.Description, RoutingConfig: req.RoutingConfig,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, aliasDoc(name, a))
}

func (s *Server) listAliases(w http.ResponseWriter, r *http.Request) error {
	name, err := pathName(r)
	if err != nil {
		return err
	}
	version := r.URL.Query().Get("FunctionVersion")
	if version != "" && version != functions.Latest && !(functions.Ref{Qualifier: version}).IsVersion() {
		return invalid("FunctionVersion %q is not a version", version)
	}
	// The function must exist, even when it has no aliases.
	if _, err := s.fns.Get(r.Context(), name, functions.Latest); err != nil {
		return err
	}
	list, err := s.aliases.List(r.Context(), name, version)
	if err != nil {
		return err
	}
	from, to, next, err := page(r, len(list))
	if err != nil {
		return err
	}
	out := struct {
		Aliases    []*aliases.Alias `json:"Aliases"`
		NextMarker string           `json:"NextMarker,omitempty"`
	}{Aliases: []*aliases.Alias{}, NextMarker: next}
	for _, a := range list[from:to] {
		out.Aliases = append(out.Aliases, aliasDoc(name, a))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getAlias(w http.ResponseWriter, r *http.Request) error {
	name, err := pathName(r)
	if err != nil {
		return err
	}
	alias, err := pathAlias(r)
	if err != nil {
		return err
	}
	a, err := s.aliases.Get(r.Context(), name, alias)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, aliasDoc(name, a))
}

func (s *Server) updateAlias(w http.ResponseWriter, r *http.Request) error {
	name, err := pathName(r)
	if err != nil {
		return err
	}
	alias, err := pathAlias(r)
	if err != nil {
		return err
	}
	var req aliasRequest
	if err := decodeJSON(w, r, maxConfigBody, &req); err != nil {
		return err
	}
	a, err := s.aliases.Update(r.Context(), name, aliases.Input{
		Name: alias, FunctionVersion: req.FunctionVersion, Description: req.Description,
		RoutingConfig: req.RoutingConfig, RevisionID: req.RevisionID,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, aliasDoc(name, a))
}

func (s *Server) deleteAlias(w http.ResponseWriter, r *http.Request) error {
	name, err := pathName(r)
	if err != nil {
		return err
	}
	alias, err := pathAlias(r)
	if err != nil {
		return err
	}
	if err := s.aliases.Delete(r.Context(), name, alias); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- concurrency ----

func (s *Server) putConcurrency(w http.ResponseWriter, r *http.Request) error {
	name, err := pathName(r)
	if err != nil {
		return err
	}
	var req concurrencyDoc
	if err := decodeJSON(w, r, maxConfigBody, &req); err != nil {
		return err
	}
	if req.ReservedConcurrentExecutions == nil || *req.ReservedConcurrentExecutions < 0 {
		return invalid("ReservedConcurrentExecutions is required and must be >= 0")
	}
	if err := s.fns.SetReservedConcurrency(r.Context(), name, req.ReservedConcurrentExecutions); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, req)
}

func (s *Server) getConcurrency(w http.ResponseWriter, r *http.Request) error {
	name, err := pathName(r)
	if err != nil {
		return err
	}
	c, err := s.fns.Get(r.Context(), name, functions.Latest)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, concurrencyDoc{ReservedConcurrentExecutions: c.ReservedConcurrency})
}

func (s *Server) deleteConcurrency(w http.ResponseWriter, r *http.Request) error {
	name, err := pathName(r)
	if err != nil {
		return err
	}
	if err := s.fns.SetReservedConcurrency(r.Context(), name, nil); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// provisionedRef parses the function name and the required ?Qualifier, which must be
// a published version or an alias.
func provisionedRef(r *http.Request) (functions.Ref, error) {
	ref, err := pathRef(r)
	if err != nil {
		return functions.Ref{}, err
	}
	if ref.Qualifier == "" {
		return functions.Ref{}, invalid("Qualifier is required: a published version or an alias")
	}
	if ref.Qualifier == functions.Latest {
		return functions.Ref{}, invalid("Provisioned Concurrency Configs cannot be applied to unpublished function versions ($LATEST)")
	}
	return ref, nil
}

func (s *Server) putProvisioned(w http.ResponseWriter, r *http.Request) error {
	ref, err := provisionedRef(r)
	if err != nil {
		return err
	}
	var req provisionedRequest
	if err := decodeJSON(w, r, maxConfigBody, &req); err != nil {
		return err
	}
	if req.ProvisionedConcurrentExecutions == nil || *req.ProvisionedConcurrentExecutions < 1 {
		return invalid("ProvisionedConcurrentExecutions is required and must be >= 1")
	}
	pc, err := s.fns.PutProvisioned(r.Context(), ref.Name, ref.Qualifier, *req.ProvisionedConcurrentExecutions)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, provisionedDoc(pc.Requested))
}

func provisionedDoc(n int) provisionedResponse {
	// The invoker starts provisioned sandboxes in the background; Portico does not
	// track their progress through this API, so it reports the request as allocated.
	return provisionedResponse{
		RequestedProvisionedConcurrentExecutions: n,
		AllocatedProvisionedConcurrentExecutions: n,
		AvailableProvisionedConcurrentExecutions: n,
		Status:                                   "READY",
		LastModified:                             time.Now().UTC().Format(lambdaTime),
	}
}

func (s *Server) getProvisioned(w http.ResponseWriter, r *http.Request) error {
	ref, err := provisionedRef(r)
	if err != nil {
		return err
	}
	if _, err := s.fns.Get(r.Context(), ref.Name, functions.Latest); err != nil {
		return err
	}
	list, err := s.fns.ListProvisioned(r.Context())
	if err != nil {
		return err
	}
	for _, pc := range list {
		if pc.FunctionName == ref.Name && pc.Qualifier == ref.Qualifier {
			return writeJSON(w, http.StatusOK, provisionedDoc(pc.Requested))
		}
	}
	return errdefs.New(errdefs.ErrNotFound, "ProvisionedConcurrencyConfigNotFoundException",
		fmt.Sprintf("No Provisioned Concurrency Config found for this function: %s", functions.ARN(ref.Name, ref.Qualifier)))
}

func (s *Server) deleteProvisioned(w http.ResponseWriter, r *http.Request) error {
	ref, err := provisionedRef(r)
	if err != nil {
		return err
	}
	if _, err := s.fns.PutProvisioned(r.Context(), ref.Name, ref.Qualifier, 0); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- invoke ----

func (s *Server) invoke(w http.ResponseWriter, r *http.Request) error {
	ref, err := pathRef(r)
	if err != nil {
		return err
	}
	invType := r.Header.Get("X-Amz-Invocation-Type")
	switch invType {
	case "", "RequestResponse", "Event", "DryRun":
	default:
		return invalid("X-Amz-Invocation-Type %q must be RequestResponse, Event or DryRun", invType)
	}
	logType := r.Header.Get("X-Amz-Log-Type")
	if logType != "" && logType != "None" && logType != "Tail" {
		return invalid("X-Amz-Log-Type %q must be None or Tail", logType)
	}
	var clientContext string
	if cc := r.Header.Get("X-Amz-Client-Context"); cc != "" {
		if len(cc) > maxClientContext {
			return invalid("Client context must be at most %d bytes of base64", maxClientContext)
		}
		raw, err := base64.StdEncoding.DecodeString(cc)
		if err != nil {
			return invalid("Client context must be a valid Base64-encoded JSON object")
		}
		clientContext = string(raw)
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, maxInvokeBody+1))
	if err != nil {
		return errdefs.New(errdefs.ErrInvalid, "InvalidRequestContentException", "could not read the request body: "+err.Error())
	}
	if len(payload) > maxInvokeBody {
		// Read on (boundedly) so the client gets the 413 rather than a reset.
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
		return errdefs.New(errdefs.ErrTooLarge, "RequestTooLargeException",
			fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", maxInvokeBody))
	}
	if len(payload) > 0 && !json.Valid(payload) {
		return errdefs.New(errdefs.ErrInvalid, "InvalidRequestContentException", "Could not parse request body into json")
	}

	cfg, err := s.aliases.Resolve(r.Context(), ref)
	if err != nil {
		return err
	}
	switch invType {
	case "DryRun":
		w.WriteHeader(http.StatusNoContent)
		return nil
	case "Event":
		id, err := s.inv.InvokeAsync(r.Context(), invoker.Request{
			Function: cfg, Payload: payload, InvokedARN: functions.ARN(ref.Name, ref.Qualifier), ClientContext: clientContext,
		})
		if err != nil {
			return err
		}
		w.Header().Set("X-Amzn-RequestId", id)
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	res, err := s.inv.Invoke(r.Context(), invoker.Request{
		Function:      cfg,
		Payload:       payload,
		InvokedARN:    functions.ARN(ref.Name, ref.Qualifier),
		ClientContext: clientContext,
		LogTail:       logType == "Tail",
	})
	if err != nil {
		return throttleReason(err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if res.RequestID != "" {
		h.Set("X-Amzn-RequestId", res.RequestID)
	}
	h.Set("X-Amz-Executed-Version", res.ExecutedVersion)
	if res.FunctionError != "" {
		h.Set("X-Amz-Function-Error", res.FunctionError)
	}
	if logType == "Tail" {
		h.Set("X-Amz-Log-Result", base64.StdEncoding.EncodeToString(res.LogTail))
	}
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(res.Payload)
	return err
}

// throttleReason gives a throttling error without an explicit AWS type Lambda's type
// and a Reason, so clients see TooManyRequestsException with one.
func throttleReason(err error) error {
	var k *errdefs.Kinded
	if !errors.Is(err, errdefs.ErrThrottled) || errors.As(err, &k) {
		return err
	}
	return &errdefs.Kinded{Kind: errdefs.ErrThrottled, Type: "TooManyRequestsException",
		Message: "Rate Exceeded.", Reason: "ConcurrentInvocationLimitExceeded"}
}

// ---- Portico's own function routes ----

// functionLogs serves GET /portico/v1/functions/{name}/logs?bytes=N&follow=1: the last
// N bytes of the function's log, then with follow new output as it is written.
func (s *Server) functionLogs(w http.ResponseWriter, r *http.Request) error {
	name, err := pathName(r)
	if err != nil {
		return err
	}
	if _, err := s.fns.Get(r.Context(), name, functions.Latest); err != nil {
		return err
	}
	n := defaultLogBytes
	if v := r.URL.Query().Get("bytes"); v != "" {
		n, err = strconv.Atoi(v)
		if err != nil || n < 0 {
			return invalid("bytes %q must be a non-negative integer", v)
		}
	}
	follow := r.URL.Query().Get("follow")
	following := follow == "1" || follow == "true"
	logs := s.inv.Logs()
	var tail []byte
	if n > 0 {
		tail, err = logs.Read(name, n)
		if err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			return err
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(tail); err != nil || !following { //nolint:gosec // G705: text/plain with nosniff, not HTML
		return nil
	}
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	lines := logs.Follow(r.Context(), name)
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-s.stopping:
			return nil
		case line, ok := <-lines:
			if !ok {
				return nil
			}
			if _, err := w.Write(line); err != nil {
				return nil
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
	}
}

// functionCode serves GET /portico/v1/functions/{name}/code?Qualifier=Q: the Zip
// package of a version, the Code.Location GetFunction reports.
func (s *Server) functionCode(w http.ResponseWriter, r *http.Request) error {
	ref, err := pathRef(r)
	if err != nil {
		return err
	}
	c, err := s.resolveConfig(r, ref)
	if err != nil {
		return err
	}
	if c.PackageType == functions.PackageImage {
		return invalid("function %q is an Image function; its code is the image %s", c.FunctionName, c.ImageURI)
	}
	dir := s.fns.CodeDir(c)
	f, err := os.Open(dir + ".zip") //nolint:gosec // G703: dir is the content-addressed code directory, not user input
	if err != nil {
		return fmt.Errorf("code of %s: %w", ref, errdefs.ErrNotFound)
	}
	defer func() { _ = f.Close() }()
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+c.FunctionName+`.zip"`)
	_, err = io.Copy(w, f)
	return err
}
