package edge

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/ids"
	"github.com/portico-dev/portico/internal/redact"
	"github.com/portico-dev/portico/store"
)

// Buckets of the domain model.
const (
	bucketDomains  = "domainnames"
	bucketMappings = "apimappings" // key: domain + "/" + mapping key
)

// Domain is a custom domain name: a host name (or a wildcard, "*.example.com")
// served with its own certificate, optionally asking clients for certificates
// (mutual TLS), and mapped to API stages by its Mappings.
type Domain struct {
	// Name is the host name, lower case; "*.example.com" matches one label in
	// place of the star.
	Name string `json:"domainName"`
	// CertificatePEM and KeyPEM are the domain's certificate chain and key; both
	// empty means a certificate signed by the development CA.
	CertificatePEM []byte `json:"certificatePem,omitempty"`
	KeyPEM         []byte `json:"keyPem,omitempty"`
	// CertificateSource says where the certificate came from, reported as its
	// ARN: "dev" (the development CA), "inline" or "file://...".
	CertificateSource string `json:"certificateSource"`
	// TruststorePEM, when set, turns on mutual TLS: clients must present a
	// certificate that chains to one of these CAs.
	TruststorePEM []byte `json:"truststorePem,omitempty"`
	// TruststoreURI is where the truststore came from. Set, it turns on
	// mutual TLS too, whatever TruststorePEM holds: a truststore read empty
	// is refused (no certificate in it), never taken as "no mutual TLS".
	TruststoreURI string `json:"truststoreUri,omitempty"`
	// TruststoreVersion is the truststoreVersion of the update that last read
	// the truststore, "" when none did.
	TruststoreVersion string `json:"truststoreVersion,omitempty"`
	// CreatedAt is when the domain was created; CertificateUploadedAt when its
	// certificate was last set (zero: at creation).
	CreatedAt             time.Time `json:"createdAt"`
	CertificateUploadedAt time.Time `json:"certificateUploadedAt,omitzero"`
	// Revision counts the domain's updates: a domain whose revision changed
	// has its TLS configuration built again.
	Revision int `json:"revision,omitempty"`
}

// CertificateUploadDate is when the domain's certificate was set.
func (d *Domain) CertificateUploadDate() time.Time {
	if d.CertificateUploadedAt.IsZero() {
		return d.CreatedAt
	}
	return d.CertificateUploadedAt
}

// sameTLS reports whether d and o have the same certificate and truststore.
func (d *Domain) sameTLS(o *Domain) bool {
	return bytes.Equal(d.CertificatePEM, o.CertificatePEM) && bytes.Equal(d.KeyPEM, o.KeyPEM) &&
		d.CertificateSource == o.CertificateSource && bytes.Equal(d.TruststorePEM, o.TruststorePEM) &&
		d.TruststoreURI == o.TruststoreURI && d.TruststoreVersion == o.TruststoreVersion
}

// MutualTLS reports whether the domain asks for client certificates: it has
// a truststore, or was given one (TruststoreURI) that held nothing, which
// domainTLS refuses, so that such a domain fails closed rather than serving
// without mutual TLS.
func (d *Domain) MutualTLS() bool { return len(d.TruststorePEM) > 0 || d.TruststoreURI != "" }

// Mapping maps the requests of a domain under a base path (its Key) to an API
// stage: AWS's base path mapping (REST) and API mapping (HTTP, WebSocket).
type Mapping struct {
	// ID is the mapping's id (apiMappingId).
	ID string `json:"apiMappingId"`
	// Domain is the domain name it belongs to.
	Domain string `json:"domainName"`
	// Key is the base path without slashes at its ends: "" (the whole domain),
	// "v2" or a multi-level "orders/v2".
	Key string `json:"apiMappingKey"`
	// APIID and Stage are the target.
	APIID string `json:"apiId"`
	Stage string `json:"stage"`
	// CreatedAt is when the mapping was stored.
	CreatedAt time.Time `json:"createdAt"`
}

// APIs is what the domain store needs of the API service: an API's protocol
// and stages, to check a mapping's target. apis.Service satisfies it.
type APIs interface {
	StageNames(ctx context.Context, apiID string) (protocol string, names []string, err error)
}

