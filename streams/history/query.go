package history

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/encoding/ewkb"

	"commandd/dispatch"
	"commandd/geo"
	"commandd/streams"
)

// where builds the WHERE clause of a query on incidents (by their first alert's
// time) or, with alerts, on alerts (by theirs, in the same area, whatever their
// incident's category or outcome); args are its parameters.
func where(q streams.HistoryQuery, alerts bool) (string, []any, error) {
	conds := []string{"received >= $1", "received < $2"}
	if alerts {
		conds = []string{"t >= $1", "t < $2"}
	}
	args := []any{q.From, q.To}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if b := q.BBox; b != nil {
		conds = append(conds, fmt.Sprintf("geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)",
			arg(b[0]), arg(b[1]), arg(b[2]), arg(b[3])))
	}
	if len(q.Polygon) > 0 {
		flat := make([]float64, 0, 2*len(q.Polygon))
		for _, p := range q.Polygon {
			flat = append(flat, p[0], p[1])
		}
		poly := geom.NewPolygonFlat(geom.XY, flat, []int{len(flat)}).SetSRID(4326)
		b, err := ewkb.Marshal(poly, ewkb.NDR)
		if err != nil {
			return "", nil, fmt.Errorf("history: polygon: %w", err)
		}
		conds = append(conds, fmt.Sprintf("ST_Within(geom, ST_GeomFromEWKB(%s::bytea))", arg(b)))
	}
	if len(q.Cells) > 0 {
		cells := make([]int64, len(q.Cells))
		for i, c := range q.Cells {
			cells[i] = int64(c)
		}
		conds = append(conds, fmt.Sprintf("cell = ANY(%s)", arg(cells)))
	}
	if alerts {
		return strings.Join(conds, " AND "), args, nil
	}
	if q.Category != "" {
		conds = append(conds, "category = "+arg(q.Category))
	}
	if q.Tier >= 1 && q.Tier <= 3 {
		conds = append(conds, fmt.Sprintf("tier%d = %s", q.Tier, arg(q.Outcome)))
	}
	return strings.Join(conds, " AND "), args, nil
}

