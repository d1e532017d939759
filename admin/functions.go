package admin

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/h1"
	"github.com/portico-dev/portico/internal/listener"
)

// defaultLogBytes is how much of a function's log GET .../logs returns by default.
const defaultLogBytes = 64 << 10

// roleARN is the execution role Portico reports for a function created without
// one; Portico assumes no IAM role.
const roleARN = functions.RoleARN

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
	LoggingConfig     loggingConfig          `json:"LoggingConfig"`
	// ImageConfigResponse is an Image function's ImageConfig, when it has one.
	ImageConfigResponse *imageConfigResponse `json:"ImageConfigResponse,omitempty"`
}

// imageConfigResponse is Lambda's ImageConfigResponse.
type imageConfigResponse struct {
	ImageConfig *functions.ImageConfig `json:"ImageConfig"`
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

// defaultEphemeralStorage is the /tmp size (MB) Portico reports, Lambda's default.
const defaultEphemeralStorage = 512

// loggingConfig is Lambda's LoggingConfig as a function without one shows
// it: Text logs in the function's default log group.
type loggingConfig struct {
	LogFormat string `json:"LogFormat"`
	LogGroup  string `json:"LogGroup"`
}

// defaultLogGroup is the log group Lambda names for a function's logs.
func defaultLogGroup(name string) string { return "/aws/lambda/" + name }

// lambdaTime is the timestamp format of Lambda's LastModified fields.
const lambdaTime = "2006-01-02T15:04:05.000-0700"

// publishedQualifier is the qualifier of a configuration that Create or
// UpdateCode returned: its version when it published one ("Publish": true), else
// none ($LATEST is reported unqualified).
func publishedQualifier(c *functions.Config) string {
	if c.Version != "" && c.Version != functions.Latest {
		return c.Version
	}
	return ""
}

// toConfiguration renders c in Lambda's shape; qualifier is the one the ARN carries
// ("" for the unqualified function ARN).
func toConfiguration(c *functions.Config, qualifier string) functionConfiguration {
	out := functionConfiguration{
		FunctionName:      c.FunctionName,
		FunctionArn:       functions.ARN(c.FunctionName, qualifier),
		Runtime:           c.Runtime,
		Role:              cmp.Or(c.Role, roleARN),
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
		Architectures:     []string{hostArchitecture()},
		EphemeralStorage:  ephemeralStorage{Size: defaultEphemeralStorage},
		LoggingConfig:     loggingConfig{LogFormat: "Text", LogGroup: defaultLogGroup(c.FunctionName)},
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
	if !c.ImageConfig.IsZero() {
		out.ImageConfigResponse = &imageConfigResponse{ImageConfig: c.ImageConfig}
	}
	return out
}

// configuration answers c in Lambda's shape with qualifier, or err.
func configuration(w http.ResponseWriter, status int, c *functions.Config, qualifier string, err error) error {
	if err != nil {
		return err
	}
	return writeJSON(w, status, toConfiguration(c, qualifier))
}

// fileSystemConfigs accepts Lambda's FileSystemConfigs list.
type fileSystemConfigs = []functions.FileSystem

type functionCode struct {
	ZipFile         []byte `json:"ZipFile"`
	ImageURI        string `json:"ImageUri"`
	S3Bucket        string `json:"S3Bucket"`
	S3Key           string `json:"S3Key"`
	S3ObjectVersion string `json:"S3ObjectVersion"`
	codeUnhonoured
}

// codeUnhonoured are the settings of a function's code (CreateFunction's
// Code, UpdateFunctionCode) that Portico would have to drop: it decrypts no
// package with a KMS key and reads none from S3.
type codeUnhonoured struct {
	SourceKMSKeyArn     string `json:"SourceKMSKeyArn"`
	S3ObjectStorageMode string `json:"S3ObjectStorageMode"`
}

// check refuses what u sets that Portico would not honour, naming each.
func (u *codeUnhonoured) check() error {
	var set []string
	if u.SourceKMSKeyArn != "" {
		set = append(set, "SourceKMSKeyArn (Portico keeps packages unencrypted in its data directory)")
	}
	if u.S3ObjectStorageMode != "" && u.S3ObjectStorageMode != "COPY" {
		set = append(set, "S3ObjectStorageMode "+u.S3ObjectStorageMode+" (Portico keeps a copy of the package; it reads none from S3)")
	}
	return unsupported(set)
}

// unsupported refuses the settings set names (each with why, where it says
// more), or is nil when there are none.
func unsupported(set []string) error {
	switch len(set) {
	case 0:
		return nil
	case 1:
		return invalid("Portico does not support %s: remove it from the request", set[0])
	}
	return invalid("Portico does not support %s: remove them from the request", strings.Join(set, "; "))
}

type createFunctionRequest struct {
	FunctionName      string                 `json:"FunctionName"`
	Runtime           string                 `json:"Runtime"`
	Role              string                 `json:"Role"`
	Handler           string                 `json:"Handler"`
	Code              *functionCode          `json:"Code"`
	Description       string                 `json:"Description"`
	Timeout           *int                   `json:"Timeout"`
	MemorySize        *int                   `json:"MemorySize"`
	Publish           bool                   `json:"Publish"`
	PackageType       string                 `json:"PackageType"`
	Environment       *environment           `json:"Environment"`
	FileSystemConfigs *fileSystemConfigs     `json:"FileSystemConfigs"`
	ImageConfig       *functions.ImageConfig `json:"ImageConfig"`
	PublishTo         string                 `json:"PublishTo"`
	unhonoured
}

// unhonoured are the settings of CreateFunction and
// UpdateFunctionConfiguration that Portico would have to drop: it runs no
// layers, X-Ray, dead-letter targets, VPCs, KMS keys, code signing, SnapStart,
// JSON log format, log levels or other log groups, Lambda Managed Instances,
// durable functions or tenant isolation, keeps no tags, gives each sandbox
// the default /tmp, and runs the host's architecture. Set to anything but
// their defaults they are refused (check), not accepted and forgotten.
type unhonoured struct {
	Layers           []string                    `json:"Layers"`
	Architectures    []string                    `json:"Architectures"`
	TracingConfig    *struct{ Mode string }      `json:"TracingConfig"`
	DeadLetterConfig *struct{ TargetArn string } `json:"DeadLetterConfig"`
	KMSKeyArn        string                      `json:"KMSKeyArn"`
	VpcConfig        *struct {
		SubnetIDs               []string `json:"SubnetIds"`
		SecurityGroupIDs        []string `json:"SecurityGroupIds"`
		Ipv6AllowedForDualStack bool
	} `json:"VpcConfig"`
	Tags                 map[string]string         `json:"Tags"`
	CodeSigningConfigArn string                    `json:"CodeSigningConfigArn"`
	SnapStart            *struct{ ApplyOn string } `json:"SnapStart"`
	LoggingConfig        *struct {
		LogFormat, LogGroup, ApplicationLogLevel, SystemLogLevel string
	} `json:"LoggingConfig"`
	EphemeralStorage       *struct{ Size int }                   `json:"EphemeralStorage"`
	CapacityProviderConfig json.RawMessage                       `json:"CapacityProviderConfig"`
	DurableConfig          json.RawMessage                       `json:"DurableConfig"`
	TenancyConfig          *struct{ TenantIsolationMode string } `json:"TenancyConfig"`
}

// hostArchitecture is Lambda's name for the architecture sandboxes run on.
func hostArchitecture() string {
	if runtime.GOARCH == "arm64" {
		return "arm64"
	}
	return "x86_64"
}

// isSet reports whether a JSON value was sent and is neither null nor empty.
func isSet(raw json.RawMessage) bool {
	v := strings.TrimSpace(string(raw))
	return v != "" && v != "null" && v != "{}"
}

// Lambda's API model's enums of the unhonoured settings' values.
var (
	lambdaArchitectures = []string{"x86_64", "arm64"}
	tracingModes        = []string{"Active", "PassThrough"}
	logFormats          = []string{"JSON", "Text"}
	applicationLevels   = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
	systemLevels        = []string{"DEBUG", "INFO", "WARN"}
	snapStartApplyOn    = []string{"PublishedVersions", "None"}
)

// checkArchitecturesModel refuses an Architectures list that breaks Lambda's
// model (at most one value, of x86_64 and arm64) with its ValidationException:
// such a list is refused by Lambda too, unlike arm64 on an x86_64 host.
func checkArchitecturesModel(archs []string) error {
	if len(archs) > 1 {
		return functions.Violation("architectures", javaList(archs), "have length less than or equal to 1")
	}
	for _, a := range archs {
		if !slices.Contains(lambdaArchitectures, a) {
			return functions.Violation("architectures", javaList(archs),
				"satisfy constraint: [Member must satisfy enum value set: ["+strings.Join(lambdaArchitectures, ", ")+"]]")
		}
	}
	return nil
}

// javaList prints a list as Lambda's messages do, [a, b].
func javaList(l []string) string { return "[" + strings.Join(l, ", ") + "]" }

// violations refuses the values u sets that break Lambda's API model (an
// enum or a range) with Lambda's ValidationException, all of them in one
// answer, before check says what Portico does not support of the rest.
func (u *unhonoured) violations() error {
	var errs []error
	errs = append(errs, checkArchitecturesModel(u.Architectures))
	if u.TracingConfig != nil {
		errs = append(errs, functions.CheckEnum("tracingConfig.mode", u.TracingConfig.Mode, tracingModes...))
	}
	if s := u.SnapStart; s != nil {
		errs = append(errs, functions.CheckEnum("snapStart.applyOn", s.ApplyOn, snapStartApplyOn...))
	}
	if lc := u.LoggingConfig; lc != nil {
		errs = append(errs, functions.CheckEnum("loggingConfig.logFormat", lc.LogFormat, logFormats...),
			functions.CheckEnum("loggingConfig.applicationLogLevel", lc.ApplicationLogLevel, applicationLevels...),
			functions.CheckEnum("loggingConfig.systemLogLevel", lc.SystemLogLevel, systemLevels...))
	}
	if s := u.EphemeralStorage; s != nil && (s.Size < 512 || s.Size > 10240) {
		errs = append(errs, functions.RangeViolation("ephemeralStorage.size", s.Size, 512, 10240))
	}
	return functions.Violations(errs...)
}

// check refuses what u, a request about function name, sets that Portico
// would not honour, naming each; values Lambda refuses too are violations.
func (u *unhonoured) check(name string) error {
	if err := u.violations(); err != nil {
		return err
	}
	var set []string
	add := func(cond bool, what string) {
		if cond {
			set = append(set, what)
		}
	}
	add(len(u.Layers) > 0, "Layers (put what a layer holds in the package, or build an Image function)")
	add(len(u.Architectures) > 0 && !slices.Equal(u.Architectures, []string{hostArchitecture()}),
		fmt.Sprintf("Architectures %v (sandboxes run on this host's %s)", u.Architectures, hostArchitecture()))
	if u.TracingConfig != nil {
		add(u.TracingConfig.Mode != "" && u.TracingConfig.Mode != "PassThrough",
			"TracingConfig Mode "+u.TracingConfig.Mode+" (Portico passes trace headers through; it records no X-Ray segments)")
	}
	add(u.DeadLetterConfig != nil && u.DeadLetterConfig.TargetArn != "", "DeadLetterConfig (Portico has no SQS or SNS to send failed events to)")
	add(u.KMSKeyArn != "", "KMSKeyArn")
	add(u.VpcConfig != nil && (len(u.VpcConfig.SubnetIDs) > 0 || len(u.VpcConfig.SecurityGroupIDs) > 0 || u.VpcConfig.Ipv6AllowedForDualStack), "VpcConfig")
	add(len(u.Tags) > 0, "Tags (Portico keeps no tags on functions)")
	add(u.CodeSigningConfigArn != "", "CodeSigningConfigArn (Portico does not verify code signatures)")
	add(u.SnapStart != nil && u.SnapStart.ApplyOn != "" && u.SnapStart.ApplyOn != "None", "SnapStart")
	if lc := u.LoggingConfig; lc != nil {
		add(lc.LogFormat != "" && lc.LogFormat != "Text", "LoggingConfig LogFormat other than Text")
		add(lc.LogGroup != "" && lc.LogGroup != defaultLogGroup(name),
			fmt.Sprintf("LoggingConfig LogGroup %q (the function's log is %s, read with portico logs or GET /portico/v1/functions/%s/logs)",
				lc.LogGroup, defaultLogGroup(name), name))
		add(lc.ApplicationLogLevel != "", "LoggingConfig ApplicationLogLevel (log levels apply only to the JSON log format)")
		add(lc.SystemLogLevel != "", "LoggingConfig SystemLogLevel (log levels apply only to the JSON log format)")
	}
	add(u.EphemeralStorage != nil && u.EphemeralStorage.Size != defaultEphemeralStorage,
		fmt.Sprintf("EphemeralStorage Size other than %d (sandboxes get the default /tmp)", defaultEphemeralStorage))
	add(isSet(u.CapacityProviderConfig), "CapacityProviderConfig (Portico runs no Lambda Managed Instances)")
	add(isSet(u.DurableConfig), "DurableConfig (Portico runs no durable functions)")
	add(u.TenancyConfig != nil && u.TenancyConfig.TenantIsolationMode != "", "TenancyConfig (Portico isolates no tenants)")
	return unsupported(set)
}

type updateCodeRequest struct {
	ZipFile         []byte   `json:"ZipFile"`
	ImageURI        string   `json:"ImageUri"`
	S3Bucket        string   `json:"S3Bucket"`
	S3Key           string   `json:"S3Key"`
	S3ObjectVersion string   `json:"S3ObjectVersion"`
	Publish         bool     `json:"Publish"`
	DryRun          bool     `json:"DryRun"`
	RevisionID      string   `json:"RevisionId"`
	Architectures   []string `json:"Architectures"`
	PublishTo       string   `json:"PublishTo"`
	codeUnhonoured
}

// checkArchitectures refuses architectures other than the host's: sandboxes
// run on it.
func checkArchitectures(archs []string) error {
	if err := checkArchitecturesModel(archs); err != nil {
		return err
	}
	if len(archs) > 0 && !slices.Equal(archs, []string{hostArchitecture()}) {
		return invalid("Portico does not support Architectures %v: sandboxes run on this host's %s; remove them from the request or send [%q]",
			archs, hostArchitecture(), hostArchitecture())
	}
	return nil
}

// checkPublishTo refuses PublishTo: Portico has no $LATEST.PUBLISHED
// (Lambda Managed Instances) to publish to; Publish publishes a version.
func checkPublishTo(to string) error {
	if to != "" {
		return invalid("Portico does not support PublishTo %s (it runs no Lambda Managed Instances): remove it, and use Publish to publish a version", to)
	}
	return nil
}

type updateConfigRequest struct {
	Runtime           *string                `json:"Runtime"`
	Role              *string                `json:"Role"`
	Handler           *string                `json:"Handler"`
	Description       *string                `json:"Description"`
	Timeout           *int                   `json:"Timeout"`
	MemorySize        *int                   `json:"MemorySize"`
	Environment       *environment           `json:"Environment"`
	FileSystemConfigs *fileSystemConfigs     `json:"FileSystemConfigs"`
	ImageConfig       *functions.ImageConfig `json:"ImageConfig"`
	RevisionID        string                 `json:"RevisionId"`
	unhonoured
}

// ---- checks ----

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

func noS3(bucket, key, version string) error {
	if bucket != "" || key != "" || version != "" {
		return invalid("Code from S3 (S3Bucket, S3Key, S3ObjectVersion) is not supported by Portico: send Code.ZipFile (base64) or Code.ImageUri")
	}
	return nil
}

// checkHandler refuses a .zip package with a Runtime but no Handler, as
// Lambda does (it requires both of a Zip function). Portico's own shorthand,
// a Zip package with neither (provided.al2023, whose bootstrap is the
// function), stays valid: portico fn create and dev send it.
func checkHandler(req *createFunctionRequest) error {
	zip := req.PackageType == "" || req.PackageType == functions.PackageZip
	if !zip || req.Runtime == "" || req.Handler != "" {
		return nil
	}
	return invalid("Handler is required for a .zip package (PackageType Zip) with Runtime %s: add Handler "+
		"(Portico's custom runtimes pass it to the package's bootstrap as _HANDLER; \"bootstrap\" is the usual value)", truncate(req.Runtime, 64))
}

// ---- handlers ----

func (s *Server) createFunction(w http.ResponseWriter, r *http.Request) error {
	var req createFunctionRequest
	if err := decodeJSON(w, r, lambdaCode, &req); err != nil {
		return err
	}
	ref, err := functions.ParseLocalRef(req.FunctionName)
	if err != nil {
		return err
	}
	if ref.Qualifier != "" {
		return invalid("FunctionName %q must not carry a qualifier", req.FunctionName)
	}
	if req.Code == nil {
		// A required member of Lambda's model: refused in its words, as
		// every other one missing (docs/cli.md).
		return functions.NullViolation("code")
	}
	if err := functions.Violations(functions.CheckPackageType(req.PackageType), functions.CheckRuntimeEnum(req.Runtime)); err != nil {
		return err
	}
	if err := checkHandler(&req); err != nil {
		return err
	}
	if err := req.check(ref.Name); err != nil {
		return err
	}
	if err := req.Code.check(); err != nil {
		return err
	}
	if err := checkPublishTo(req.PublishTo); err != nil {
		return err
	}
	if err := noS3(req.Code.S3Bucket, req.Code.S3Key, req.Code.S3ObjectVersion); err != nil {
		return err
	}
	if err := functions.CheckTimeoutMemory(req.Timeout, req.MemorySize); err != nil {
		return err
	}
	in := functions.CreateInput{
		FunctionName: ref.Name,
		Description:  req.Description,
		PackageType:  req.PackageType,
		Runtime:      req.Runtime,
		Handler:      req.Handler,
		Role:         req.Role,
		ZipFile:      req.Code.ZipFile,
		ImageURI:     req.Code.ImageURI,
		Publish:      req.Publish,
	}
	setIfGiven(&in.Timeout, req.Timeout)
	setIfGiven(&in.MemorySize, req.MemorySize)
	if req.Environment != nil {
		in.Environment = req.Environment.Variables
	}
	setIfGiven(&in.FileSystems, req.FileSystemConfigs)
	in.ImageConfig = req.ImageConfig
	c, err := s.fns.Create(r.Context(), in)
	if err != nil {
		return err
	}
	// Create returns $LATEST, or with Publish the published version.
	return writeJSON(w, http.StatusCreated, toConfiguration(c, publishedQualifier(c)))
}

func (s *Server) getFunction(w http.ResponseWriter, r *http.Request, ref functions.Ref) error {
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
		out.Code = codeLocation{RepositoryType: "ECR", ImageURI: c.ImageURI, ResolvedImageURI: c.ResolvedImageURI()}
	} else {
		loc := s.codeURLs.location(r, s.cfg.Token, c.FunctionName, ref.Qualifier, s.clock()())
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

func (s *Server) getFunctionConfiguration(w http.ResponseWriter, r *http.Request, ref functions.Ref) error {
	c, err := s.resolveConfig(r, ref)
	return configuration(w, http.StatusOK, c, ref.Qualifier, err)
}

func (s *Server) listFunctions(w http.ResponseWriter, r *http.Request) error {
	fv := r.URL.Query().Get("FunctionVersion")
	if fv != "" && fv != "ALL" {
		return functions.Violation("functionVersion", fv, "satisfy enum value set: [ALL]")
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
	return writePage(w, r, "Functions", "FunctionVersion="+fv, lambdaMaxItems, lambdaPageMost, all,
		func(c functionConfiguration) sortKey { return sortKey{c.FunctionName, versionOrder(c.Version)} },
		func(c functionConfiguration) functionConfiguration { return c })
}

func (s *Server) updateFunctionCode(w http.ResponseWriter, r *http.Request, name string) error {
	var req updateCodeRequest
	if err := decodeJSON(w, r, lambdaCode, &req); err != nil {
		return err
	}
	if err := checkArchitectures(req.Architectures); err != nil {
		return err
	}
	if err := req.check(); err != nil {
		return err
	}
	if err := checkPublishTo(req.PublishTo); err != nil {
		return err
	}
	if err := noS3(req.S3Bucket, req.S3Key, req.S3ObjectVersion); err != nil {
		return err
	}
	if len(req.ZipFile) == 0 && req.ImageURI == "" {
		return invalid("one of ZipFile (base64) or ImageUri is required")
	}
	// The RevisionId precondition is checked in the transaction that writes.
	// DryRun checks the code as the update would and answers $LATEST as it
	// would be, changing nothing (it publishes nothing either).
	c, err := s.fns.UpdateCode(r.Context(), name, functions.CodeInput{
		ZipFile: req.ZipFile, ImageURI: req.ImageURI, Publish: req.Publish && !req.DryRun,
		RevisionID: req.RevisionID, DryRun: req.DryRun,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toConfiguration(c, publishedQualifier(c)))
}

func (s *Server) updateFunctionConfiguration(w http.ResponseWriter, r *http.Request, name string) error {
	var req updateConfigRequest
	if err := decodeJSON(w, r, lambdaConfig, &req); err != nil {
		return err
	}
	if err := functions.CheckTimeoutMemory(req.Timeout, req.MemorySize); err != nil {
		return err
	}
	if err := req.check(name); err != nil {
		return err
	}
	p := functions.ConfigPatch{
		RevisionID:  req.RevisionID, // checked in the transaction that writes
		Description: req.Description,
		Handler:     req.Handler,
		Runtime:     req.Runtime,
		Role:        req.Role,
		Timeout:     req.Timeout,
		MemorySize:  req.MemorySize,
		FileSystems: req.FileSystemConfigs,
		ImageConfig: req.ImageConfig,
	}
	if req.Environment != nil {
		vars := req.Environment.Variables
		if vars == nil {
			vars = map[string]string{}
		}
		p.Environment = &vars
	}
	c, err := s.fns.UpdateConfig(r.Context(), name, p)
	return configuration(w, http.StatusOK, c, "", err)
}

func (s *Server) deleteFunction(w http.ResponseWriter, r *http.Request, ref functions.Ref) error {
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
	return noContent(w, s.fns.Delete(r.Context(), ref.Name, version))
}

// ---- Portico's own function routes ----

// functionLogs serves GET /portico/v1/functions/{name}/logs?bytes=N&follow=1: the last
// N bytes of the function's log, then with follow new output as it is written. A
// follow holds one of its client's slots while it is open (logfollow.go); past
// the caps it is refused with 429. Without follow, the answer's
// X-Portico-Log-Cursor names the place after it, and a read with
// after=CURSOR returns what was written since (at most its last N bytes):
// the console's live log polls so, holding no connection open.
func (s *Server) functionLogs(w http.ResponseWriter, r *http.Request, name string) error {
	if _, err := s.fns.Get(r.Context(), name, functions.Latest); err != nil {
		return err
	}
	n := defaultLogBytes
	if v := r.URL.Query().Get("bytes"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		if errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(v, "-") {
			return invalid("bytes %q is out of range: give a number of bytes up to %d", v, math.MaxInt)
		}
		if err != nil || n < 0 {
			return invalid("bytes %q must be a non-negative integer", v)
		}
	}
	follow := r.URL.Query().Get("follow")
	following := follow == "1" || follow == "true"
	if !following {
		return s.readLogs(w, name, r.URL.Query().Get("after"), n)
	}
	if r.URL.Query().Has("after") {
		return invalid("after applies to a read of the log without follow")
	}
	if following {
		release, err := s.follows.acquire(followClient(r))
		if err != nil {
			return err
		}
		defer release() // the stream has ended: its client went away, or the server stops
	}
	logs := s.inv.Logs()
	var tail []byte
	if n > 0 {
		var err error
		tail, err = logs.Read(name, n)
		if err != nil && !errors.Is(err, errdefs.ErrNotFound) {
			return err
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	var lines <-chan []byte
	if following {
		defer h1.CancelOnGone(w)() // the admin server does not read in the background
		lines = logs.Follow(r.Context(), name)
	}
	s.streamLogs(w, r, tail, lines)
	return nil
}

// Headers of a read of a function's log without follow (functionLogs).
const (
	// logCursorHeader names the place after what the read returned: the
	// after= of the next read.
	logCursorHeader = "X-Portico-Log-Cursor"
	// logResetHeader is "true" when after= named no place in the log (the
	// server restarted since, or the log was removed): the answer is the
	// log's end, as without after=.
	logResetHeader = "X-Portico-Log-Reset"
)

// readLogs writes the last n bytes of a function's log, or of what was written
// to it after the place cursor names (""), with the cursor after it. Output
// written since the cursor that the answer leaves out (rotated away, or more
// than n bytes) is said in a first line.
func (s *Server) readLogs(w http.ResponseWriter, name, cursor string, n int) error {
	c, err := s.inv.Logs().ReadSince(name, cursor, n) // a cursor that does not parse: errdefs.ErrInvalid
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set(logCursorHeader, c.Cursor)
	if c.Reset {
		h.Set(logResetHeader, "true")
	}
	w.WriteHeader(http.StatusOK)
	if c.Skipped > 0 {
		_, _ = fmt.Fprintf(w, "[portico: %d bytes of log output skipped here: written since the last read and rotated away, or more than bytes=%d]\n", c.Skipped, n)
	}
	_, _ = w.Write(c.Data)
	return nil
}

// streamLogs writes tail to w, then, unless lines is nil, each of lines as it
// comes, flushing each, until the client goes away, the server stops or lines
// ends. Each write must be taken by the client within the stream's write
// timeout (the listener's idle timeout): a client that stops reading is let go
// rather than holding the handler for ever. When the server stops, a write the
// client is not taking is cut short, so that a slow reader cannot hold up
// shutdown; a client that keeps up sees the stream end cleanly.
func (s *Server) streamLogs(w http.ResponseWriter, r *http.Request, tail []byte, lines <-chan []byte) {
	timeout := s.streamWriteTimeout
	if timeout <= 0 {
		timeout = listener.DefaultLimits().IdleTimeout
	}
	dl := &streamDeadline{rc: http.NewResponseController(w), timeout: timeout}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-s.stopping:
		case <-r.Context().Done():
		case <-done:
			return
		}
		dl.stop()
	})
	defer dl.finish() // the connection may serve more requests
	defer wg.Wait()
	defer close(done)
	if !dl.write(w, tail) || lines == nil {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.stopping:
			dl.stop()
			return
		case line, ok := <-lines:
			if !ok || !dl.write(w, line) {
				return
			}
		}
	}
}

// streamStopGrace is how long the last bytes of a stream ended by shutdown
// (the chunked encoding's end) have to go out.
const streamStopGrace = time.Second

// streamDeadline writes a streaming response under a write deadline, set
// afresh before each write, and lets stop cut short a write that is blocked.
// Safe for concurrent use.
type streamDeadline struct {
	rc      *http.ResponseController
	timeout time.Duration

	mu      sync.Mutex
	stopped bool // no more writes
	writing bool // a write is under way
	cut     bool // the deadline was set in the past
}

// write writes b and flushes it within the timeout; false when that failed or
// the stream was stopped.
func (d *streamDeadline) write(w http.ResponseWriter, b []byte) bool {
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		return false
	}
	d.writing = true
	_ = d.rc.SetWriteDeadline(time.Now().Add(d.timeout)) // a writer without deadlines: nothing to bound
	d.mu.Unlock()
	_, err := w.Write(b) //nolint:gosec // G705: text/plain with nosniff, not HTML
	if err == nil {
		err = d.rc.Flush()
	}
	d.mu.Lock()
	d.writing = false
	if err == nil {
		// The write went out whole before a stop's cut took: the client
		// keeps up, and the stream's end is bounded as any stopped one's.
		d.cut = false
	}
	d.mu.Unlock()
	return err == nil
}

// stop ends the stream: a write under way is cut short (its deadline set in
// the past), and no other starts.
func (d *streamDeadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopped = true
	if d.writing {
		d.cut = true
		_ = d.rc.SetWriteDeadline(time.Unix(1, 0))
	}
}

// finish sets the deadline for what the server writes after the handler: none
// while the stream ran its course, streamStopGrace after a stop, and it stays
// in the past after a cut.
func (d *streamDeadline) finish() {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.cut:
	case d.stopped:
		_ = d.rc.SetWriteDeadline(time.Now().Add(streamStopGrace))
	default:
		_ = d.rc.SetWriteDeadline(time.Time{})
	}
}

// functionCode serves GET /portico/v1/functions/{name}/code?Qualifier=Q: the Zip
// package of a version, the Code.Location GetFunction reports.
func (s *Server) functionCode(w http.ResponseWriter, r *http.Request, ref functions.Ref) error {
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
