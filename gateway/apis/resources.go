package apis

import (
	"crypto/sha256"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/portico-dev/portico/internal/errdefs"
)

// Resource is a node of a REST API's resource tree that its routes do not
// imply on their own: a path with no methods yet (create-resource), or a path
// whose id was kept when it moved (update-resource). Every other node of the
// tree (the root, each route's path and its prefixes) exists because a route
// needs it, with the id ResourceID derives from its path.
type Resource struct {
	// Path is the resource's full path ("/pets/{id}").
	Path string `json:"path"`
	// ID, when set, is the resource's id; empty means ResourceID(apiID, Path).
	ID string `json:"id,omitempty"`
}

// ResourceNode is one resource of a REST API's tree, as API Gateway shows it.
type ResourceNode struct {
	ID       string
	ParentID string // empty for the root
	PathPart string // empty for the root
	Path     string
}

// ResourceID derives the id of the resource at path in API apiID: 6 lowercase
// alphanumerics, the same across deployments, restarts and put-rest-api, and
// the gateway's $context.resourceId.
func ResourceID(apiID, path string) string {
	sum := sha256.Sum256([]byte(apiID + path))
	b := make([]byte, 6)
	for i := range b {
		b[i] = idAlphabet[int(sum[i])%len(idAlphabet)]
	}
	return string(b)
}

// ResourceIDOf returns the id of the resource at path: the id it kept when it
// moved, else ResourceID's. It reads only the kept ids, so it is cheap enough
// for every request ($context.resourceId).
func (a *API) ResourceIDOf(path string) string {
	for _, r := range a.Resources {
		if r.Path == path && r.ID != "" {
			return r.ID
		}
	}
	return ResourceID(a.ID, path)
}

// ResourceTree returns the API's resources, sorted by path, the root first.
// Only REST and HTTP APIs have one; the $default route has no resource.
func (a *API) ResourceTree() []ResourceNode {
	explicit := map[string]string{}
	paths := map[string]bool{"/": true}
	addPrefixes := func(p string) {
		for p != "/" && p != "" {
			paths[p] = true
			p = parentPath(p)
		}
	}
	for _, r := range a.Resources {
		addPrefixes(r.Path)
		if r.ID != "" {
			explicit[r.Path] = r.ID
		}
	}
	for i := range a.Routes {
		if p := a.Routes[i].Path; strings.HasPrefix(p, "/") {
			addPrefixes(p)
		}
	}
	sorted := make([]string, 0, len(paths))
	for p := range paths {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted)
	ids := make(map[string]string, len(sorted))
	id := func(p string) string {
		if v, ok := explicit[p]; ok {
			return v
		}
		return ResourceID(a.ID, p)
	}
	out := make([]ResourceNode, 0, len(sorted))
	for _, p := range sorted {
		ids[p] = id(p)
		n := ResourceNode{ID: ids[p], Path: p}
		if p != "/" {
			n.ParentID = id(parentPath(p))
			n.PathPart = p[strings.LastIndexByte(p, '/')+1:]
		}
		out = append(out, n)
	}
	return out
}

