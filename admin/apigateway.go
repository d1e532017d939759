package admin

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/portico-dev/portico/aliases"
	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/gateway/usage"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/store"
)

// HandleAPIGateway registers h for a route of API Gateway's own control plane
// (apigateway v1 at /restapis, /apikeys, /usageplans, ...; apigatewayv2 at /v2/...).
// Its errors answer in API Gateway's shape, which differs from Lambda's:
// {"message": "..."} with x-amzn-ErrorType NotFoundException, ConflictException,
// BadRequestException, ... (writeAPIGatewayError, this surface's one adapter).
func (s *Server) HandleAPIGateway(pattern string, h HandlerFunc) {
	if s.apigwPatterns == nil {
		s.apigwPatterns = map[string]bool{}
	}
	s.apigwPatterns[pattern] = true
	s.patterns = append(s.patterns, pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeAPIGatewayError(w, r, err)
		}
	})
}

// handleCollection registers the routes of a collection with
// HandleAPIGateway: create (POST base) and list (GET base), and get (GET),
// update (PATCH) and delete (DELETE) of one item at base/item.
func (s *Server) handleCollection(base, item string, create, list, get, update, del HandlerFunc) {
	s.HandleAPIGateway("POST "+base, create)
	s.HandleAPIGateway("GET "+base, list)
	s.handleItem(base+"/"+item, nil, get, update, del)
}

// handleItem registers the routes of one item at path with HandleAPIGateway:
// put (PUT, unless nil), get (GET), update (PATCH) and delete (DELETE).
func (s *Server) handleItem(path string, put, get, update, del HandlerFunc) {
	if put != nil {
		s.HandleAPIGateway("PUT "+path, put)
	}
	s.HandleAPIGateway("GET "+path, get)
	s.HandleAPIGateway("PATCH "+path, update)
	s.HandleAPIGateway("DELETE "+path, del)
}

// apigwPrefixes are the collections of API Gateway's control plane (v1's
// top-level resources, and all of v2 under /v2), implemented by Portico or not.
var apigwPrefixes = []string{
	"/account", "/apikeys", "/clientcertificates", "/domainnameaccessassociations", "/domainnames",
	"/restapis", "/sdktypes", "/tags", "/usageplans", "/vpclinks", "/v2",
}

// registerUnknownAPIGatewayOperations answers a path under apigwPrefixes that
// no route serves (an operation Portico does not implement, or a method the
// resource lacks) in API Gateway's error shape, which the SDKs and CLI can
// read, instead of ServeMux's plain-text 404 or 405. Registered last; the
// routes registered before are more specific and win.
func (s *Server) registerUnknownAPIGatewayOperations() {
	for _, prefix := range apigwPrefixes {
		s.HandleAPIGateway(prefix+"/", s.unknownAPIGatewayOperation)
		if prefix != "/v2" {
			s.HandleAPIGateway(prefix, s.unknownAPIGatewayOperation)
		}
	}
}

func (s *Server) unknownAPIGatewayOperation(_ http.ResponseWriter, r *http.Request) error {
	return errdefs.New(errdefs.ErrNotFound, "UnknownOperationException",
		fmt.Sprintf("Portico does not implement the API Gateway operation at %s %s", r.Method, r.URL.Path))
}

// isAPIGatewayRoute reports whether r is for a route registered with
// HandleAPIGateway, whose errors (authentication's included) take API
// Gateway's shape.
func (s *Server) isAPIGatewayRoute(r *http.Request) bool {
	_, pattern := s.mux.Handler(r)
	return s.apigwPatterns[pattern]
}

// handleAPIs registers h for a route of Portico's own admin API for APIs
// (/portico/v1/apis and what hangs off it: routes, integrations,
// deployments, stages, access logs). Its errors answer in API Gateway's
// shape, as the apigateway routes that manage the same resources do
// (writeAPIsError); unlike theirs, a signature may name any service, as on
// Portico's other own routes (signingService).
func (s *Server) handleAPIs(pattern string, h HandlerFunc) {
	if s.apisPatterns == nil {
		s.apisPatterns = map[string]bool{}
	}
	s.apisPatterns[pattern] = true
	s.patterns = append(s.patterns, pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeAPIsError(w, r, err)
		}
	})
}

// isAPIsRoute reports whether r is for a route registered with handleAPIs.
func (s *Server) isAPIsRoute(r *http.Request) bool {
	_, pattern := s.mux.Handler(r)
	return s.apisPatterns[pattern]
}

