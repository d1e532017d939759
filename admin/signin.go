package admin

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/netaddr"
	"github.com/portico-dev/portico/internal/signin"
)

// Failed sign-ins are limited per client address by a signin.Limiter of the
// admin surface's own (Params.SignIns), apart from the gateway's.
const (
	failedSignInBurst = signin.Burst
	failedSignInEvery = signin.Every
)

// signInLimiter is the limiter of failed sign-ins: the one given, else the
// server's own.
func (s *Server) signInLimiter() *signin.Limiter {
	if s.signIns != nil {
		return s.signIns
	}
	return &s.ownSignIns
}

// tooManySignIns returns the Retry-After value (whole seconds, rounded up) and
// the error of a client that must wait d before it signs in again.
func tooManySignIns(d time.Duration) (retryAfter string, err error) {
	secs := signin.Seconds(d)
	return signin.RetryAfter(d), errdefs.New(errdefs.ErrThrottled, "TooManyRequestsException", fmt.Sprintf(
		"too many failed sign-ins from this address: wait %d s (Retry-After), then sign in with the admin token "+
			"the server was started with (the contents of its --admin-token-file or PORTICO_ADMIN_TOKEN_FILE, else --admin-token or PORTICO_ADMIN_TOKEN)", secs))
}

// MinTokenLength is the shortest admin token accepted when the admin API
// listens off loopback: 32 characters, 128 bits or more as hex or base64 of
// random bytes, beyond any guessing that the sign-in limit lets through.
const MinTokenLength = 32

// CheckToken refuses an admin token that is only whitespace (anywhere: it is
// no secret), or that has too few characters other than whitespace to be safe
// for an admin API listening on listen off loopback, saying what length is
// needed and how to make a token. On loopback any other token is taken. A
// token that no client could present is refused wherever it listens: one that
// starts or ends with whitespace (HTTP drops a header value's leading and
// trailing spaces, so "Bearer <token>" never carries them), or that holds a
// control character, which a header cannot carry at all.
func CheckToken(listen, token string) error { return CheckTokenFrom(listen, token, "") }

// CheckTokenFrom is CheckToken for a token that came from source, which its
// errors name so that the user fixes the token where it was given: "the
// token file /etc/portico/token (--admin-token-file)", "--admin-token",
// "PORTICO_ADMIN_TOKEN", "admin-token in portico.yaml". An empty source is
// "--admin-token or PORTICO_ADMIN_TOKEN".
func CheckTokenFrom(listen, token, source string) error {
	if token == "" {
		return nil
	}
	if source == "" {
		source = "--admin-token or PORTICO_ADMIN_TOKEN"
	}
	// Given on the command line, the token shows in ps: a new one had
	// better go where it does not.
	better := ""
	if source == "--admin-token" {
		better = " (better in a file only the server's user reads, named by --admin-token-file, which ps does not show)"
	}
	if strings.TrimSpace(token) == "" {
		return fmt.Errorf("the admin token from %s is only whitespace (%d characters), which is no secret: "+
			"give one of at least %d characters other than spaces there%s, for example made with `openssl rand -hex 32`",
			source, len(token), MinTokenLength, better)
	}
	if strings.TrimSpace(token) != token {
		return fmt.Errorf("the admin token from %s starts or ends with whitespace (a space, tab or newline), which HTTP drops from a header, "+
			"so no client could present it: remove it there", source)
	}
	if strings.ContainsFunc(token, func(r rune) bool { return r != '\t' && unicode.IsControl(r) }) {
		return fmt.Errorf("the admin token from %s holds a control character, which no HTTP header can carry, "+
			"so no client could present it: remove it there", source)
	}
	n := tokenLength(token)
	if netaddr.IsLoopback(listen) || n >= MinTokenLength {
		return nil
	}
	return fmt.Errorf("the admin token from %s has %d characters other than spaces, too few for an admin API that listens on %s, off loopback: "+
		"give one of at least %d characters there%s, for example made with `openssl rand -hex 32`",
		source, n, listen, MinTokenLength, better)
}

// tokenLength counts the characters of token other than whitespace.
func tokenLength(token string) int {
	n := 0
	for _, r := range token {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}
