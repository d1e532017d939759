package validate

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/gateway/pipeline"
)

// TestBigValidationsTakeTurns: the validations of big bodies share one
// process-wide budget of decoded JSON values (verify29a: four 2 MB bodies of
// 150,000 failing values each, sent at once, took the server past 1 GB, each
// failing value costing the validator about 1.5 KB). A big body waits for
// its share (and its request may end waiting); a small one never waits; a
// validation gives its share back.
func TestBigValidationsTakeTurns(t *testing.T) { //nolint:paralleltest // holds the process-wide budget
	models, err := apis.NewModelValidator("a", map[string]json.RawMessage{
		"List": json.RawMessage(`{"type": "array", "items": {"type": "integer"}}`)})
	if err != nil {
		t.Fatal(err)
	}
	p := &routePlan{bodies: map[string]string{"application/json": "List"}, models: models}
	check := func(ctx context.Context, body string) (*pipeline.Context, error) {
		r := httptest.NewRequestWithContext(ctx, "POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		c := &pipeline.Context{}
		return c, p.check(r, c)
	}
	big := "[" + strings.Repeat("1,", bigBodyValues) + "1]"
	small := "[1, 2, 3]"
	ended, cancel := context.WithCancel(context.Background())
	cancel()

	if err := bigValidations.Acquire(context.Background(), maxBodyValues); err != nil {
		t.Fatal(err)
	}
	if _, err := check(ended, small); err != nil {
		t.Errorf("a small body while big ones hold the whole budget: %v, want it validated at once", err)
	}
	c, err := check(ended, big)
	if err == nil || c.Error.ValidationErrorString != "[the request ended during validation]" {
		t.Errorf("a big body whose request ended while it waited for its share: %v %q", err, c.Error.ValidationErrorString)
	}
	bigValidations.Release(maxBodyValues)

	if _, err := check(context.Background(), big); err != nil {
		t.Errorf("a big valid body with the budget free: %v", err)
	}
	if c, err := check(context.Background(), strings.Replace(big, "1,", `"x",`, 3)); err == nil || !strings.Contains(c.Error.ValidationErrorString, "/0") {
		t.Errorf("a big failing body: %v %q, want it refused naming the failures", err, c.Error.ValidationErrorString)
	}
	if !bigValidations.TryAcquire(maxBodyValues) {
		t.Fatal("the validations did not give their shares back")
	}
	bigValidations.Release(maxBodyValues)
}
