package gateway

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/edge"
	"github.com/portico-dev/portico/gateway/pipeline"
	"github.com/portico-dev/portico/internal/errdefs"
)

// The gateway's own error kinds. Handlers return them wrapped with detail for the
// log; gatewayError turns them into the pipeline's gateway response types, and the
// responses stage is the one place where those become statuses and bodies.
var (
	errAPINotFound   = errors.New("no such api")
	errStageNotFound = errors.New("no such stage")
	errRouteNotFound = errors.New("no route matches")
	errTooLarge      = errors.New("request body over the limit")
	errBadRequest    = errors.New("bad request")
	// errTimeout is errdefs.ErrTimeout too: the connections package, which
	// answers WebSocket routes' errors, knows that kind.
	errTimeout     = fmt.Errorf("integration %w", errdefs.ErrTimeout)
	errBadResult   = errors.New("malformed proxy result")
	errFunction    = errors.New("function error")
	errIntegration = errors.New("integration failed")
	errConfig      = errors.New("integration configuration error")
	errForbidden   = errors.New("forbidden")
)

// notSentError marks an integration's error raised before anything was sent
// to its backend or function (a body over the function event's limit, one
// that could not be read, an integration request that cannot be built: a
// mapped header with a control character, a path parameter with a dot
// segment): the integration did not run, so that
// $context.integrationLatency is "-", as for any refusal before it.
type notSentError struct{ error }

func (e notSentError) Unwrap() error { return e.error }

// notSent reports whether err was raised before the integration sent anything.
func notSent(err error) bool {
	var ns notSentError
	return errors.As(err, &ns)
}

// gatewayError returns err as a pipeline error of the gateway response type that
// API Gateway answers it with; protocol picks between the REST and HTTP API forms
// where they differ. Errors that already are pipeline errors, and kinds the
// responses stage classifies itself (throttles, deadlines), pass unchanged.
func gatewayError(err error, protocol string) error {
	if _, ok := pipeline.AsError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, errRouteNotFound), errors.Is(err, errStageNotFound):
		if protocol == apis.ProtocolREST {
			return pipeline.Wrap(pipeline.MissingAuthenticationToken, err)
		}
		return pipeline.Wrap(pipeline.ResourceNotFound, err)
	case errors.Is(err, edge.ErrMisdirected):
		// A mutual TLS domain's Host over a connection made for another
		// name: RFC 9110's 421, which a client sharing a connection
		// between names retries on a new one.
		return &pipeline.Error{Type: pipeline.Default4XX, Status: http.StatusMisdirectedRequest, Message: "Misdirected Request", Cause: err}
	case errors.Is(err, errForbidden), errors.Is(err, errdefs.ErrForbidden):
		// A disabled default endpoint, a custom domain path no mapping covers:
		// API Gateway answers both 403 {"message":"Forbidden"} ForbiddenException.
		return &pipeline.Error{Type: pipeline.Default4XX, Status: http.StatusForbidden, Message: "Forbidden", ErrorType: "ForbiddenException", Cause: err}
	case errors.Is(err, errAPINotFound):
		return pipeline.Wrap(pipeline.ResourceNotFound, err)
	case errors.Is(err, errTooLarge):
		return pipeline.Wrap(pipeline.RequestTooLarge, err)
	case errors.Is(err, errBadRequest):
		return &pipeline.Error{Type: pipeline.Default4XX, Status: http.StatusBadRequest, Message: "Bad Request", Cause: err}
	case errors.Is(err, errTimeout):
		return pipeline.Wrap(pipeline.IntegrationTimeout, err)
	case errors.Is(err, errBadResult), errors.Is(err, errFunction):
		return &pipeline.Error{Type: pipeline.Default5XX, Status: http.StatusBadGateway, Cause: err}
	case errors.Is(err, errConfig), errors.Is(err, apis.ErrMissingStageVariable):
		return pipeline.Wrap(pipeline.APIConfigurationError, err)
	}
	return err
}
