package errdefs

import "errors"

// IsKind reports whether err wraps one of this package's kinds.
func IsKind(err error) bool {
	for _, k := range []error{ErrNotFound, ErrConflict, ErrInvalid, ErrTooLarge, ErrThrottled, ErrTimeout, ErrUnavailable, ErrForbidden, ErrGone, ErrPrecondition} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}
