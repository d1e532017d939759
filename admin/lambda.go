package admin

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/aliases"
	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/invoker"
)

// Body limits of the Lambda API routes.
const (
	// maxCodeBody bounds CreateFunction and UpdateFunctionCode bodies at
	// Lambda's limit for a direct upload, 69,905,067 bytes (50 MiB grown by
	// a third in base64): a body of that many bytes is read, one byte more
	// is 413 "Request must be smaller than 69905067 bytes for the
	// CreateFunction operation", as Lambda answers.
	maxCodeBody = 69905067
	// maxConfigBody bounds every other JSON body.
	maxConfigBody = 1 << 20
	// codeTooLarge is Lambda's exception type for a CreateFunction or
	// UpdateFunctionCode too large (a body over maxCodeBody, a zip over
	// functions.MaxZipSize): 413 RequestEntityTooLargeException, where an
	// Invoke too large is RequestTooLargeException.
	codeTooLarge = "RequestEntityTooLargeException"
)

// tooLargeMessage is the message of a Lambda body over limit: the code and
// invoke routes name their operation, as Lambda's message does ("Request
// must be smaller than 6291456 bytes for the InvokeFunction operation").
func tooLargeMessage(r *http.Request, limit int64) string {
	op := "this operation"
	switch {
	case strings.HasSuffix(r.URL.Path, "/invocations"):
		op = "the InvokeFunction operation"
	case limit == maxCodeBody && strings.HasSuffix(r.URL.Path, "/code"):
		op = "the UpdateFunctionCode operation"
	case limit == maxCodeBody:
		op = "the CreateFunction operation"
	}
	return fmt.Sprintf("Request must be smaller than %d bytes for %s", limit, op)
}

// lambdaDeps are the services behind the Lambda API routes.
type lambdaDeps struct {
	fns     *functions.Service
	aliases *aliases.Service
	inv     *invoker.Invoker
}

// registerLambdaRoutes registers the Lambda API subset under /2015-03-31 (and the
// concurrency, event invoke config, code signing, runtime management and tag routes under their own
// API versions), plus Portico's log route. The handlers live beside their wire
// types, one file per resource: functions.go, versions.go, aliases.go,
// concurrency.go, eventinvoke.go, invocations.go, policy.go, function_settings.go.
func (s *Server) registerLambdaRoutes() {
	const fn = "/2015-03-31/functions"
	s.Handle("POST "+fn, s.createFunction)
	s.Handle("POST "+fn+"/{$}", s.createFunction)
	s.Handle("GET "+fn, s.listFunctions)
	s.Handle("GET "+fn+"/{$}", s.listFunctions)
	s.Handle("GET "+fn+"/{name}", byRef(s.getFunction))
	s.Handle("DELETE "+fn+"/{name}", byRef(s.deleteFunction))
	s.Handle("GET "+fn+"/{name}/configuration", byRef(s.getFunctionConfiguration))
	s.Handle("PUT "+fn+"/{name}/configuration", byName(s.updateFunctionConfiguration))
	s.Handle("PUT "+fn+"/{name}/code", byName(s.updateFunctionCode))
	s.Handle("POST "+fn+"/{name}/versions", byName(s.publishVersion))
	s.Handle("GET "+fn+"/{name}/versions", byName(s.listVersions))
	s.Handle("POST "+fn+"/{name}/aliases", byName(s.createAlias))
	s.Handle("GET "+fn+"/{name}/aliases", byName(s.listAliases))
	s.Handle("GET "+fn+"/{name}/aliases/{alias}", byAlias(s.getAlias))
	s.Handle("PUT "+fn+"/{name}/aliases/{alias}", byAlias(s.updateAlias))
	s.Handle("DELETE "+fn+"/{name}/aliases/{alias}", byAlias(s.deleteAlias))
	s.Handle("POST "+fn+"/{name}/invocations", byRef(s.invoke))
	s.Handle("POST "+fn+"/{name}/policy", byRef(s.addPermission))
	s.Handle("GET "+fn+"/{name}/policy", byRef(s.getPolicy))
	s.Handle("DELETE "+fn+"/{name}/policy/{sid}", byRef(s.removePermission))

	s.Handle("PUT /2017-10-31/functions/{name}/concurrency", byName(s.putConcurrency))
	s.Handle("DELETE /2017-10-31/functions/{name}/concurrency", byName(s.deleteConcurrency))
	s.Handle("GET /2019-09-30/functions/{name}/concurrency", byName(s.getConcurrency))
	s.Handle("PUT /2019-09-30/functions/{name}/provisioned-concurrency", byProvisioned(s.putProvisioned))
	s.Handle("GET /2019-09-30/functions/{name}/provisioned-concurrency", s.getOrListProvisioned)
	s.Handle("DELETE /2019-09-30/functions/{name}/provisioned-concurrency", byProvisioned(s.deleteProvisioned))

	s.Handle("GET /2020-06-30/functions/{name}/code-signing-config", byName(s.getFunctionCodeSigningConfig))
	s.Handle("PUT /2020-06-30/functions/{name}/code-signing-config", byName(s.putFunctionCodeSigningConfig))
	s.Handle("DELETE /2020-06-30/functions/{name}/code-signing-config", byName(s.deleteFunctionCodeSigningConfig))
	s.Handle("GET /2021-07-20/functions/{name}/runtime-management-config", byRef(s.getRuntimeManagementConfig))
	s.Handle("GET /2017-03-31/tags/{arn}", byTagged(s.listTags))
	s.Handle("POST /2017-03-31/tags/{arn}", byTagged(s.tagResource))
	s.Handle("DELETE /2017-03-31/tags/{arn}", byTagged(s.untagResource))

	const eic = "/2019-09-25/functions/{name}/event-invoke-config"
	s.Handle("PUT "+eic, s.putEventInvokeConfig(false))
	s.Handle("POST "+eic, s.putEventInvokeConfig(true))
	s.Handle("GET "+eic, byRef(s.getEventInvokeConfig))
	s.Handle("DELETE "+eic, byRef(s.deleteEventInvokeConfig))
	s.Handle("GET "+eic+"/list", byName(s.listEventInvokeConfigs))

	s.Handle("GET /2016-08-19/account-settings", s.getAccountSettings)
	s.Handle("GET /2016-08-19/account-settings/{$}", s.getAccountSettings)
	for _, prefix := range lambdaPrefixes {
		s.Handle(prefix, s.unknownLambdaOperation)
	}

	s.Handle("GET /portico/v1/functions/{name}/logs", byName(s.functionLogs))
	s.Handle("GET /portico/v1/functions/{name}/code", byRef(s.functionCode))
}