// parentPath returns the path of p's parent ("/" for a top-level path).
func parentPath(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// childPath joins a parent path and a path part.
func childPath(parent, part string) string {
	if parent == "/" {
		return "/" + part
	}
	return parent + "/" + part
}

// under reports whether p is base or below it.
func under(p, base string) bool {
	return p == base || base == "/" || strings.HasPrefix(p, base+"/")
}

// Resource returns the resource with the given id, or nil.
func (a *API) Resource(id string) *ResourceNode {
	for _, n := range a.ResourceTree() {
		if n.ID == id {
			return &n
		}
	}
	return nil
}

// resourceNotFound is the error of an unknown resource id, in API Gateway's
// words.
func resourceNotFound() error {
	return errdefs.New(errdefs.ErrNotFound, "NotFoundException", "Invalid Resource identifier specified")
}

// restPartRe is the characters API Gateway allows in a literal resource path
// part (create-resource's pathPart).
var restPartRe = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

// CheckRESTPath refuses, in the path of a REST API route being imported, a
// literal part outside restPartRe, as create-resource's checkPathPart does
// (ParseTemplate, which reads stored paths too, allows more: a stored one
// keeps loading). A {parameter} part is ParseTemplate's to check.
func CheckRESTPath(path string) error {
	for p := range strings.SplitSeq(strings.TrimPrefix(path, "/"), "/") {
		if p == "" || strings.HasPrefix(p, "{") || restPartRe.MatchString(p) {
			continue
		}
		return fmt.Errorf("path %q: a REST API's resource path part may hold only a-zA-Z0-9._- (or be a whole {parameter}); %q is not one: rename it, or take it as a {parameter}: %w",
			truncate(path, 200), truncate(p, 50), errdefs.ErrInvalid)
	}
	return nil
}

func badRequest(format string, args ...any) error {
	return errdefs.New(errdefs.ErrInvalid, "BadRequestException", fmt.Sprintf(format, args...))
}

// checkPathPart checks one path part of a new resource under parent, with API
// Gateway's messages: a valid segment, not under a greedy parameter, no
// existing sibling of that name, and at most one variable path part ({id} or
// {proxy+}) among siblings.
func (a *API) checkPathPart(tree []ResourceNode, parent *ResourceNode, part, self string) error {
	segs, err := ParseTemplate("/" + part)
	if err == nil && (part == "." || part == "..") {
		return badRequest("Resource's path part cannot be %q: clients remove dot segments before they send a request, so the resource could never be reached", part)
	}
	// API Gateway's set for a literal part is narrower than a path's
	// (ParseTemplate, which reads stored paths too: a stored part outside
	// it still loads and is served); only new and renamed parts are held
	// to it.
	literalBad := err == nil && len(segs) == 1 && segs[0].Kind == SegLiteral && !restPartRe.MatchString(part)
	if n := findNode(tree, self); self != "" && n != nil && n.PathPart == part {
		literalBad = false // a stored part kept as it is (a move)
	}
	if err != nil || len(segs) != 1 || literalBad || CheckNewPath("/"+part) != nil {
		return badRequest("Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace; %q is not one", truncate(part, 100))
	}
	if strings.HasSuffix(parent.PathPart, "+}") {
		return badRequest("Cannot create a child of a resource with a greedy path variable: %s", parent.Path)
	}
	// As Validate's clash check (and so an OpenAPI import): one variable
	// path part at most among siblings, greedy or not.
	kind := segs[0].Kind
	for _, n := range tree {
		if n.ParentID != parent.ID || n.ID == self {
			continue
		}
		if n.PathPart == part {
			return errdefs.New(errdefs.ErrConflict, "ConflictException", fmt.Sprintf("Another resource with the same parent already has this name: %s", part))
		}
		sib, _ := ParseTemplate("/" + n.PathPart)
		if kind != SegLiteral && len(sib) == 1 && sib[0].Kind != SegLiteral {
			return badRequest("A sibling (%s) of this resource already has a variable path part -- only one is allowed", n.PathPart)
		}
	}
	return nil
}

// AddResource adds a resource named part under the resource parentID and
// returns it. Call it inside Service.Modify.
func (a *API) AddResource(parentID, part string) (*ResourceNode, error) {
	if a.Protocol != ProtocolREST {
		return nil, badRequest("Resources are for REST APIs; api %s is %s", a.ID, a.Protocol)
	}
	tree := a.ResourceTree()
	parent := findNode(tree, parentID)
	if parent == nil {
		return nil, resourceNotFound()
	}
	if err := a.checkPathPart(tree, parent, part, ""); err != nil {
		return nil, err
	}
	p := childPath(parent.Path, part)
	res := Resource{Path: p}
	if taken(tree, ResourceID(a.ID, p)) {
		// The derived id belongs to a resource that moved away from p: give
		// this one an id of its own.
		for i := 1; ; i++ {
			if id := ResourceID(a.ID, fmt.Sprintf("%s#%d", p, i)); !taken(tree, id) {
				res.ID = id
				break
			}
		}
	}
	a.Resources = append(a.Resources, res)
	return &ResourceNode{ID: a.idOf(res), ParentID: parent.ID, PathPart: part, Path: p}, nil
}

func (a *API) idOf(r Resource) string {
	if r.ID != "" {
		return r.ID
	}
	return ResourceID(a.ID, r.Path)
}

func findNode(tree []ResourceNode, id string) *ResourceNode {
	for i := range tree {
		if tree[i].ID == id {
			return &tree[i]
		}
	}
	return nil
}

func taken(tree []ResourceNode, id string) bool { return findNode(tree, id) != nil }

// MoveResource renames the resource id to part and, when parentID is set, moves
// it under that parent, with its subtree and methods; every resource keeps its
// id. Call it inside Service.Modify.
func (a *API) MoveResource(id, parentID, part string) (*ResourceNode, error) {
	tree := a.ResourceTree()
	n := findNode(tree, id)
	if n == nil {
		return nil, resourceNotFound()
	}
	if n.Path == "/" {
		return nil, badRequest("The root resource cannot be moved or renamed")
	}
	if parentID == "" {
		parentID = n.ParentID
	}
	if part == "" {
		part = n.PathPart
	}
	parent := findNode(tree, parentID)
	if parent == nil {
		return nil, resourceNotFound()
	}
	if under(parent.Path, n.Path) {
		return nil, badRequest("Resource %s cannot be moved under itself (%s)", n.ID, parent.Path)
	}
	if err := a.checkPathPart(tree, parent, part, n.ID); err != nil {
		return nil, err
	}
	from, to := n.Path, childPath(parent.Path, part)
	if from == to {
		return n, nil
	}
	move := func(p string) string { return to + p[len(from):] }
	var res []Resource
	for _, r := range a.Resources {
		if !under(r.Path, from) {
			res = append(res, r)
		}
	}
	for _, t := range tree {
		if under(t.Path, from) {
			res = append(res, Resource{Path: move(t.Path), ID: t.ID})
		}
	}
	a.Resources = res
	for i := range a.Routes {
		if r := &a.Routes[i]; strings.HasPrefix(r.Path, "/") && under(r.Path, from) {
			r.Path = move(r.Path)
		}
	}
	return &ResourceNode{ID: n.ID, ParentID: parent.ID, PathPart: part, Path: to}, nil
}

// DeleteResource deletes the resource id with its subtree and their methods.
// Call it inside Service.Modify.
func (a *API) DeleteResource(id string) error {
	n := findNode(a.ResourceTree(), id)
	if n == nil {
		return resourceNotFound()
	}
	if n.Path == "/" {
		return badRequest("Cannot delete the root resource")
	}
	var res []Resource
	for _, r := range a.Resources {
		if !under(r.Path, n.Path) {
			res = append(res, r)
		}
	}
	a.Resources = res
	var routes []Route
	for _, r := range a.Routes {
		if !strings.HasPrefix(r.Path, "/") || !under(r.Path, n.Path) {
			routes = append(routes, r)
		}
	}
	a.Routes = routes
	return nil
}

// normalizeResources drops the entries the routes already imply with the same
// id and sorts the rest, so that a tree built resource by resource and the
// same tree imported from OpenAPI are equal values.
func (a *API) normalizeResources() {
	if len(a.Resources) == 0 {
		a.Resources = nil
		return
	}
	implied := map[string]bool{"/": true}
	for i := range a.Routes {
		for p := a.Routes[i].Path; strings.HasPrefix(p, "/") && p != "/"; p = parentPath(p) {
			implied[p] = true
		}
	}
	seen := map[string]bool{}
	out := a.Resources[:0]
	for _, r := range a.Resources {
		if r.ID == ResourceID(a.ID, r.Path) {
			r.ID = ""
		}
		if seen[r.Path] || (implied[r.Path] && r.ID == "") {
			continue
		}
		seen[r.Path] = true
		out = append(out, r)
	}
	// A bare resource whose descendants are listed too is implied by them.
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	kept := out[:0]
	for i, r := range out {
		if r.ID == "" && i+1 < len(out) && strings.HasPrefix(out[i+1].Path, r.Path+"/") {
			continue
		}
		kept = append(kept, r)
	}
	a.Resources = kept
	if len(a.Resources) == 0 {
		a.Resources = nil
	}
}

// validateResources checks the resource entries: REST APIs only, valid paths,
// unique ids.
func (a *API) validateResources(tree *clashTree) []error {
	if len(a.Resources) == 0 {
		return nil
	}
	var errs []error
	if a.Protocol != ProtocolREST {
		return []error{invalid("resources are for REST APIs")}
	}
	for _, r := range a.Resources {
		segs, err := ParseTemplate(r.Path)
		if err != nil {
			errs = append(errs, fmt.Errorf("resource: %w", err))
			continue
		}
		if err := tree.add(r.Path, segs); err != nil {
			errs = append(errs, err)
		}
	}
	seen := map[string]string{}
	for _, n := range a.ResourceTree() {
		if p, ok := seen[n.ID]; ok {
			errs = append(errs, invalid("resources %s and %s have the same id %s", p, n.Path, n.ID))
		}
		seen[n.ID] = n.Path
	}
	return errs
}
