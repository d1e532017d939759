package connections

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"strings"
)

// accessKeyPrefix starts every access key id Portico issues; like AWS's ids they
// are 20 upper-case characters.
const accessKeyPrefix = "PTCO"

// AdminAccessKeyID is the access key id whose secret is the admin token, for
// people signing @connections calls with the AWS CLI.
const AdminAccessKeyID = "portico"

// issuer makes sandbox credentials without keeping any: an access key id is a
// random nonce, and its secret is an HMAC of the id under a key that lives as long
// as the process (and with it every sandbox). Safe for concurrent use.
type issuer struct {
	key [32]byte
}

func newIssuer() *issuer {
	i := &issuer{}
	_, _ = rand.Read(i.key[:])
	return i
}

var keyEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func (i *issuer) issue() (id, secret string) {
	var nonce [10]byte
	_, _ = rand.Read(nonce[:])
	id = accessKeyPrefix + keyEncoding.EncodeToString(nonce[:])
	return id, i.derive(id)
}

func (i *issuer) derive(id string) string {
	m := hmac.New(sha256.New, i.key[:])
	m.Write([]byte(id))
	return base64.StdEncoding.EncodeToString(m.Sum(nil)[:30]) // 40 characters, as AWS's
}

// secret returns the secret of an access key id this issuer made.
func (i *issuer) secret(id string) (string, bool) {
	if len(id) != len(accessKeyPrefix)+16 || !strings.HasPrefix(id, accessKeyPrefix) {
		return "", false
	}
	if _, err := keyEncoding.DecodeString(id[len(accessKeyPrefix):]); err != nil {
		return "", false
	}
	return i.derive(id), true
}

// secretFor resolves an access key id for the SigV4 verifier: issued credentials,
// and the admin token under AdminAccessKeyID.
func (m *Manager) secretFor(id string) (string, bool) {
	if id == AdminAccessKeyID {
		if m.cfg.AdminToken == "" {
			return "", false
		}
		return m.cfg.AdminToken, true
	}
	return m.creds.secret(id)
}

// bearerOK reports whether the request carries the admin token as a bearer token.
func (m *Manager) bearerOK(authorization string) bool {
	tok, ok := strings.CutPrefix(authorization, "Bearer ")
	if !ok || m.cfg.AdminToken == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(tok), []byte(m.cfg.AdminToken)) == 1
}
