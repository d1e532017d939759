package aliases

import (
	"context"
	"testing"

	"github.com/portico-dev/portico/functions"
)

func TestSmoke(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.withVersions(t, "fn", 2)
	if _, err := e.svc.Create(ctx, "fn", Input{Name: "live", FunctionVersion: "1", RoutingConfig: &RoutingConfig{AdditionalVersionWeights: map[string]float64{"2": 0.5}}}); err != nil {
		t.Fatal(err)
	}
	c, err := e.svc.Resolve(ctx, functions.Ref{Name: "fn", Qualifier: "live"})
	if err != nil || (c.Version != "1" && c.Version != "2") {
		t.Fatal(c, err)
	}
	if err := e.fns.Delete(ctx, "fn", "2"); err == nil {
		t.Fatal("deleted a referenced version")
	}
}
