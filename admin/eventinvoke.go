package admin

import (
	"net/http"

	"github.com/portico-dev/portico/functions"
)

// destination is one end of Lambda's DestinationConfig.
type destination struct {
	Destination *string `json:"Destination,omitempty"`
}

// destinationConfig is Lambda's DestinationConfig. Portico has no queue, topic,
// bus or second function to send an event's outcome to, so it refuses any
// destination and answers the empty object Lambda shows for none.
type destinationConfig struct {
	OnSuccess *destination `json:"OnSuccess,omitempty"`
	OnFailure *destination `json:"OnFailure,omitempty"`
}

func (d *destinationConfig) empty() bool {
	set := func(x *destination) bool { return x != nil && x.Destination != nil && *x.Destination != "" }
	return d == nil || (!set(d.OnSuccess) && !set(d.OnFailure))
}

// eventInvokeRequest is the body of Put- and UpdateFunctionEventInvokeConfig.
type eventInvokeRequest struct {
	MaximumRetryAttempts     *int               `json:"MaximumRetryAttempts"`
	MaximumEventAgeInSeconds *int               `json:"MaximumEventAgeInSeconds"`
	DestinationConfig        *destinationConfig `json:"DestinationConfig"`
}

// eventInvokeResponse is Lambda's FunctionEventInvokeConfig. LastModified is
// a timestamp in epoch seconds, as Lambda sends it for this shape.
type eventInvokeResponse struct {
	FunctionArn              string            `json:"FunctionArn"`
	LastModified             float64           `json:"LastModified"`
	MaximumRetryAttempts     *int              `json:"MaximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int              `json:"MaximumEventAgeInSeconds,omitempty"`
	DestinationConfig        destinationConfig `json:"DestinationConfig"`
}

func eventInvokeDoc(c *functions.EventInvokeConfig) eventInvokeResponse {
	return eventInvokeResponse{
		FunctionArn:              functions.ARN(c.FunctionName, c.Qualifier),
		LastModified:             float64(c.LastModified.UnixMilli()) / 1000,
		MaximumRetryAttempts:     c.MaximumRetryAttempts,
		MaximumEventAgeInSeconds: c.MaximumEventAgeInSeconds,
		DestinationConfig:        destinationConfig{OnSuccess: &destination{}, OnFailure: &destination{}},
	}
}

// putEventInvokeConfig serves PutFunctionEventInvokeConfig (replace: a field
// left out goes back to its default) and, with merge, UpdateFunctionEventInvokeConfig
// (a field left out keeps its value).
func (s *Server) putEventInvokeConfig(merge bool) HandlerFunc {
	return byRef(func(w http.ResponseWriter, r *http.Request, ref functions.Ref) error {
		var req eventInvokeRequest
		if err := decodeJSON(w, r, lambdaConfig, &req); err != nil {
			return err
		}
		if !req.DestinationConfig.empty() {
			return invalid("%s", functions.NoDestinations)
		}
		if _, err := s.resolveConfig(r, ref); err != nil {
			return err
		}
		c, err := s.fns.PutEventInvokeConfig(r.Context(), ref.Name, ref.Qualifier, functions.EventInvokeInput{
			MaximumRetryAttempts: req.MaximumRetryAttempts, MaximumEventAgeInSeconds: req.MaximumEventAgeInSeconds}, merge)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, eventInvokeDoc(c))
	})
}

// getEventInvokeConfig serves GetFunctionEventInvokeConfig.
// A version or alias that does not exist is "Function not found", naming
// those there are, before "doesn't have an EventInvokeConfig" (whose advice,
// PutFunctionEventInvokeConfig, would fail for it).
func (s *Server) getEventInvokeConfig(w http.ResponseWriter, r *http.Request, ref functions.Ref) error {
	if _, err := s.resolveConfig(r, ref); err != nil {
		return err
	}
	c, err := s.fns.GetEventInvokeConfig(r.Context(), ref.Name, ref.Qualifier)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, eventInvokeDoc(c))
}

// deleteEventInvokeConfig serves DeleteFunctionEventInvokeConfig.
func (s *Server) deleteEventInvokeConfig(w http.ResponseWriter, r *http.Request, ref functions.Ref) error {
	if _, err := s.resolveConfig(r, ref); err != nil {
		return err
	}
	return noContent(w, s.fns.DeleteEventInvokeConfig(r.Context(), ref.Name, ref.Qualifier))
}

// listEventInvokeConfigs serves ListFunctionEventInvokeConfigs: the
// function's configurations, $LATEST first, then versions by number, then
// aliases, paged by Marker and MaxItems.
func (s *Server) listEventInvokeConfigs(w http.ResponseWriter, r *http.Request, name string) error {
	all, err := s.fns.ListEventInvokeConfigs(r.Context(), name)
	if err != nil {
		return err
	}
	return writePage(w, r, "FunctionEventInvokeConfigs", name, lambdaMaxItemsSmall, 0, all,
		func(c functions.EventInvokeConfig) sortKey {
			if (functions.Ref{Qualifier: c.Qualifier}).IsVersion() {
				return sortKey{"0", versionOrder(c.Qualifier)}
			}
			return sortKey{"1", c.Qualifier}
		},
		func(c functions.EventInvokeConfig) eventInvokeResponse { return eventInvokeDoc(&c) })
}
