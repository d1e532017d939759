package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/portico-dev/portico/internal/shutdown"
)

// ResponseType is an API Gateway gateway response type: the kind of an error the
// pipeline answers, which owners may customise per API.
type ResponseType string

// Gateway response types, as API Gateway names them.
const (
	AccessDenied                 ResponseType = "ACCESS_DENIED"
	APIConfigurationError        ResponseType = "API_CONFIGURATION_ERROR"
	AuthorizerConfigurationError ResponseType = "AUTHORIZER_CONFIGURATION_ERROR"
	AuthorizerFailure            ResponseType = "AUTHORIZER_FAILURE"
	BadRequestParameters         ResponseType = "BAD_REQUEST_PARAMETERS"
	BadRequestBody               ResponseType = "BAD_REQUEST_BODY"
	Default4XX                   ResponseType = "DEFAULT_4XX"
	Default5XX                   ResponseType = "DEFAULT_5XX"
	ExpiredToken                 ResponseType = "EXPIRED_TOKEN"
	IntegrationFailure           ResponseType = "INTEGRATION_FAILURE"
	IntegrationTimeout           ResponseType = "INTEGRATION_TIMEOUT"
	InvalidAPIKey                ResponseType = "INVALID_API_KEY" //nolint:gosec // G101: a gateway response type's name, not a credential
	InvalidSignature             ResponseType = "INVALID_SIGNATURE"
	MissingAuthenticationToken   ResponseType = "MISSING_AUTHENTICATION_TOKEN"
	QuotaExceeded                ResponseType = "QUOTA_EXCEEDED"
	RequestTooLarge              ResponseType = "REQUEST_TOO_LARGE"
	ResourceNotFound             ResponseType = "RESOURCE_NOT_FOUND"
	Throttled                    ResponseType = "THROTTLED"
	Unauthorized                 ResponseType = "UNAUTHORIZED"
	UnsupportedMediaType         ResponseType = "UNSUPPORTED_MEDIA_TYPE"
	WAFFiltered                  ResponseType = "WAF_FILTERED"
)

// ResponseDefault is what a response type looks like before anyone customises
// it: its status, x-amzn-ErrorType and message. A nil-message type
// (authorizer failures) answers {"message": null}, as API Gateway does.
type ResponseDefault struct {
	Status    int
	ErrorType string
	Message   string
	NilMsg    bool
}

