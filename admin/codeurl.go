package admin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/errdefs"
)

// A Zip function's Code.Location (GetFunction) is, as on Lambda, a presigned
// URL: it downloads that function's code (that qualifier's) without a
// credential until it expires, codeURLExpiry after GetFunction answered, as
// Lambda's presigned S3 URL does. It is
//
//	/portico/v1/functions/NAME/code?Qualifier=Q&X-Portico-Expires=UNIX&X-Portico-Signature=MAC
//
// where MAC is an HMAC of the name, the qualifier and the expiry keyed by a
// random key of this process and the admin token: it cannot be made for
// another function or qualifier, nor stretched, and a restart or a new token
// ends every URL issued before. Without a token the admin API takes no
// credential anyway, and the URL works as any request does.

// codeURLExpiry is how long a Code.Location works: 10 minutes, as Lambda's.
const codeURLExpiry = 10 * time.Minute

// The query parameters of a presigned code URL.
const (
	codeURLExpires   = "X-Portico-Expires"
	codeURLSignature = "X-Portico-Signature"
)

// codeURLs signs and checks presigned code URLs. The zero value is ready to
// use. Safe for concurrent use.
type codeURLs struct {
	once sync.Once
	key  []byte // made on first use
}

// mac is the signature of the code of name at qualifier until exp (Unix
// seconds) for token.
func (c *codeURLs) mac(token, name, qualifier, exp string) string {
	c.once.Do(func() {
		c.key = make([]byte, 32)
		_, _ = rand.Read(c.key) // crypto/rand.Read never fails
	})
	m := hmac.New(sha256.New, append(append([]byte(nil), c.key...), token...))
	m.Write([]byte("portico code location v1\n" + name + "\n" + qualifier + "\n" + exp))
	return hex.EncodeToString(m.Sum(nil))
}

// location is the presigned URL of the code of name at qualifier ("" for
// $LATEST unqualified), for a client that reached the admin API as r did,
// valid until codeURLExpiry after now.
func (c *codeURLs) location(r *http.Request, token, name, qualifier string, now time.Time) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	exp := strconv.FormatInt(now.Add(codeURLExpiry).Unix(), 10)
	q := url.Values{}
	if qualifier != "" {
		q.Set("Qualifier", qualifier)
	}
	q.Set(codeURLExpires, exp)
	q.Set(codeURLSignature, c.mac(token, name, qualifier, exp))
	return scheme + "://" + r.Host + "/portico/v1/functions/" + url.PathEscape(name) + "/code?" + q.Encode()
}

// presigned reports whether r asks for a function's code with a presigned
// URL's parameters, and if so, the error to refuse it with (nil: the URL is
// one location issued, for that function and qualifier, and has not expired
// at now).
func (c *codeURLs) presigned(r *http.Request, token string, now time.Time) (bool, error) {
	q := r.URL.Query()
	sig := q.Get(codeURLSignature)
	if sig == "" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false, nil
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/portico/v1/functions/")
	name, ok2 := strings.CutSuffix(rest, "/code")
	if !ok || !ok2 || name == "" || strings.Contains(name, "/") {
		return false, nil
	}
	exp := q.Get(codeURLExpires)
	if !hmac.Equal([]byte(sig), []byte(c.mac(token, name, q.Get("Qualifier"), exp))) {
		return true, errdefs.New(errdefs.ErrForbidden, "AccessDeniedException",
			"the code URL's signature does not match: it was not issued for this function and qualifier, or the server restarted or its token changed since; call GetFunction again for a new Code.Location")
	}
	sec, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !now.Before(time.Unix(sec, 0)) {
		return true, errdefs.New(errdefs.ErrForbidden, "AccessDeniedException",
			"Request has expired: a Code.Location works for 10 minutes; call GetFunction again for a new one")
	}
	return true, nil
}
