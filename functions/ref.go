package functions

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/portico-dev/portico/internal/errdefs"
)

var (
	regionRe  = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-\d{1}$`)
	accountRe = regexp.MustCompile(`^\d{12}$`)
)

// Names, versions and aliases are checked on every invocation: by loops over
// their bytes rather than regular expressions.

// isNameByte reports whether c is one of [A-Za-z0-9_-].
func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// nameOf reports whether s is 1..max bytes of [A-Za-z0-9_-].
func nameOf(s string, maxLen int) bool {
	if len(s) == 0 || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}

// isVersion reports whether s is 1..10 decimal digits (^[0-9]{1,10}$).
func isVersion(s string) bool {
	if len(s) == 0 || len(s) > 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Ref names a function and optionally a qualifier: a version number, $LATEST or an
// alias name. An empty Qualifier means $LATEST.
type Ref struct {
	Name      string
	Qualifier string
}

// String renders the ref as NAME or NAME:QUALIFIER.
func (r Ref) String() string {
	if r.Qualifier == "" {
		return r.Name
	}
	return r.Name + ":" + r.Qualifier
}

// IsVersion reports whether the qualifier names a version ("$LATEST" or a number)
// rather than an alias.
func (r Ref) IsVersion() bool {
	return r.Qualifier == "" || r.Qualifier == Latest || isVersion(r.Qualifier)
}

// ValidName reports whether s is a valid function name.
func ValidName(s string) bool { return nameOf(s, 64) }

// ValidAliasName reports whether s is a valid alias name: 1..128 of [A-Za-z0-9_-],
// not all digits (that would be a version).
func ValidAliasName(s string) bool {
	// The first byte may not be a digit: an all-digit name would be a version.
	return nameOf(s, 128) && (s[0] < '0' || s[0] > '9')
}

// ValidQualifier reports whether q is a version, $LATEST or an alias name.
func ValidQualifier(q string) bool {
	return q == Latest || isVersion(q) || ValidAliasName(q)
}

// ParseRef parses every form Lambda accepts for a function name:
//
//	fn, fn:3, fn:alias, fn:$LATEST
//	arn:aws:lambda:REGION:ACCOUNT:function:fn[:qualifier]
//	ACCOUNT:function:fn[:qualifier]   (partial ARN)
//
// It returns errdefs.ErrInvalid, wrapped with the input, for anything else.
func ParseRef(s string) (Ref, error) {
	ref, why := parseRef(s)
	if why != "" {
		return Ref{}, fmt.Errorf("function name %q %s: %w", truncate(s, 200), why, errdefs.ErrInvalid)
	}
	return ref, nil
}

// parseRef parses s as ParseRef does, and says why s is not a function
// name when it is not.
func parseRef(s string) (Ref, string) {
	bad := func(why string) (Ref, string) { return Ref{}, why }
	if s == "" {
		return bad("is empty")
	}
	if len(s) > 256 {
		return bad("is longer than 256 characters")
	}
	parts := strings.Split(s, ":")
	var tail []string // NAME[:QUALIFIER]
	switch {
	case parts[0] == "arn":
		// arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
		if len(parts) != 7 && len(parts) != 8 {
			return bad("is not a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER])")
		}
		if !strings.HasPrefix(parts[1], "aws") || parts[2] != "lambda" || parts[5] != "function" {
			return bad("is not a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER])")
		}
		if !regionRe.MatchString(parts[3]) {
			return bad("has an invalid region")
		}
		if !accountRe.MatchString(parts[4]) {
			return bad("has an invalid account id")
		}
		tail = parts[6:]
	case len(parts) >= 3 && parts[1] == "function":
		// ACCOUNT:function:NAME[:QUALIFIER]
		if len(parts) > 4 || !accountRe.MatchString(parts[0]) {
			return bad("is not a partial ARN (ACCOUNT:function:NAME[:QUALIFIER])")
		}
		tail = parts[2:]
	case parts[0] == "function" && len(parts) <= 3:
		// function:NAME[:QUALIFIER], which Lambda's pattern reads as NAME
		// (its optional "function:" group), not as function "function".
		tail = parts[1:]
	case len(parts) <= 2:
		tail = parts
	default:
		return bad(whyTooManyParts)
	}
	name, qual := tail[0], ""
	if len(tail) == 2 {
		if qual = tail[1]; qual == "" {
			return bad("has an empty qualifier")
		}
	}
	if !ValidName(name) {
		return bad("must match [A-Za-z0-9_-]{1,64}")
	}
	if qual != "" && !ValidQualifier(qual) {
		return bad("has a qualifier that is not a version, $LATEST or an alias name ([A-Za-z0-9_-]{1,128})")
	}
	return Ref{Name: name, Qualifier: qual}, ""
}

// functionNamePattern is Lambda's constraint on a function name in its API
// model (CreateFunction's, which, as Portico's names, holds no dot).
const functionNamePattern = `(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`

var functionNameRe = regexp.MustCompile(`^` + functionNamePattern + `$`)

// whyTooManyParts is parseRef's reason for a name of more ':' separated
// parts than the forms Portico takes.
const whyTooManyParts = "has too many ':' separated parts"

// ParseLocalRef parses s as ParseRef does, refusing what is not a function
// name with Lambda's ValidationException (Violation), and refuses an ARN, full or partial,
// that names a function elsewhere than on this server: another partition or
// region is Lambda's InvalidParameterValueException, another account
// AccessDeniedException (errdefs.ErrForbidden). Only the name and qualifier
// of an ARN are kept, so without this check an ARN of eu-west-1 or of
// account 999999999999 would act on the local function of that name. The
// Lambda API parses every function name it is given with it.
func ParseLocalRef(s string) (Ref, error) {
	ref, why := parseRef(s)
	if why == whyTooManyParts && functionNameRe.MatchString(s) {
		// Lambda's pattern admits it (REGION:ACCOUNT:function:NAME, say):
		// not a violation, a form Portico does not take.
		return Ref{}, invalidf("The function name %s %s: Portico takes NAME, NAME:QUALIFIER, ACCOUNT:function:NAME[:QUALIFIER], "+
			"function:NAME[:QUALIFIER] and arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]", truncate(s, 200), why)
	}
	if why != "" {
		return Ref{}, Violation("functionName", s,
			"satisfy regular expression pattern: "+functionNamePattern+" (the function name "+why+")")
	}
	parts := strings.SplitN(s, ":", 6)
	partition, region, account := Partition, Region, ""
	switch {
	case parts[0] == "arn": // arn:PARTITION:lambda:REGION:ACCOUNT:function:...
		partition, region, account = parts[1], parts[3], parts[4]
	case len(parts) >= 3 && parts[1] == "function": // ACCOUNT:function:...
		account = parts[0]
	default:
		return ref, nil
	}
	if partition != Partition || region != Region {
		return Ref{}, errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException", fmt.Sprintf(
			"The function ARN %s is in partition %s, region %s; this server is region %s of partition %s and acts only on its own functions: use the function's name or %s",
			truncate(s, 200), truncate(partition, 32), truncate(region, 32), Region, Partition, ARN(ref.Name, ref.Qualifier)))
	}
	if account != AccountID {
		return Ref{}, errdefs.New(errdefs.ErrForbidden, "AccessDeniedException", fmt.Sprintf(
			"The function ARN %s is in account %s; this server is account %s and acts only on its own functions: use the function's name or %s",
			truncate(s, 200), account, AccountID, ARN(ref.Name, ref.Qualifier)))
	}
	return ref, nil
}

// qualifierPattern is Lambda's constraint on a Qualifier parameter in its API
// model; a value that matches it and is still no version, $LATEST or alias
// name (a "$" elsewhere) is Lambda's InvalidParameterValueException.
const qualifierPattern = `(|[a-zA-Z0-9$_-]+)`

var qualifierRe = regexp.MustCompile(`^` + qualifierPattern + `$`)

// WithQualifier merges an explicit Qualifier parameter (the ?Qualifier= of the Lambda
// API) into a parsed ref. Both set and different is an error, as in Lambda.
func (r Ref) WithQualifier(q string) (Ref, error) {
	if q == "" {
		return r, nil
	}
	if len(q) > 128 {
		return Ref{}, Violation("qualifier", q, "have length less than or equal to 128")
	}
	if !qualifierRe.MatchString(q) {
		return Ref{}, Violation("qualifier", q, "satisfy regular expression pattern: "+qualifierPattern)
	}
	if !ValidQualifier(q) {
		return Ref{}, fmt.Errorf("qualifier %q is not a version, $LATEST or an alias name: %w", truncate(q, 200), errdefs.ErrInvalid)
	}
	if r.Qualifier != "" && r.Qualifier != q {
		return Ref{}, fmt.Errorf("the derived qualifier from the function name %q does not match the specified qualifier %q: %w", r.Qualifier, q, errdefs.ErrInvalid)
	}
	r.Qualifier = q
	return r, nil
}

// ARN returns the function ARN for name and an optional qualifier, in Portico's
// fixed region and account (see Region and AccountID).
func ARN(name, qualifier string) string {
	const prefix = "arn:" + Partition + ":lambda:" + Region + ":" + AccountID + ":function:"
	if qualifier == "" {
		return prefix + name
	}
	return prefix + name + ":" + qualifier // one allocation: every invocation's ARN
}

// Partition, Region and AccountID are what Portico reports in ARNs and
// events, and the only ones whose function ARNs its Lambda API acts on
// (ParseLocalRef).
const (
	Partition = "aws"
	Region    = "us-east-1"
	AccountID = "000000000000"
)

// RoleARN is the execution role Portico reports for every function (Lambda's
// Role): Portico uses no IAM roles, and functions run with the server's own
// permissions.
const RoleARN = "arn:aws:iam::" + AccountID + ":role/portico"

// truncate cuts s to at most n bytes, at a character boundary, marking the
// cut with "...".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
