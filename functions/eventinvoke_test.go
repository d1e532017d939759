package functions

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/errdefs"
)

func TestEventInvokeConfig(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.create(t, "fn", true)
	e.aliases.target = func(_, alias string) string {
		if alias == "live" {
			return "1"
		}
		return ""
	}
	zero, hour := 0, 3600
	one := 1

	// Bad input and missing things.
	for name, tc := range map[string]struct {
		q    string
		in   EventInvokeInput
		kind error
	}{
		"retries above 2":    {"", EventInvokeInput{MaximumRetryAttempts: new(3)}, errdefs.ErrInvalid},
		"negative retries":   {"", EventInvokeInput{MaximumRetryAttempts: new(-1)}, errdefs.ErrInvalid},
		"age under a minute": {"", EventInvokeInput{MaximumEventAgeInSeconds: new(59)}, errdefs.ErrInvalid},
		"age over six hours": {"", EventInvokeInput{MaximumEventAgeInSeconds: new(21601)}, errdefs.ErrInvalid},
		"bad qualifier":      {"no:pe", EventInvokeInput{}, errdefs.ErrInvalid},
		"missing version":    {"7", EventInvokeInput{}, errdefs.ErrNotFound},
		"missing alias":      {"gone", EventInvokeInput{}, errdefs.ErrNotFound},
	} {
		if _, err := e.svc.PutEventInvokeConfig(ctx, "fn", tc.q, tc.in, false); !errors.Is(err, tc.kind) {
			t.Errorf("%s: %v, want %v", name, err, tc.kind)
		}
	}
	if _, err := e.svc.PutEventInvokeConfig(ctx, "nofn", "", EventInvokeInput{}, false); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("missing function: %v", err)
	}
	if _, err := e.svc.GetEventInvokeConfig(ctx, "fn", ""); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Get before Put: %v", err)
	}
	if _, err := e.svc.PutEventInvokeConfig(ctx, "fn", "", EventInvokeInput{MaximumRetryAttempts: &one}, true); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Update before Put: %v", err)
	}

	// Put replaces, Update merges; "" is $LATEST.
	if _, err := e.svc.PutEventInvokeConfig(ctx, "fn", "", EventInvokeInput{MaximumRetryAttempts: &zero, MaximumEventAgeInSeconds: &hour}, false); err != nil {
		t.Fatal(err)
	}
	c, err := e.svc.GetEventInvokeConfig(ctx, "fn", Latest)
	if err != nil || c.RetryAttempts() != 0 || c.MaxEventAge() != time.Hour || c.Qualifier != Latest || c.LastModified.IsZero() {
		t.Fatalf("Get $LATEST = %+v, %v", c, err)
	}
	if c, err = e.svc.PutEventInvokeConfig(ctx, "fn", "", EventInvokeInput{MaximumRetryAttempts: &one}, true); err != nil || c.RetryAttempts() != 1 || c.MaxEventAge() != time.Hour {
		t.Fatalf("Update = %+v, %v; want the age kept", c, err)
	}
	if c, err = e.svc.PutEventInvokeConfig(ctx, "fn", "", EventInvokeInput{MaximumRetryAttempts: &one}, false); err != nil || c.MaximumEventAgeInSeconds != nil || c.MaxEventAge() != 6*time.Hour {
		t.Fatalf("Put = %+v, %v; want the age back to its default", c, err)
	}

	// Per qualifier, kept across a restart, gone with its version, alias or function.
	for _, q := range []string{"1", "live"} {
		if _, err := e.svc.PutEventInvokeConfig(ctx, "fn", q, EventInvokeInput{MaximumRetryAttempts: &zero}, false); err != nil {
			t.Fatal(err)
		}
	}
	// Lambda matches versions as strings: "01" is no version.
	if _, err := e.svc.PutEventInvokeConfig(ctx, "fn", "01", EventInvokeInput{MaximumRetryAttempts: &zero}, false); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("PutEventInvokeConfig(01) = %v, want not found", err)
	}
	e.reopen(t)
	list, err := e.svc.ListEventInvokeConfigs(ctx, "fn")
	if err != nil || len(list) != 3 || list[0].Qualifier != "$LATEST" || list[1].Qualifier != "1" || list[2].Qualifier != "live" {
		t.Fatalf("List after restart = %+v, %v", list, err)
	}
	if err := e.st.Update(ctx, e.svc.DropQualifier("fn", "live")); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Delete(ctx, "fn", "1"); err != nil {
		t.Fatal(err)
	}
	if list, _ := e.svc.ListEventInvokeConfigs(ctx, "fn"); len(list) != 1 {
		t.Errorf("configs of a deleted version and alias survive: %+v", list)
	}
	if err := e.svc.DeleteEventInvokeConfig(ctx, "fn", ""); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteEventInvokeConfig(ctx, "fn", ""); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if _, err := e.svc.PutEventInvokeConfig(ctx, "fn", "", EventInvokeInput{}, false); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Delete(ctx, "fn", ""); err != nil {
		t.Fatal(err)
	}
	e.create(t, "fn", false)
	if list, err := e.svc.ListEventInvokeConfigs(ctx, "fn"); err != nil || len(list) != 0 {
		t.Errorf("a recreated function inherits the old one's configs: %+v, %v", list, err)
	}
}
