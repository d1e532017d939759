package openapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
)

// modelsDoc is an OpenAPI 3 document (Swagger 2.0 with swagger2) with n
// models, each depth objects deep, and one operation using the first.
func modelsDoc(t *testing.T, n, depth int, swagger2 bool) []byte {
	t.Helper()
	schemas := map[string]any{}
	for i := range n {
		var s any = map[string]any{"type": "string"}
		for d := range depth {
			s = map[string]any{"type": "object", "properties": map[string]any{fmt.Sprintf("p%d", d): s}}
		}
		schemas[fmt.Sprintf("M%d", i)] = s
	}
	doc := map[string]any{"openapi": "3.0.1", "info": map[string]any{"title": "many", "version": "1"},
		"paths": map[string]any{"/a": map[string]any{"get": map[string]any{
			"x-amazon-apigateway-integration": map[string]any{"type": "mock", "requestTemplates": map[string]any{"application/json": `{"statusCode": 200}`}}}}},
		"components": map[string]any{"schemas": schemas}}
	if swagger2 {
		delete(doc, "openapi")
		delete(doc, "components")
		doc["swagger"], doc["definitions"] = "2.0", schemas
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cancelLater is a context whose Err turns context.Canceled at its after-th
// call: work that checks its context between steps stops at that step.
type cancelLater struct {
	context.Context
	after, calls int64
}

func (c *cancelLater) Err() error {
	if atomic.AddInt64(&c.calls, 1) >= c.after {
		return context.Canceled
	}
	return nil
}

// TestImportHonoursContext: an import whose client went away stops with the
// context's error, before it starts and midway through a document of many
// deep models (the checks and the compile of the models are most of the
// work), rather than running to the end for no one.
func TestImportHonoursContext(t *testing.T) {
	doc := modelsDoc(t, 10, 8, false)
	if _, err := Import(t.Context(), doc, Options{}); err != nil {
		t.Fatalf("import: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if res, err := Import(ctx, doc, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled import: %v, %v; want context.Canceled", res, err)
	}
	// Cancelled at each step of the work in turn: every step stops it.
	doc = modelsDoc(t, 10, 8, false) // the compiled models are cached: other ones
	doc = []byte(strings.ReplaceAll(string(doc), `"type":"string"`, `"type":"integer"`))
	var steps int64
	for after := int64(2); ; after++ {
		c := &cancelLater{Context: t.Context(), after: after}
		_, err := Import(c, doc, Options{})
		if err == nil {
			steps = after
			break
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("import cancelled at check %d: %v", after, err)
		}
	}
	// Every model is a step of the keyword check and two of the compile.
	if steps < 3*10 {
		t.Fatalf("the import checked its context %d times for 10 models; want a check per model and step", steps)
	}
}

// TestImportModelLimit: a document with more models than an API may have
// (apis.MaxModels) is refused before it is loaded, naming the limit; one at
// the limit imports.
func TestImportModelLimit(t *testing.T) {
	for _, swagger2 := range []bool{false, true} {
		where := "components.schemas"
		if swagger2 {
			where = "definitions"
		}
		_, err := Import(t.Context(), modelsDoc(t, apis.MaxModels+1, 1, swagger2), Options{})
		want := fmt.Sprintf("document has %d models (%s); at most %d are allowed per API", apis.MaxModels+1, where, apis.MaxModels)
		if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Fatalf("swagger2=%v: %v; want %q", swagger2, err, want)
		}
		if w, n := ModelCount(modelsDoc(t, 7, 1, swagger2)); w != where || n != 7 {
			t.Fatalf("ModelCount = %q, %d; want %q, 7", w, n, where)
		}
	}
	res, err := Import(t.Context(), modelsDoc(t, apis.MaxModels, 1, false), Options{})
	if err != nil || len(res.API.Models) != apis.MaxModels {
		t.Fatalf("import of %d models: %v", apis.MaxModels, err)
	}
	res.API.Models["one-more"] = json.RawMessage(`{"type": "string"}`)
	if err := res.API.Validate(); !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), fmt.Sprintf("at most %d are allowed per API", apis.MaxModels)) {
		t.Fatalf("an API past the limit validates: %v", err)
	}
}

// TestImportRouteLimitCountedFirst: a document with more operations than an
// API may have routes (apis.MaxRoutes) is refused before it is loaded, naming
// the limit: the openapi14 tester's 17,000 operations took 19 s (8.5 s of the
// server's CPU) to be refused after the load, for "api has 17000 routes".
// x-amazon-apigateway-any-method counts; TRACE, which API Gateway ignores,
// does not. A document at the limit imports.
func TestImportRouteLimitCountedFirst(t *testing.T) {
	doc := func(n int, extra map[string]any) []byte {
		mock := map[string]any{"type": "mock", "requestTemplates": map[string]string{"application/json": `{"statusCode": 200}`},
			"responses": map[string]any{"default": map[string]any{"statusCode": "200"}}}
		op := map[string]any{"responses": map[string]any{"200": map[string]any{"description": "ok"}}, "x-amazon-apigateway-integration": mock}
		paths := map[string]any{}
		for i := range n {
			item := map[string]any{"get": op}
			if i == 0 {
				maps.Copy(item, extra)
			}
			paths[fmt.Sprintf("/r%d", i)] = item
		}
		b, err := json.Marshal(map[string]any{"openapi": "3.0.1", "info": map[string]any{"title": "many", "version": "1"}, "paths": paths})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	mock := map[string]any{"responses": map[string]any{"200": map[string]any{"description": "ok"}}}
	_, err := Import(t.Context(), doc(apis.MaxRoutes, map[string]any{"x-amazon-apigateway-any-method": mock}), Options{})
	want := fmt.Sprintf("document has %d operations under paths; an API has at most %d routes", apis.MaxRoutes+1, apis.MaxRoutes)
	if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), want) {
		t.Fatalf("%d operations: %v; want %q", apis.MaxRoutes+1, err, want)
	}
	res, err := Import(t.Context(), doc(apis.MaxRoutes, map[string]any{"trace": mock}), Options{})
	if err != nil || len(res.API.Routes) != apis.MaxRoutes {
		t.Fatalf("import of %d operations and a TRACE: %v", apis.MaxRoutes, err)
	}
}

// TestImportVersionNotAString: `openapi: 3` (a YAML number) was refused as
// `openapi version "" is not supported`, naming a value the document does not
// hold; it now shows the value and says to quote it. Swagger's too. A SAM
// template is named as such, with the command that deploys it.
func TestImportVersionNotAString(t *testing.T) {
	for doc, want := range map[string]string{
		"Transform: AWS::Serverless-2016-10-31\nResources:\n  F:\n    Type: AWS::Serverless::Function\n": "document is a SAM or CloudFormation template (it has Resources), not an OpenAPI document: deploy it with `portico deploy --template FILE`",
		"openapi: 3\ninfo: {title: t, version: '1'}\npaths: {}\n":                                        `openapi version 3 is not a string: write it quoted, as "3.0.1"`,
		"swagger: 2.0\ninfo: {title: t, version: '1'}\npaths: {}\n":                                      `swagger version 2.0 is not a string: write it quoted, as "2.0"`,
	} {
		_, err := Import(t.Context(), []byte(doc), Options{})
		if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v; want %q", doc, err, want)
		}
	}
}
