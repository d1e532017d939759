package admin

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/fx"

	"github.com/portico-dev/portico/gateway"
	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/internal/redact"
)

// EdgeDeps are what the custom domain routes need. Optional; without the edge the
// routes are not registered.
type EdgeDeps struct {
	fx.In

	Edge *edge.Edge `optional:"true"`
}

// registerDomainRoutes registers custom domain names and their mappings in API
// Gateway's shapes (errors through HandleAPIGateway's adapter; unknown fields
// are refused rather than ignored), so that `aws apigateway ...` and `aws apigatewayv2 ...` work
// with --endpoint-url:
//
//	POST/GET        /domainnames                         create-domain-name, get-domain-names
//	GET/DELETE      /domainnames/{name}                  get-domain-name, delete-domain-name
//	POST/GET        /domainnames/{name}/basepathmappings create-base-path-mapping, get-base-path-mappings
//	GET/DELETE      /domainnames/{name}/basepathmappings/{basePath}
//	POST/GET        /v2/domainnames                      (apigatewayv2) create-domain-name, get-domain-names
//	GET/DELETE      /v2/domainnames/{name}
//	POST/GET        /v2/domainnames/{name}/apimappings   create-api-mapping, get-api-mappings
//	GET/DELETE      /v2/domainnames/{name}/apimappings/{id}
//	PATCH           /domainnames/{name}, /v2/domainnames/{name}  update-domain-name
func (s *Server) registerDomainRoutes(d EdgeDeps) {
	e := d.Edge
	if e == nil {
		return
	}
	h := &domainRoutes{e: e, gw: s.gw.Server}
	s.HandleAPIGateway("POST /domainnames", h.createV1)
	s.HandleAPIGateway("GET /domainnames", h.listDomains(h.domainV1, false))
	s.HandleAPIGateway("GET /domainnames/{name}", h.getDomain(h.domainV1))
	s.HandleAPIGateway("DELETE /domainnames/{name}", h.deleteDomain(http.StatusAccepted))
	s.HandleAPIGateway("POST /domainnames/{name}/basepathmappings", h.createMapping(basePathMappings))
	s.HandleAPIGateway("GET /domainnames/{name}/basepathmappings", h.listMappings(basePathMappings))
	s.HandleAPIGateway("GET /domainnames/{name}/basepathmappings/{basePath}", h.getMapping(basePathMappings))
	s.HandleAPIGateway("DELETE /domainnames/{name}/basepathmappings/{basePath}", h.deleteMapping(basePathMappings))

	s.HandleAPIGateway("POST /v2/domainnames", h.createV2)
	s.HandleAPIGateway("GET /v2/domainnames", h.listDomains(h.domainV2, true))
	s.HandleAPIGateway("GET /v2/domainnames/{name}", h.getDomain(h.domainV2))
	s.HandleAPIGateway("DELETE /v2/domainnames/{name}", h.deleteDomain(http.StatusNoContent))
	s.HandleAPIGateway("POST /v2/domainnames/{name}/apimappings", h.createMapping(apiMappings))
	s.HandleAPIGateway("GET /v2/domainnames/{name}/apimappings", h.listMappings(apiMappings))
	s.HandleAPIGateway("GET /v2/domainnames/{name}/apimappings/{id}", h.getMapping(apiMappings))
	s.HandleAPIGateway("DELETE /v2/domainnames/{name}/apimappings/{id}", h.deleteMapping(apiMappings))

	s.HandleAPIGateway("PATCH /domainnames/{name}", h.updateV1)
	s.HandleAPIGateway("PATCH /v2/domainnames/{name}", h.updateV2)

	// Mapping updates are refused in API Gateway's shape (a bare 405 reads
	// as an unknown error to the SDKs): delete and create instead.
	for route, op := range map[string]string{
		"PATCH /domainnames/{name}/basepathmappings/{basePath}": "update-base-path-mapping",
		"PATCH /v2/domainnames/{name}/apimappings/{id}":         "update-api-mapping",
	} {
		s.HandleAPIGateway(route, func(http.ResponseWriter, *http.Request) error {
			return errdefs.New(errdefs.ErrInvalid, "BadRequestException",
				fmt.Sprintf("%s is not supported by Portico: delete the domain name or mapping and create it again", op))
		})
	}
}

type domainRoutes struct {
	e *edge.Edge
	// gw is the gateway server, for the target DNS should point at
	// (target); nil without one.
	gw *gateway.Server
}

