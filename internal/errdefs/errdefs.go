// Package errdefs holds the error kinds that every Portico package wraps and every
// API surface maps to a status code, in the manner of containerd's errdefs.
//
// Packages wrap a kind with the identifiers that matter:
//
//	fmt.Errorf("function %q: %w", name, errdefs.ErrNotFound)
//
// and surfaces test for it with errors.Is. The mapping from kind to HTTP status and
// AWS error type lives in exactly one place per surface.
package errdefs

import "errors"

// Error kinds. They are sentinel values: wrap them, never compare error strings.
var (
	// ErrNotFound means the named resource does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the resource exists already, or the request conflicts with
	// its current state.
	ErrConflict = errors.New("conflict")
	// ErrInvalid means a parameter or body is malformed or out of range.
	ErrInvalid = errors.New("invalid parameter")
	// ErrTooLarge means a payload is over its limit.
	ErrTooLarge = errors.New("payload too large")
	// ErrThrottled means a concurrency or rate limit refused the call.
	ErrThrottled = errors.New("throttled")
	// ErrTimeout means a deadline passed before the work finished.
	ErrTimeout = errors.New("timed out")
	// ErrUnavailable means a dependency (a container daemon, a sandbox) cannot serve
	// the call right now.
	ErrUnavailable = errors.New("unavailable")
	// ErrForbidden means the caller may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrPrecondition means a condition the caller set (a revision id) does not
	// hold.
	ErrPrecondition = errors.New("precondition failed")
	// ErrGone means the resource existed but is no longer there (a closed connection).
	ErrGone = errors.New("gone")
)

// Kinded is an error that names an AWS error type explicitly, for the cases where
// one kind maps to several AWS types (ResourceNotFoundException vs GoneException).
type Kinded struct {
	Kind    error  // one of the kinds above
	Type    string // AWS error type, e.g. "InvalidZipFileException"
	Message string // the message shown to the caller
	Reason  string // optional, e.g. "ReservedFunctionConcurrentInvocationLimitExceeded"
}

// Error implements error.
func (e *Kinded) Error() string { return e.Message }

// Unwrap lets errors.Is find the kind.
func (e *Kinded) Unwrap() error { return e.Kind }

// New returns a Kinded error.
func New(kind error, awsType, message string) error {
	return &Kinded{Kind: kind, Type: awsType, Message: message}
}