var _ APIs = (*apis.Service)(nil)

// CanonicalDomainName is the form domain names are stored and looked up in:
// lower case, without the trailing dot of a fully qualified name
// ("API.example.com." is api.example.com).
func CanonicalDomainName(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

// ValidateDomainName checks a host name, or a wildcard "*.name", and returns it
// in CanonicalDomainName's form. IP addresses are refused: the gateway serves
// path-style URLs (/{apiId}/{stage}/...) on every address itself.
func ValidateDomainName(name string) (string, error) {
	n := CanonicalDomainName(name)
	if ip := net.ParseIP(strings.Trim(n, "[]")); ip != nil {
		return "", invalidf("domain name %s is an IP address: a custom domain name is a host name (the gateway serves /{apiId}/{stage}/... on its addresses itself)", redact.Quote(name))
	}
	rest, _ := strings.CutPrefix(n, "*.")
	labels := strings.Split(rest, ".")
	if last := labels[len(labels)-1]; last != "" && strings.Trim(last, "0123456789") == "" {
		return "", invalidf("domain name %s ends in the numeric label %s: it reads as an IP address, not a host name", redact.Quote(name), redact.Quote(last))
	}
	if len(n) > 253 || len(labels) < 2 {
		return "", invalidf("domain name %s: give a fully qualified name such as api.example.com or *.example.com", redact.Quote(name))
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", invalidf("domain name %s: label %s is not a DNS label", redact.Quote(name), redact.Quote(l))
		}
		for _, c := range l {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return "", invalidf("domain name %s: %q is not allowed in a DNS label%s", redact.Quote(name), c, aLabelHint(n, c))
			}
		}
	}
	return n, nil
}

// aLabelHint, for a name holding the non-ASCII character c, names its
// A-label (punycode) form, which DNS, SNI and Host carry ("; give it as
// xn--bcher-kva.test"); "" when c is ASCII or the name has none.
func aLabelHint(n string, c rune) string {
	if c < utf8.RuneSelf {
		return ""
	}
	rest, wild := strings.CutPrefix(n, "*.")
	a, err := idna.Lookup.ToASCII(rest)
	if err != nil || a == rest {
		return ""
	}
	if wild {
		a = "*." + a
	}
	return "; an internationalised name is given in its A-label (punycode) form, as DNS, SNI and Host carry it: " + redact.Quote(a)
}

// NormalizeMappingKey checks a base path / API mapping key and returns it without
// slashes at its ends; "", "/" and "(none)" are the empty key.
func NormalizeMappingKey(key string) (string, error) {
	k := key
	if k == "(none)" || k == "/" {
		return "", nil
	}
	k = strings.TrimPrefix(k, "/")
	if strings.HasSuffix(k, "/") {
		return "", invalidf("base path %s ends with a slash", redact.Quote(key))
	}
	if k == "" {
		return "", nil
	}
	for seg := range strings.SplitSeq(k, "/") {
		if seg == "" {
			return "", invalidf("base path %s has an empty segment", redact.Quote(key))
		}
		if seg == "." || seg == ".." {
			return "", invalidf("base path %s: the segment %s names no path of its own (clients resolve it away before they send a request)", redact.Quote(key), redact.Quote(seg))
		}
		for _, c := range seg {
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("$-_.+!*'()", c)
			if !ok {
				return "", invalidf("base path %s: %q is not allowed (letters, digits and $-_.+!*'() only)", redact.Quote(key), c)
			}
		}
	}
	return k, nil
}

func mappingKey(domain, key string) string { return domain + "/" + key }

func getDomain(tx *store.Tx, name string) (*Domain, error) {
	var d Domain
	if err := tx.Get(bucketDomains, name, &d); err != nil {
		if errors.Is(err, errdefs.ErrNotFound) {
			return nil, errdefs.New(errdefs.ErrNotFound, "NotFoundException", fmt.Sprintf("Invalid domain name identifier specified: %s", name))
		}
		return nil, err
	}
	return &d, nil
}