// target is what a domain name's DNS record should point at, API Gateway's
// apiGatewayDomainName (v2) and regionalDomainName (v1), there a
// d-xxxx.execute-api.REGION.amazonaws.com name: the gateway's TLS listener's
// host (its plain listener's without TLS) when it listens on a named address,
// else this machine's host name. The port is not part of it: clients use the
// TLS listener's (docs/tls-and-domains.md).
func (h *domainRoutes) target() string {
	if h.gw != nil {
		addr := h.gw.TLSAddr()
		if addr == "" {
			addr = h.gw.Addr()
		}
		if host, _, err := net.SplitHostPort(addr); err == nil && host != "" {
			if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
				return host
			}
		}
	}
	if name, err := os.Hostname(); err == nil && name != "" {
		return strings.ToLower(name)
	}
	return "localhost"
}

// mutualTLSInput is mutualTlsAuthentication in both versions.
type mutualTLSInput struct {
	TruststoreURI     string `json:"truststoreUri"`
	TruststoreVersion string `json:"truststoreVersion,omitempty"`
}

// certificateFromARN reads a certificate named by a certificate ARN, the
// request's field: Portico has no certificate manager, so
// "file:///abs/cert.pem?key=/abs/key.pem" (a file URI, RFC 8089:
// edge.ParseCertificateFileARN) names PEM files on the server (copied into
// the store at creation, then watched and reloaded when they change), and ""
// or "arn:portico:acm:local:certificate/dev" the development CA.
func certificateFromARN(field, arn string) (certPEM, keyPEM []byte, err error) {
	if arn == "" || arn == devCertificateARN {
		return nil, nil, nil
	}
	if what := redact.PEMKind(arn); what != "" {
		return nil, nil, errdefs.New(errdefs.ErrInvalid, "BadRequestException",
			fmt.Sprintf("%s holds %s, not a certificate ARN (not repeated here): give the certificate's ARN, file:///abs/cert.pem?key=/abs/key.pem naming PEM files on the server, or (v1) the PEM itself as certificateBody and certificatePrivateKey", field, what))
	}
	if !strings.HasPrefix(strings.ToLower(arn), "file:") {
		return nil, nil, errdefs.New(errdefs.ErrInvalid, "BadRequestException",
			fmt.Sprintf("%s %q: Portico reads certificates from files: give file:///abs/cert.pem?key=/abs/key.pem, %s for the development CA, or certificateBody and certificatePrivateKey", field, arn, devCertificateARN))
	}
	certPath, keyPath, err := edge.ParseCertificateFileARN(arn)
	if err != nil {
		return nil, nil, errdefs.New(errdefs.ErrInvalid, "BadRequestException", fmt.Sprintf("%s %q: %v", field, arn, err))
	}
	if certPEM, err = edge.ReadPEMFile(certPath); err != nil {
		return nil, nil, errdefs.New(errdefs.ErrInvalid, "BadRequestException", fmt.Sprintf("certificate file: %v", err))
	}
	if err := edge.CheckCertificateBody(certPEM, "certificate file "+certPath, true); err != nil {
		return nil, nil, errdefs.New(errdefs.ErrInvalid, "BadRequestException", err.Error())
	}
	if keyPEM, err = edge.ReadPEMFile(keyPath); err != nil {
		return nil, nil, errdefs.New(errdefs.ErrInvalid, "BadRequestException", fmt.Sprintf("key file: %v", err))
	}
	return certPEM, keyPEM, nil
}

// echoed is v as an error message repeats it in AWS's words ('%s'): itself,
// or what it looks like when it should not be repeated (redact.Withheld).
func echoed(v string) string { return cmp.Or(redact.Withheld(v), v) }

// devCertificateARN names a certificate signed by the development CA.
const devCertificateARN = "arn:portico:acm:local:certificate/dev"

// truststoreFromURI reads a mutual TLS truststore: "file:///path.pem".
// A mutualTlsAuthentication without a truststoreUri is refused rather than
// read as "no mutual TLS", and so is a truststoreVersion: files have no
// versions to pick from.
func truststoreFromURI(in *mutualTLSInput) ([]byte, string, error) {
	if in == nil {
		return nil, "", nil
	}
	if in.TruststoreURI == "" {
		return nil, "", errdefs.New(errdefs.ErrInvalid, "BadRequestException", "mutualTlsAuthentication needs a truststoreUri (file:///path/bundle.pem); leave mutualTlsAuthentication out for a domain without mutual TLS")
	}
	if in.TruststoreVersion != "" {
		return nil, "", errdefs.New(errdefs.ErrInvalid, "BadRequestException", fmt.Sprintf("truststoreVersion %s: Portico reads the truststore file as it is and keeps no versions; leave truststoreVersion out", redact.Quote(in.TruststoreVersion)))
	}
	path, err := truststorePath(in.TruststoreURI)
	if err != nil {
		return nil, "", err
	}
	b, err := edge.ReadPEMFile(path)
	if err != nil {
		return nil, "", errdefs.New(errdefs.ErrInvalid, "BadRequestException", fmt.Sprintf("truststore: %v", err))
	}
	return b, in.TruststoreURI, nil
}