// Incidents returns the incidents matching q, oldest first.
func (s *Store) Incidents(ctx context.Context, q streams.HistoryQuery) ([]json.RawMessage, error) {
	cond, args, err := where(q, false)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT doc::text FROM incidents WHERE %s ORDER BY received, id LIMIT %d`,
		cond, q.Limit), args...)
	if err != nil {
		return nil, fmt.Errorf("history: incidents: %w", err)
	}
	defer rows.Close()
	out := []json.RawMessage{}
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, fmt.Errorf("history: incidents: %w", err)
		}
		out = append(out, json.RawMessage(doc))
	}
	return out, rows.Err()
}

// Incident returns one incident as the API gives it.
func (s *Store) Incident(ctx context.Context, id string) (json.RawMessage, bool, error) {
	var doc string
	err := s.pool.QueryRow(ctx, `SELECT doc::text FROM incidents WHERE id = $1`, id).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("history: incident %s: %w", id, err)
	}
	return json.RawMessage(doc), true, nil
}

// Grids counts, per grid and day, the alerts, the incidents, the tiers met of those
// decided, and the median and 90th percentile first arrival; grids asked for by cell
// (or, by management grid, the district's) are listed even when nothing happened there.
//
// By H3 cell, incidents and their units count in the grid of their cell, alerts in
// the grid of theirs. By management grid (q.By "grid"), everything counts in the grid
// the incident carries (its "grid" when it opened), alerts at their own time and only
// those of incidents of the category and tier outcome asked for; incidents without a
// grid, and their alerts, are left out.
func (s *Store) Grids(ctx context.Context, q streams.HistoryQuery) ([]streams.GridDays, error) {
	byGrid := q.By == "grid"
	type key struct {
		grid string
		day  string
	}
	type acc struct {
		alerts, incidents, decided, met int
		assignments, accepted30s        int
		arrivals                        []float64
	}
	days := map[key]*acc{}
	names := map[string]string{}
	// at is the day of grid (a cell to take the parent of, or a management grid's id).
	var cell int64
	var gridID, gridName *string
	at := func(t time.Time) (*acc, error) {
		var g string
		if byGrid {
			if gridID == nil {
				return nil, nil
			}
			g = *gridID
			if gridName != nil {
				names[g] = *gridName
			}
		} else {
			c, err := geo.Cell(cell).Parent(q.Res)
			if err != nil {
				return nil, fmt.Errorf("history: cell %x: %w", cell, err)
			}
			g = c.String()
		}
		k := key{g, t.In(q.Location).Format(time.DateOnly)}
		if days[k] == nil {
			days[k] = &acc{}
		}
		return days[k], nil
	}
	// gridCols are the columns of incidents (alias i) a row's grid is read from.
	gridCols := `i.cell, NULL::text, NULL::text`
	gridCond := `true`
	if byGrid {
		gridCols = `0::bigint, i.doc->'grid'->>'id', i.doc->'grid'->>'name'`
		gridCond = `i.doc->'grid'->>'id' IS NOT NULL`
	}

	cond, args, err := where(q, false)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+gridCols+`, i.received, i.tier1, i.tier2, i.tier3, i.first_arrival_s
		FROM (SELECT * FROM incidents WHERE `+cond+`) i WHERE `+gridCond, args...)
	if err != nil {
		return nil, fmt.Errorf("history: grids: %w", err)
	}
	var t time.Time
	var tiers [3]*string
	var first *float64
	_, err = pgx.ForEachRow(rows, []any{&cell, &gridID, &gridName, &t, &tiers[0], &tiers[1], &tiers[2], &first}, func() error {
		a, err := at(t)
		if a == nil || err != nil {
			return err
		}
		a.incidents++
		for _, state := range tiers {
			if state != nil && (*state == dispatch.Met.String() || *state == dispatch.Missed.String()) {
				a.decided++
				if *state == dispatch.Met.String() {
					a.met++
				}
			}
		}
		if first != nil {
			a.arrivals = append(a.arrivals, *first)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("history: grids: %w", err)
	}

	// Units sent count on their incident's grid and day; an order is acknowledged in
	// time when the unit accepted it (or reported en route or on scene) within 30 s.
	rows, err = s.pool.Query(ctx, `SELECT `+gridCols+`, i.received, assignments.assigned, assignments.accepted
		FROM (SELECT * FROM incidents WHERE `+cond+`) i JOIN assignments ON assignments.incident = i.id
		WHERE assignments.assigned IS NOT NULL AND `+gridCond, args...)
	if err != nil {
		return nil, fmt.Errorf("history: grids: assignments: %w", err)
	}
	var assigned time.Time
	var accepted *time.Time
	_, err = pgx.ForEachRow(rows, []any{&cell, &gridID, &gridName, &t, &assigned, &accepted}, func() error {
		a, err := at(t)
		if a == nil || err != nil {
			return err
		}
		a.assignments++
		if accepted != nil && accepted.Sub(assigned) <= AcceptWithin {
			a.accepted30s++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("history: grids: assignments: %w", err)
	}

	// Alerts are counted by where (by cell: their own, whatever their incident; by
	// grid: their incident's) and when they came.
	if cond, args, err = where(q, true); err != nil {
		return nil, err
	}
	alerts := `SELECT cell, NULL::text, NULL::text, t FROM alerts WHERE ` + cond
	if byGrid {
		// Of incidents of the category and tier outcome asked for, whenever they began.
		if q.Category != "" {
			args = append(args, q.Category)
			gridCond += fmt.Sprintf(" AND i.category = $%d", len(args))
		}
		if q.Tier >= 1 && q.Tier <= 3 {
			args = append(args, q.Outcome)
			gridCond += fmt.Sprintf(" AND i.tier%d = $%d", q.Tier, len(args))
		}
		alerts = `SELECT ` + gridCols + `, a.t FROM (SELECT incident, t FROM alerts WHERE ` + cond + `) a
			JOIN incidents i ON i.id = a.incident WHERE ` + gridCond
	}
	if rows, err = s.pool.Query(ctx, alerts, args...); err != nil {
		return nil, fmt.Errorf("history: grids: alerts: %w", err)
	}
	_, err = pgx.ForEachRow(rows, []any{&cell, &gridID, &gridName, &t}, func() error {
		a, err := at(t)
		if a == nil || err != nil {
			return err
		}
		a.alerts++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("history: grids: alerts: %w", err)
	}

	grids := map[string]*streams.GridDays{}
	for _, g := range q.Grids {
		if !byGrid {
			grids[g.String()] = &streams.GridDays{Grid: g.String(), Days: []streams.GridDay{}}
		}
	}
	for _, g := range q.District {
		if byGrid {
			grids[g.ID] = &streams.GridDays{Grid: g.ID, Name: g.Name, Days: []streams.GridDay{}}
		}
	}
	for k, a := range days {
		g := grids[k.grid]
		if g == nil {
			g = &streams.GridDays{Grid: k.grid, Name: names[k.grid]}
			grids[k.grid] = g
		}
		d := streams.GridDay{Day: k.day, Alerts: a.alerts, Incidents: a.incidents, TiersDecided: a.decided, TiersMet: a.met,
			Assignments: a.assignments, Accepted30s: a.accepted30s}
		if a.decided > 0 {
			share := float64(a.met) / float64(a.decided)
			d.MetShare = &share
		}
		if len(a.arrivals) > 0 {
			slices.Sort(a.arrivals)
			m, p90 := median(a.arrivals), percentile(a.arrivals, 0.9)
			d.MedianFirstArrivalS, d.P90FirstArrivalS = &m, &p90
		}
		g.Days = append(g.Days, d)
	}
	total := countDays(q.From, q.To, q.Location)
	out := make([]streams.GridDays, 0, len(grids))
	for _, g := range grids {
		slices.SortFunc(g.Days, func(a, b streams.GridDay) int { return cmp.Compare(a.Day, b.Day) })
		withIncidents := 0
		for _, d := range g.Days {
			if d.Incidents > 0 {
				withIncidents++
			}
		}
		g.ZeroIncidentDays = total - withIncidents
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b streams.GridDays) int { return cmp.Compare(a.Grid, b.Grid) })
	return out, nil
}

// AcceptWithin is how soon after its assignment a unit must acknowledge the order for
// it to count in a grid day's accepted_30s (real reports: 97.6% of orders within 30 s).
const AcceptWithin = 30 * time.Second

// median of sorted values.
func median(v []float64) float64 {
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// percentile p (0–1] of sorted values, by nearest rank: the smallest value at least
// a share p of the values are at or below.
func percentile(v []float64, p float64) float64 {
	r := int(math.Ceil(p * float64(len(v))))
	return v[max(r, 1)-1]
}

// countDays is how many calendar days (in loc) the range [from, to) touches.
func countDays(from, to time.Time, loc *time.Location) int {
	d0 := from.In(loc)
	d1 := to.Add(-time.Nanosecond).In(loc)
	first := time.Date(d0.Year(), d0.Month(), d0.Day(), 0, 0, 0, 0, loc)
	last := time.Date(d1.Year(), d1.Month(), d1.Day(), 0, 0, 0, 0, loc)
	n := 0
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		n++
	}
	return n
}

// Audit returns the audited events of q's range, oldest first: by an actor, about a
// unit (its roster entry, its status, its assignments, what it did itself), about an
// incident.
func (s *Store) Audit(ctx context.Context, q streams.AuditQuery) ([]streams.AuditEntry, error) {
	conds := []string{"t >= $1", "t < $2"}
	args := []any{q.From, q.To}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if q.Actor != "" {
		conds = append(conds, "actor = "+arg(q.Actor))
	}
	if q.Unit != "" {
		u := arg(q.Unit)
		conds = append(conds, fmt.Sprintf("(subject = %[1]s OR body->>'unit' = %[1]s OR actor = 'unit:' || %[1]s)", u))
	}
	if q.Incident != "" {
		i := arg(q.Incident)
		conds = append(conds, fmt.Sprintf("(subject = %[1]s OR body->>'incident' = %[1]s)", i))
	}
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`SELECT seq, t, kind, coalesce(actor, ''), coalesce(subject, ''), body::text
		FROM audit WHERE %s ORDER BY seq, n LIMIT %d`, strings.Join(conds, " AND "), q.Limit), args...)
	if err != nil {
		return nil, fmt.Errorf("history: audit: %w", err)
	}
	defer rows.Close()
	out := []streams.AuditEntry{}
	for rows.Next() {
		var e streams.AuditEntry
		var seq int64
		var t time.Time
		var body string
		if err := rows.Scan(&seq, &t, &e.Kind, &e.Actor, &e.Subject, &body); err != nil {
			return nil, fmt.Errorf("history: audit: %w", err)
		}
		e.Seq, e.T, e.What = uint64(seq), dispatch.Millis{Time: t.UTC()}, json.RawMessage(body)
		e.Role, e.Token, e.Unit = streams.ActorParts(e.Actor)
		out = append(out, e)
	}
	return out, rows.Err()
}
