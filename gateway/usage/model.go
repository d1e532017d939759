// Package usage holds API keys and usage plans, and the pipeline stage that
// enforces them: a method that requires an API key refuses a request without a
// valid, enabled key that belongs to a usage plan covering the API stage (403
// {"message":"Forbidden"}), then applies the plan's per-method and plan
// throttles for that key (429 Too Many Requests) and its quota (429 Limit
// Exceeded).
//
// Keys and plans are kept in the store; the stage reads an in-memory index of
// them that every change replaces. Quota counts are kept in memory and written
// through to the store at least once a second and at shutdown.
package usage

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/portico-dev/portico/gateway/apis"
	"github.com/portico-dev/portico/internal/errdefs"
	"github.com/portico-dev/portico/store"
)

// Store buckets owned by this package.
const (
	bucketKeys   = "usage_keys"   // key id -> APIKey
	bucketValues = "usage_values" // hex sha256 of a key value -> key id
	bucketPlans  = "usage_plans"  // plan id -> Plan
	bucketCounts = "usage_counts" // plan id + "/" + key id -> countRecord
	bucketDays   = "usage_days"   // plan id + "/" + key id + "/" + YYYY-MM-DD -> DayUsage
)

// Limits.
const (
	// MinKeyValue and MaxKeyValue bound a given key value's length.
	MinKeyValue = 20
	MaxKeyValue = 128
	// GeneratedKeyValue is the length of a generated key value.
	GeneratedKeyValue = 40
	MaxName           = 1024
	MaxDescription    = 1024
	MaxCustomerID     = 1024
	// MaxUsageDays bounds a GetUsage date range.
	MaxUsageDays = 366
)

// Key sources (an API's apiKeySource).
const (
	SourceHeader     = "HEADER"
	SourceAuthorizer = "AUTHORIZER"
)

// HeaderName is the request header that carries a key under SourceHeader.
const HeaderName = "X-Api-Key"

// Quota periods.
const (
	PeriodDay   = "DAY"
	PeriodWeek  = "WEEK"
	PeriodMonth = "MONTH"
)

// APIKey is an API key. Value is the secret: it leaves the service only when a
// caller asks for it (includeValue), and never goes to a log.
type APIKey struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Value       string `json:"value"`
	Enabled     bool   `json:"enabled"`
	CustomerID  string `json:"customerId,omitempty"`
	// Tags are the key's resource tags (schema 11; none before).
	Tags      map[string]string `json:"tags,omitempty"`
	CreatedAt time.Time         `json:"createdAt"`
	UpdatedAt time.Time         `json:"updatedAt"`
}

// Plan is a usage plan: the API stages it covers, a throttle and a quota per
// key, and the keys attached to it.
type Plan struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description,omitempty"`
	APIStages   []APIStage `json:"apiStages,omitempty"`
	Throttle    *Throttle  `json:"throttle,omitempty"`
	Quota       *Quota     `json:"quota,omitempty"`
	// KeyIDs are the keys attached to the plan, sorted.
	KeyIDs []string `json:"keyIds,omitempty"`
	// Tags are the plan's resource tags (schema 11; none before).
	Tags      map[string]string `json:"tags,omitempty"`
	CreatedAt time.Time         `json:"createdAt"`
	UpdatedAt time.Time         `json:"updatedAt"`
}

// APIStage is one API stage a plan covers, with per-method throttles keyed
// "/{resourcePath}/{METHOD}" ("/pets/GET").
type APIStage struct {
	APIID    string              `json:"apiId"`
	Stage    string              `json:"stage"`
	Throttle map[string]Throttle `json:"throttle,omitempty"`
}

// Throttle is a token bucket per key: RateLimit requests per second, BurstLimit
// the bucket's size.
type Throttle struct {
	BurstLimit int     `json:"burstLimit"`
	RateLimit  float64 `json:"rateLimit"`
}

// Quota is a number of requests per key per period (UTC): DAY from midnight,
// WEEK from the weekday Offset (0 Sunday .. 6 Saturday), MONTH from day
// Offset+1 (Offset 0..27).
type Quota struct {
	Limit  int64  `json:"limit"`
	Offset int    `json:"offset"`
	Period string `json:"period"`
}

// invalid is a BadRequestException with message msg.
func invalid(format string, args ...any) error {
	return errdefs.New(errdefs.ErrInvalid, "BadRequestException", fmt.Sprintf(format, args...))
}

func notFound(msg string) error { return errdefs.New(errdefs.ErrNotFound, "NotFoundException", msg) }

func conflict(msg string) error { return errdefs.New(errdefs.ErrConflict, "ConflictException", msg) }