// truststorePath is the file a truststoreUri names: a file URI (RFC 8089) of
// the server's own files, file:///abs/bundle.pem or
// file://localhost/abs/bundle.pem, its percent-escapes decoded. A bare path
// (no scheme), a file URI naming another host, a relative one, or one with a
// query or fragment is refused rather than read as some other file.
func truststorePath(uri string) (string, error) {
	bad := func(format string, args ...any) (string, error) {
		return "", errdefs.New(errdefs.ErrInvalid, "BadRequestException", fmt.Sprintf("truststoreUri %q: ", uri)+fmt.Sprintf(format, args...))
	}
	if what := redact.PEMKind(uri); what != "" {
		return "", errdefs.New(errdefs.ErrInvalid, "BadRequestException",
			fmt.Sprintf("truststoreUri holds %s, not a URI (not repeated here): write the truststore's CA certificates to a file on the server and give file:///path/bundle.pem", what))
	}
	if !strings.HasPrefix(strings.ToLower(uri), "file:") {
		if strings.Contains(uri, "://") {
			return bad("Portico reads truststores from files on the server only (file:///path/bundle.pem), not from other URIs")
		}
		return bad("give a file URI with the file's absolute path, file:///path/bundle.pem (API Gateway's truststores are s3:// URIs; Portico reads its own files), not a bare path")
	}
	u, err := url.Parse(uri)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return bad("%v: give file:///path/bundle.pem, with %% written %%25", err)
	}
	switch {
	case u.Opaque != "" || !filepath.IsAbs(u.Path):
		return bad("give an absolute file URI: file:///path/bundle.pem")
	case u.Host != "" && !strings.EqualFold(u.Host, "localhost"):
		return bad("the URI names the host %q: Portico reads truststores from its own files, file:///path/bundle.pem (or file://localhost/path/bundle.pem)", u.Host)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return bad("a file URI with a query or fragment: give file:///path/bundle.pem (a ? or # in the file's name written %%3F or %%23)")
	}
	return u.Path, nil
}

func checkSecurityPolicy(p string) error {
	if p == "" || p == "TLS_1_2" {
		return nil
	}
	return errdefs.New(errdefs.ErrInvalid, "BadRequestException", fmt.Sprintf("securityPolicy %s: only TLS_1_2 is accepted (Portico serves TLS 1.2 and 1.3 on every domain; TLS 1.0, 1.1 and policies of other names are not offered)", redact.Quote(p)))
}

// checkEndpointType checks a domain's endpoint types; mutual TLS (mtls)
// needs a Regional domain name, as in API Gateway.
func checkEndpointType(mtls bool, types ...string) error {
	for _, t := range types {
		if t != "REGIONAL" && t != "EDGE" {
			return errdefs.New(errdefs.ErrInvalid, "BadRequestException", fmt.Sprintf("endpoint type %s: use REGIONAL (or EDGE, served the same)", redact.Quote(t)))
		}
		if t == "EDGE" && mtls {
			return errdefs.New(errdefs.ErrInvalid, "BadRequestException", "mutual TLS needs a REGIONAL domain name; EDGE domain names do not support it")
		}
	}
	return nil
}

// createDomainV1 is apigateway CreateDomainName's body.
type createDomainV1 struct {
	DomainName             string          `json:"domainName"`
	CertificateName        string          `json:"certificateName,omitempty"`
	CertificateBody        string          `json:"certificateBody,omitempty"`
	CertificatePrivateKey  string          `json:"certificatePrivateKey,omitempty"`
	CertificateChain       string          `json:"certificateChain,omitempty"`
	CertificateArn         string          `json:"certificateArn,omitempty"`
	RegionalCertificateArn string          `json:"regionalCertificateArn,omitempty"`
	RegionalCertName       string          `json:"regionalCertificateName,omitempty"`
	SecurityPolicy         string          `json:"securityPolicy,omitempty"`
	MutualTLS              *mutualTLSInput `json:"mutualTlsAuthentication,omitempty"`
	EndpointConfiguration  *struct {
		Types []string `json:"types"`
	} `json:"endpointConfiguration,omitempty"`
	Tags map[string]string `json:"tags,omitempty"`
}

