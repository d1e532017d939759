package admin

import (
	"net/http"
	"slices"

	"github.com/portico-dev/portico/gateway/apis"
)

// This file holds API Gateway's (v1) resources: the path tree of a REST API
// (get-resources, get-resource, create-resource, update-resource,
// delete-resource). The tree is apis.API.ResourceTree: the paths of the
// methods, their prefixes and the resources created without methods.

func (s *Server) registerResourceRoutes() {
	const p = "/restapis/{api}/resources"
	s.HandleAPIGateway("GET "+p, s.apigwGetResources)
	s.HandleAPIGateway("GET "+p+"/{res}", s.apigwGetResource)
	s.HandleAPIGateway("POST "+p+"/{res}", s.apigwCreateResource)
	s.HandleAPIGateway("PATCH "+p+"/{res}", s.apigwUpdateResource)
	s.HandleAPIGateway("DELETE "+p+"/{res}", s.apigwDeleteResource)
}

// resourceJSON is API Gateway's Resource.
type resourceJSON struct {
	ID              string         `json:"id"`
	ParentID        string         `json:"parentId,omitempty"`
	PathPart        string         `json:"pathPart,omitempty"`
	Path            string         `json:"path"`
	ResourceMethods map[string]any `json:"resourceMethods,omitempty"`
}

// toResourceJSON shows a resource with its methods: in full with embed,
// else by name only, as API Gateway does.
func toResourceJSON(a *apis.API, n *apis.ResourceNode, embed bool) resourceJSON {
	out := resourceJSON{ID: n.ID, ParentID: n.ParentID, PathPart: n.PathPart, Path: n.Path}
	for i := range a.Routes {
		rt := &a.Routes[i]
		if rt.Path != n.Path {
			continue
		}
		if out.ResourceMethods == nil {
			out.ResourceMethods = map[string]any{}
		}
		if embed {
			out.ResourceMethods[rt.Method] = toMethodJSON(a, n, rt)
		} else {
			out.ResourceMethods[rt.Method] = struct{}{}
		}
	}
	return out
}

func embedsMethods(r *http.Request) bool {
	return slices.Contains(r.URL.Query()["embed"], "methods")
}

func (s *Server) apigwGetResources(w http.ResponseWriter, r *http.Request) error {
	a, err := s.restAPI(r.Context(), r.PathValue("api"))
	if err != nil {
		return err
	}
	tree := a.ResourceTree()
	page, next, err := pageByKey(r, tree, func(n apis.ResourceNode) sortKey { return sortKey{n.Path} })
	if err != nil {
		return err
	}
	embed := embedsMethods(r)
	out := collection[resourceJSON]{Item: make([]resourceJSON, 0, len(page)), Position: next}
	for i := range page {
		out.Item = append(out.Item, toResourceJSON(a, &page[i], embed))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) apigwGetResource(w http.ResponseWriter, r *http.Request) error {
	a, err := s.restAPI(r.Context(), r.PathValue("api"))
	if err != nil {
		return err
	}
	n := a.Resource(r.PathValue("res"))
	if n == nil {
		return errResourceNotFound
	}
	return writeJSON(w, http.StatusOK, toResourceJSON(a, n, embedsMethods(r)))
}

// createResourceRequest is CreateResource's body.
type createResourceRequest struct {
	PathPart string `json:"pathPart"`
}

func (s *Server) apigwCreateResource(w http.ResponseWriter, r *http.Request) error {
	var in createResourceRequest
	if err := decodeJSON(w, r, apigwBody, &in); err != nil {
		return err
	}
	var n *apis.ResourceNode
	a, err := s.modifyRestAPI(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		var err error
		n, err = a.AddResource(r.PathValue("res"), in.PathPart)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toResourceJSON(a, n, false))
}

func (s *Server) apigwUpdateResource(w http.ResponseWriter, r *http.Request) error {
	ops, err := decodePatch(w, r)
	if err != nil {
		return err
	}
	var parentID, part string
	for _, op := range ops {
		segs := op.Segments()
		if op.Op != "replace" || len(segs) != 1 || (segs[0] != "pathPart" && segs[0] != "parentId") {
			return BadPatchPath(op)
		}
		v, err := op.StringValue()
		if err != nil {
			return err
		}
		if segs[0] == "pathPart" {
			part = v
		} else {
			parentID = v
		}
	}
	var n *apis.ResourceNode
	a, err := s.modifyRestAPI(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		var err error
		n, err = a.MoveResource(r.PathValue("res"), parentID, part)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toResourceJSON(a, n, false))
}

func (s *Server) apigwDeleteResource(w http.ResponseWriter, r *http.Request) error {
	_, err := s.modifyRestAPI(r.Context(), r.PathValue("api"), func(a *apis.API) error {
		return a.DeleteResource(r.PathValue("res"))
	})
	return accepted(w, err)
}
