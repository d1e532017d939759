package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
)

// JWKS fetching: a 1.5 s timeout per document, and at most one refresh a
// minute per issuer when a token names a key the cached set lacks.
const (
	jwksFetchTimeout = 1500 * time.Millisecond
	jwksMinRefresh   = time.Minute
	maxJWKSDocument  = 1 << 20
)

// keySource is one issuer's keys, from its OIDC discovery document's jwks_uri,
// cached. Safe for concurrent use.
type keySource struct {
	issuer string
	mu     sync.Mutex
	set    jwk.Set
	last   time.Time // of the last fetch attempt
}

// keys returns the issuer's keys holding kid: the cached set, or, when it lacks
// kid and the last fetch is over a minute old (or there is none), a fresh one.
func (s *Stage) keys(ctx context.Context, issuer, kid string) (jwk.Set, error) {
	s.jwksMu.Lock()
	ks := s.jwks[issuer]
	if ks == nil {
		ks = &keySource{issuer: issuer}
		s.jwks[issuer] = ks
	}
	s.jwksMu.Unlock()
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if ks.set != nil {
		if _, ok := ks.set.LookupKeyID(kid); ok {
			return ks.set, nil
		}
	}
	now := s.now()
	if ks.set != nil && now.Sub(ks.last) < jwksMinRefresh || ks.set == nil && !ks.last.IsZero() && now.Sub(ks.last) < time.Second {
		if ks.set == nil {
			return nil, errors.New("the issuer's keys could not be fetched recently")
		}
		return ks.set, nil
	}
	ks.last = now
	set, err := s.fetchJWKS(ctx, issuer)
	if err != nil {
		if ks.set != nil {
			return ks.set, nil
		}
		return nil, err
	}
	ks.set = set
	return set, nil
}

func (s *Stage) fetchJWKS(ctx context.Context, issuer string) (jwk.Set, error) {
	ctx, cancel := context.WithTimeout(ctx, jwksFetchTimeout)
	defer cancel()
	var disc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	raw, err := s.fetch(ctx, issuer+"/.well-known/openid-configuration")
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &disc); err != nil || disc.JWKSURI == "" {
		return nil, fmt.Errorf("the discovery document of %s names no jwks_uri (%w)", issuer, err)
	}
	raw, err = s.fetch(ctx, disc.JWKSURI)
	if err != nil {
		return nil, err
	}
	set, err := jwk.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("the JWKS at %s does not parse: %w", disc.JWKSURI, err)
	}
	return set, nil
}

func (s *Stage) fetch(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: status %d", u, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSDocument))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	return b, nil
}

// jwtError is a 401 whose www-authenticate header says why.
func jwtError(desc string, cause error) error {
	h := http.Header{}
	h.Set("www-authenticate", `Bearer error="invalid_token" error_description="`+desc+`"`)
	return &pipeline.Error{Type: pipeline.Unauthorized, Header: h, Cause: cause}
}

