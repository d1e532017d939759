package apis

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/portico-dev/portico/store"
)

// oldHTTPAPI is an HTTP API with a Lambda authorizer as builds before
// c2b442e stored it: without authorizerPayloadFormatVersion (it ran with 2.0).
const oldHTTPAPI = `{"id":"abcdefghij","name":"edge","protocol":"HTTP","createdAt":"2026-12-01T00:00:00Z","updatedAt":"2026-12-01T00:00:00Z",
"authorizers":{"lam":{"type":"apiKey","name":"Authorization","in":"header","x-amazon-apigateway-authtype":"custom",
 "x-amazon-apigateway-authorizer":{"type":"request","authorizerUri":"function:authz","identitySource":"$request.header.Authorization"}}},
"routes":[]}`

// TestOldHTTPAuthorizerReadsBackItsPayloadVersion: such an API, and a
// deployment's snapshot of it, read back the version it runs with, 2.0, as
// one imported now is stored (the upgrade test found get-authorizers and
// Portico's API leaving it out for data of 936160d and b4f2244).
func TestOldHTTPAuthorizerReadsBackItsPayloadVersion(t *testing.T) {
	s, _ := newTestService(t)
	ctx := context.Background()
	dep := `{"id":"dep001","apiId":"abcdefghij","createdAt":"2026-12-01T00:00:00Z","api":` + oldHTTPAPI + `}`
	if err := s.st.Update(ctx, func(tx *store.Tx) error {
		if err := tx.Put(bucketAPIs, "abcdefghij", json.RawMessage(oldHTTPAPI)); err != nil {
			return err
		}
		return tx.Put(bucketDeployments, "abcdefghij/dep001", json.RawMessage(dep))
	}); err != nil {
		t.Fatal(err)
	}
	check := func(what string, a *API) {
		t.Helper()
		if got := string(a.Authorizers["lam"]); !strings.Contains(got, `"authorizerPayloadFormatVersion":"2.0"`) {
			t.Errorf("%s: authorizer %s, want authorizerPayloadFormatVersion 2.0", what, got)
		}
	}
	a, err := s.Get(ctx, "abcdefghij")
	if err != nil {
		t.Fatal(err)
	}
	check("Get", a)
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("List: %v %v", list, err)
	}
	check("List", list[0])
	d, err := s.GetDeployment(ctx, "abcdefghij", "dep001")
	if err != nil {
		t.Fatal(err)
	}
	check("GetDeployment", &d.API)
}