// soundMappings is listMappings for the routing table: a mapping whose record
// does not decode is reported to damaged (its key, "domain/basePath") and left
// out.
func soundMappings(tx *store.Tx, domain string, damaged func(key string, err error)) []Mapping {
	var out []Mapping
	_ = tx.ForEach(bucketMappings, domain+"/", func(key string, raw []byte) error {
		var m Mapping
		if err := jsonUnmarshal(raw, &m); err != nil {
			damaged(key, err)
			return nil
		}
		out = append(out, m)
		return nil
	})
	return out
}

// DamagedDelete is the admin API request that removes the domain name or API
// mapping whose stored record bucket/key (a *store.RecordError's Bucket and
// Key) does not decode, without reading it; "" for a record of any other
// bucket.
func DamagedDelete(bucket, key string) string {
	switch bucket {
	case bucketDomains:
		return "DELETE /domainnames/" + key + " (aws apigateway delete-domain-name --domain-name " + key + ")"
	case bucketMappings:
		domain, base, _ := strings.Cut(key, "/")
		return "DELETE /domainnames/" + domain + "/basepathmappings/" + cmp.Or(url.PathEscape(base), "(none)") +
			" (aws apigateway delete-base-path-mapping --domain-name " + domain + " --base-path " + cmp.Or(base, "'(none)'") + ")"
	}
	return ""
}

// isDamaged reports whether err is the read of bucket/key's own stored record
// that does not decode.
func isDamaged(err error, bucket, key string) bool {
	var d *store.RecordError
	return errors.As(err, &d) && d.Bucket == bucket && d.Key == key
}