// ---- request helpers ----

// invalid returns an InvalidParameterValueException.
func invalid(format string, args ...any) error {
	return errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException", fmt.Sprintf(format, args...))
}

// byRef adapts a handler of the function the {name} path value and ?Qualifier
// name.
func byRef(h func(w http.ResponseWriter, r *http.Request, ref functions.Ref) error) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		ref, err := pathRef(r)
		if err != nil {
			return err
		}
		return h(w, r, ref)
	}
}

// byName adapts a handler of the function named by the {name} path value, which
// must not carry a qualifier.
func byName(h func(w http.ResponseWriter, r *http.Request, name string) error) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		name, err := pathName(r)
		if err != nil {
			return err
		}
		return h(w, r, name)
	}
}

// byAlias adapts a handler of the alias the {name} and {alias} path values name.
func byAlias(h func(w http.ResponseWriter, r *http.Request, name, alias string) error) HandlerFunc {
	return byName(func(w http.ResponseWriter, r *http.Request, name string) error {
		alias, err := pathAlias(r)
		if err != nil {
			return err
		}
		return h(w, r, name, alias)
	})
}

// pathRef parses the {name} path value and merges ?Qualifier.
func pathRef(r *http.Request) (functions.Ref, error) {
	ref, err := functions.ParseLocalRef(r.PathValue("name"))
	if err != nil {
		return functions.Ref{}, err
	}
	return ref.WithQualifier(r.URL.Query().Get("Qualifier"))
}

// pathName parses the {name} path value of routes that take no qualifier.
func pathName(r *http.Request) (string, error) {
	ref, err := functions.ParseLocalRef(r.PathValue("name"))
	if err != nil {
		return "", err
	}
	if ref.Qualifier != "" {
		return "", invalid("function name %q must not carry a qualifier for this operation", r.PathValue("name"))
	}
	return ref.Name, nil
}

// pathAlias validates the {alias} path value.
func pathAlias(r *http.Request) (string, error) {
	a := r.PathValue("alias")
	if err := functions.CheckAliasName(a); err != nil {
		return "", err
	}
	return a, nil
}

// writePage answers a Lambda list: the page of items (in the order of their
// keys) that ?Marker and ?MaxItems select, each converted by conv, under name,
// with NextMarker when more follow. Markers are places in the order, not
// offsets (see cutPage), and bound to the list: of, what the list is of (the
// function whose versions or aliases it pages; "" for ListFunctions), is in
// the marker's scope with name, so another list's marker is refused. A page
// holds at most most items (0: as many as MaxItems asks), whatever MaxItems
// says: ListFunctions and ListVersionsByFunction answer at most 50 per
// response on Lambda, even for a higher MaxItems, and a client follows
// NextMarker for the rest. MaxItems may be 1..maxItems: 10000 for most lists,
// 50 for ListProvisionedConcurrencyConfigs and ListFunctionEventInvokeConfigs,
// as Lambda's API reference gives them.
func writePage[T, U any](w http.ResponseWriter, r *http.Request, name, of string, maxItems, most int, items []T, key func(T) sortKey, conv func(T) U) error {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			return functions.Violation("maxItems", v, fmt.Sprintf("be a whole number: have value greater than or equal to 1 and less than or equal to %d", maxItems))
		case n < 1 || n > maxItems:
			return functions.RangeViolation("maxItems", n, 1, maxItems)
		}
		limit = n
	}
	if most > 0 {
		limit = min(limit, most)
	}
	m := q.Get("Marker")
	page, next, ok := cutPage(items, key, name+"/"+of, m, limit)
	if !ok {
		return invalid("Marker %q is not one this API returned: pass the NextMarker of the previous page, or no Marker for the first", truncate(m, 100))
	}
	out := make([]U, 0, len(page))
	for _, it := range page {
		out = append(out, conv(it))
	}
	doc := map[string]any{name: out}
	if next != "" {
		doc["NextMarker"] = next
	}
	return writeJSON(w, http.StatusOK, doc)
}

// lambdaPageMost is the most items ListFunctions and ListVersionsByFunction
// answer in one response, as on Lambda.
const lambdaPageMost = 50

// MaxItems' largest value: 10000 on most of Lambda's lists, 50 on
// ListProvisionedConcurrencyConfigs and ListFunctionEventInvokeConfigs.
const (
	lambdaMaxItems      = 10000
	lambdaMaxItemsSmall = 50
)

// versionOrder is the sort key part of a function version: $LATEST first, then
// the published versions by number.
func versionOrder(v string) string {
	if v == functions.Latest || v == "" {
		return ""
	}
	return fmt.Sprintf("%020s", v)
}
