package connections

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/signin"
	"github.com/portico-dev/portico/invoker"
)

// accessKeyPrefix starts every access key id Portico issues; like AWS's ids they
// are 20 upper-case characters.
const accessKeyPrefix = "PTCO"

// AdminAccessKeyID is the access key id whose secret is the admin token, for
// people signing @connections calls with the AWS CLI.
const AdminAccessKeyID = "portico"

// tokenVersion starts every session token Portico issues.
const tokenVersion = "ptco1"

// issuer makes sandbox credentials without keeping any. A credential names the
// function that holds it and when it expires, both in its session token
// ("ptco1.<base64url function>.<unix expiry>"); the access key id is a random
// nonce; the secret is an HMAC, under a key that lives as long as the process, of
// the id and the token, so that a token altered to name another function or a
// later expiry no longer matches the secret the sandbox signs with. Safe for
// concurrent use.
type issuer struct {
	key [32]byte

	// secrets remembers the secrets derive computed, by id and token: a
	// function broadcasting signs every call with the same credentials. At
	// most maxCachedSecrets (then it starts again empty).
	mu      sync.RWMutex
	secrets map[string]string
}

const maxCachedSecrets = 4096

func newIssuer() *issuer {
	i := &issuer{}
	_, _ = rand.Read(i.key[:])
	return i
}

var keyEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func (i *issuer) issue(function string, expires time.Time) (id, secret, token string) {
	var nonce [10]byte
	_, _ = rand.Read(nonce[:])
	id = accessKeyPrefix + keyEncoding.EncodeToString(nonce[:])
	token = tokenVersion + "." + base64.RawURLEncoding.EncodeToString([]byte(function)) + "." + strconv.FormatInt(expires.Unix(), 10)
	return id, i.derive(id, token), token
}

func (i *issuer) derive(id, token string) string {
	m := hmac.New(sha256.New, i.key[:])
	m.Write([]byte(id))
	m.Write([]byte{'\n'})
	m.Write([]byte(token))
	return base64.StdEncoding.EncodeToString(m.Sum(nil)[:30]) // 40 characters, as AWS's
}

// parseToken returns the function and expiry a session token names.
func parseToken(token string) (function string, expires time.Time, ok bool) {
	f := strings.Split(token, ".")
	if len(f) != 3 || f[0] != tokenVersion {
		return "", time.Time{}, false
	}
	fn, err := base64.RawURLEncoding.DecodeString(f[1])
	if err != nil || len(fn) == 0 {
		return "", time.Time{}, false
	}
	exp, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	return string(fn), time.Unix(exp, 0), true
}

// secret returns the secret of an access key id and session token this issuer
// made, whatever their expiry (the caller checks it).
func (i *issuer) secret(id, token string) (string, bool) {
	if len(id) != len(accessKeyPrefix)+16 || !strings.HasPrefix(id, accessKeyPrefix) {
		return "", false
	}
	if _, err := keyEncoding.DecodeString(id[len(accessKeyPrefix):]); err != nil {
		return "", false
	}
	k := id + "\n" + token
	i.mu.RLock()
	sec, ok := i.secrets[k]
	i.mu.RUnlock()
	if ok {
		return sec, true
	}
	if _, _, ok := parseToken(token); !ok {
		return "", false
	}
	sec = i.derive(id, token)
	i.mu.Lock()
	if i.secrets == nil || len(i.secrets) >= maxCachedSecrets {
		i.secrets = make(map[string]string)
	}
	i.secrets[k] = sec
	i.mu.Unlock()
	return sec, true
}

// Issue returns credentials for a sandbox of function: an access key id, secret
// and session token that the @connections API accepts as SigV4 signing
// credentials for the connections of APIs whose routes integrate function, until
// they expire (Config.CredentialTTL after issue). It implements
// invoker.CredentialIssuer; the invoker retires a sandbox before its credentials
// expire, so a sandbox is renewed with fresh ones. No state is kept per
// credential.
func (m *Manager) Issue(function string) invoker.Credentials {
	expires := m.now().Add(m.cfg.CredentialTTL)
	id, secret, token := m.creds.issue(function, expires)
	return invoker.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token, Expires: expires}
}

// sessionSecret resolves an access key id and session token for the SigV4
// verifier: issued credentials, and the admin token under AdminAccessKeyID.
func (m *Manager) sessionSecret(id, token string) (string, bool) {
	if id == AdminAccessKeyID {
		if m.cfg.AdminToken == "" {
			return "", false
		}
		return m.cfg.AdminToken, true
	}
	return m.creds.secret(id, token)
}

// bearerOK reports whether the request carries the admin token as a bearer token.
func (m *Manager) bearerOK(authorization string) bool {
	tok, ok := signin.BearerToken(authorization)
	if !ok || m.cfg.AdminToken == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(tok), []byte(m.cfg.AdminToken)) == 1
}

// Integrations tells the @connections API which functions may manage an API's
// connections. The connections package declares it; the gateway provides it.
type Integrations interface {
	// Integrates reports whether a route of apiID's stage (as deployed there)
	// integrates function.
	Integrates(ctx context.Context, apiID, stage, function string) (bool, error)
}

