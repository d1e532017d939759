package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/auth/policy"
	"github.com/portico-dev/portico/gateway/pipeline"
)

// JWKS fetching: a 1.5 s timeout per document, one fetch per issuer at a time
// shared by the requests that need it. A fetched key set is trusted
// for jwksLifetime (or the JWKS response's Cache-Control max-age, held between
// jwksMinRefresh and jwksMaxLifetime), then fetched again; while that refresh
// fails the old set is served for at most jwksGrace more, retried every
// jwksRetry. A first fetch that fails is remembered for jwksRetry: tokens of
// that issuer are refused at once meanwhile. A token naming a kid the set lacks, or failing its signature
// under a kid the set has (a key replaced under the same kid), fetches again
// at most once per jwksMinRefresh per issuer.
const (
	jwksFetchTimeout = 1500 * time.Millisecond
	jwksMinRefresh   = time.Minute
	jwksLifetime     = 5 * time.Minute
	jwksMaxLifetime  = 10 * time.Minute
	jwksGrace        = 10 * time.Minute
	jwksRetry        = 5 * time.Second
	maxJWKSDocument  = 1 << 20
)

// keySource is one issuer's keys, from its OIDC discovery document's jwks_uri,
// cached. Safe for concurrent use: mu guards the fields and is never held
// across the network; one fetch at a time runs (inflight), and every request
// that needs its result waits for that one.
type keySource struct {
	issuer string
	// gen counts the successful fetches; a verified token remembers the
	// generation that verified it and is checked again once it changes.
	gen      atomic.Uint64
	mu       sync.Mutex
	set      jwk.Set
	fresh    time.Time    // the set is trusted until then without a refresh
	last     time.Time    // when the last fetch attempt ended
	failing  bool         // the last refresh failed (logged once per outage)
	lastErr  error        // why the last fetch failed, while there is no set
	inflight *jwksFetch   // the fetch running now, nil when none
	joined   atomic.Int64 // requests that waited for another's fetch (tests read it)
}

// jwksFetch is one fetch of an issuer's keys that the requests needing it
// share: done is closed once ks and err are set.
type jwksFetch struct {
	done chan struct{}
	ks   keySet
	err  error
}

// keySource returns the issuer's key source, made on first use.
func (s *Stage) keySource(issuer string) *keySource {
	s.jwksMu.Lock()
	defer s.jwksMu.Unlock()
	ks := s.jwks[issuer]
	if ks == nil {
		ks = &keySource{issuer: issuer}
		s.jwks[issuer] = ks
	}
	return ks
}

// keySet is an issuer's keys as fetched: the set, its generation, and until
// when it is fresh.
type keySet struct {
	set   jwk.Set
	gen   uint64
	fresh time.Time
}

// keys returns the issuer's keys. The cached set serves
// while it is fresh and holds kid, unless refetch (the token's signature failed
// under kid); otherwise a new set is fetched: when the set is stale (retried
// every jwksRetry while it fails), or, at most once per jwksMinRefresh, when it
// lacks kid or refetch is set; with no set, a failed fetch is remembered for
// jwksRetry (requests meanwhile are refused at once, not made to wait for the
// issuer again). A fetch already running is joined, never repeated. A failed
// refresh serves the old set until jwksGrace past its freshness, then is an
// error.
func (s *Stage) keys(ctx context.Context, issuer, kid string, refetch bool) (keySet, error) {
	ks := s.keySource(issuer)
	ks.mu.Lock()
	now := s.now()
	known := false
	if ks.set != nil {
		_, known = ks.set.LookupKeyID(kid)
	}
	stale := ks.set == nil || !now.Before(ks.fresh)
	var due bool
	switch {
	case ks.set == nil:
		due = ks.last.IsZero() || now.Sub(ks.last) >= jwksRetry
	case stale:
		due = now.Sub(ks.last) >= jwksRetry
	default:
		due = (!known || refetch) && now.Sub(ks.last) >= jwksMinRefresh
	}
	if !due {
		defer ks.mu.Unlock()
		if ks.set == nil {
			if ks.lastErr != nil {
				return keySet{}, fmt.Errorf("the issuer's keys could not be fetched recently: %w", ks.lastErr)
			}
			return keySet{}, errors.New("the issuer's keys could not be fetched recently")
		}
		if stale && !now.Before(ks.fresh.Add(jwksGrace)) {
			return keySet{}, errors.New("the issuer's keys could not be refreshed within the grace period")
		}
		return keySet{ks.set, ks.gen.Load(), ks.fresh}, nil
	}
	if f := ks.inflight; f != nil {
		ks.mu.Unlock()
		ks.joined.Add(1)
		return f.wait(ctx)
	}
	f := &jwksFetch{done: make(chan struct{})}
	ks.inflight = f
	ks.mu.Unlock()
	// The fetch is shared: a caller that goes away does not cancel it for
	// the others (jwksFetchTimeout bounds it).
	set, lifetime, err := s.fetchJWKS(context.WithoutCancel(ctx), issuer)
	ks.mu.Lock()
	f.ks, f.err = s.fetched(ks, set, lifetime, err)
	ks.inflight = nil
	ks.mu.Unlock()
	close(f.done)
	return f.ks, f.err
}

