package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/portico-dev/portico/cmd/portico/client"
	"github.com/portico-dev/portico/functions"
	"github.com/portico-dev/portico/gateway/apis"
)

// sampleTag marks the APIs that `portico dev` made for the samples; its value
// is the sample API's name (hello, chat, chat-page). API names are not unique
// in API Gateway, and a user may well make an API called hello by hand: dev
// finds its own APIs by this tag, and never changes one without it.
const sampleTag = "portico:sample"

// findSampleAPI returns the id of the API that dev made for sample API name
// (tag sampleTag=name), "" when there is none yet, and the ids of the other
// APIs called name, which are someone else's.
func findSampleAPI(ctx context.Context, c *client.Client, name string) (id string, others []string, err error) {
	resp, err := c.Do(ctx, http.MethodGet, apisPath, nil, nil, nil)
	if err != nil {
		return "", nil, err
	}
	var list struct {
		Items []struct{ ID, Name string } `json:"items"`
	}
	if err := json.Unmarshal(resp.Body, &list); err != nil {
		return "", nil, err
	}
	for _, a := range list.Items {
		if a.Name != name {
			continue
		}
		resp, err := c.Do(ctx, http.MethodGet, apisPath+"/"+url.PathEscape(a.ID), nil, nil, nil)
		if client.IsNotFound(err) {
			continue // deleted since the listing
		}
		if err != nil {
			return "", nil, err
		}
		var full struct {
			Tags map[string]string `json:"tags"`
		}
		if err := json.Unmarshal(resp.Body, &full); err != nil {
			return "", nil, err
		}
		if full.Tags[sampleTag] == name && id == "" {
			id = a.ID
		} else {
			others = append(others, a.ID)
		}
	}
	return id, others, nil
}

// tagSampleAPI tags API id, of protocol, as dev's API for sample API name,
// through API Gateway's TagResource (the v1 control plane for REST APIs, v2
// for HTTP and WebSocket APIs).
func tagSampleAPI(ctx context.Context, c *client.Client, id, protocol, name string) error {
	body := map[string]any{"tags": map[string]string{sampleTag: name}}
	var err error
	if protocol == apis.ProtocolREST {
		_, err = c.Do(ctx, http.MethodPut, "/tags/arn:aws:apigateway:"+functions.Region+"::/restapis/"+url.PathEscape(id), nil, body, nil)
	} else {
		_, err = c.Do(ctx, http.MethodPost, "/v2/tags/arn:aws:apigateway:"+functions.Region+"::/apis/"+url.PathEscape(id), nil, body, nil)
	}
	if err != nil {
		return fmt.Errorf("tagging api %s %s=%s: %w", id, sampleTag, name, err)
	}
	return nil
}

// noteOthers says, once per dev run, that the APIs others of sample API name
// are someone else's and dev left them alone.
func (e *devEnv) noteOthers(name string, others []string) {
	if len(others) == 0 || e.warned[name] {
		return
	}
	if e.warned == nil {
		e.warned = map[string]bool{}
	}
	e.warned[name] = true
	_, _ = fmt.Fprintf(e.out, "api %s %s: not portico dev's (no %s tag), left alone; the sample has an api %s of its own\n",
		name, strings.Join(others, ", "), sampleTag, name)
}
