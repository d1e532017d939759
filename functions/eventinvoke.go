package functions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/store"
)

// bucketEventInvoke holds the Event invocation settings: name + "\x00" +
// qualifier ($LATEST, a version number or an alias) -> EventInvokeConfig.
const bucketEventInvoke = "event-invoke"

// The bounds Lambda puts on an event invoke configuration.
const (
	MaxEventRetryAttempts  = 2
	MinEventAgeSeconds     = 60
	MaxEventAgeSeconds     = 21600
	defaultEventAgeSeconds = MaxEventAgeSeconds
)

// NoDestinations is why Portico refuses an event invoke configuration's
// DestinationConfig (the admin API and portico deploy say it alike).
const NoDestinations = "Portico cannot send the outcome of an asynchronous invocation anywhere (it has no SQS queue, SNS topic, " +
	"EventBridge bus or S3 bucket, and does not chain functions), so it cannot honour DestinationConfig: " +
	"remove DestinationConfig (OnSuccess, OnFailure) and keep MaximumRetryAttempts and MaximumEventAgeInSeconds, " +
	"which Portico enforces; a function can send its own outcome where it needs to"

// EventInvokeConfig is how the Event (asynchronous) invocations of one
// qualifier of a function are handled, like Lambda's FunctionEventInvokeConfig:
// how many times a failed one is retried and how old an event may get before
// it is dropped unrun. A nil field was not set: the default applies (two
// retries, six hours).
type EventInvokeConfig struct {
	FunctionName string `json:"FunctionName"`
	// Qualifier is $LATEST, a version number or an alias name.
	Qualifier                string    `json:"Qualifier"`
	MaximumRetryAttempts     *int      `json:"MaximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int      `json:"MaximumEventAgeInSeconds,omitempty"`
	LastModified             time.Time `json:"LastModified"`
}

// RetryAttempts returns the retries a failed Event invocation gets (0..2).
func (c *EventInvokeConfig) RetryAttempts() int {
	if c == nil || c.MaximumRetryAttempts == nil {
		return MaxEventRetryAttempts
	}
	return *c.MaximumRetryAttempts
}

// MaxEventAge returns how old an Event invocation may get before it is dropped.
func (c *EventInvokeConfig) MaxEventAge() time.Duration {
	if c == nil || c.MaximumEventAgeInSeconds == nil {
		return defaultEventAgeSeconds * time.Second
	}
	return time.Duration(*c.MaximumEventAgeInSeconds) * time.Second
}

// EventInvokeInput is what PutEventInvokeConfig sets; nil fields are not set.
type EventInvokeInput struct {
	MaximumRetryAttempts     *int
	MaximumEventAgeInSeconds *int
}

func (in EventInvokeInput) validate() error {
	if p := in.MaximumRetryAttempts; p != nil && (*p < 0 || *p > MaxEventRetryAttempts) {
		return RangeViolation("maximumRetryAttempts", *p, 0, MaxEventRetryAttempts)
	}
	if p := in.MaximumEventAgeInSeconds; p != nil && (*p < MinEventAgeSeconds || *p > MaxEventAgeSeconds) {
		return RangeViolation("maximumEventAgeInSeconds", *p, MinEventAgeSeconds, MaxEventAgeSeconds)
	}
	return nil
}

// eventQualifier is the qualifier an event invoke configuration is kept under:
// none is $LATEST, as in Lambda.
func eventQualifier(q string) (string, error) {
	switch {
	case q == "":
		return Latest, nil
	case !ValidQualifier(q):
		return "", invalidf("Qualifier %q is not $LATEST, a version or an alias name", truncate(q, 200))
	}
	return q, nil
}

func eventInvokeKey(name, qualifier string) string { return name + "\x00" + qualifier }

func noEventInvokeConfig(name, qualifier string) error {
	return errdefs.New(errdefs.ErrNotFound, "ResourceNotFoundException",
		fmt.Sprintf("The function %s doesn't have an EventInvokeConfig: create one with PutFunctionEventInvokeConfig", ARN(name, qualifier)))
}

// PutEventInvokeConfig sets the Event invocation settings of a qualifier of
// function name ("" is $LATEST): with merge false it replaces what was set
// (PutFunctionEventInvokeConfig), with merge true it changes only the fields
// in sets and fails with ResourceNotFoundException when nothing was set
// (UpdateFunctionEventInvokeConfig). The function and qualifier must exist.
func (s *Service) PutEventInvokeConfig(ctx context.Context, name, qualifier string, in EventInvokeInput, merge bool) (*EventInvokeConfig, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	q, err := eventQualifier(qualifier)
	if err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	c := &EventInvokeConfig{FunctionName: name, Qualifier: q, LastModified: now(),
		MaximumRetryAttempts: in.MaximumRetryAttempts, MaximumEventAgeInSeconds: in.MaximumEventAgeInSeconds}
	// qualifierExists (policy.go) checks the function and its version or
	// alias; $LATEST is the function itself there.
	exists, target := q, ""
	if q == Latest {
		exists = ""
	}
	err = s.st.Together(ctx, append(s.qualifierExists(name, exists, &target), func(tx *store.Tx) error {
		key := eventInvokeKey(name, q)
		if merge {
			var old EventInvokeConfig
			switch err := tx.Get(bucketEventInvoke, key, &old); {
			case errors.Is(err, errdefs.ErrNotFound):
				return noEventInvokeConfig(name, q)
			case err != nil:
				return err
			}
			if c.MaximumRetryAttempts == nil {
				c.MaximumRetryAttempts = old.MaximumRetryAttempts
			}
			if c.MaximumEventAgeInSeconds == nil {
				c.MaximumEventAgeInSeconds = old.MaximumEventAgeInSeconds
			}
		}
		return tx.Put(bucketEventInvoke, key, c)
	})...)
	if err != nil {
		return nil, err
	}
	s.log.Info("event invoke config set", "function", name, "qualifier", q)
	return c, nil
}

// GetEventInvokeConfig returns the Event invocation settings of a qualifier of
// function name ("" is $LATEST): ResourceNotFoundException when the function
// or the configuration does not exist. The invoker reads it at each attempt.
func (s *Service) GetEventInvokeConfig(ctx context.Context, name, qualifier string) (*EventInvokeConfig, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	q, err := eventQualifier(qualifier)
	if err != nil {
		return nil, err
	}
	var c EventInvokeConfig
	err = s.st.View(ctx, func(tx *store.Tx) error {
		if _, err := getLatest(tx, name); err != nil {
			return err
		}
		if err := tx.Get(bucketEventInvoke, eventInvokeKey(name, q), &c); errors.Is(err, errdefs.ErrNotFound) {
			return noEventInvokeConfig(name, q)
		} else if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// DeleteEventInvokeConfig removes the Event invocation settings of a qualifier
// of function name ("" is $LATEST); ResourceNotFoundException when there are
// none.
func (s *Service) DeleteEventInvokeConfig(ctx context.Context, name, qualifier string) error {
	if err := checkName(name); err != nil {
		return err
	}
	q, err := eventQualifier(qualifier)
	if err != nil {
		return err
	}
	return s.st.Update(ctx, func(tx *store.Tx) error {
		if _, err := getLatest(tx, name); err != nil {
			return err
		}
		key := eventInvokeKey(name, q)
		if !tx.Has(bucketEventInvoke, key) {
			return noEventInvokeConfig(name, q)
		}
		return tx.Delete(bucketEventInvoke, key)
	})
}

// ListEventInvokeConfigs returns the Event invocation settings of every
// qualifier of function name, in the store's key order (by qualifier).
func (s *Service) ListEventInvokeConfigs(ctx context.Context, name string) ([]EventInvokeConfig, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	var out []EventInvokeConfig
	err := s.st.View(ctx, func(tx *store.Tx) error {
		if _, err := getLatest(tx, name); err != nil {
			return err
		}
		return tx.ForEach(bucketEventInvoke, name+"\x00", func(key string, raw []byte) error {
			var c EventInvokeConfig
			if err := json.Unmarshal(raw, &c); err != nil {
				return fmt.Errorf("event invoke config %q: decode: %w", key, err)
			}
			out = append(out, c)
			return nil
		})
	})
	return out, err
}