func (h *domainRoutes) createV1(w http.ResponseWriter, r *http.Request) error {
	var in createDomainV1
	if err := decodeJSON(w, r, porticoBody, &in); err != nil {
		return err
	}
	if err := checkSecurityPolicy(in.SecurityPolicy); err != nil {
		return err
	}
	if in.EndpointConfiguration != nil {
		if err := checkEndpointType(in.MutualTLS != nil, in.EndpointConfiguration.Types...); err != nil {
			return err
		}
	}
	d := edge.Domain{Name: in.DomainName}
	switch {
	case in.CertificateBody != "" || in.CertificatePrivateKey != "":
		if err := edge.CheckCertificateBody([]byte(in.CertificateBody), "certificateBody", false); err != nil {
			return errdefs.New(errdefs.ErrInvalid, "BadRequestException", err.Error())
		}
		d.CertificatePEM = []byte(strings.TrimSpace(in.CertificateBody) + "\n")
		if in.CertificateChain != "" {
			if err := edge.CheckCertificateChain([]byte(in.CertificateChain), "certificateChain"); err != nil {
				return errdefs.New(errdefs.ErrInvalid, "BadRequestException", err.Error())
			}
			d.CertificatePEM = append(d.CertificatePEM, []byte(strings.TrimSpace(in.CertificateChain)+"\n")...)
		}
		d.KeyPEM, d.CertificateSource = []byte(in.CertificatePrivateKey), "inline"
	case in.CertificateChain != "":
		return errdefs.New(errdefs.ErrInvalid, "BadRequestException",
			"certificateChain goes with certificateBody and certificatePrivateKey; a file:// certificate ARN carries its chain in its certificate file, after the leaf")
	default:
		arn, field := in.RegionalCertificateArn, "regionalCertificateArn"
		if arn == "" {
			arn, field = in.CertificateArn, "certificateArn"
		}
		c, k, err := certificateFromARN(field, arn)
		if err != nil {
			return err
		}
		d.CertificatePEM, d.KeyPEM, d.CertificateSource = c, k, arn
	}
	return h.createDomain(w, r, d, in.MutualTLS, h.domainV1)
}

// createDomain creates d with in's truststore and answers it spelled by out.
func (h *domainRoutes) createDomain(w http.ResponseWriter, r *http.Request, d edge.Domain, in *mutualTLSInput,
	out func(*edge.Domain) map[string]any) error {
	ts, uri, err := truststoreFromURI(in)
	if err != nil {
		return err
	}
	d.TruststorePEM, d.TruststoreURI = ts, uri
	created, err := h.e.CreateDomain(r.Context(), d)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out(created))
}

func certificateARN(d *edge.Domain) string {
	switch d.CertificateSource {
	case "dev", "":
		return devCertificateARN
	case "inline":
		return "arn:portico:acm:local:certificate/" + d.Name
	}
	return d.CertificateSource
}

func mutualTLSOut(d *edge.Domain) any {
	if !d.MutualTLS() {
		return nil
	}
	version := d.TruststoreVersion
	if version == "" {
		version = "1"
	}
	return map[string]any{"truststoreUri": d.TruststoreURI, "truststoreVersion": version, "truststoreWarnings": []string{}}
}

// domainStatus is the message of a domain that is not served (v1 reads
// it FAILED; v2, which has no FAILED, PENDING_OWNERSHIP_VERIFICATION when the
// name is not the owner's to serve and PENDING_CERTIFICATE_REIMPORT when its
// handshakes fail), "" when it is AVAILABLE.
func (h *domainRoutes) domainStatus(d *edge.Domain) (message string, handshakes bool) {
	err := h.e.NotServed(d)
	if err == nil {
		return "", false
	}
	return err.Error(), errors.Is(err, edge.ErrHandshakesFail)
}

// tlsOff is the domainNameStatusMessage of a domain d that is not served over
// HTTPS: the gateway's TLS listener is off (gateway.Server.TLSOff, which says
// plainly that a mutual TLS domain is not reachable at all); "" when it
// listens. The status stays AVAILABLE: tools that create a domain wait for
// that, and only a restart with a certificate changes this.
func (h *domainRoutes) tlsOff(d *edge.Domain) string {
	if h.gw == nil {
		return ""
	}
	return h.gw.TLSOff(d.MutualTLS())
}