// wait returns the shared fetch's result once it ends, or ctx's error if ctx
// ends first.
func (f *jwksFetch) wait(ctx context.Context) (keySet, error) {
	select {
	case <-f.done:
		return f.ks, f.err
	case <-ctx.Done():
		return keySet{}, fmt.Errorf("waiting for the issuer's keys: %w", ctx.Err())
	}
}

// fetched records a fetch's outcome in ks (its mu held) and returns what the
// requests that waited for it get.
func (s *Stage) fetched(ks *keySource, set jwk.Set, lifetime time.Duration, err error) (keySet, error) {
	now := s.now()
	ks.last = now
	if err == nil {
		if ks.failing {
			s.log.Info("JWKS refresh succeeded again", "issuer", ks.issuer)
		}
		ks.set, ks.fresh, ks.failing, ks.lastErr = set, now.Add(lifetime), false, nil
		ks.gen.Add(1)
		return keySet{set, ks.gen.Load(), ks.fresh}, nil
	}
	if ks.set != nil && now.Before(ks.fresh.Add(jwksGrace)) {
		if !ks.failing {
			s.log.Warn("JWKS refresh failed; serving the previous key set until the grace period ends",
				"issuer", ks.issuer, "until", ks.fresh.Add(jwksGrace), "error", err)
		}
		ks.failing = true
		return keySet{ks.set, ks.gen.Load(), ks.fresh}, nil
	}
	if ks.set != nil {
		s.log.Error("JWKS refresh failed past the grace period; the issuer's tokens are refused",
			"issuer", ks.issuer, "error", err)
	} else {
		if ks.lastErr == nil {
			s.log.Warn("JWKS fetch failed; the issuer's tokens are refused until a fetch succeeds",
				"issuer", ks.issuer, "retry_after", jwksRetry, "error", err)
		}
		ks.lastErr = err
	}
	return keySet{}, err
}

// jwksTTL is how long a JWKS response is trusted: its Cache-Control max-age
// held between jwksMinRefresh and jwksMaxLifetime (no-store or no-cache count
// as 0), else jwksLifetime.
func jwksTTL(h http.Header) time.Duration {
	ttl := jwksLifetime
	for _, d := range strings.Split(h.Get("Cache-Control"), ",") {
		d = strings.ToLower(strings.TrimSpace(d))
		if v, ok := strings.CutPrefix(d, "max-age="); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				ttl = time.Duration(n) * time.Second
			}
		} else if d == "no-store" || d == "no-cache" {
			ttl = 0
		}
	}
	return min(max(ttl, jwksMinRefresh), jwksMaxLifetime)
}

// fetchJWKS fetches the issuer's key set and how long to trust it.
func (s *Stage) fetchJWKS(ctx context.Context, issuer string) (jwk.Set, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, jwksFetchTimeout)
	defer cancel()
	var disc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	// OIDC Discovery: the issuer, without a trailing slash, then the path.
	raw, _, err := s.fetch(ctx, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration")
	if err != nil {
		return nil, 0, err
	}
	if _, err := policy.CheckFields(raw, "the discovery document of "+issuer, "jwks_uri"); err != nil {
		return nil, 0, err
	}
	if err := json.Unmarshal(raw, &disc); err != nil || disc.JWKSURI == "" {
		return nil, 0, fmt.Errorf("the discovery document of %s names no jwks_uri (%w)", issuer, err)
	}
	if u, err := url.Parse(disc.JWKSURI); err != nil || !strings.EqualFold(u.Scheme, "https") {
		// OpenID Connect Discovery 1.0 (3): jwks_uri is an https URL.
		return nil, 0, fmt.Errorf("the discovery document of %s names jwks_uri %q, which is not an https URL: keys are fetched over https only", issuer, truncateURL(disc.JWKSURI))
	}
	raw, h, err := s.fetch(ctx, disc.JWKSURI)
	if err != nil {
		return nil, 0, err
	}
	set, err := s.parseJWKS(raw, issuer, disc.JWKSURI)
	if err != nil {
		return nil, 0, err
	}
	return set, jwksTTL(h), nil
}