var defaults = map[ResponseType]ResponseDefault{
	AccessDenied:                 {http.StatusForbidden, "AccessDeniedException", "User is not authorized to access this resource", false},
	APIConfigurationError:        {http.StatusInternalServerError, "InternalServerErrorException", "Internal server error", false},
	AuthorizerConfigurationError: {http.StatusInternalServerError, "AuthorizerConfigurationException", "", true},
	AuthorizerFailure:            {http.StatusInternalServerError, "AuthorizerFailureException", "", true},
	BadRequestParameters:         {http.StatusBadRequest, "BadRequestException", "Bad Request", false},
	BadRequestBody:               {http.StatusBadRequest, "BadRequestException", "Invalid request body", false},
	Default4XX:                   {http.StatusBadRequest, "BadRequestException", "Bad Request", false},
	Default5XX:                   {http.StatusInternalServerError, "InternalServerErrorException", "Internal server error", false},
	ExpiredToken:                 {http.StatusForbidden, "ExpiredTokenException", "The security token included in the request is expired", false},
	IntegrationFailure:           {http.StatusGatewayTimeout, "InternalServerErrorException", "Internal server error", false},
	IntegrationTimeout:           {http.StatusGatewayTimeout, "IntegrationTimeoutException", "Endpoint request timed out", false},
	InvalidAPIKey:                {http.StatusForbidden, "ForbiddenException", "Forbidden", false},
	InvalidSignature:             {http.StatusForbidden, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided", false},
	MissingAuthenticationToken:   {http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token", false},
	QuotaExceeded:                {http.StatusTooManyRequests, "LimitExceededException", "Limit Exceeded", false},
	RequestTooLarge:              {http.StatusRequestEntityTooLarge, "RequestTooLargeException", "Request Too Long", false},
	ResourceNotFound:             {http.StatusNotFound, "NotFoundException", "Not Found", false},
	Throttled:                    {http.StatusTooManyRequests, "TooManyRequestsException", "Too Many Requests", false},
	Unauthorized:                 {http.StatusUnauthorized, "UnauthorizedException", "Unauthorized", false},
	UnsupportedMediaType:         {http.StatusUnsupportedMediaType, "UnsupportedMediaTypeException", "Unsupported Media Type", false},
	WAFFiltered:                  {http.StatusForbidden, "WAFFilteredException", "Forbidden", false},
}

// Default returns t's default response; unknown types are DEFAULT_5XX's.
func (t ResponseType) Default() ResponseDefault {
	if d, ok := defaults[t]; ok {
		return d
	}
	return defaults[Default5XX]
}

// Family returns the fallback response type t takes its settings from while
// it is on its defaults: DEFAULT_4XX for a type whose default status is 4xx,
// else DEFAULT_5XX (DEFAULT_4XX and DEFAULT_5XX are their own).
func (t ResponseType) Family() ResponseType {
	if t.Default().Status < 500 {
		return Default4XX
	}
	return Default5XX
}

// Valid reports whether t is one of API Gateway's response types.
func (t ResponseType) Valid() bool { _, ok := defaults[t]; return ok }

// ResponseTypes lists every response type.
func ResponseTypes() []ResponseType {
	out := make([]ResponseType, 0, len(defaults))
	for t := range defaults {
		out = append(out, t)
	}
	return out
}

// Error is an error a stage answers with: a response type, optionally a status
// and message other than the type's default (a 502 for a bad proxy result is
// DEFAULT_5XX with status 502; "Missing required request parameters: [q]" is
// BAD_REQUEST_PARAMETERS with its own message), extra response headers
// (www-authenticate), and the cause, which goes to the log and never to the
// client.
type Error struct {
	Type ResponseType
	// Status, when not 0, replaces the type's default status.
	Status int
	// Message, when set, replaces the type's default message.
	Message string
	// ErrorType, when set, replaces the type's default x-amzn-ErrorType (an
	// AWS_IAM route's IncompleteSignatureException and UnrecognizedClientException
	// share INVALID_SIGNATURE's and MISSING_AUTHENTICATION_TOKEN's responses; a
	// disabled default endpoint answers DEFAULT_4XX as 403 ForbiddenException).
	ErrorType string
	// MessageKey, when set, names the JSON key of the message ("Message" for
	// explicit denies) instead of "message".
	MessageKey string
	// Compact writes a 5xx body without the space after the colon that API
	// Gateway's REST answers have ({"message": "Internal server error"}): an
	// HTTP API's own answers are compact ({"message":"Internal Server Error"}).
	Compact bool
	// Header holds headers to add to the response.
	Header http.Header
	// Cause is the reason, for the log.
	Cause error
}

// Error implements error with the cause, for logs.
func (e *Error) Error() string {
	if e.Cause != nil {
		return string(e.Type) + ": " + e.Cause.Error()
	}
	return string(e.Type)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// Errorf returns an Error of type t whose cause is fmt.Errorf(format, args...).
func Errorf(t ResponseType, format string, args ...any) *Error {
	return &Error{Type: t, Cause: fmt.Errorf(format, args...)}
}

// Wrap returns an Error of type t with cause err.
func Wrap(t ResponseType, err error) *Error { return &Error{Type: t, Cause: err} }

// AsError finds the pipeline Error in err's chain.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// StatusClientClosedRequest is the status recorded (never sent) for a request
// whose client went away before it was answered, as nginx records it (499),
// beside Context.ClientGone: the flag marks such a request (metrics count it on
// its own, neither a 4xx nor a 5xx answer), since an API may answer 499 itself.
const StatusClientClosedRequest = 499

// ClientGone reports whether err came while r's client had gone away (its
// connection closed, or an HTTP/2 stream reset, cancelled r's context): whatever
// failed then failed because of it, and is not a server error. A request the
// server's own shutdown cut off (CutOff) is not one.
func ClientGone(r *http.Request, err error) bool {
	return err != nil && r != nil && errors.Is(r.Context().Err(), context.Canceled) && !shutdown.IsCutOff(r.Context())
}

// CutOff reports whether r was cut off by the end of the server's shutdown
// timeout (its context cancelled with shutdown.ErrCutOff): a server-side
// failure, answered (where anything can still be written) and recorded 503.
func CutOff(r *http.Request) bool { return r != nil && shutdown.IsCutOff(r.Context()) }