func (h *domainRoutes) domainV1(d *edge.Domain) map[string]any {
	out := h.domainV1Fields(d)
	if msg, _ := h.domainStatus(d); msg != "" {
		out["domainNameStatus"], out["domainNameStatusMessage"] = "FAILED", msg
	} else if msg := h.tlsOff(d); msg != "" {
		out["domainNameStatusMessage"] = msg
	}
	return out
}

func (h *domainRoutes) domainV2(d *edge.Domain) map[string]any {
	out := h.domainV2Fields(d)
	if msg, handshakes := h.domainStatus(d); msg != "" {
		status := "PENDING_OWNERSHIP_VERIFICATION"
		if handshakes {
			status = "PENDING_CERTIFICATE_REIMPORT"
		}
		c := out["domainNameConfigurations"].([]map[string]any)[0]
		c["domainNameStatus"], c["domainNameStatusMessage"] = status, msg
	} else if msg := h.tlsOff(d); msg != "" {
		out["domainNameConfigurations"].([]map[string]any)[0]["domainNameStatusMessage"] = msg
	}
	return out
}

func (h *domainRoutes) domainV1Fields(d *edge.Domain) map[string]any {
	out := map[string]any{
		"domainName":             d.Name,
		"regionalDomainName":     h.target(),
		"regionalCertificateArn": certificateARN(d),
		"certificateUploadDate":  d.CertificateUploadDate().Unix(),
		"endpointConfiguration":  map[string]any{"types": []string{"REGIONAL"}},
		"domainNameStatus":       "AVAILABLE",
		"securityPolicy":         "TLS_1_2",
	}
	if m := mutualTLSOut(d); m != nil {
		out["mutualTlsAuthentication"] = m
	}
	return out
}

func (h *domainRoutes) domainV2Fields(d *edge.Domain) map[string]any {
	out := map[string]any{
		"apiMappingSelectionExpression": "$request.basepath",
		"domainName":                    d.Name,
		"domainNameConfigurations": []map[string]any{{
			"apiGatewayDomainName":  h.target(),
			"certificateArn":        certificateARN(d),
			"certificateUploadDate": d.CertificateUploadDate().UTC().Format("2006-01-02T15:04:05Z"),
			"domainNameStatus":      "AVAILABLE",
			"endpointType":          "REGIONAL",
			"securityPolicy":        "TLS_1_2",
		}},
	}
	if m := mutualTLSOut(d); m != nil {
		out["mutualTlsAuthentication"] = m
	}
	return out
}

// listDomains answers a page of the domain names spelled by out, in name
// order: v1's {"item", "position"} (limit, position) or, with v2, v2's
// {"items", "nextToken"} (maxResults, nextToken), as /restapis and /v2/apis
// page.
func (h *domainRoutes) listDomains(out func(*edge.Domain) map[string]any, v2 bool) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ds, err := h.e.ListDomains(r.Context())
		if err != nil {
			return err
		}
		return writeDomainPage(w, r, ds, func(d *edge.Domain) sortKey { return sortKey{d.Name} }, out, v2)
	}
}

// writeDomainPage answers the page of all that r asks for, each item spelled by
// out: v1's collection or, with v2, v2's page.
func writeDomainPage[T any](w http.ResponseWriter, r *http.Request, all []T, key func(T) sortKey, out func(T) map[string]any, v2 bool) error {
	if v2 {
		page, err := paginate(r, all, key)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, v2Page[map[string]any]{Items: convert(page.Items, out), NextToken: page.NextToken})
	}
	page, next, err := pageByKey(r, all, key)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, collection[map[string]any]{Item: convert(page, out), Position: next})
}

// getDomain answers one domain name spelled by out.
func (h *domainRoutes) getDomain(out func(*edge.Domain) map[string]any) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		d, err := h.e.GetDomain(r.Context(), r.PathValue("name"))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, out(d))
	}
}

func (h *domainRoutes) deleteDomain(status int) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := h.e.DeleteDomain(r.Context(), r.PathValue("name")); err != nil {
			return err
		}
		w.WriteHeader(status)
		return nil
	}
}

