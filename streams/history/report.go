package history

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"commandd/dispatch"
	"commandd/streams"
)

// Report sums up the range of q: alerts by category (by their own time and place),
// the incidents (by their first alert's) with their tiers met of those decided, their
// first arrivals' median and 90th percentile, the units sent to them and how many
// acknowledged the order within 30 s, and per management grid the days without an
// incident (q.District's grids too). Days are q.Location's.
func (s *Store) Report(ctx context.Context, q streams.HistoryQuery) (*streams.Report, error) {
	r := &streams.Report{From: q.From, To: q.To, TZ: q.Location.String(),
		Alerts: streams.ReportAlerts{ByCategory: map[string]int{}}, Tiers: []streams.ReportTier{},
		ZeroIncidentDaysByGrid: []streams.GridZeroDays{}}

	cond, args, err := where(q, true)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT category, count(*) FROM alerts WHERE `+cond+` GROUP BY category`, args...)
	if err != nil {
		return nil, fmt.Errorf("history: report: alerts: %w", err)
	}
	var category string
	var n int
	if _, err = pgx.ForEachRow(rows, []any{&category, &n}, func() error {
		r.Alerts.ByCategory[category] = n
		r.Alerts.Total += n
		return nil
	}); err != nil {
		return nil, fmt.Errorf("history: report: alerts: %w", err)
	}

	if cond, args, err = where(q, false); err != nil {
		return nil, err
	}
	rows, err = s.pool.Query(ctx, `SELECT tier1, tier2, tier3, first_arrival_s FROM incidents WHERE `+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("history: report: incidents: %w", err)
	}
	var tiers [3]*string
	var first *float64
	var seen [3]bool
	var decided, met [3]int
	var arrivals []float64
	if _, err = pgx.ForEachRow(rows, []any{&tiers[0], &tiers[1], &tiers[2], &first}, func() error {
		r.Incidents++
		for i, state := range tiers {
			if state == nil {
				continue
			}
			seen[i] = true
			if *state == dispatch.Met.String() || *state == dispatch.Missed.String() {
				decided[i]++
				if *state == dispatch.Met.String() {
					met[i]++
				}
			}
		}
		if first != nil {
			arrivals = append(arrivals, *first)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("history: report: incidents: %w", err)
	}
	for i := range seen {
		if !seen[i] {
			continue
		}
		t := streams.ReportTier{Tier: i + 1, Decided: decided[i], Met: met[i]}
		if decided[i] > 0 {
			share := float64(met[i]) / float64(decided[i])
			t.MetShare = &share
		}
		r.Tiers = append(r.Tiers, t)
	}
	if len(arrivals) > 0 {
		slices.Sort(arrivals)
		m, p90 := median(arrivals), percentile(arrivals, 0.9)
		r.FirstArrivalS = streams.Percentiles{Median: &m, P90: &p90}
	}

	rows, err = s.pool.Query(ctx, `SELECT assignments.assigned, assignments.accepted
		FROM (SELECT id FROM incidents WHERE `+cond+`) i JOIN assignments ON assignments.incident = i.id
		WHERE assignments.assigned IS NOT NULL`, args...)
	if err != nil {
		return nil, fmt.Errorf("history: report: assignments: %w", err)
	}
	var assigned time.Time
	var accepted *time.Time
	if _, err = pgx.ForEachRow(rows, []any{&assigned, &accepted}, func() error {
		r.Accepted30s.Assignments++
		if accepted != nil && accepted.Sub(assigned) <= AcceptWithin {
			r.Accepted30s.Accepted++
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("history: report: assignments: %w", err)
	}
	if r.Accepted30s.Assignments > 0 {
		share := float64(r.Accepted30s.Accepted) / float64(r.Accepted30s.Assignments)
		r.Accepted30s.Share = &share
	}

	q.By = "grid"
	grids, err := s.Grids(ctx, q)
	if err != nil {
		return nil, err
	}
	for _, g := range grids {
		r.ZeroIncidentDaysByGrid = append(r.ZeroIncidentDaysByGrid, streams.GridZeroDays{Grid: g.Grid, Name: g.Name, Days: g.ZeroIncidentDays})
	}
	return r, nil
}
