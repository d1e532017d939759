package gateway

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
)

// Gateway error kinds. Handlers return them (wrapped with detail for the log);
// writeError is the one place where they become API Gateway's status codes and
// bodies.
var (
	errAPINotFound   = errors.New("no such api")
	errStageNotFound = errors.New("no such stage")
	errRouteNotFound = errors.New("no route matches")
	errTooLarge      = errors.New("request body over the limit")
	errBadRequest    = errors.New("bad request")
	errTimeout       = errors.New("integration timed out")
	errBadResult     = errors.New("malformed proxy result")
	errFunction      = errors.New("function error")
	errIntegration   = errors.New("integration failed")
	errConfig        = errors.New("integration configuration error")
)

// gwResponse is what one error kind looks like to the caller.
type gwResponse struct {
	status  int
	typ     string
	message string
}

// classify maps an error to the response API Gateway gives for it. protocol picks
// between the REST and HTTP API forms where they differ.
func classify(err error, protocol string) gwResponse {
	switch {
	case errors.Is(err, errRouteNotFound), errors.Is(err, errStageNotFound):
		if protocol == apis.ProtocolREST {
			return gwResponse{http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"}
		}
		return gwResponse{http.StatusNotFound, "NotFoundException", "Not Found"}
	case errors.Is(err, errAPINotFound):
		return gwResponse{http.StatusNotFound, "NotFoundException", "Not Found"}
	case errors.Is(err, errTooLarge), errors.Is(err, errdefs.ErrTooLarge):
		return gwResponse{http.StatusRequestEntityTooLarge, "RequestTooLargeException", "Request Too Long"}
	case errors.Is(err, errBadRequest):
		return gwResponse{http.StatusBadRequest, "BadRequestException", "Bad Request"}
	case errors.Is(err, errdefs.ErrThrottled):
		return gwResponse{http.StatusTooManyRequests, "TooManyRequestsException", "Too Many Requests"}
	case errors.Is(err, errTimeout), errors.Is(err, context.DeadlineExceeded):
		return gwResponse{http.StatusGatewayTimeout, "IntegrationTimeoutException", "Endpoint request timed out"}
	case errors.Is(err, errBadResult), errors.Is(err, errFunction):
		return gwResponse{http.StatusBadGateway, "InternalServerErrorException", "Internal server error"}
	default:
		// Configuration errors (a missing stage variable, an unknown function),
		// unreachable backends and anything unexpected.
		return gwResponse{http.StatusInternalServerError, "InternalServerErrorException", "Internal server error"}
	}
}

// writeError writes err as API Gateway does: {"message": ...} with
// x-amzn-ErrorType (x-amzn-RequestId is already set). Server-side failures are
// logged at error level with their cause for the operator.
func (g *Gateway) writeError(w http.ResponseWriter, r *http.Request, rc *reqCtx, err error) {
	resp := classify(err, rc.protocol)
	if resp.status >= 500 || errors.Is(err, apis.ErrMissingStageVariable) {
		g.log.Error("gateway request failed", "requestId", rc.requestID, "api", rc.apiID, "stage", rc.stageName,
			"method", r.Method, "path", r.URL.Path, "status", resp.status, "err", err)
	} else {
		g.log.Debug("gateway request refused", "requestId", rc.requestID, "status", resp.status, "err", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("x-amzn-ErrorType", resp.typ)
	body := `{"message":` + strconv.Quote(resp.message) + "}"
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.status)
	_, _ = w.Write([]byte(body))
}