// Principals resolves access keys other than the ones Issue makes (IAM users'
// keys) and decides whether their holder may call execute-api:ManageConnections
// on a connection's ARN. Optional; the IAM package provides it.
type Principals interface {
	// Secret returns an access key's secret, or false when the key is unknown.
	Secret(accessKeyID string) (string, bool)
	// AllowManageConnections reports whether the key's holder may manage
	// connections at resource (an execute-api ARN).
	AllowManageConnections(ctx context.Context, accessKeyID, resource string) (bool, error)
}

// SetIntegrations sets how function credentials are scoped; call it before
// serving. Without it, function credentials manage no connection.
func (m *Manager) SetIntegrations(i Integrations) { m.integrations = i }

// SetPrincipals sets the IAM principals whose keys may sign @connections calls.
func (m *Manager) SetPrincipals(p Principals) { m.principals = p }

// mayManage decides whether a verified caller may make the call method on
// connection id of apiID's stage (as the URL names them; apiID "" when it
// names no API), before anything tells whether the connection exists, so
// that a caller not allowed learns nothing of it: the admin token may manage
// any; function credentials those of APIs whose routes integrate the
// function, until they expire; IAM keys what their policies allow on
// arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/@connections/{id},
// METHOD the request's (POST to send, GET to describe, DELETE to disconnect),
// as AWS names ManageConnections resources. Where the URL names no API, the
// connection names it: function credentials then get 410 for an id that is
// not connected (what the callback URL AWS's samples build needs when a
// client left) and for another API's connection alike, and IAM keys are
// refused unless the
// connection exists and their policies allow it, the ARN having no API
// otherwise.
func (m *Manager) mayManage(ctx context.Context, accessKeyID, token, method, apiID, stage, id string) error {
	if accessKeyID == AdminAccessKeyID {
		return nil
	}
	noAPI := apiID == "" // the URL names no API: the connection does
	if noAPI {
		if c := m.lookup("", stage, id); c != nil {
			apiID, stage = c.apiID, c.stage
		}
	}
	if strings.HasPrefix(accessKeyID, accessKeyPrefix) {
		fn, expires, ok := parseToken(token)
		if !ok {
			return fmt.Errorf("access key %s carries no Portico session token: %w", accessKeyID, errForbidden)
		}
		if !m.now().Before(expires) {
			return fmt.Errorf("credentials of function %q expired at %s: %w", fn, expires.UTC().Format(time.RFC3339), errForbidden)
		}
		if m.integrations == nil {
			return fmt.Errorf("function %q: no integrations to scope its credentials: %w", fn, errForbidden)
		}
		if apiID == "" {
			return nil // no such connection: 410
		}
		ok, err := m.integrations.Integrates(ctx, apiID, stage, fn)
		if err != nil {
			return fmt.Errorf("function %q on api %s stage %s: %w: %w", fn, apiID, stage, err, errForbidden)
		}
		if !ok && noAPI {
			// The API was the connection's: to this function, a connection
			// of an API it may not manage is as gone as one never issued,
			// or the answers would tell which connections exist.
			return fmt.Errorf("function %q is integrated by no route of api %s stage %s: %w", fn, apiID, stage, goneError(id))
		}
		if !ok {
			return fmt.Errorf("function %q is integrated by no route of api %s stage %s: %w", fn, apiID, stage, errForbidden)
		}
		return nil
	}
	if m.principals != nil {
		if apiID == "" {
			return fmt.Errorf("access key %s: connection %q, at a URL that names no API, is not connected: %w", accessKeyID, id, errForbidden)
		}
		arn := fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/%s/%s/@connections/%s", functions.Region, functions.AccountID, apiID, stage, method, id)
		ok, err := m.principals.AllowManageConnections(ctx, accessKeyID, arn)
		switch {
		case err != nil:
			return fmt.Errorf("access key %s may not manage %s (%w): %w", accessKeyID, arn, err, errForbidden)
		case !ok:
			return fmt.Errorf("access key %s may not manage %s: %w", accessKeyID, arn, errForbidden)
		}
		return nil
	}
	return fmt.Errorf("access key %s: %w", accessKeyID, errForbidden)
}

// secretFor resolves any access key id the @connections API accepts. A
// session token comes only with the credentials Issue made: the admin key or
// an IAM user's long-term key sent with one is unknown, as AWS refuses a token
// it did not issue.
func (m *Manager) secretFor(id, token string) (string, bool) {
	if strings.HasPrefix(id, accessKeyPrefix) {
		return m.creds.secret(id, token)
	}
	if token != "" {
		return "", false
	}
	if id == AdminAccessKeyID {
		return m.sessionSecret(id, token)
	}
	if m.principals != nil {
		return m.principals.Secret(id)
	}
	return "", false
}

// SandboxCredential returns the secret of credentials Issue made (an access key
// id and its session token) and the function they were issued to, while they
// have not expired. The admin API verifies with it the calls sandboxes sign to
// it (a CodeDeploy hook's PutLifecycleEventHookExecutionStatus).
func (m *Manager) SandboxCredential(accessKeyID, sessionToken string) (secret, function string, ok bool) {
	if !strings.HasPrefix(accessKeyID, accessKeyPrefix) {
		return "", "", false
	}
	fn, expires, ok := parseToken(sessionToken)
	if !ok || !m.now().Before(expires) {
		return "", "", false
	}
	secret, ok = m.creds.secret(accessKeyID, sessionToken)
	return secret, fn, ok
}
