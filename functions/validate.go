package functions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/distribution/reference"

	"github.com/portico-dev/portico/internal/errdefs"
)

var (
	imageIDRe = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	// envNamePattern is Lambda's constraint on an environment variable's name.
	envNamePattern = `[a-zA-Z]([a-zA-Z0-9_])+`
	envNameRe      = regexp.MustCompile(`^` + envNamePattern + `$`)
	mountPathRe    = regexp.MustCompile(`^/mnt/[A-Za-z0-9_.-]+$`)
	volumeNameRe   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	// rolePattern is Lambda's constraint on a function's Role.
	rolePattern = `arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`
	roleRe      = regexp.MustCompile(`^` + rolePattern + `$`)
	// handlerPattern is Lambda's constraint on a function's Handler.
	handlerPattern = `[^\s]+`
	handlerRe      = regexp.MustCompile(`^` + handlerPattern + `$`)
)

// ValidRole reports whether s is an IAM role ARN, as Lambda requires of a
// function's Role.
func ValidRole(s string) bool { return roleRe.MatchString(s) }

// Violation is Lambda's answer to a value that breaks a constraint of its API
// model, a pattern, an enum or a range: 400 ValidationException, "1
// validation error detected: Value 'V' at 'member' failed to satisfy
// constraint: Member must CONSTRAINT". Lambda checks these before anything
// else and answers InvalidParameterValueException only for its rules beyond
// the model (Timeout over 900, a reserved environment variable); the Lambda API
// builds its ValidationExceptions here. member is the model's name of the
// field (functionName, memorySize, invocationType); constraint completes
// "Member must", and may end in a parenthesised word on Portico's own rule.
func Violation(member, value, constraint string) error {
	return violation("'"+truncate(value, 200)+"'", member, "Member must "+constraint)
}

// NullViolation is the Violation of member, which the model requires, left
// out: "Value null at 'member' failed to satisfy constraint: Member must not
// be null".
func NullViolation(member string) error { return violation("null", member, "Member must not be null") }

// MapValueViolation is the Violation of a map member one of whose values
// breaks constraint (which completes "Member must"); value is the map as
// Lambda prints it, {key=value}.
func MapValueViolation(member, value, constraint string) error {
	return violation("'"+truncate(value, 200)+"'", member, "Map value must satisfy constraint: [Member must "+constraint+"]")
}

// MapKeyViolation is the Violation of a map member one of whose keys breaks
// constraint (which completes "Member must"); value is the map as Lambda
// prints it, {key=value}.
func MapKeyViolation(member, value, constraint string) error {
	return violation("'"+truncate(value, 200)+"'", member, "Map keys must satisfy constraint: [Member must "+constraint+"]")
}

// aliasNamePattern is Lambda's constraint on an alias's name.
const aliasNamePattern = `(?!^[0-9]+$)([a-zA-Z0-9-_]+)`

