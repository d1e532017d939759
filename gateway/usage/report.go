package usage

import (
	"context"
	"fmt"
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
		return time.Time{}, invalid("Invalid %s '%s': %s", name, s, DateProblem(s))
	}
	return t, nil
}

// DateProblem says what is wrong with s, which time.Parse refused as a
// YYYY-MM-DD date: its form, or (in that form) a month or day that is not
// in the calendar ("2026-02-30": February 2026 has 28 days).
func DateProblem(s string) string {
	var y, m, d int
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return "use YYYY-MM-DD"
	}
	if _, err := fmt.Sscanf(s, "%4d-%2d-%2d", &y, &m, &d); err != nil {
		return "use YYYY-MM-DD"
	}
	if m < 1 || m > 12 {
		return fmt.Sprintf("not a date: month %02d is not 01 to 12", m)
	}
	days := time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return fmt.Sprintf("not a date: %s %d has %d days", time.Month(m), y, days)
}

// GetUsage reports a plan's usage from startDate to endDate (YYYY-MM-DD, UTC,
// both included), for one key or (keyID empty) every key of the plan: per day
// the requests counted and the quota left at the end of the day under the
// plan's current quota, as the key stage admits against it (see dailyUsage).
func (s *Service) GetUsage(ctx context.Context, planID, keyID, startDate, endDate string) (*Usage, error) {
	return s.GetUsagePage(ctx, planID, keyID, startDate, endDate, nil)
}

// GetUsagePage is GetUsage over the keys page picks from the plan's (sorted
// by id; nil: all of them), so that a page of keys costs only its own
// counts; page's error is returned as is.
func (s *Service) GetUsagePage(ctx context.Context, planID, keyID, startDate, endDate string, page func(keyIDs []string) ([]string, error)) (*Usage, error) {
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
	if page != nil {
		if keys, err = page(slices.Sorted(slices.Values(keys))); err != nil {
			return nil, err
		}
	}
	now := s.now()
	u := &Usage{PlanID: planID, StartDate: startDate, EndDate: endDate, Items: map[string][][2]int64{}}
	// Written through first, so that a crash forgets no count reported
	// (those taken since are within the reservation the store holds).
	if err := s.counts.Flush(ctx); err != nil {
		return nil, err
	}
	for _, kid := range keys {
		// the stored days and what the next request is admitted against,
		// from one state of the counter (see Counts.usage)
		days, left, err := s.counts.usage(ctx, planID, kid, p.Quota, now)
		if err != nil {
			return nil, err
		}
		u.Items[kid] = dailyUsage(days, p.Quota, start, end, now, left)
	}
	return u, nil
}

// dailyUsage lays out the stored days from start to end as [used, remaining]
// pairs. Remaining is what quota q (the plan's current one) leaves at the end of
// the day, never below 0 (a limit lowered under the count leaves nothing); a
// plan without a quota reports 0. Today, and the days after it in the current
// period, report left: the quota the key stage admits the next request against,
// from the same counter. An earlier day reports the limit less the counter as it
// stood at the end of the last day with requests in the day's period (the limit
// when there was none), or, when that counter belongs to another period (the
// quota's period changed since, or the day was counted before the plan had a
// quota), less the requests counted in the day's period up to the day. A day
// of a later period reports the whole limit.
func dailyUsage(days map[string]DayUsage, q *Quota, start, end, now time.Time, left int64) [][2]int64 {
	recorded := make([]string, 0, len(days))
	for d := range days {
		recorded = append(recorded, d)
	}
	sort.Strings(recorded)
	today := dayOf(now)
	var out [][2]int64
	for day := start; !day.After(end); day = day.AddDate(0, 0, 1) {
		key := dayOf(day)
		used := days[key].Used
		if q == nil {
			out = append(out, [2]int64{used, 0})
			continue
		}
		ps := q.PeriodStart(day)
		var remaining int64
		switch {
		case key >= today && ps.Equal(q.PeriodStart(now)):
			remaining = left
		case key > today:
			remaining = q.Limit
		default:
			remaining = subSat(q.Limit, periodUsed(days, recorded, key, ps))
		}
		out = append(out, [2]int64{used, max(remaining, 0)})
	}
	return out
}

// periodUsed returns the count of a past day's period at the end of the day
// (see dailyUsage): recorded holds the keys of days, sorted; ps is the start of
// the day's period.
func periodUsed(days map[string]DayUsage, recorded []string, day string, ps time.Time) int64 {
	first := dayOf(ps)
	i := sort.SearchStrings(recorded, day)
	if i < len(recorded) && recorded[i] == day {
		i++
	}
	// recorded[:i] are the days up to day; the last one in the period, if any
	if i == 0 || recorded[i-1] < first {
		return 0
	}
	if last := days[recorded[i-1]]; last.PeriodStart.Equal(ps) {
		return last.PeriodUsed
	}
	var n int64
	for _, d := range recorded[sort.SearchStrings(recorded, first):i] {
		n += days[d].Used
	}
	return n
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
		return invalid("Invalid remaining %d: it must be from 0 to 2147483647", remaining)
	}
	return s.counts.SetRemaining(ctx, planID, keyID, p.Quota, remaining, s.now())
}

// Today returns the current UTC date (YYYY-MM-DD) by the service's clock.
func (s *Service) Today() string { return dayOf(s.now()) }
