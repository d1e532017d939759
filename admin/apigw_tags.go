package admin

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
)

// This file holds the tag routes of both API Gateway control planes:
// get-tags, tag-resource and untag-resource at /tags/{arn} (v1: REST APIs and
// their stages) and /v2/tags/{arn} (v2: HTTP and WebSocket APIs and their
// stages, API keys and usage plans) and /v2/tags/{arn} (v2: HTTP and WebSocket
// APIs and their stages). Resource ARNs are
// arn:aws:apigateway:REGION::/restapis/ID[/stages/NAME],
// arn:aws:apigateway:REGION::/apikeys/ID, arn:aws:apigateway:REGION::/usageplans/ID
// and arn:aws:apigateway:REGION::/apis/ID[/stages/NAME].

func (s *Server) registerTagRoutes() {
	s.HandleAPIGateway("GET /tags/{arn...}", s.apigwGetTags(false))
	s.HandleAPIGateway("PUT /tags/{arn...}", s.apigwTagResource(false))
	s.HandleAPIGateway("DELETE /tags/{arn...}", s.apigwUntagResource(false))
	s.HandleAPIGateway("GET /v2/tags/{arn...}", s.apigwGetTags(true))
	s.HandleAPIGateway("POST /v2/tags/{arn...}", s.apigwTagResource(true))
	s.HandleAPIGateway("DELETE /v2/tags/{arn...}", s.apigwUntagResource(true))
}

// taggable is the API, and optionally the stage, that a resource ARN names,
// or the API key or usage plan (v1).
type taggable struct {
	apiID, stage  string
	keyID, planID string
}

// parseTagARN reads a resource ARN of the control plane's version (v2: /apis,
// v1: /restapis).
func parseTagARN(arn string, v2 bool) (taggable, error) {
	_, res, ok := strings.Cut(arn, "::/")
	if !strings.HasPrefix(arn, "arn:aws:apigateway:") || !ok {
		return taggable{}, badRequest("Invalid resource ARN '%s': use arn:aws:apigateway:REGION::/restapis/ID or arn:aws:apigateway:REGION::/apis/ID (with /stages/NAME for a stage)", truncate(arn, 200))
	}
	kind := "restapis"
	if v2 {
		kind = "apis"
	}
	segs := strings.Split(res, "/")
	switch {
	case len(segs) == 2 && segs[0] == kind:
		return taggable{apiID: segs[1]}, nil
	case len(segs) == 4 && segs[0] == kind && segs[2] == "stages":
		return taggable{apiID: segs[1], stage: segs[3]}, nil
	case !v2 && len(segs) == 2 && segs[0] == "apikeys" && segs[1] != "":
		return taggable{keyID: segs[1]}, nil
	case !v2 && len(segs) == 2 && segs[0] == "usageplans" && segs[1] != "":
		return taggable{planID: segs[1]}, nil
	}
	if !v2 {
		return taggable{}, badRequest("Tags on '%s' are not supported here: tag restapis/ID, restapis/ID/stages/NAME, apikeys/ID or usageplans/ID", truncate(res, 200))
	}
	return taggable{}, badRequest("Tags on '%s' are not supported here: tag %s/ID or %s/ID/stages/NAME", truncate(res, 200), kind, kind)
}

// tagTarget checks that the ARN names an API of this control plane's
// protocols (and the stage exists) and returns it.
func (s *Server) tagTarget(ctx context.Context, r *http.Request, v2 bool) (taggable, error) {
	t, err := parseTagARN(r.PathValue("arn"), v2)
	if err != nil {
		return t, err
	}
	if t.keyID != "" || t.planID != "" {
		if s.usage == nil {
			return t, badRequest("API keys and usage plans are not served here")
		}
		if t.keyID != "" {
			_, err = s.usage.GetKey(ctx, t.keyID)
		} else {
			_, err = s.usage.GetPlan(ctx, t.planID)
		}
		return t, err
	}
	a, err := s.gw.APIs.Get(ctx, t.apiID)
	if err != nil {
		return t, restAPIErr(t.apiID, err)
	}
	if (a.Protocol == apis.ProtocolREST) == v2 {
		return t, apiNotFound(t.apiID)
	}
	if t.stage != "" {
		if _, err := s.gw.APIs.GetStage(ctx, t.apiID, t.stage); err != nil {
			var k *errdefs.Kinded
			if v2 && errors.Is(err, errdefs.ErrNotFound) && !errors.As(err, &k) {
				// The API was just found: the stage is what is missing,
				// as get-stage says (stageErr checks REST APIs only).
				return t, v2NotFound("Stage", t.stage)
			}
			return t, s.stageErr(ctx, t.apiID, err, stageNotFound())
		}
	}
	return t, nil
}

// tags reads the target's tags.
func (s *Server) tags(ctx context.Context, t taggable) (map[string]string, error) {
	var tags map[string]string
	switch {
	case t.keyID != "":
		k, err := s.usage.GetKey(ctx, t.keyID)
		if err != nil {
			return nil, err
		}
		tags = k.Tags
	case t.planID != "":
		p, err := s.usage.GetPlan(ctx, t.planID)
		if err != nil {
			return nil, err
		}
		tags = p.Tags
	case t.stage != "":
		st, err := s.gw.APIs.GetStage(ctx, t.apiID, t.stage)
		if err != nil {
			return nil, err
		}
		tags = st.Tags
	default:
		a, err := s.gw.APIs.Get(ctx, t.apiID)
		if err != nil {
			return nil, err
		}
		tags = a.Tags
	}
	if tags == nil {
		tags = map[string]string{}
	}
	return tags, nil
}

// retag changes the target's tags in one transaction.
func (s *Server) retag(ctx context.Context, t taggable, set map[string]string, unset []string) error {
	var err error
	switch {
	case t.keyID != "":
		_, err = s.usage.TagKey(ctx, t.keyID, set, unset)
	case t.planID != "":
		_, err = s.usage.TagPlan(ctx, t.planID, set, unset)
	case t.stage != "":
		_, err = s.gw.APIs.TagStage(ctx, t.apiID, t.stage, set, unset)
	default:
		_, err = s.gw.APIs.TagAPI(ctx, t.apiID, set, unset)
	}
	return err
}

func (s *Server) apigwGetTags(v2 bool) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		t, err := s.tagTarget(r.Context(), r, v2)
		if err != nil {
			return err
		}
		tags, err := s.tags(r.Context(), t)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]any{"tags": tags})
	}
}

// tagRequest is TagResource's body.
type tagRequest struct {
	Tags map[string]string `json:"tags"`
}

func (s *Server) apigwTagResource(v2 bool) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in tagRequest
		if err := decodeJSON(w, r, apigwBody, &in); err != nil {
			return err
		}
		t, err := s.tagTarget(r.Context(), r, v2)
		if err != nil {
			return err
		}
		if err := s.retag(r.Context(), t, in.Tags, nil); err != nil {
			return err
		}
		if v2 {
			return writeJSON(w, http.StatusCreated, struct{}{})
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (s *Server) apigwUntagResource(v2 bool) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		keys := r.URL.Query()["tagKeys"]
		if len(keys) == 0 {
			return badRequest("tagKeys is required")
		}
		t, err := s.tagTarget(r.Context(), r, v2)
		if err != nil {
			return err
		}
		if err := s.retag(r.Context(), t, nil, keys); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}