// Validate checks q.
func (q *Quota) Validate() error {
	if q == nil {
		return nil
	}
	if q.Limit <= 0 || q.Limit > math.MaxInt32 {
		return invalid("Invalid quota limit %d: it must be from 1 to %d", q.Limit, math.MaxInt32)
	}
	maxOffset := 0
	switch q.Period {
	case PeriodDay:
	case PeriodWeek:
		maxOffset = 6
	case PeriodMonth:
		maxOffset = 27
	default:
		return invalid("Invalid quota period '%s': must be one of DAY, WEEK or MONTH", q.Period)
	}
	if q.Offset < 0 || q.Offset > maxOffset {
		if maxOffset == 0 {
			return invalid("Invalid quota offset %d for period DAY: a DAY quota takes no offset (0); WEEK takes 0..6, MONTH 0..27", q.Offset)
		}
		return invalid("Invalid quota offset %d for period %s: must be 0..%d", q.Offset, q.Period, maxOffset)
	}
	return nil
}

// Validate checks t; where names it in errors.
func (t *Throttle) Validate(where string) error {
	if t == nil {
		return nil
	}
	if math.IsNaN(t.RateLimit) || math.IsInf(t.RateLimit, 0) || t.RateLimit < 0 || t.BurstLimit < 0 {
		return invalid("Invalid throttle %s: rateLimit and burstLimit must not be negative", where)
	}
	if t.BurstLimit > math.MaxInt32 {
		return invalid("Invalid throttle %s: burstLimit %d is above %d", where, t.BurstLimit, math.MaxInt32)
	}
	return nil
}

// clean returns t with a rate of -0 as 0 (the same limit; a record keeps
// the sign otherwise).
func (t Throttle) clean() Throttle {
	if t.RateLimit == 0 {
		t.RateLimit = 0
	}
	return t
}

// PeriodStart returns the start of the quota period that holds now (UTC).
func (q *Quota) PeriodStart(now time.Time) time.Time {
	now = now.UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	switch q.Period {
	case PeriodWeek:
		back := (int(day.Weekday()) - q.Offset + 7) % 7
		return day.AddDate(0, 0, -back)
	case PeriodMonth:
		start := time.Date(day.Year(), day.Month(), 1+q.Offset, 0, 0, 0, 0, time.UTC)
		if day.Before(start) {
			start = time.Date(day.Year(), day.Month()-1, 1+q.Offset, 0, 0, 0, 0, time.UTC)
		}
		return start
	}
	return day
}

// validate checks a plan as a whole (not its references); a rate of -0 is
// made 0.
func (p *Plan) validate() error {
	if strings.TrimSpace(p.Name) == "" {
		return invalid("Usage plan name must be non-empty")
	}
	if len(p.Name) > MaxName || len(p.Description) > MaxDescription {
		return invalid("Usage plan name or description is too long")
	}
	if err := apis.ValidateTags(p.Tags); err != nil {
		return err
	}
	if err := p.Throttle.Validate("of the plan"); err != nil {
		return err
	}
	if p.Throttle != nil {
		t := p.Throttle.clean()
		p.Throttle = &t
	}
	if err := p.Quota.Validate(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, s := range p.APIStages {
		if s.APIID == "" || s.Stage == "" {
			return invalid("Invalid API stage: apiId and stage are required")
		}
		k := s.APIID + "/" + s.Stage
		if seen[k] {
			return invalid("API stage %s:%s is listed twice", s.APIID, s.Stage)
		}
		seen[k] = true
		for m, t := range s.Throttle {
			if !validMethodKey(m) {
				return invalid("Invalid method throttle key '%s' for API stage %s:%s: use /{resourcePath}/{METHOD} of a REST API's method (a WebSocket API's stage is one %s)", m, s.APIID, s.Stage, noWebSocketMethodThrottles)
			}
			if err := t.Validate(m); err != nil {
				return err
			}
			s.Throttle[m] = t.clean()
		}
		if len(s.Throttle) > 0 && p.Throttle == nil {
			// API Gateway's words: a per-method throttle is never looser
			// than the plan's, and without one there is nothing to bound it.
			return invalid("Can not define fine grain throttling if usage plan throttle is not defined.")
		}
	}
	return nil
}

// validMethodKey reports whether k is "/{resourcePath}/{METHOD}".
func validMethodKey(k string) bool {
	i := strings.LastIndexByte(k, '/')
	if !strings.HasPrefix(k, "/") || i < 0 || i == len(k)-1 {
		return false
	}
	m := k[i+1:]
	return m == strings.ToUpper(m)
}

func init() {
	store.Record(bucketKeys, APIKey{})
	store.Record(bucketValues, "")
	store.Record(bucketPlans, Plan{})
	store.Record(bucketCounts, countRecord{})
	store.Record(bucketDays, DayUsage{})
}