// createDomainV2 is apigatewayv2 CreateDomainName's body.
type createDomainV2 struct {
	DomainName               string `json:"domainName"`
	DomainNameConfigurations []struct {
		CertificateArn  string `json:"certificateArn,omitempty"`
		CertificateName string `json:"certificateName,omitempty"`
		EndpointType    string `json:"endpointType,omitempty"`
		SecurityPolicy  string `json:"securityPolicy,omitempty"`
	} `json:"domainNameConfigurations,omitempty"`
	MutualTLS *mutualTLSInput   `json:"mutualTlsAuthentication,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
}

func (h *domainRoutes) createV2(w http.ResponseWriter, r *http.Request) error {
	var in createDomainV2
	if err := decodeJSON(w, r, porticoBody, &in); err != nil {
		return err
	}
	if len(in.DomainNameConfigurations) > 1 {
		return errdefs.New(errdefs.ErrInvalid, "BadRequestException", "give one domain name configuration")
	}
	d := edge.Domain{Name: in.DomainName}
	if len(in.DomainNameConfigurations) == 1 {
		c := in.DomainNameConfigurations[0]
		if err := checkSecurityPolicy(c.SecurityPolicy); err != nil {
			return err
		}
		if c.EndpointType != "" {
			if err := checkEndpointType(in.MutualTLS != nil, c.EndpointType); err != nil {
				return err
			}
		}
		cert, key, err := certificateFromARN("certificateArn", c.CertificateArn)
		if err != nil {
			return err
		}
		d.CertificatePEM, d.KeyPEM, d.CertificateSource = cert, key, c.CertificateArn
	}
	return h.createDomain(w, r, d, in.MutualTLS, h.domainV2)
}

func basePathOut(m *edge.Mapping) map[string]any {
	bp := m.Key
	if bp == "" {
		bp = "(none)"
	}
	return map[string]any{"basePath": bp, "restApiId": m.APIID, "stage": m.Stage}
}

func apiMappingOut(m *edge.Mapping) map[string]any {
	return map[string]any{"apiId": m.APIID, "apiMappingId": m.ID, "apiMappingKey": m.Key, "stage": m.Stage}
}

// mappingDialect is how one control plane spells mappings: apigateway's base
// path mappings (by base path) or apigatewayv2's API mappings (by id).
type mappingDialect struct {
	// in decodes a create body into a mapping.
	in func(w http.ResponseWriter, r *http.Request) (edge.Mapping, error)
	// out spells a mapping.
	out func(*edge.Mapping) map[string]any
	// v2 says the list is paged as apigatewayv2's ({"items", "nextToken"}),
	// else as apigateway's ({"item", "position"}).
	v2 bool
	// param names the path parameter that identifies a mapping; byKey says it
	// is the base path rather than the id.
	param string
	byKey bool
	// deleted is the status of a delete (v1 202, v2 204).
	deleted int
}

// basePathMappingBody is create-base-path-mapping's body.
type basePathMappingBody struct {
	BasePath  string `json:"basePath"`
	RestAPIID string `json:"restApiId"`
	Stage     string `json:"stage"`
}

// apiMappingBody is create-api-mapping's body.
type apiMappingBody struct {
	APIID         string `json:"apiId"`
	APIMappingKey string `json:"apiMappingKey"`
	Stage         string `json:"stage"`
}

// decodeMapping is a dialect's in: it decodes a body B and turns it into a
// mapping with to.
func decodeMapping[B any](to func(B) edge.Mapping) func(w http.ResponseWriter, r *http.Request) (edge.Mapping, error) {
	return func(w http.ResponseWriter, r *http.Request) (edge.Mapping, error) {
		var in B
		err := decodeJSON(w, r, porticoBody, &in)
		return to(in), err
	}
}

var (
	basePathMappings = mappingDialect{
		in: decodeMapping(func(in basePathMappingBody) edge.Mapping {
			return edge.Mapping{Key: in.BasePath, APIID: in.RestAPIID, Stage: in.Stage}
		}),
		out: basePathOut, param: "basePath", byKey: true, deleted: http.StatusAccepted,
	}
	apiMappings = mappingDialect{
		in: decodeMapping(func(in apiMappingBody) edge.Mapping {
			return edge.Mapping{Key: in.APIMappingKey, APIID: in.APIID, Stage: in.Stage}
		}),
		out: apiMappingOut, v2: true, param: "id", deleted: http.StatusNoContent,
	}
)

func (h *domainRoutes) createMapping(d mappingDialect) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		in, err := d.in(w, r)
		if err != nil {
			return err
		}
		in.Domain = r.PathValue("name")
		m, err := h.e.CreateMapping(r.Context(), in)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, d.out(m))
	}
}

func (h *domainRoutes) listMappings(d mappingDialect) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ms, err := h.e.ListMappings(r.Context(), r.PathValue("name"))
		if err != nil {
			return err
		}
		ptrs := make([]*edge.Mapping, len(ms))
		for i := range ms {
			ptrs[i] = &ms[i]
		}
		return writeDomainPage(w, r, ptrs, func(m *edge.Mapping) sortKey { return sortKey{m.Key} }, d.out, d.v2)
	}
}

func (h *domainRoutes) getMapping(d mappingDialect) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		m, err := h.e.GetMapping(r.Context(), r.PathValue("name"), r.PathValue(d.param), d.byKey)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, d.out(m))
	}
}

func (h *domainRoutes) deleteMapping(d mappingDialect) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := h.e.DeleteMapping(r.Context(), r.PathValue("name"), r.PathValue(d.param), d.byKey); err != nil {
			return err
		}
		w.WriteHeader(d.deleted)
		return nil
	}
}

// domainChange is what an update-domain-name asks for, the files it names
// already read: a certificate, a truststore, or both.
type domainChange struct {
	cert                   bool
	certPEM, keyPEM        []byte
	certSource             string
	truststore             bool
	truststorePEM          []byte
	truststoreURI, version string
}

// apply sets c's certificate and truststore on d.
func (c *domainChange) apply(d *edge.Domain) error {
	if c.cert {
		d.CertificatePEM, d.KeyPEM, d.CertificateSource = c.certPEM, c.keyPEM, c.certSource
	}
	if c.truststore {
		d.TruststorePEM, d.TruststoreURI, d.TruststoreVersion = c.truststorePEM, c.truststoreURI, c.version
	}
	return nil
}

// setCertificate reads the certificate an ARN, the request's field, names
// into c.
func (c *domainChange) setCertificate(field, arn string) error {
	cert, key, err := certificateFromARN(field, arn)
	if err != nil {
		return err
	}
	c.cert, c.certPEM, c.keyPEM, c.certSource = true, cert, key, arn
	return nil
}

// setTruststore reads the truststore at uri into c: "" turns mutual TLS off.
func (c *domainChange) setTruststore(uri, version string) error {
	c.truststore, c.version = true, version
	if uri == "" {
		c.truststorePEM, c.truststoreURI, c.version = nil, "", ""
		return nil
	}
	ts, u, err := truststoreFromURI(&mutualTLSInput{TruststoreURI: uri})
	c.truststorePEM, c.truststoreURI = ts, u
	return err
}

// update applies c to the domain named by the request and answers it spelled
// by out.
func (h *domainRoutes) update(w http.ResponseWriter, r *http.Request, c *domainChange, out func(*edge.Domain) map[string]any) error {
	d, err := h.e.UpdateDomain(r.Context(), r.PathValue("name"), c.apply)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out(d))
}

// current returns the stored domain of the request, for updates that need
// what it has (its truststore's URI).
func (h *domainRoutes) current(r *http.Request) (*edge.Domain, error) {
	return h.e.GetDomain(r.Context(), r.PathValue("name"))
}

// updateV1 is apigateway UpdateDomainName: "replace" patch operations on
// /certificateArn and /regionalCertificateArn (a certificate, as at
// creation), /mutualTlsAuthentication/truststoreUri (a truststore; "" turns
// mutual TLS off), /mutualTlsAuthentication/truststoreVersion (read the
// truststore file again), /securityPolicy (TLS_1_2),
// /endpointConfiguration/types/0 (REGIONAL, or EDGE without mutual TLS) and
// the certificate names (accepted, not kept, as at creation). Other paths
// and operations are refused, saying so, and nothing is changed.
func (h *domainRoutes) updateV1(w http.ResponseWriter, r *http.Request) error {
	ops, err := decodePatch(w, r)
	if err != nil {
		return err
	}
	d, err := h.current(r)
	if err != nil {
		return err
	}
	var c domainChange
	mtls := d.MutualTLS()
	var edgeAsked bool
	err = applyPatch(ops, func(op PatchOperation) error {
		if op.Op != "replace" {
			return errdefs.New(errdefs.ErrInvalid, "BadRequestException",
				fmt.Sprintf("Invalid patch operation '%s' for path '%s': update-domain-name takes replace operations only", echoed(op.Op), echoed(op.Path)))
		}
		v, err := op.StringValue()
		if err != nil {
			return err
		}
		switch op.Path {
		case "/certificateArn", "/regionalCertificateArn":
			return c.setCertificate(strings.TrimPrefix(op.Path, "/"), v)
		case "/certificateName", "/regionalCertificateName":
			return nil
		case "/securityPolicy":
			return checkSecurityPolicy(v)
		case "/endpointConfiguration/types/0":
			edgeAsked = v == "EDGE"
			return checkEndpointType(false, v)
		case "/mutualTlsAuthentication/truststoreUri":
			mtls = v != ""
			return c.setTruststore(v, "")
		case "/mutualTlsAuthentication/truststoreVersion":
			uri := d.TruststoreURI
			if c.truststore {
				uri = c.truststoreURI
			}
			if uri == "" {
				return errdefs.New(errdefs.ErrInvalid, "BadRequestException",
					fmt.Sprintf("Domain name %s has no truststore to read again: replace /mutualTlsAuthentication/truststoreUri with file:///path/bundle.pem", d.Name))
			}
			return c.setTruststore(uri, v)
		case "/ownershipVerificationCertificateArn":
			return errdefs.New(errdefs.ErrInvalid, "BadRequestException",
				"ownershipVerificationCertificateArn is not supported by Portico: it serves the certificate it is given without verifying ownership; leave the path out")
		}
		return errdefs.New(errdefs.ErrInvalid, "BadRequestException", fmt.Sprintf(
			"Invalid patch path '%s' specified for op 'replace'. Portico updates /certificateArn, /regionalCertificateArn, /securityPolicy, "+
				"/endpointConfiguration/types/0, /mutualTlsAuthentication/truststoreUri and /mutualTlsAuthentication/truststoreVersion", echoed(op.Path)))
	})
	if err != nil {
		return err
	}
	if edgeAsked && mtls {
		return checkEndpointType(true, "EDGE")
	}
	return h.update(w, r, &c, h.domainV1)
}

// updateDomainV2 is apigatewayv2 UpdateDomainName's body.
type updateDomainV2 struct {
	DomainNameConfigurations []struct {
		CertificateArn                      string `json:"certificateArn,omitempty"`
		CertificateName                     string `json:"certificateName,omitempty"`
		EndpointType                        string `json:"endpointType,omitempty"`
		SecurityPolicy                      string `json:"securityPolicy,omitempty"`
		OwnershipVerificationCertificateArn string `json:"ownershipVerificationCertificateArn,omitempty"`
	} `json:"domainNameConfigurations,omitempty"`
	MutualTLS *mutualTLSInput `json:"mutualTlsAuthentication,omitempty"`
}

// updateV2 is apigatewayv2 UpdateDomainName: a domain name configuration
// (its certificate, as at creation; securityPolicy TLS_1_2; endpoint type
// REGIONAL) and mutualTlsAuthentication (a truststore, read again when only
// truststoreVersion is given; a truststoreUri of "" turns mutual TLS off).
func (h *domainRoutes) updateV2(w http.ResponseWriter, r *http.Request) error {
	var in updateDomainV2
	if err := decodeJSON(w, r, apigwBody, &in); err != nil {
		return err
	}
	if len(in.DomainNameConfigurations) > 1 {
		return errdefs.New(errdefs.ErrInvalid, "BadRequestException", "give one domain name configuration: Portico serves a domain name with one certificate")
	}
	d, err := h.current(r)
	if err != nil {
		return err
	}
	var c domainChange
	mtls := d.MutualTLS()
	if m := in.MutualTLS; m != nil {
		uri := m.TruststoreURI
		if uri == "" && m.TruststoreVersion != "" {
			uri = d.TruststoreURI
			if uri == "" {
				return errdefs.New(errdefs.ErrInvalid, "BadRequestException",
					fmt.Sprintf("Domain name %s has no truststore to read again: give mutualTlsAuthentication's truststoreUri (file:///path/bundle.pem)", d.Name))
			}
		}
		if err := c.setTruststore(uri, m.TruststoreVersion); err != nil {
			return err
		}
		mtls = uri != ""
	}
	if len(in.DomainNameConfigurations) == 1 {
		dc := in.DomainNameConfigurations[0]
		if dc.OwnershipVerificationCertificateArn != "" {
			return errdefs.New(errdefs.ErrInvalid, "BadRequestException",
				"ownershipVerificationCertificateArn is not supported by Portico: it serves the certificate it is given without verifying ownership; leave it out")
		}
		if err := checkSecurityPolicy(dc.SecurityPolicy); err != nil {
			return err
		}
		if dc.EndpointType != "" {
			if err := checkEndpointType(mtls, dc.EndpointType); err != nil {
				return err
			}
		}
		if dc.CertificateArn != "" {
			if err := c.setCertificate("certificateArn", dc.CertificateArn); err != nil {
				return err
			}
		}
	}
	return h.update(w, r, &c, h.domainV2)
}
