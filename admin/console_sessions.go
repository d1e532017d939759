package admin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"time"
)

// consoleSessions signs and checks the console's session cookies and ends
// them on sign-out. A session is "EXPIRY.NONCE.MAC": its expiry (Unix
// seconds), a random nonce, and a MAC of both keyed by the admin token and a
// random key of this process. Nothing is kept per session but the sessions
// signed out before they expired (by nonce, until their expiry), at most
// maxEndedSessions of them: when sign-outs fill the list, the key changes,
// which ends every session at once (everyone signs in again), and the list
// empties. The key being the process's own, a restart ends every session too,
// so the list never has to outlive the process.
//
// The zero value is ready to use. Safe for concurrent use.
type consoleSessions struct {
	mu  sync.Mutex
	key []byte // made on first use
	// ended are the sessions signed out before their expiry: nonce -> expiry.
	ended map[string]time.Time
}

// maxEndedSessions bounds the sessions kept as signed out (about 100 bytes each).
const maxEndedSessions = 4096

const (
	sessionNonceLen = 26 // rand.Text: 128 bits in base32
	sessionMACLen   = sha256.Size * 2
)

// keyLocked returns the process's key, made on first use. c.mu is held.
func (c *consoleSessions) keyLocked() []byte {
	if c.key == nil {
		c.key = make([]byte, 32)
		_, _ = rand.Read(c.key) // crypto/rand.Read never fails
	}
	return c.key
}

// mac returns the MAC of a session's expiry and nonce for token.
func (c *consoleSessions) mac(token, exp, nonce string) string {
	c.mu.Lock()
	key := c.keyLocked()
	c.mu.Unlock()
	m := hmac.New(sha256.New, append(append([]byte(nil), key...), token...))
	m.Write([]byte("portico console session v3\n"))
	m.Write([]byte(exp))
	m.Write([]byte{'.'})
	m.Write([]byte(nonce))
	return hex.EncodeToString(m.Sum(nil))
}

// issue returns the value of a new session's cookie for token, valid until
// expires.
func (c *consoleSessions) issue(token string, expires time.Time) string {
	exp, nonce := strconv.FormatInt(expires.Unix(), 10), rand.Text()
	return exp + "." + nonce + "." + c.mac(token, exp, nonce)
}

// check returns the nonce and expiry of v when it is a session for token that
// has not expired at now (ended or not).
func (c *consoleSessions) check(v, token string, now time.Time) (nonce string, expires time.Time, ok bool) {
	exp, rest, _ := strings.Cut(v, ".")
	nonce, mac, _ := strings.Cut(rest, ".")
	if len(nonce) != sessionNonceLen || len(mac) != sessionMACLen {
		return "", time.Time{}, false
	}
	sec, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !now.Before(time.Unix(sec, 0)) {
		return "", time.Time{}, false
	}
	if !hmac.Equal([]byte(mac), []byte(c.mac(token, exp, nonce))) {
		return "", time.Time{}, false
	}
	return nonce, time.Unix(sec, 0), true
}

// valid reports whether v is a session for token that has neither expired at
// now nor been signed out.
func (c *consoleSessions) valid(v, token string, now time.Time) bool {
	nonce, _, ok := c.check(v, token, now)
	if !ok {
		return false
	}
	c.mu.Lock()
	_, ended := c.ended[nonce]
	c.mu.Unlock()
	return !ended
}

// end signs out v, when it is a valid session for token at now (ended: it
// was). When the list of sessions signed out is full even after dropping
// those that expired, every session ends instead (all: the key changed).
func (c *consoleSessions) end(v, token string, now time.Time) (ended, all bool) {
	nonce, expires, ok := c.check(v, token, now)
	if !ok {
		return false, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, done := c.ended[nonce]; done {
		return false, false
	}
	if len(c.ended) >= maxEndedSessions {
		for n, exp := range c.ended {
			if !now.Before(exp) {
				delete(c.ended, n)
			}
		}
	}
	if len(c.ended) >= maxEndedSessions {
		c.key, c.ended = nil, nil
		return true, true
	}
	if c.ended == nil {
		c.ended = make(map[string]time.Time)
	}
	c.ended[nonce] = expires
	return true, false
}