// parseJWKS reads a JWK Set key by key. A key Portico cannot use is skipped,
// as RFC 7517 5 says ("SHOULD ignore JWKs ... that use kty values that are
// not understood ... or for which values are out of the supported ranges"),
// so one odd key does not take the issuer's other keys down with it: a key
// that does not parse (an unknown kty, an RSA modulus under 2048 bits), and
// any key that is not RSA or EC. An oct (HMAC) key in particular: the JWKS is
// public, so a token signed with it could be forged by anyone. Tokens naming
// a skipped key get "the token's key is unknown". The document itself must
// be a JSON object whose keys member is a list.
func (s *Stage) parseJWKS(raw []byte, issuer, uri string) (jwk.Set, error) {
	var doc struct {
		Keys *[]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("the JWKS at %s does not parse: %w", uri, err)
	}
	if doc.Keys == nil {
		return nil, fmt.Errorf("the JWKS at %s has no keys list", uri)
	}
	set := jwk.NewSet()
	for i, rawKey := range *doc.Keys {
		k, err := jwk.ParseKey(rawKey)
		if err == nil && k.KeyType() != jwa.RSA() && k.KeyType() != jwa.EC() {
			err = fmt.Errorf("key type %s: only RSA and EC keys verify tokens", k.KeyType())
		}
		if err == nil {
			err = set.AddKey(k)
		}
		if err != nil {
			var named struct {
				Kid string `json:"kid"`
			}
			_ = json.Unmarshal(rawKey, &named)
			s.log.Warn("skipping a key of the issuer's JWKS; tokens naming it are refused",
				"issuer", issuer, "jwks_uri", uri, "key", i, "kid", named.Kid, "error", err)
		}
	}
	return set, nil
}

// newJWKSClient is the client JWKS fetches use: rt (nil for the default
// transport), jwksFetchTimeout, and redirects followed only to https URLs
// (at most 10, as net/http's default).
func newJWKSClient(rt http.RoundTripper) *http.Client {
	return &http.Client{Transport: rt, Timeout: jwksFetchTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Scheme != "https" {
				return fmt.Errorf("%s redirects to %s, which is not https: an issuer's keys are fetched over https only", via[len(via)-1].URL.Redacted(), req.URL.Redacted())
			}
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			return nil
		}}
}