// CheckAliasName refuses an alias name that ValidAliasName does not take
// with Lambda's ValidationException at 'name': over 128 characters, or
// breaking Lambda's pattern. Portico refuses a leading digit too (a name
// like 1a would read as a version): the message says so when that alone is
// why, a name Lambda's pattern takes.
func CheckAliasName(name string) error {
	switch {
	case ValidAliasName(name):
		return nil
	case name == "":
		return Violation("name", name, "have length greater than or equal to 1")
	}
	if err := checkLength("name", name, 128); err != nil {
		return err
	}
	constraint := "satisfy regular expression pattern: " + aliasNamePattern
	if nameOf(name, 128) && !allDigits(name) {
		constraint += " (in Portico an alias name also may not start with a digit: use letters, digits, - and _, starting with a letter, - or _)"
	}
	return Violation("name", name, constraint)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// violation is Lambda's ValidationException; value is quoted already, or ""
// for a member Lambda does not print ("Value at 'member' ...").
func violation(value, member, constraint string) error {
	if value != "" {
		value = " " + value
	}
	return errdefs.New(errdefs.ErrInvalid, "ValidationException", fmt.Sprintf(
		"1 validation error detected: Value%s at '%s' failed to satisfy constraint: %s", value, member, constraint))
}

// Violations joins the Violations in errs (nil ones skipped) into Lambda's
// one answer for them all, "N validation errors detected: Value ... ; Value
// ...", or returns the only one, or nil when there is none.
func Violations(errs ...error) error {
	var parts []string
	var one error
	for _, err := range errs {
		if err == nil {
			continue
		}
		one = err
		parts = append(parts, strings.TrimPrefix(err.Error(), "1 validation error detected: "))
	}
	switch len(parts) {
	case 0:
		return nil
	case 1:
		return one
	}
	return errdefs.New(errdefs.ErrInvalid, "ValidationException",
		fmt.Sprintf("%d validation errors detected: %s", len(parts), strings.Join(parts, "; ")))
}

// RangeViolation is the Violation of member's value v, which is out of the
// model's range lo..hi: below lo, or over hi.
func RangeViolation(member string, v, lo, hi int) error {
	bound := fmt.Sprintf("have value greater than or equal to %d", lo)
	if v > hi {
		bound = fmt.Sprintf("have value less than or equal to %d", hi)
	}
	return Violation(member, strconv.Itoa(v), bound)
}

// checkRole refuses a Role that is not an IAM role ARN with Lambda's
// ValidationException.
func checkRole(role string) error {
	if ValidRole(role) {
		return nil
	}
	return Violation("role", role, fmt.Sprintf("satisfy regular expression pattern: %s "+
		"(an IAM role ARN, arn:aws:iam::%s:role/NAME say; Portico assumes no role, but keeps and reports the one given)",
		rolePattern, AccountID))
}

// checkHandler refuses a Handler that breaks Lambda's pattern (empty, or
// holding white space) with Lambda's ValidationException, on create and on
// update alike: an empty Handler would take the handler away, and one with a
// space reaches the bootstrap as a _HANDLER no runtime can name.
func checkHandler(h string) error {
	if !handlerRe.MatchString(h) {
		return Violation("handler", h, "satisfy regular expression pattern: "+handlerPattern)
	}
	return checkLength("handler", h, maxHandler)
}

// Lambda's model bounds on the length of a Handler and of a Description
// (a function's, a version's or an alias's), in characters.
const (
	maxHandler     = 128
	maxDescription = 256
)

// CheckDescription refuses a Description (of a function, a version or an
// alias) longer than Lambda's model allows, 256 characters: a
// ValidationException, as Lambda answers.
func CheckDescription(d string) error { return checkLength("description", d, maxDescription) }

// checkLength refuses a value of member longer than limit characters with
// Lambda's ValidationException. Lambda counts characters as UTF-16 code units
// (as Java does), not bytes: 256 of 日 fit, one emoji counts 2.
func checkLength(member, value string, limit int) error {
	n := 0
	for _, r := range value {
		n += max(utf16.RuneLen(r), 1)
	}
	if n <= limit {
		return nil
	}
	return Violation(member, value, fmt.Sprintf("have length less than or equal to %d", limit))
}

// reservedEnv are the environment variables Lambda sets itself and refuses in a
// function's configuration: Lambda's list ("Defined runtime environment
// variables"), no more. Other AWS_LAMBDA_* names are the user's, as on Lambda:
// AWS_LAMBDA_EXEC_WRAPPER, AWS_LAMBDA_LOG_LEVEL and the like. (_HANDLER and
// _X_AMZN_TRACE_ID are here for completeness: no name starting with '_'
// passes envNameRe.)
var reservedEnv = map[string]bool{
	"_HANDLER":                        true,
	"_X_AMZN_TRACE_ID":                true,
	"AWS_REGION":                      true,
	"AWS_DEFAULT_REGION":              true,
	"AWS_EXECUTION_ENV":               true,
	"AWS_LAMBDA_FUNCTION_NAME":        true,
	"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION":     true,
	"AWS_LAMBDA_INITIALIZATION_TYPE":  true,
	"AWS_LAMBDA_LOG_GROUP_NAME":       true,
	"AWS_LAMBDA_LOG_STREAM_NAME":      true,
	"AWS_LAMBDA_RUNTIME_API":          true,
	"AWS_ACCESS_KEY":                  true,
	"AWS_ACCESS_KEY_ID":               true,
	"AWS_SECRET_ACCESS_KEY":           true,
	"AWS_SESSION_TOKEN":               true,
	"LAMBDA_TASK_ROOT":                true,
	"LAMBDA_RUNTIME_DIR":              true,
}

// porticoRefusedEnv are names Lambda takes but Portico refuses, each with the
// reason and what to do instead. (_LAMBDA_SERVER_PORT, which would switch
// aws-lambda-go to its old RPC mode, starts with '_' and fails envNameRe.)
var porticoRefusedEnv = map[string]string{
	"AWS_LAMBDA_MAX_CONCURRENCY": "it makes aws-lambda-go wait for several invocations at once in one sandbox, " +
		"and a Portico sandbox serves one at a time (it refuses a second wait); remove it: Portico starts " +
		"more sandboxes for concurrent calls, up to the function's concurrency",
}

// maxEnvSize is Lambda's limit on the total size of a function's environment
// variables, measured as envSize does.
const maxEnvSize = 4096

// envSize is the size Lambda measures of a function's environment variables:
// their map as JSON text, {"NAME":"value",...}, in bytes (names, values, and
// the quotes, colons, commas and braces; a quote, backslash or control
// character in a value counts as its escape). Lambda's "String measured"
// prints that text; Portico prints its size (the values may be secrets).
func envSize(env map[string]string) int {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // <, > and & as themselves, as Lambda writes them
	if err := enc.Encode(env); err != nil {
		return 0 // a map of strings always encodes
	}
	// encoding/json always writes U+2028 and U+2029 as \u2028 and \u2029 (6
	// bytes); Lambda's text holds them as themselves, their 3 UTF-8 bytes,
	// as any other non-ASCII character. (Names cannot hold them: envNameRe.)
	n := buf.Len() - 1 // without Encode's newline
	for _, v := range env {
		n -= 3 * (strings.Count(v, "\u2028") + strings.Count(v, "\u2029"))
	}
	return n
}

// VolumePrefix is the optional prefix of a FileSystem Arn ("portico:volume:NAME").
const VolumePrefix = "portico:volume:"

// VolumeName returns the volume name a FileSystem's Arn names: the Arn without the
// optional "portico:volume:" prefix. Pass it to Service.VolumeDir.
func VolumeName(fs FileSystem) string { return strings.TrimPrefix(fs.Arn, VolumePrefix) }

// ValidVolumeName reports whether s is a valid volume name: 1..64 of [A-Za-z0-9_-].
func ValidVolumeName(s string) bool { return volumeNameRe.MatchString(s) }

// invalidf returns an errdefs.ErrInvalid error of Lambda's InvalidParameterValueException type.
func invalidf(format string, args ...any) error {
	return errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException", fmt.Sprintf(format, args...))
}

// notFound returns Lambda's "Function not found" error for name and qualifier.
func notFound(name, qualifier string) error {
	return errdefs.New(errdefs.ErrNotFound, "ResourceNotFoundException", "Function not found: "+ARN(name, qualifier))
}

// validateConfig checks the settable configuration of c, which has its defaults
// applied already.
func validateConfig(c *Config) error {
	switch c.PackageType {
	case PackageZip:
		if c.ImageURI != "" {
			return invalidf("ImageUri is only valid for PackageType Image; this function's PackageType is Zip")
		}
		if !c.ImageConfig.IsZero() {
			return invalidf("ImageConfig is only valid for PackageType Image; this function's PackageType is Zip (its bootstrap is what runs)")
		}
	case PackageImage:
		if c.ImageURI == "" {
			return invalidf("ImageUri is required for PackageType Image")
		}
		if err := checkImageURI(c.ImageURI); err != nil {
			return err
		}
		if c.Runtime != "" || c.Handler != "" {
			return invalidf("Runtime and Handler are not supported for PackageType Image")
		}
	default:
		return CheckPackageType(c.PackageType)
	}
	if c.Role != "" {
		if err := checkRole(c.Role); err != nil {
			return err
		}
	}
	if err := CheckDescription(c.Description); err != nil {
		return err
	}
	if c.Handler != "" {
		if err := checkHandler(c.Handler); err != nil {
			return err
		}
	}
	if err := CheckTimeoutMemory(&c.Timeout, &c.MemorySize); err != nil {
		return err
	}
	if err := validateEnv(c.Environment); err != nil {
		return err
	}
	if err := validateImageConfig(c.ImageConfig); err != nil {
		return err
	}
	return validateFileSystems(c.FileSystems)
}

// CheckTimeoutMemory refuses a Timeout or MemorySize (nil when not given)
// out of range: below the API model's minimum (1 s, 128 MB) or over its
// maximum (10240 MB) as a Violation; Timeout over 900 s, which the model does
// not bound, with InvalidParameterValueException, as Lambda does.
func CheckTimeoutMemory(timeout, memory *int) error {
	if timeout != nil && *timeout < 1 {
		return RangeViolation("timeout", *timeout, 1, MaxTimeout)
	}
	if timeout != nil && *timeout > MaxTimeout {
		return invalidf("Timeout %d is out of range: it must be between 1 and %d seconds", *timeout, MaxTimeout)
	}
	if memory != nil && (*memory < MinMemory || *memory > MaxMemory) {
		return RangeViolation("memorySize", *memory, MinMemory, MaxMemory)
	}
	return nil
}

// validateImageConfig checks ImageConfig against Lambda's limits: at most 1500
// entries each in EntryPoint and Command, a WorkingDirectory of at most 1000
// characters; and what a container can be given: an absolute
// WorkingDirectory, no NUL bytes.
func validateImageConfig(c *ImageConfig) error {
	if c == nil {
		return nil
	}
	if len(c.EntryPoint) > 1500 || len(c.Command) > 1500 {
		return invalidf("ImageConfig EntryPoint and Command hold at most 1500 entries each")
	}
	if len(c.WorkingDirectory) > 1000 {
		return invalidf("ImageConfig WorkingDirectory must be at most 1000 characters")
	}
	if c.WorkingDirectory != "" && !strings.HasPrefix(c.WorkingDirectory, "/") {
		return invalidf("ImageConfig WorkingDirectory %q must be an absolute path", truncate(c.WorkingDirectory, 200))
	}
	for _, s := range append(append([]string{c.WorkingDirectory}, c.EntryPoint...), c.Command...) {
		if strings.IndexByte(s, 0) >= 0 {
			return invalidf("ImageConfig holds a NUL byte, which no process can be given; remove it")
		}
	}
	return nil
}

// lambdaRuntimes is Lambda's API model's enum of Runtime values (the AWS
// SDK for Go v2's types.Runtime), deprecated ones included: a value outside
// it is a Violation, one inside it that Portico does not run (nodejs22.x) is
// Portico's own refusal (checkRuntime).
var lambdaRuntimes = []string{
	"nodejs", "nodejs4.3", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x", "nodejs14.x", "nodejs16.x",
	"nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x", "java8", "java8.al2", "java11", "java17", "java21",
	"java25", "python2.7", "python3.6", "python3.7", "python3.8", "python3.9", "python3.10", "python3.11",
	"python3.12", "python3.13", "python3.14", "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1",
	"dotnet6", "dotnet8", "dotnet10", "nodejs4.3-edge", "go1.x", "ruby2.5", "ruby2.7", "ruby3.2", "ruby3.3",
	"ruby3.4", "ruby4.0", "provided", "provided.al2", "provided.al2023", "nodejs26.x", "python3.15",
	"java8.al2023", "java11.al2023", "java17.al2023",
}

// EnumViolation is the Violation of member's value v, which is not one of
// the model's enum values: "Member must satisfy enum value set: [A, B]".
func EnumViolation(member, v string, values ...string) error {
	return Violation(member, v, "satisfy enum value set: ["+strings.Join(values, ", ")+"]")
}

// CheckEnum refuses v, the value of member, with an EnumViolation unless it
// is "" (not given) or one of values.
func CheckEnum(member, v string, values ...string) error {
	if v == "" || slices.Contains(values, v) {
		return nil
	}
	return EnumViolation(member, v, values...)
}

// CheckRuntimeEnum refuses a Runtime that is none of Lambda's (whatever the
// package type): Lambda's ValidationException, not a Portico limitation.
func CheckRuntimeEnum(runtime string) error {
	return CheckEnum("runtime", runtime, lambdaRuntimes...)
}

// CheckPackageType refuses a PackageType other than Zip and Image (""
// is not given) with Lambda's ValidationException.
func CheckPackageType(t string) error {
	return CheckEnum("packageType", t, PackageZip, PackageImage)
}

// customRuntimes are the Runtime values a Zip function may name: Portico runs
// custom runtimes, whose bootstrap executable is the function, as SAM deploy
// says too. "" is provided.al2023.
var customRuntimes = []string{"provided.al2023", "provided.al2", "provided"}

// checkRuntime refuses a Zip function's Runtime that Portico would not honour
// (nodejs22.x would still run the package's bootstrap, not index.handler).
func checkRuntime(runtime string) error {
	if runtime == "" || slices.Contains(customRuntimes, runtime) {
		return nil
	}
	return invalidf("Runtime %s is not supported: Portico runs custom runtimes (%s) whose package holds an executable bootstrap; build the function as a bootstrap (aws-lambda-go's lambda.Start, or a runtime interface client), or deploy it as an Image function", truncate(runtime, 64), strings.Join(customRuntimes, ", "))
}

func validateEnv(env map[string]string) error {
	var reserved []string
	for k, v := range env {
		if !envNameRe.MatchString(k) {
			// Lambda's words, which print no value ("Value at": the values
			// may be secrets), and then the name, which is not one.
			return violation("", "environment.variables", fmt.Sprintf("Map keys must satisfy constraint: "+
				"[Member must satisfy regular expression pattern: %s] (the name %q does not match)", envNamePattern, truncate(k, 200)))
		}
		if reservedEnv[k] {
			reserved = append(reserved, k)
		}
		if why, ok := porticoRefusedEnv[k]; ok {
			return invalidf("Environment variable %s is not supported by Portico (Lambda takes it): %s", k, why)
		}
		if strings.IndexByte(v, 0) >= 0 {
			return invalidf("Environment variable %s: its value contains a NUL byte, which no process environment can hold; remove it", k)
		}
	}
	if len(reserved) > 0 {
		sort.Strings(reserved)
		return invalidf("Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(reserved, ","))
	}
	if size := envSize(env); size > maxEnvSize {
		return invalidf("Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: %d bytes (the variables as JSON text, {\"NAME\":\"value\",...})", size)
	}
	return nil
}

func validateFileSystems(fss []FileSystem) error {
	seen := map[string]bool{}
	for _, fs := range fss {
		if !mountPathRe.MatchString(fs.LocalMountPath) || fs.LocalMountPath == "/mnt/." || fs.LocalMountPath == "/mnt/.." {
			return invalidf("LocalMountPath %q is not valid: it must be /mnt/NAME, NAME of letters, digits, '_', '.' and '-' and neither . nor ..", truncate(fs.LocalMountPath, 200))
		}
		if seen[fs.LocalMountPath] {
			return invalidf("LocalMountPath %q is used twice", fs.LocalMountPath)
		}
		seen[fs.LocalMountPath] = true
		if !ValidVolumeName(VolumeName(fs)) {
			return invalidf("FileSystem Arn %q is not valid: use NAME or %sNAME, NAME matching [A-Za-z0-9_-]{1,64}", truncate(fs.Arn, 200), VolumePrefix)
		}
	}
	return nil
}

// checkImageURI refuses an ImageUri that is too long, holds white space, or
// is not an image reference (checkImageRef).
func checkImageURI(uri string) error {
	if len(uri) > 512 || strings.ContainsAny(uri, " \t\r\n") {
		return invalidf("ImageUri %q is not a valid image reference", truncate(uri, 200))
	}
	return checkImageRef(uri)
}

// checkImageRef refuses an ImageUri that is neither an image reference
// (alpine, registry.example/fn:1, NAME@sha256:DIGEST) nor an image id
// (sha256:...), whatever runtime runs it.
func checkImageRef(uri string) error {
	if imageIDRe.MatchString(uri) {
		return nil
	}
	if _, err := reference.ParseNormalizedNamed(uri); err != nil {
		return invalidf("Source image %q is not a valid image reference: %v. Provide a valid source image: NAME[:TAG] or NAME@sha256:DIGEST, in lower case", truncate(uri, 200), err)
	}
	return nil
}