// verifyJWT checks the request's token against the authorizer and the route's
// scopes, and sets c.Authorizer to its claims and scopes.
func (s *Stage) verifyJWT(r *http.Request, c *pipeline.Context, au *apis.Authorizer, scopes []string) error {
	in := input{c: c, header: r.Header.Get, query: queryOf(r)}
	values, err := identityValues(in, au)
	if err != nil {
		return jwtError("the token is missing", err)
	}
	tok := values[0]
	if b, ok := strings.CutPrefix(tok, "Bearer "); ok {
		tok = strings.TrimSpace(b)
	}
	// A token verified before (same issuer and audiences) is not verified again
	// until its entry lapses: at its exp, and at most verifiedTTL after the check.
	cacheKey := "jwt\x00" + au.Issuer + "\x00" + strings.Join(au.Audience, ",") + "\x00" + tok
	if res := s.cache.get(cacheKey, s.now()); res != nil {
		return setJWT(c, au, res.context, scopes)
	}
	msg, err := jws.Parse([]byte(tok))
	if err != nil || len(msg.Signatures()) != 1 {
		return jwtError("the token is malformed", fmt.Errorf("authorizer %q: token: %w", au.Name, err))
	}
	kid, _ := msg.Signatures()[0].ProtectedHeaders().KeyID()
	if kid == "" {
		return jwtError("the token names no key (kid)", fmt.Errorf("authorizer %q: no kid", au.Name))
	}
	set, err := s.keys(r.Context(), au.Issuer, kid)
	if err != nil {
		return jwtError("the issuer's keys are unavailable", fmt.Errorf("authorizer %q: %w", au.Name, err))
	}
	if _, ok := set.LookupKeyID(kid); !ok {
		return jwtError("the token's key is unknown", fmt.Errorf("authorizer %q: kid %q not in the issuer's keys", au.Name, kid))
	}
	_, err = jwt.Parse([]byte(tok),
		jwt.WithKeySet(set, jws.WithInferAlgorithmFromKey(true), jws.WithRequireKid(true)),
		jwt.WithValidate(true), jwt.WithIssuer(au.Issuer), jwt.WithClock(jwt.ClockFunc(s.now)))
	if err != nil {
		desc := "the token is invalid"
		switch {
		case errors.Is(err, jwt.TokenExpiredError()):
			desc = "the token has expired"
		case errors.Is(err, jwt.TokenNotYetValidError()):
			desc = "the token is not valid yet"
		case errors.Is(err, jwt.InvalidIssuerError()):
			desc = "the token has an invalid issuer"
		case errors.Is(err, jwt.InvalidIssuedAtError()):
			desc = "the token was issued in the future"
		}
		return jwtError(desc, fmt.Errorf("authorizer %q: %w", au.Name, err))
	}
	claims, err := payloadClaims(tok)
	if err != nil {
		return jwtError("the token is malformed", err)
	}
	if !audienceOK(claims, au.Audience) {
		return jwtError("the token has an invalid audience", fmt.Errorf("authorizer %q: aud/client_id not in %v", au.Name, au.Audience))
	}
	now := s.now()
	until := now.Add(verifiedTTL)
	if exp, ok := claims["exp"].(float64); ok && time.Unix(int64(exp), 0).Before(until) {
		until = time.Unix(int64(exp), 0)
	}
	s.cache.put(cacheKey, &result{context: claims}, until, now)
	return setJWT(c, au, claims, scopes)
}

// verifiedTTL bounds how long a verified token is trusted without a new check.
const verifiedTTL = 5 * time.Minute

// setJWT checks the route's scopes against a verified token's claims and sets
// c.Authorizer.
func setJWT(c *pipeline.Context, au *apis.Authorizer, claims map[string]any, scopes []string) error {
	have := tokenScopes(claims)
	if len(scopes) > 0 && !anyIn(scopes, have) {
		return &pipeline.Error{Type: pipeline.AccessDenied, Message: "Forbidden", Cause: fmt.Errorf("authorizer %q: token scopes %v include none of %v", au.Name, have, scopes)}
	}
	c.Authorizer = pipeline.Authorizer{Kind: "jwt", Context: claims, Scopes: have}
	if sub, ok := claims["sub"].(string); ok {
		c.Authorizer.PrincipalID = sub
	}
	return nil
}

// payloadClaims decodes a verified token's claims.
func payloadClaims(tok string) (map[string]any, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("token is not a compact JWS")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		return nil, err
	}
	return claims, nil
}

// audienceOK says whether the token is meant for one of the audiences: its
// aud when the token has one, else its client_id. As API Gateway does, a token
// with both is judged by aud alone, so a matching client_id never rescues a
// wrong aud.
func audienceOK(claims map[string]any, want []string) bool {
	aud, ok := claims["aud"]
	if !ok || aud == nil {
		cid, _ := claims["client_id"].(string)
		return cid != "" && anyIn(want, []string{cid})
	}
	var got []string
	switch v := aud.(type) {
	case string:
		got = append(got, v)
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				got = append(got, s)
			}
		}
	}
	return anyIn(want, got)
}

func tokenScopes(claims map[string]any) []string {
	var out []string
	for _, k := range []string{"scope", "scp"} {
		switch v := claims[k].(type) {
		case string:
			out = append(out, strings.Fields(v)...)
		case []any:
			for _, x := range v {
				if s, ok := x.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func anyIn(want, have []string) bool {
	for _, w := range want {
		for _, h := range have {
			if w == h {
				return true
			}
		}
	}
	return false
}