func listMappings(tx *store.Tx, domain string) ([]Mapping, error) {
	var out []Mapping
	err := tx.ForEach(bucketMappings, domain+"/", func(_ string, raw []byte) error {
		var m Mapping
		if err := jsonUnmarshal(raw, &m); err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	return out, err
}

// CreateDomain stores a new domain name. A domain that exists is
// errdefs.ErrConflict; a certificate that does not parse, does not fit its key
// or has expired, and a bad truststore, are errdefs.ErrInvalid, naming what is
// wrong.
func (e *Edge) CreateDomain(ctx context.Context, d Domain) (*Domain, error) {
	name, err := ValidateDomainName(d.Name)
	if err != nil {
		return nil, badRequest(err)
	}
	if err := e.checkNotGatewayDomain(name); err != nil {
		return nil, err
	}
	d.Name = name
	d.CreatedAt = e.now()
	if _, err := e.domainTLS(&d); err != nil {
		return nil, err
	}
	err = e.st.Update(ctx, func(tx *store.Tx) error {
		if tx.Has(bucketDomains, name) {
			return errdefs.New(errdefs.ErrConflict, "ConflictException", fmt.Sprintf("The domain name you provided already exists: %s", name))
		}
		return tx.Put(bucketDomains, name, &d)
	})
	if err != nil {
		return nil, err
	}
	return &d, e.rebuild(ctx)
}

// GetDomain returns a domain name; an unknown one is errdefs.ErrNotFound.
func (e *Edge) GetDomain(ctx context.Context, name string) (*Domain, error) {
	var d *Domain
	err := e.st.View(ctx, func(tx *store.Tx) error {
		var err error
		d, err = getDomain(tx, CanonicalDomainName(name))
		return err
	})
	return d, err
}

// checkNotGatewayDomain refuses a domain name that would shadow the gateway's
// own names: its domain, a name under it ({apiId}.DOMAIN is an API's
// execute-api endpoint; a custom domain of that name would take its requests,
// and serve an API that turned the endpoint off), or a wildcard one label
// above it.
func (e *Edge) checkNotGatewayDomain(name string) error {
	gd := e.cfg.GatewayDomain
	rest, wild := strings.CutPrefix(name, "*.")
	_, gdParent, _ := strings.Cut(gd, ".")
	if name == gd || strings.HasSuffix(rest, "."+gd) || rest == gd || (wild && rest == gdParent) {
		return errdefs.New(errdefs.ErrInvalid, "BadRequestException", fmt.Sprintf(
			"domain name %s would shadow the gateway's own endpoints: %s and the names under it ({apiId}.%s) are every API's execute-api endpoint (--domain); choose a name outside it", name, gd, gd))
	}
	return nil
}

// checkStoredName checks a stored domain's name as CreateDomain checks a new
// one, for domains stored before a rule refused them.
func (e *Edge) checkStoredName(name string) error {
	if _, err := ValidateDomainName(name); err != nil {
		return err
	}
	return e.checkNotGatewayDomain(name)
}

// ErrHandshakesFail is wrapped by NotServed's error for a domain whose TLS
// handshakes fail: its certificate (or truststore) does not load.
var ErrHandshakesFail = errors.New("its TLS handshakes fail")

// NotServed returns why the gateway does not serve the stored domain d,
// saying what to do: a rule added after it was created refuses its name (it
// would take the gateway's own requests), or its handshakes fail
// (ErrHandshakesFail: its certificate or truststore did not load at start,
// and for a certificate from files, its files have not loaded since; with
// the TLS listener off there are no handshakes to fail). nil when it is
// served.
func (e *Edge) NotServed(d *Domain) error {
	if err := e.checkStoredName(d.Name); err != nil {
		return fmt.Errorf("not served: %w. It was created by an older Portico that took such names; delete it and create the domain under a name outside the gateway's own", err)
	}
	t := e.table.Load()
	if t == nil || e.cert == nil {
		return nil // no TLS listener: no handshakes to fail
	}
	ent := t.lookupName(d.Name)
	switch {
	case ent == nil:
		return nil
	case ent.err != nil:
		return fmt.Errorf("not served: %w: %w. Give it a certificate and truststore that load (update-domain-name)", ErrHandshakesFail, ent.err)
	case ent.tls != nil && ent.tls.certs != nil && ent.tls.certs.Certificate() == nil:
		return fmt.Errorf("not served: %w: %w. Replace the files of its certificate ARN (they are loaded as they change) or give it another certificate (update-domain-name)",
			ErrHandshakesFail, ent.tls.certs.Failure())
	}
	return nil
}

// badRequest is err as a BadRequestException with err's text.
func badRequest(err error) error {
	return errdefs.New(errdefs.ErrInvalid, "BadRequestException", err.Error())
}

// ListDomains returns the domain names in name order.
func (e *Edge) ListDomains(ctx context.Context) ([]*Domain, error) {
	var out []*Domain
	err := e.st.View(ctx, func(tx *store.Tx) error {
		return tx.ForEach(bucketDomains, "", func(_ string, raw []byte) error {
			var d Domain
			if err := jsonUnmarshal(raw, &d); err != nil {
				return err
			}
			out = append(out, &d)
			return nil
		})
	})
	return out, err
}

// UpdateDomain changes a stored domain name with update, which sets its
// certificate (CertificatePEM, KeyPEM, CertificateSource) or truststore
// (TruststorePEM, TruststoreURI; none turns mutual TLS off). The result is
// checked as CreateDomain checks a new domain (errdefs.ErrInvalid, and
// nothing stored) and takes effect at once: new connections get the new
// certificate and truststore, and requests on connections verified against a
// truststore the domain no longer has are refused (ErrStaleConnection). An
// unknown domain is errdefs.ErrNotFound.
func (e *Edge) UpdateDomain(ctx context.Context, name string, update func(d *Domain) error) (*Domain, error) {
	name = CanonicalDomainName(name)
	var out Domain
	err := e.st.Update(ctx, func(tx *store.Tx) error {
		d, err := getDomain(tx, name)
		if err != nil {
			return err
		}
		before := *d
		if err := update(d); err != nil {
			return err
		}
		if d.sameTLS(&before) {
			out = before // nothing to change: connections and sessions stay as they are
			return nil
		}
		oldCert, oldKey := before.CertificatePEM, before.KeyPEM
		d.Name = name
		d.Revision++
		if !bytes.Equal(oldCert, d.CertificatePEM) || !bytes.Equal(oldKey, d.KeyPEM) {
			d.CertificateUploadedAt = e.now()
		}
		if _, err := e.domainTLS(d); err != nil {
			return err
		}
		out = *d
		return tx.Put(bucketDomains, name, d)
	})
	if err != nil {
		return nil, err
	}
	return &out, e.rebuild(ctx)
}

// DeleteDomain deletes a domain name and its mappings.
func (e *Edge) DeleteDomain(ctx context.Context, name string) error {
	name = CanonicalDomainName(name)
	err := e.st.Update(ctx, func(tx *store.Tx) error {
		if _, err := getDomain(tx, name); err != nil {
			if !isDamaged(err, bucketDomains, name) {
				return err
			}
			// Deleted without reading it: a damaged record is got rid of
			// without a restore.
			e.log.Warn("deleting a domain name whose stored record is damaged, without reading it", "domain", name, "err", err)
		}
		if err := tx.DeletePrefix(bucketMappings, name+"/"); err != nil {
			return err
		}
		return tx.Delete(bucketDomains, name)
	})
	if err != nil {
		return err
	}
	return e.rebuild(ctx)
}

// CreateMapping maps a base path of a domain to an API stage. The domain, API and
// stage must exist (errdefs.ErrNotFound); a key already mapped on the domain is
// errdefs.ErrConflict; a malformed key, and a WebSocket API on a domain that maps
// REST or HTTP APIs (or the other way round), are errdefs.ErrInvalid.
func (e *Edge) CreateMapping(ctx context.Context, m Mapping) (*Mapping, error) {
	key, err := NormalizeMappingKey(m.Key)
	if err != nil {
		return nil, badRequest(err)
	}
	m.Key, m.Domain = key, CanonicalDomainName(m.Domain)
	// The domain (the path's resource) is checked first, as API Gateway
	// answers a missing one 404 whatever the body; the update checks it
	// again.
	if err := e.st.View(ctx, func(tx *store.Tx) error {
		_, err := getDomain(tx, m.Domain)
		return err
	}); err != nil {
		return nil, err
	}
	if !apis.ValidAPIID(m.APIID) {
		return nil, errdefs.New(errdefs.ErrInvalid, "BadRequestException", fmt.Sprintf("Invalid API identifier specified: %q", m.APIID))
	}
	protocol, stages, err := e.apis.StageNames(ctx, m.APIID)
	if err != nil {
		if errors.Is(err, errdefs.ErrNotFound) {
			return nil, errdefs.New(errdefs.ErrNotFound, "NotFoundException", fmt.Sprintf("Invalid API identifier specified: %s", m.APIID))
		}
		return nil, err
	}
	if m.Stage == "" {
		return nil, errdefs.New(errdefs.ErrInvalid, "BadRequestException", "A mapping needs a stage")
	}
	if !slices.Contains(stages, m.Stage) {
		return nil, errdefs.New(errdefs.ErrInvalid, "BadRequestException", fmt.Sprintf("Invalid stage identifier specified: %s", m.Stage))
	}
	if protocol == apis.ProtocolWebSocket && strings.Contains(key, "/") {
		return nil, errdefs.New(errdefs.ErrInvalid, "BadRequestException", fmt.Sprintf("Multi-level base path %q cannot map a WebSocket API", key))
	}
	m.CreatedAt = e.now()
	m.ID = newMappingID()
	err = e.st.Update(ctx, func(tx *store.Tx) error {
		if _, err := getDomain(tx, m.Domain); err != nil {
			return err
		}
		existing, err := listMappings(tx, m.Domain)
		if err != nil {
			return err
		}
		for _, o := range existing {
			if o.Key == key {
				shown := key
				if shown == "" {
					shown = "(none)"
				}
				return errdefs.New(errdefs.ErrConflict, "ConflictException", fmt.Sprintf("Base path already exists for this domain name: %s is mapped to %s/%s", shown, o.APIID, o.Stage))
			}
			op, _, err := e.apis.StageNames(ctx, o.APIID)
			if err != nil {
				continue // a mapping to a deleted API clashes with nothing
			}
			if (op == apis.ProtocolWebSocket) != (protocol == apis.ProtocolWebSocket) {
				return errdefs.New(errdefs.ErrInvalid, "BadRequestException",
					fmt.Sprintf("Domain name %s maps %s api %s; a domain maps either WebSocket APIs or REST and HTTP APIs, not both", m.Domain, op, o.APIID))
			}
		}
		return tx.Put(bucketMappings, mappingKey(m.Domain, key), &m)
	})
	if err != nil {
		return nil, err
	}
	return &m, e.rebuild(ctx)
}

// ListMappings returns a domain's mappings in key order.
func (e *Edge) ListMappings(ctx context.Context, domain string) ([]Mapping, error) {
	var out []Mapping
	err := e.st.View(ctx, func(tx *store.Tx) error {
		if _, err := getDomain(tx, CanonicalDomainName(domain)); err != nil {
			return err
		}
		var err error
		out, err = listMappings(tx, CanonicalDomainName(domain))
		return err
	})
	return out, err
}

// GetMapping returns the mapping of a domain with id, or (byKey) at that base path.
func (e *Edge) GetMapping(ctx context.Context, domain, idOrKey string, byKey bool) (*Mapping, error) {
	ms, err := e.ListMappings(ctx, domain)
	if err != nil {
		return nil, err
	}
	if byKey {
		k, err := NormalizeMappingKey(idOrKey)
		if err != nil {
			return nil, badRequest(err)
		}
		idOrKey = k
	}
	for i := range ms {
		if (byKey && ms[i].Key == idOrKey) || (!byKey && ms[i].ID == idOrKey) {
			return &ms[i], nil
		}
	}
	if !byKey { // an apigatewayv2 API mapping
		return nil, errdefs.New(errdefs.ErrNotFound, "NotFoundException", fmt.Sprintf("Invalid mapping identifier specified: %s", idOrKey))
	}
	if idOrKey == "" {
		idOrKey = "(none)" // the empty base path, as API Gateway names it
	}
	// API Gateway's (v1) words for a base path mapping.
	return nil, errdefs.New(errdefs.ErrNotFound, "NotFoundException", fmt.Sprintf("Invalid base path mapping identifier specified: %s", idOrKey))
}

// DeleteMapping deletes the mapping of a domain with id, or (byKey) at that base
// path.
func (e *Edge) DeleteMapping(ctx context.Context, domain, idOrKey string, byKey bool) error {
	m, err := e.GetMapping(ctx, domain, idOrKey, byKey)
	if err != nil {
		if m = e.damagedMapping(err, domain, idOrKey, byKey); m == nil {
			return err
		}
	}
	if err := e.st.Update(ctx, func(tx *store.Tx) error {
		return tx.Delete(bucketMappings, mappingKey(m.Domain, m.Key))
	}); err != nil {
		return err
	}
	return e.rebuild(ctx)
}

// damagedMapping returns the mapping to delete, without reading it, when err
// is the read of the damaged record of the mapping at base path idOrKey
// (byKey) of domain; nil otherwise. A damaged mapping has no id to delete it
// by: its base path names it.
func (e *Edge) damagedMapping(err error, domain, idOrKey string, byKey bool) *Mapping {
	if !byKey {
		return nil
	}
	k, kerr := NormalizeMappingKey(idOrKey)
	domain = CanonicalDomainName(domain)
	if kerr != nil || !isDamaged(err, bucketMappings, mappingKey(domain, k)) {
		return nil
	}
	e.log.Warn("deleting an API mapping whose stored record is damaged, without reading it", "domain", domain, "basePath", k, "err", err)
	return &Mapping{Domain: domain, Key: k}
}

// refuseDeletingMappedAPI is an apis.DeleteGuard: an API that a domain name
// maps cannot be deleted until its mappings are, as API Gateway answers
// (400 BadRequestException, in each control plane's words).
func refuseDeletingMappedAPI(tx *store.Tx, a *apis.API) error {
	var domains []string
	err := tx.ForEach(bucketMappings, "", func(_ string, raw []byte) error {
		var m Mapping
		if err := jsonUnmarshal(raw, &m); err != nil {
			return err
		}
		if m.APIID == a.ID && !slices.Contains(domains, m.Domain) {
			domains = append(domains, m.Domain)
		}
		return nil
	})
	if err != nil || len(domains) == 0 {
		return err
	}
	slices.Sort(domains)
	if a.Protocol == apis.ProtocolREST {
		return errdefs.New(errdefs.ErrInvalid, "BadRequestException", fmt.Sprintf(
			"Deleting RestApi %s failed. Please remove all base path mappings related to the RestApi in your domains: %s", a.ID, strings.Join(domains, ", ")))
	}
	return errdefs.New(errdefs.ErrInvalid, "BadRequestException", fmt.Sprintf(
		"Deleting API %s failed. Please remove all API mappings for the API from your custom domain names.", a.ID))
}

// ErrStaleConnection is the error of a request to a mutual TLS domain over a
// connection whose client certificate was verified against a truststore the
// domain no longer has (deleted and created again, or updated since): it is
// errdefs.ErrForbidden, and the connection is to be closed, so that the
// client's next connection is verified against the truststore in use.
var ErrStaleConnection = fmt.Errorf("connection verified under an earlier configuration: %w", errdefs.ErrForbidden)

// ErrMisdirected is the error of a request to a mutual TLS domain over a TLS
// connection made for another name, or for none, and of a request to any
// other host (another custom domain, an API's default endpoint) over a
// connection whose client certificate a mutual TLS domain verified (RFC
// 9110's 421 Misdirected Request: a client that shares one connection between
// names, as HTTP/2 clients do, retries on a connection of the name's own). It
// is errdefs.ErrForbidden; the connection stays open for the names it serves.
var ErrMisdirected = fmt.Errorf("connection made for another name: %w", errdefs.ErrForbidden)

// Target is where a request to a custom domain goes.
type Target struct {
	// APIID and Stage name the stage.
	APIID, Stage string
	// BasePath is the escaped path prefix the mapping consumed ("" or "/v2"), as
	// the client spelled it ("/%762" for the key "v2"); the route is matched on
	// the rest.
	BasePath string
	// DomainName is the request's host name; DomainPrefix its first label.
	DomainName, DomainPrefix string
}

// Resolve finds the mapping of a request to a custom domain by its Host and
// path (an escaped path: the gateway gives the one it matches routes on, dot
// segments resolved, so that the mapping of "/x/../v2/pets" is v2's).
// A request to no custom domain gives nil and no error. A custom domain with no
// mapping for the path gives errdefs.ErrNotFound; a mutual TLS domain reached
// other than through a handshake with its own name gives errdefs.ErrForbidden
// (plain HTTP), ErrMisdirected (a connection made for another name) or
// ErrStaleConnection (see admits). A connection with a client certificate,
// which only a mutual TLS domain's handshake asks for, serves that domain
// alone: a request over it to any other host, custom domain or not, is
// ErrMisdirected (see boundToDomain), so that the certificate never reaches
// an API through a host whose truststore did not verify it.
func (e *Edge) Resolve(r *http.Request, path string) (*Target, error) {
	t := e.table.Load()
	if cs := r.TLS; cs != nil && len(cs.PeerCertificates) > 0 {
		if err := boundToDomain(t, r.Host, cs); err != nil {
			return nil, err
		}
	}
	if t == nil || t.empty() {
		return nil, nil
	}
	host := hostOnly(r.Host)
	d := t.lookup(host)
	if d == nil {
		return nil, nil
	}
	if err := d.admits(t, r.TLS); err != nil {
		return nil, err
	}
	for _, m := range d.mappings { // longest key first
		if n, ok := basePathLen(path, m.Key); ok {
			base := path[:n]
			prefix, _, _ := strings.Cut(host, ".")
			return &Target{APIID: m.APIID, Stage: m.Stage, BasePath: base, DomainName: host, DomainPrefix: prefix}, nil
		}
	}
	return nil, fmt.Errorf("domain name %s maps no base path of %s: %w", d.domain.Name, path, errdefs.ErrNotFound)
}

// basePathLen reports whether the escaped path is under the mapping key (""
// maps every path) and the length of the prefix of path that spells it. A
// key's segments are matched on the path's segments decoded, as stages and
// routes are: "/%761.0/q" is under "v1.0" ("%76" is "v", RFC 3986 6.2.2.2) and
// "/a%24b/q" under "a$b", with the prefix as the client spelled it. A segment
// that decodes to one with a "/" matches no key (no key segment has one, and
// the gateway refuses such a path anyway).
func basePathLen(path, key string) (int, bool) {
	if key == "" {
		return 0, true
	}
	if path == "/"+key || strings.HasPrefix(path, "/"+key+"/") {
		return 1 + len(key), true // as the key spells it, at no cost
	}
	if strings.IndexByte(path, '%') < 0 {
		return 0, false
	}
	n := 0
	for ks := range strings.SplitSeq(key, "/") {
		if n >= len(path) || path[n] != '/' {
			return 0, false
		}
		seg, _, _ := strings.Cut(path[n+1:], "/")
		dec, err := url.PathUnescape(seg)
		if err != nil || dec != ks {
			return 0, false
		}
		n += 1 + len(seg)
	}
	if n < len(path) && path[n] != '/' {
		return 0, false
	}
	return n, true
}

// admits checks a connection with TLS state cs (nil: plain HTTP) to the domain
// d of table t: a mutual TLS domain needs its own handshake (the server name
// names d) with a client certificate verified against its truststore as it
// is now. Plain HTTP is errdefs.ErrForbidden; a connection made for another
// name (or none) is ErrMisdirected, which the client can retry on a
// connection of its own; one made for d without a client certificate (before
// d turned mutual TLS on) or verified against an earlier truststore is
// ErrStaleConnection.
func (d *domainEntry) admits(t *table, cs *tls.ConnectionState) error {
	if !d.domain.MutualTLS() {
		return nil
	}
	if cs == nil {
		return fmt.Errorf("domain name %s requires mutual TLS; the request came over plain HTTP: %w", d.domain.Name, errdefs.ErrForbidden)
	}
	if t.lookup(strings.ToLower(cs.ServerName)) != d {
		return fmt.Errorf("domain name %s requires mutual TLS; the request came over a connection made for %q: %w", d.domain.Name, cs.ServerName, ErrMisdirected)
	}
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("domain name %s: the connection was made without a client certificate, before the domain required one: %w", d.domain.Name, ErrStaleConnection)
	}
	if !d.verified(cs) {
		return fmt.Errorf("domain name %s: the connection's client certificate was verified against a truststore the domain no longer has: %w", d.domain.Name, ErrStaleConnection)
	}
	return nil
}

// boundToDomain checks a request for host over a connection with a client
// certificate (cs): the certificate was verified by the handshake of the
// mutual TLS domain its server name selects, and the connection serves that
// domain only. Any other host, a custom domain or not, and any host once the
// domain is gone, is ErrMisdirected; the domain itself, when it no longer
// requires mutual TLS, is ErrStaleConnection (the client's next connection
// is made without a certificate). t may be nil (no domains yet).
func boundToDomain(t *table, host string, cs *tls.ConnectionState) error {
	var own, d *domainEntry
	if t != nil {
		own, d = t.lookup(strings.ToLower(strings.TrimSuffix(cs.ServerName, "."))), t.lookup(hostOnly(host))
	}
	switch {
	case own == nil:
		return fmt.Errorf("the request for %s came over a connection with a client certificate, made for %q, which no mutual TLS domain serves now: %w", hostOnly(host), cs.ServerName, ErrMisdirected)
	case d != own:
		return fmt.Errorf("the request for %s came over a connection with a client certificate verified for mutual TLS domain %s: %w", hostOnly(host), own.domain.Name, ErrMisdirected)
	case !own.domain.MutualTLS():
		return fmt.Errorf("domain name %s: the connection was made with a client certificate, before the domain stopped requiring one: %w", own.domain.Name, ErrStaleConnection)
	}
	return nil
}

func hostOnly(hostport string) string {
	h := hostport
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	return strings.ToLower(strings.TrimSuffix(strings.Trim(h, "[]"), "."))
}

func newMappingID() string { return ids.FromAlphabet(ids.Lowercase36, 6) }

func init() {
	store.Record(bucketDomains, Domain{})
	store.Record(bucketMappings, Mapping{})
}