// writeAPIsError is writeAPIGatewayError for Portico's own admin API for
// APIs, but for a body over its limit, which stays 413 (as it was before
// these routes took API Gateway's shape, and as the CLI expects), where API
// Gateway's routes answer 400.
func (s *Server) writeAPIsError(w http.ResponseWriter, r *http.Request, err error) {
	s.writeGatewayShaped(w, r, err, true)
}

// writeAPIGatewayError maps an error to API Gateway's status, error type and
// body. Server-side failures answer a generic message; their detail goes to the
// log with the request id.
func (s *Server) writeAPIGatewayError(w http.ResponseWriter, r *http.Request, err error) {
	s.writeGatewayShaped(w, r, err, false)
}

// writeGatewayShaped writes err in API Gateway's shape; a request body over
// its limit (bodyTooLong) is 413 RequestTooLargeException, and tooLarge413
// keeps every ErrTooLarge there.
func (s *Server) writeGatewayShaped(w http.ResponseWriter, r *http.Request, err error, tooLarge413 bool) {
	err = bodyTimedOut(w, cutOffBy(r, bodySignatureError(r, err)))
	if clientGone(r, err) {
		s.log.Debug("admin request: client gone before its answer", "requestId", w.Header().Get("X-Amzn-RequestId"),
			"method", r.Method, "path", r.URL.Path, "status", statusClientClosedRequest, "err", err)
		return
	}
	status, typ := errorStatus(err, apigwSurface)
	var long *bodyTooLong
	if errors.As(err, &long) || tooLarge413 && errors.Is(err, errdefs.ErrTooLarge) {
		status, typ = http.StatusRequestEntityTooLarge, "RequestTooLargeException"
	}
	// Several problems (the API's validation joins them, one a line) in
	// one line, separated by "; ": clients show a message on one line.
	msg := strings.Join(strings.Split(clientMessage(err), "\n"), "; ")
	var k *errdefs.Kinded
	if errors.As(err, &k) {
		if k.Type != "" {
			typ = k.Type
		}
		msg = k.Message
	}
	if status >= 500 {
		s.log.Error("admin request failed", "requestId", w.Header().Get("X-Amzn-RequestId"), "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
		msg = "Internal server error"
		var damaged *store.RecordError
		var moved *store.MovedError
		switch {
		case unwritableMessage(err) != "":
			msg = unwritableMessage(err)
		case errors.As(err, &moved):
			msg = moved.ClientMessage()
		case errors.As(err, new(*cutOffError)):
			msg = cutOffMessage
		case errors.As(err, &damaged):
			// A damaged record names itself (bucket/key, no value) to the
			// operator, with the delete that removes it when there is one.
			msg = damagedMessage(damaged)
		}
	}
	w.Header().Set("x-amzn-ErrorType", typ)
	_ = writeJSON(w, status, map[string]string{"message": msg})
}

// damagedMessage is what a caller is told of a request that met the damaged
// stored record d, on either API's writer (writeError, writeGatewayShaped): its
// ClientMessage, and for a function (functions.DamagedDelete), an API, a stage
// or a deployment (apis.DamagedRecord), an API key or a usage plan
// (usage.DamagedDelete), a domain name or an API mapping (edge.DamagedDelete), the DELETE that removes it without reading it.
func damagedMessage(d *store.RecordError) string {
	if del := functions.DamagedDelete(d.Bucket, d.Key); del != "" && !strings.Contains(d.Key, "\x00") { // a function's, not a version's
		return fmt.Sprintf("Portico's store holds a damaged record, %s/%s (function %s; it does not decode), so this request cannot be answered: "+
			"delete the function with %s, or restore portico.db from a backup (docs/operations.md#backups); the server's log has the detail",
			d.Bucket, d.Key, d.Key, del)
	}
	kind, apiID, name, ok := apis.DamagedRecord(d)
	if !ok {
		if del := cmp.Or(usage.DamagedDelete(d.Bucket, d.Key), edge.DamagedDelete(d.Bucket, d.Key),
			functions.DamagedDelete(d.Bucket, d.Key), aliases.DamagedDelete(d.Bucket, d.Key)); del != "" {
			// a version's or alias's key joins the function's name and its
			// own with a NUL: shown as function:qualifier
			return fmt.Sprintf("Portico's store holds a damaged record, %s/%s (it does not decode), so this request cannot be answered: "+
				"delete it with %s, or restore portico.db from a backup (docs/operations.md#backups); the server's log has the detail",
				d.Bucket, strings.ReplaceAll(d.Key, "\x00", ":"), del)
		}
		return d.ClientMessage()
	}
	p := porticoAPIsPrefix + "/" + apiID
	what := "the API (and its stages and deployments): DELETE " + p + " (portico api delete " + apiID + ")"
	switch kind {
	case apis.RecordStage:
		what = "the stage: DELETE " + p + "/stages/" + name
	case apis.RecordDeployment:
		what = "the deployment (once no stage points at it): DELETE " + p + "/deployments/" + name
	}
	return fmt.Sprintf("Portico's store holds a damaged record, %s/%s (%s %s; it does not decode), so this request cannot be answered: "+
		"delete %s, or restore portico.db from a backup (docs/operations.md#backups); the server's log has the detail",
		d.Bucket, d.Key, kind, cmp.Or(name, apiID), what)
}

// PatchOperation is one of API Gateway's patchOperations
// (update-stage, update-api-key, update-usage-plan, ...). Values are strings, as
// AWS sends them.
type PatchOperation struct {
	Op    string  `json:"op"` // add, remove, replace, move, copy, test
	Path  string  `json:"path"`
	Value *string `json:"value,omitempty"`
	From  string  `json:"from,omitempty"`
}

// PatchRequest is the body of an API Gateway update call.
type PatchRequest struct {
	PatchOperations []PatchOperation `json:"patchOperations"`
}

// Segments splits a patch path into its JSON-pointer segments, unescaping ~1
// ("/") and ~0 ("~"): "/~1pets~1{id}/GET/throttling/rateLimit" is
// ["/pets/{id}", "GET", "throttling", "rateLimit"].
func (p PatchOperation) Segments() []string { return patchSegments(p.Path) }

// FromSegments splits the From path likewise.
func (p PatchOperation) FromSegments() []string { return patchSegments(p.From) }

// checkPatchPath refuses a patch path (or from) with a '~' that is not an
// escape: in a JSON pointer, ~0 is "~" and ~1 is "/", and nothing else is;
// "text~2plain" or a trailing "~" would otherwise be kept as written.
func checkPatchPath(op PatchOperation) error {
	for _, path := range []string{op.Path, op.From} {
		for i := strings.IndexByte(path, '~'); i >= 0; i = strings.IndexByte(path, '~') {
			if i+1 == len(path) || (path[i+1] != '0' && path[i+1] != '1') {
				return badRequest("Invalid patch path '%s' specified for op '%s': '~' must be followed by 0 (for ~) or 1 (for /)", echoed(op.Path), echoed(op.Op))
			}
			path = path[i+2:]
		}
	}
	return nil
}

func patchSegments(path string) []string {
	path = strings.TrimPrefix(path, "/")
	if path == "" {
		return nil
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		s = strings.ReplaceAll(s, "~1", "/")
		segs[i] = strings.ReplaceAll(s, "~0", "~")
	}
	return segs
}

// StringValue returns the operation's value, or a BadRequestException naming
// the path when it has none.
func (p PatchOperation) StringValue() (string, error) {
	if p.Value == nil {
		return "", errdefs.New(errdefs.ErrInvalid, "BadRequestException", fmt.Sprintf("Invalid patch operation: value required for %s %s", p.Op, p.Path))
	}
	return *p.Value, nil
}

// DescriptionValue returns the value of an operation on a description: its
// value, or "" when it has none, as API Gateway clears a description that
// `op=replace,path=/description` gives no value (the way AWS CLI users clear
// one).
func (p PatchOperation) DescriptionValue() string {
	if p.Value == nil {
		return ""
	}
	return *p.Value
}

// setOrClear sets *dst to the operation's value, or clears it for a remove.
func setOrClear(dst *string, op PatchOperation) error {
	if op.Op == "remove" {
		*dst = ""
		return nil
	}
	v, err := op.StringValue()
	*dst = v
	return err
}

// applyPatch applies each operation with apply, stopping at the first error.
func applyPatch(ops []PatchOperation, apply func(PatchOperation) error) error {
	for _, op := range ops {
		if err := apply(op); err != nil {
			return err
		}
	}
	return nil
}

// BadPatchPath is the error for a patch path (or op) an update does not support.
func BadPatchPath(p PatchOperation) error {
	return errdefs.New(errdefs.ErrInvalid, "BadRequestException",
		fmt.Sprintf("Invalid patch path '%s' specified for op '%s'. Must be one of the supported paths.", p.Path, p.Op))
}
