// Package functions holds the function and version model and the code artifacts
// behind it.
//
// A function has a mutable head, $LATEST, and immutable published versions "1", "2",
// ... that pin the code hash (or image digest) and the configuration at publish time.
// Code is stored content-addressed under the data directory: each Zip package is kept
// as code/<sha256>.zip and unpacked once into code/<sha256>/ for runtimes to run.
package functions

import (
	"strings"
	"time"
)

// Package types.
const (
	PackageZip   = "Zip"
	PackageImage = "Image"
)

// Latest names the mutable head version.
const Latest = "$LATEST"

// Limits and defaults, as Lambda has them.
const (
	DefaultTimeout = 3   // seconds
	MaxTimeout     = 900 // seconds
	DefaultMemory  = 128 // MB
	MinMemory      = 128
	MaxMemory      = 10240
	// MaxZipSize is the largest Zip package accepted (Lambda's unzipped limit is
	// 250 MB; a direct upload is 50 MB).
	MaxZipSize = 50 << 20
	// MaxUnzippedSize bounds what a Zip may unpack to.
	MaxUnzippedSize = 250 << 20
)

// Config is one version of a function: $LATEST or a published version. Published
// versions are immutable. JSON names follow Lambda's FunctionConfiguration.
type Config struct {
	FunctionName string `json:"FunctionName"`
	Version      string `json:"Version"` // "$LATEST" or "1", "2", ...
	Description  string `json:"Description,omitempty"`
	PackageType  string `json:"PackageType"` // Zip or Image
	Runtime      string `json:"Runtime,omitempty"`
	Handler      string `json:"Handler,omitempty"`
	// Role is the execution role CreateFunction or UpdateFunctionConfiguration
	// named, kept and reported as given; empty for a function created without
	// one (or before Portico kept it), which reports RoleARN. Portico assumes
	// no role: functions run with the server's own permissions.
	Role string `json:"Role,omitempty"`
	// CodeSha256 is the base64 sha256 of the zip, or an image's digest (hex,
	// of ResolvedImage), as Lambda reports them.
	CodeSha256 string `json:"CodeSha256"`
	CodeSize   int64  `json:"CodeSize"`
	ImageURI   string `json:"ImageUri,omitempty"`
	// ResolvedImage is the image id an Image function is pinned to: $LATEST's
	// by CreateFunction and UpdateFunctionCode, a published version's by
	// PublishVersion (the one $LATEST had). Sandboxes run it whatever the
	// ImageURI's tag names since. Empty on a $LATEST stored before $LATEST was
	// pinned, which resolves its tag when a sandbox starts.
	ResolvedImage string            `json:"ResolvedImage,omitempty"`
	Environment   map[string]string `json:"Environment,omitempty"`
	Timeout       int               `json:"Timeout"`    // seconds
	MemorySize    int               `json:"MemorySize"` // MB
	// ReservedConcurrency, when set, caps concurrent invocations of the function
	// (all versions together). It lives on the function, not on a version.
	ReservedConcurrency *int `json:"ReservedConcurrentExecutions,omitempty"`
	// FileSystems are named Portico volumes mounted at LocalMountPath (/mnt/NAME).
	FileSystems []FileSystem `json:"FileSystemConfigs,omitempty"`
	// ImageConfig overrides the image's ENTRYPOINT, CMD and WORKDIR (Image
	// functions only); nil runs the image's own.
	ImageConfig  *ImageConfig `json:"ImageConfig,omitempty"`
	LastModified time.Time    `json:"LastModified"`
	// RevisionID changes on every change of $LATEST; a version keeps the one it was
	// published from. Pools of sandboxes are keyed by it.
	RevisionID string `json:"RevisionId"`
	// CodeHash is the hex sha256 of the code, the key of its artifact directory.
	CodeHash string `json:"-"`
}

// FileSystem mounts a named Portico volume (a directory under the data directory) into
// every sandbox of the function, like Lambda's FileSystemConfigs.
type FileSystem struct {
	// Arn names the volume: "portico:volume:NAME" or just NAME.
	Arn            string `json:"Arn"`
	LocalMountPath string `json:"LocalMountPath"` // /mnt/NAME
}

// ImageConfig is Lambda's ImageConfig: what an Image function's sandboxes run
// instead of the image's ENTRYPOINT, CMD and WORKDIR, each field on its own
// (an EntryPoint without a Command keeps the image's CMD as its arguments).
type ImageConfig struct {
	EntryPoint       []string `json:"EntryPoint,omitempty"`
	Command          []string `json:"Command,omitempty"`
	WorkingDirectory string   `json:"WorkingDirectory,omitempty"`
}

// IsZero reports whether c overrides nothing.
func (c *ImageConfig) IsZero() bool {
	return c == nil || len(c.EntryPoint) == 0 && len(c.Command) == 0 && c.WorkingDirectory == ""
}

// CreateInput is what creating a function takes.
type CreateInput struct {
	FunctionName string
	Description  string
	PackageType  string // defaults to Zip
	Runtime      string
	Handler      string
	Role         string // an IAM role ARN (ValidRole), or "" for none
	ZipFile      []byte // Zip packages: the archive
	ImageURI     string // Image packages
	Environment  map[string]string
	Timeout      int // 0 = default
	MemorySize   int // 0 = default
	FileSystems  []FileSystem
	ImageConfig  *ImageConfig // Image packages
	Publish      bool
}

// CodeInput replaces a function's code.
type CodeInput struct {
	ZipFile  []byte
	ImageURI string
	Publish  bool
	// RevisionID, when set, must be $LATEST's (UpdateFunctionCode's
	// RevisionId precondition).
	RevisionID string
	// DryRun checks the code and the precondition and returns $LATEST as
	// the update would leave it, changing nothing (UpdateFunctionCode's
	// DryRun).
	DryRun bool
}

// PublishInput is PublishVersion's: the version's description and the
// preconditions on $LATEST (RevisionId, CodeSha256), each checked when set.
type PublishInput struct {
	Description string
	RevisionID  string
	CodeSha256  string
}

// ConfigPatch changes $LATEST's configuration; nil fields are left as they are.
type ConfigPatch struct {
	Description *string
	Handler     *string
	Runtime     *string
	Role        *string // an IAM role ARN (ValidRole)
	Environment *map[string]string
	Timeout     *int
	MemorySize  *int
	FileSystems *[]FileSystem
	// ImageConfig replaces the image overrides; one that overrides nothing
	// removes them.
	ImageConfig *ImageConfig
	// RevisionID, when set, must be $LATEST's.
	RevisionID string
}

// ResolvedImageURI is an Image function's Code.ResolvedImageUri as Lambda
// spells it, REPOSITORY@sha256:DIGEST: ImageURI's repository, as given
// (without its tag or digest), at the image id it is pinned to
// (ResolvedImage). The pin alone when it is not an image id, or when ImageURI
// names no repository (an image id itself); "" when not pinned.
func (c *Config) ResolvedImageURI() string {
	pin := c.ResolvedImage
	if !imageIDRe.MatchString(pin) || imageIDRe.MatchString(c.ImageURI) {
		return pin
	}
	repo, _, _ := strings.Cut(c.ImageURI, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	if repo == "" {
		return pin
	}
	return repo + "@" + pin
}
