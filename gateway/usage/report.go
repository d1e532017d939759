package usage

import (
	"context"
	"slices"
	"sort"
	"time"
)

// Usage is a plan's usage per key per day, as GetUsage answers it.
type Usage struct {
	PlanID    string
	StartDate string
	EndDate   string
	// Items maps a key id to one [used, remaining] pair per day from StartDate to
	// EndDate.
	Items map[string][][2]int64
}

func parseDate(name, s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, invalid("Invalid %s '%s': use YYYY-MM-DD", name, s)
	}
	return t, nil
}

// GetUsage reports a plan's usage from startDate to endDate (YYYY-MM-DD, UTC,
// both included), for one key or (keyID empty) every key of the plan. A day
// without requests reports 0 used and the remaining quota it started with.
func (s *Service) GetUsage(ctx context.Context, planID, keyID, startDate, endDate string) (*Usage, error) {
	start, err := parseDate("startDate", startDate)
	if err != nil {
		return nil, err
	}
	end, err := parseDate("endDate", endDate)
	if err != nil {
		return nil, err
	}
	if end.Before(start) {
		return nil, invalid("The endDate must not be before the startDate")
	}
	if end.Sub(start) > MaxUsageDays*24*time.Hour {
		return nil, invalid("The date range must be at most %d days", MaxUsageDays)
	}
	p, err := s.GetPlan(ctx, planID)
	if err != nil {
		return nil, err
	}
	keys := p.KeyIDs
	if keyID != "" {
		if !slices.Contains(p.KeyIDs, keyID) {
			return nil, notFound("Invalid API Key identifier specified: " + keyID + " is not in usage plan " + planID)
		}
		keys = []string{keyID}
	}
	if err := s.counts.Flush(ctx); err != nil {
		return nil, err
	}
	u := &Usage{PlanID: planID, StartDate: startDate, EndDate: endDate, Items: map[string][][2]int64{}}
	for _, kid := range keys {
		days, err := s.counts.days(ctx, planID, kid)
		if err != nil {
			return nil, err
		}
		u.Items[kid] = dailyUsage(days, p.Quota, start, end)
	}
	return u, nil
}

// dailyUsage lays out the stored days from start to end; a day without a
// record carries the remaining quota of the last earlier day of its period.
func dailyUsage(days map[string]DayUsage, q *Quota, start, end time.Time) [][2]int64 {
	recorded := make([]string, 0, len(days))
	for d := range days {
		recorded = append(recorded, d)
	}
	sort.Strings(recorded)
	var out [][2]int64
	for day := start; !day.After(end); day = day.AddDate(0, 0, 1) {
		key := dayOf(day)
		if d, ok := days[key]; ok {
			out = append(out, [2]int64{d.Used, d.Remaining})
			continue
		}
		var remaining int64
		if q != nil {
			remaining = q.Limit
			ps := dayOf(q.PeriodStart(day))
			// the last recorded day before this one, if it is in the same period
			i := sort.SearchStrings(recorded, key)
			if i > 0 && recorded[i-1] >= ps {
				remaining = days[recorded[i-1]].Remaining
			}
		}
		out = append(out, [2]int64{0, remaining})
	}
	return out
}

// UpdateUsage sets the remaining quota of a key in a plan for the current
// period (AWS's update-usage with a replace of /remaining).
func (s *Service) UpdateUsage(ctx context.Context, planID, keyID string, remaining int64) error {
	p, err := s.GetPlan(ctx, planID)
	if err != nil {
		return err
	}
	if !slices.Contains(p.KeyIDs, keyID) {
		return notFound("Invalid API Key identifier specified: " + keyID + " is not in usage plan " + planID)
	}
	if p.Quota == nil {
		return invalid("Usage plan %s has no quota to reset", planID)
	}
	if remaining < 0 {
		return invalid("Invalid remaining %d: it must not be negative", remaining)
	}
	return s.counts.SetRemaining(ctx, planID, keyID, p.Quota, remaining, s.now())
}

// Today returns the current UTC date (YYYY-MM-DD) by the service's clock.
func (s *Service) Today() string { return dayOf(s.now()) }