// fetch GETs u, which must be an https URL: keys fetched in cleartext could
// be replaced by anyone on the path, and any token forged with them.
func (s *Stage) fetch(ctx context.Context, u string) ([]byte, http.Header, error) {
	if pu, err := url.Parse(u); err != nil || !strings.EqualFold(pu.Scheme, "https") {
		return nil, nil, fmt.Errorf("fetch %s: an issuer's discovery document and keys are fetched over https only; use an https URL", u)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := s.httpClient.Load().Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("fetch %s: status %d", u, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSDocument))
	if err != nil {
		return nil, nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	return b, resp.Header, nil
}

// truncateURL shortens a URL taken from an issuer's document for a message.
func truncateURL(u string) string {
	if len(u) > 200 {
		return u[:200] + "..."
	}
	return u
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
	in := input{c: c, header: headerOf(r), query: queryOf(r)}
	values, _, err := identityValues(in, au, "")
	if err != nil {
		return jwtError("the token is missing", err)
	}
	tok := values[0]
	// The scheme is case-insensitive (RFC 7235 2.1): "bearer x" is "Bearer x".
	if len(tok) > len("Bearer ") && strings.EqualFold(tok[:len("Bearer ")], "Bearer ") {
		tok = strings.TrimSpace(tok[len("Bearer "):])
	}
	// A token verified before (same issuer and audiences) is not verified again
	// until its entry lapses: at its exp, at most verifiedTTL after the check,
	// when the key set that verified it goes stale, or as soon as the issuer's
	// keys are fetched again (a withdrawn key stops verifying at once).
	cacheKey := "jwt\x00" + au.Issuer + "\x00" + strings.Join(au.Audience, ",") + "\x00" + tok
	if res := s.cache.get(cacheKey, s.now()); res != nil && res.keyGen == s.keySource(au.Issuer).gen.Load() {
		return setJWT(c, au, res.context, scopes)
	}
	msg, err := jws.Parse([]byte(tok))
	if err != nil || len(msg.Signatures()) != 1 {
		return jwtError("the token is malformed", fmt.Errorf("authorizer %q: token: %w", au.Name, err))
	}
	if err := checkSegments(tok); err != nil {
		return jwtError("the token is malformed", fmt.Errorf("authorizer %q: %w", au.Name, err))
	}
	hdr := msg.Signatures()[0].ProtectedHeaders()
	if alg, _ := hdr.Algorithm(); !verifiableAlg[alg.String()] {
		// Only public-key signatures: never an HMAC (a symmetric key could
		// only come from the public JWKS) or none, whatever the keys.
		return jwtError("the token is invalid", fmt.Errorf("authorizer %q: alg %q is not RS*, PS* or ES*", au.Name, alg.String()))
	}
	kid, _ := hdr.KeyID()
	if kid == "" {
		return jwtError("the token names no key (kid)", fmt.Errorf("authorizer %q: no kid", au.Name))
	}
	ks, err := s.keys(r.Context(), au.Issuer, kid, false)
	if err != nil {
		return jwtError("the issuer's keys are unavailable", fmt.Errorf("authorizer %q: %w", au.Name, err))
	}
	if _, ok := ks.set.LookupKeyID(kid); !ok {
		return jwtError("the token's key is unknown", fmt.Errorf("authorizer %q: kid %q not in the issuer's keys", au.Name, kid))
	}
	err = s.parseJWT(tok, ks.set, au)
	if err != nil && !errors.Is(err, jwt.ValidateError()) {
		// The signature failed under a kid the set has: the issuer may have
		// replaced the key under the same kid. Fetch again (rate-limited) and,
		// if that brought a new set still holding kid, try once more.
		if ks2, err2 := s.keys(r.Context(), au.Issuer, kid, true); err2 == nil && ks2.gen != ks.gen {
			if _, ok := ks2.set.LookupKeyID(kid); ok {
				ks = ks2
				err = s.parseJWT(tok, ks.set, au)
			}
		}
	}
	if err != nil {
		desc := "the token is invalid"
		switch {
		case errors.Is(err, jwt.MissingRequiredClaimError()):
			desc = "the token has no expiry (exp)"
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
	if name, ok := dateNotNumber(claims); ok {
		// jwx reads a date string that looks like a number as a date.
		return jwtError("the token is invalid", fmt.Errorf("authorizer %q: claim %s is not a JSON number", au.Name, name))
	}
	if !audienceOK(claims, au.Audience) {
		return jwtError("the token has an invalid audience", fmt.Errorf("authorizer %q: aud/client_id not in %v", au.Name, au.Audience))
	}
	now := s.now()
	until := now.Add(verifiedTTL)
	if ks.fresh.Before(until) {
		until = ks.fresh
	}
	if exp, ok := claims["exp"].(float64); ok && time.Unix(int64(exp), 0).Before(until) {
		until = time.Unix(int64(exp), 0)
	}
	s.cache.put(cacheKey, &result{context: claims, keyGen: ks.gen}, until, now)
	return setJWT(c, au, claims, scopes)
}

// parseJWT verifies tok's signature with set and validates its claims: exp is
// required, as API Gateway requires it ("exp - Must be after the current
// time"); nbf and iat are checked when present. The signature must be made
// with the alg its protected header names (one the key's type takes), and a
// header listing critical extensions is refused (RFC 7515 4.1.11: Portico
// understands none). jwt.Parse takes no such options, so the JWS is verified
// first and its claims then validated without verifying again.
func (s *Stage) parseJWT(tok string, set jwk.Set, au *apis.Authorizer) error {
	if _, err := jws.Verify([]byte(tok),
		jws.WithKeySet(set, jws.WithInferAlgorithmFromKey(true), jws.WithRequireKid(true)),
		jws.WithAlgorithmMatch(true), jws.WithCritValidation(true)); err != nil {
		return err
	}
	_, err := jwt.Parse([]byte(tok), jwt.WithVerify(false),
		jwt.WithValidate(true), jwt.WithRequiredClaim("exp"), jwt.WithIssuer(au.Issuer), jwt.WithClock(jwt.ClockFunc(s.now)))
	return err
}

// verifiableAlg is the algorithms a token's protected header may name: those
// of the RSA and EC keys the JWKS is read for.
var verifiableAlg = map[string]bool{
	"RS256": true, "RS384": true, "RS512": true,
	"PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true,
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

// checkSegments refuses a token whose protected header or claims set names a
// member twice, as RFC 7515 (4) and RFC 7519 (4) let a recipient do: read
// leniently, {"aud": "other", "aud": "api1"} would be judged by one value
// while whoever reads the token sees the other.
func checkSegments(tok string) error {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return errors.New("token is not a compact JWS")
	}
	for i, what := range []string{"the token's header", "the token's claims"} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if _, err := policy.CheckFields(raw, what); err != nil {
			return err
		}
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

// dateNotNumber names the first of the date claims exp, nbf and iat that the
// token has but not as a JSON number: RFC 7519 (2, 4.1.4-4.1.6) makes them
// NumericDates, numbers, so "exp": "9999999999" is a malformed claim, refused
// as one that is no date at all is.
func dateNotNumber(claims map[string]any) (string, bool) {
	for _, name := range []string{"exp", "nbf", "iat"} {
		if v, ok := claims[name]; ok {
			if _, num := v.(float64); !num {
				return name, true
			}
		}
	}
	return "", false
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
