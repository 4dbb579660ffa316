package streams

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"commandd/dispatch"
	"commandd/geo"
)

// History answers supervisors' questions from the long-term store (--pg).
type History interface {
	// Incidents returns the incidents matching q, as the API gives an incident,
	// oldest first.
	Incidents(ctx context.Context, q HistoryQuery) ([]json.RawMessage, error)
	// Incident returns one incident as the API gives it, if the history holds it.
	Incident(ctx context.Context, id string) (json.RawMessage, bool, error)
	// Grids returns, per grid (an H3 cell at q.Res, or with q.By "grid" the
	// incident's management grid) and day, what happened there.
	Grids(ctx context.Context, q HistoryQuery) ([]GridDays, error)
	// Report sums up the range of q (the report card); Previous and Change are the
	// caller's.
	Report(ctx context.Context, q HistoryQuery) (*Report, error)
}

// HistoryQuery is what a supervisor asks about: a time range (on the incident's
// first alert), an area (a box, a polygon, H3 cells), a category and a tier outcome.
type HistoryQuery struct {
	From, To time.Time
	BBox     *[4]float64    // minLng, minLat, maxLng, maxLat
	Polygon  [][2]float64   // a closed ring of lng, lat
	Cells    []geo.Cell     // the res-9 cells of the cells asked for
	Category string         // a category name, or any
	Tier     int            // 1-3 with Outcome
	Outcome  string         // met, missed, pending, at_risk
	Limit    int            // incidents at most
	Res      int            // grids: the H3 resolution of a grid
	Grids    []geo.Cell     // grids: the grids asked for (also listed when nothing happened there)
	Location *time.Location // grids: where days begin
	// By is what grids are: "" (H3 cells at Res) or "grid" (the incidents' management
	// grids; those of District are listed even when nothing happened there).
	By       string
	District []dispatch.GridRef
}

// GridDays is one grid's days.
type GridDays struct {
	Grid             string    `json:"grid"`
	Name             string    `json:"name,omitempty"` // a management grid's name
	ZeroIncidentDays int       `json:"zero_incident_days"`
	Days             []GridDay `json:"days"` // the days something happened
}

// GridDay is one grid on one day.
type GridDay struct {
	Day       string `json:"day"`
	Alerts    int    `json:"alerts"`
	Incidents int    `json:"incidents"`
	// Of the tiers whose clock has run out, how many had their units in time.
	TiersDecided        int      `json:"tiers_decided"`
	TiersMet            int      `json:"tiers_met"`
	MetShare            *float64 `json:"met_share"`
	MedianFirstArrivalS *float64 `json:"median_first_arrival_s"`
	P90FirstArrivalS    *float64 `json:"p90_first_arrival_s"`
	// Units sent to the day's incidents, and how many of them acknowledged the order
	// (accepted, or reported en route or on scene) within 30 s of being sent.
	Assignments int `json:"assignments"`
	Accepted30s int `json:"accepted_30s"`
}

// maxHistoryCells bounds the res-9 cells an area of cells may come to.
const maxHistoryCells = 200_000

// parseHistoryQuery reads the query of a history request; days begin at loc's
// midnight (nil: UTC) unless it names a zone (tz).
func parseHistoryQuery(v url.Values, now time.Time, loc *time.Location) (HistoryQuery, *Error) {
	if loc == nil {
		loc = time.UTC
	}
	q := HistoryQuery{To: now, Limit: 1000, Res: 7, Location: loc}
	q.From = now.Add(-24 * time.Hour)
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if s := v.Get(f.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return q, Invalid(f.name, "want an RFC 3339 time such as 2026-11-30T00:00:00+08:00")
			}
			*f.t = t
		}
	}
	if !q.From.Before(q.To) {
		return q, Invalid("from", "from must be before to")
	}
	if q.To.Sub(q.From) > 400*24*time.Hour {
		return q, Invalid("to", "at most 400 days at once")
	}
	if s := v.Get("bbox"); s != "" {
		f, err := floats(s, 4)
		if err != nil || !(f[0] <= f[2] && f[1] <= f[3] && f[0] >= -180 && f[2] <= 180 && f[1] >= -90 && f[3] <= 90) {
			return q, Invalid("bbox", "want minLng,minLat,maxLng,maxLat in range")
		}
		q.BBox = &[4]float64{f[0], f[1], f[2], f[3]}
	}
	if s := v.Get("polygon"); s != "" {
		// lng,lat,lng,lat,…: a ring, closed here if the caller did not close it.
		f, err := floats(s, -1)
		if err != nil || len(f)%2 != 0 || len(f) < 6 || len(f) > 2000 {
			return q, Invalid("polygon", "want lng,lat,lng,lat,… of at least 3 and at most 1,000 points")
		}
		for i := 0; i < len(f); i += 2 {
			if f[i] < -180 || f[i] > 180 || f[i+1] < -90 || f[i+1] > 90 {
				return q, Invalid("polygon", "point %d is out of range", i/2)
			}
			q.Polygon = append(q.Polygon, [2]float64{f[i], f[i+1]})
		}
		if q.Polygon[0] != q.Polygon[len(q.Polygon)-1] {
			q.Polygon = append(q.Polygon, q.Polygon[0])
		}
	}
	if s := v.Get("cells"); s != "" {
		for _, id := range strings.Split(s, ",") {
			c := geo.Cell(h3FromString(id))
			if !c.IsValid() || c.Resolution() > geo.DefaultRes {
				return q, Invalid("cells", "%q is not an H3 cell of resolution 0 to %d", clipMsg(id, 20), geo.DefaultRes)
			}
			children, err := c.Children(geo.DefaultRes)
			if err != nil || len(q.Cells)+len(children) > maxHistoryCells {
				return q, Invalid("cells", "the cells cover more than %d cells of resolution %d", maxHistoryCells, geo.DefaultRes)
			}
			q.Cells = append(q.Cells, children...)
			q.Grids = append(q.Grids, c)
		}
	}
	q.Category = v.Get("category")
	if s := v.Get("tier"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 3 {
			return q, Invalid("tier", "want 1, 2 or 3")
		}
		q.Tier = n
		switch q.Outcome = v.Get("outcome"); q.Outcome {
		case "met", "missed", "pending", "at_risk":
		default:
			return q, Invalid("outcome", "with tier, want outcome met, missed, pending or at_risk")
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			return q, Invalid("limit", "want 1 to 10000")
		}
		q.Limit = n
	}
	if s := v.Get("res"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > geo.DefaultRes {
			return q, Invalid("res", "want 0 to %d", geo.DefaultRes)
		}
		q.Res = n
	}
	if s := v.Get("tz"); s != "" {
		loc, err := time.LoadLocation(s)
		if err != nil {
			return q, Invalid("tz", "unknown time zone %q", clipMsg(s, 40))
		}
		q.Location = loc
	}
	return q, nil
}

func floats(s string, n int) ([]float64, error) {
	parts := strings.Split(s, ",")
	if n >= 0 && len(parts) != n {
		return nil, strconv.ErrSyntax
	}
	out := make([]float64, len(parts))
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, err
		}
		out[i] = f
	}
	return out, nil
}

func h3FromString(s string) uint64 {
	v, err := strconv.ParseUint(strings.TrimSpace(s), 16, 64)
	if err != nil {
		return 0
	}
	return v
}

func (s *Server) historyQuery(r *http.Request) (HistoryQuery, *Error) {
	if s.History == nil {
		return HistoryQuery{}, Errorf("unavailable", "", "history needs a database: start commandd with --pg")
	}
	return parseHistoryQuery(r.URL.Query(), s.now(), s.districtZone())
}

// getHistoryIncidents: GET /api/v1/history/incidents, as JSON or (format=geojson) a
// GeoJSON FeatureCollection of points.
func (s *Server) getHistoryIncidents(r *http.Request, _ Principal) (int, any, *Error) {
	q, e := s.historyQuery(r)
	if e != nil {
		return 0, nil, e
	}
	docs, err := s.History.Incidents(r.Context(), q)
	if err != nil {
		s.Logger.Error().Err(err).Msg("history query")
		return 0, nil, Errorf("unavailable", "", "the history database did not answer; retry")
	}
	switch r.URL.Query().Get("format") {
	case "", "json":
		return http.StatusOK, map[string]any{"incidents": docs}, nil
	case "geojson":
		type feature struct {
			Type       string          `json:"type"`
			ID         string          `json:"id"`
			Geometry   any             `json:"geometry"`
			Properties json.RawMessage `json:"properties"`
		}
		fc := struct {
			Type     string    `json:"type"`
			Features []feature `json:"features"`
		}{Type: "FeatureCollection", Features: []feature{}}
		for _, doc := range docs {
			var head struct {
				ID  string  `json:"id"`
				Lat float64 `json:"lat"`
				Lng float64 `json:"lng"`
			}
			if err := json.Unmarshal(doc, &head); err != nil {
				continue
			}
			fc.Features = append(fc.Features, feature{Type: "Feature", ID: head.ID,
				Geometry: map[string]any{"type": "Point", "coordinates": []float64{head.Lng, head.Lat}}, Properties: doc})
		}
		return http.StatusOK, fc, nil
	default:
		return 0, nil, Invalid("format", "want json or geojson")
	}
}

// getHistoryGrids: GET /api/v1/history/grids.
func (s *Server) getHistoryGrids(r *http.Request, _ Principal) (int, any, *Error) {
	q, e := s.historyQuery(r)
	if e != nil {
		return 0, nil, e
	}
	switch q.By = r.URL.Query().Get("by"); q.By {
	case "", "cell":
		q.By = ""
		for _, g := range q.Grids {
			if g.Resolution() != q.Res {
				return 0, nil, Invalid("cells", "grids must be cells of resolution res (%d)", q.Res)
			}
		}
	case "grid":
		s.districtGrids(&q)
	default:
		return 0, nil, Invalid("by", "want cell or grid")
	}
	grids, err := s.History.Grids(r.Context(), q)
	if err != nil {
		s.Logger.Error().Err(err).Msg("history query")
		return 0, nil, Errorf("unavailable", "", "the history database did not answer; retry")
	}
	if q.By == "grid" {
		return http.StatusOK, map[string]any{"by": "grid", "from": q.From, "to": q.To, "tz": q.Location.String(), "grids": grids}, nil
	}
	return http.StatusOK, map[string]any{"res": q.Res, "from": q.From, "to": q.To, "grids": grids}, nil
}

// districtGrids makes q (by management grid) list the grids of the district in force
// too, unless it asks about an area (then only grids where something happened are).
func (s *Server) districtGrids(q *HistoryQuery) {
	q.Grids = nil
	if s.Loop == nil || q.BBox != nil || len(q.Polygon) > 0 || len(q.Cells) > 0 {
		return
	}
	for _, g := range s.Loop.Config().Grids {
		q.District = append(q.District, dispatch.GridRef{ID: g.ID, Name: g.Name})
	}
}

// Report is the report card of a range: what came in and how the district answered.
type Report struct {
	From      time.Time    `json:"from"`
	To        time.Time    `json:"to"`
	TZ        string       `json:"tz"`
	Alerts    ReportAlerts `json:"alerts"`
	Incidents int          `json:"incidents"`
	// Tiers: per tier number any incident of the range had, those decided (met or
	// missed) and met.
	Tiers         []ReportTier `json:"tiers"`
	FirstArrivalS Percentiles  `json:"first_arrival_s"`
	Accepted30s   ReportAccept `json:"accepted_30s"`
	// ZeroIncidentDaysByGrid: per management grid, the days of the range (in TZ)
	// without an incident there.
	ZeroIncidentDaysByGrid []GridZeroDays `json:"zero_incident_days_by_grid"`
	Previous               *Report        `json:"previous,omitempty"` // compare=previous or year
	Change                 *ReportChange  `json:"change,omitempty"`
}

// ReportAlerts counts alerts, all of them and by category.
type ReportAlerts struct {
	Total      int            `json:"total"`
	ByCategory map[string]int `json:"by_category"`
}

// ReportTier is one tier's outcomes.
type ReportTier struct {
	Tier     int      `json:"tier"`
	Decided  int      `json:"decided"`
	Met      int      `json:"met"`
	MetShare *float64 `json:"met_share"`
}

// Percentiles of a set of seconds; null when the set is empty.
type Percentiles struct {
	Median *float64 `json:"median"`
	P90    *float64 `json:"p90"`
}

// ReportAccept: units sent, and how many acknowledged the order within 30 s.
type ReportAccept struct {
	Assignments int      `json:"assignments"`
	Accepted    int      `json:"accepted"`
	Share       *float64 `json:"share"`
}

// GridZeroDays is one management grid's days without an incident.
type GridZeroDays struct {
	Grid string `json:"grid"`
	Name string `json:"name"`
	Days int    `json:"days"`
}

// ReportChange is a report against the previous one: each figure's this/previous − 1,
// null when the previous is 0 or missing.
type ReportChange struct {
	Alerts           *float64            `json:"alerts"`
	AlertsByCategory map[string]*float64 `json:"alerts_by_category"`
	Incidents        *float64            `json:"incidents"`
	TiersMetShare    []TierChange        `json:"tiers_met_share"`
	FirstArrivalS    Percentiles         `json:"first_arrival_s"`
	Accepted30sShare *float64            `json:"accepted_30s_share"`
}

// TierChange is the change of one tier's met share.
type TierChange struct {
	Tier     int      `json:"tier"`
	MetShare *float64 `json:"met_share"`
}

// ratio is this/previous − 1; nil when either is missing or previous is 0.
func ratio(this, previous *float64) *float64 {
	if this == nil || previous == nil || *previous == 0 {
		return nil
	}
	r := *this / *previous - 1
	return &r
}

func num(n int) *float64 {
	f := float64(n)
	return &f
}

// compareReports is how r changed from p.
func compareReports(r, p *Report) *ReportChange {
	c := &ReportChange{
		Alerts:           ratio(num(r.Alerts.Total), num(p.Alerts.Total)),
		AlertsByCategory: map[string]*float64{},
		Incidents:        ratio(num(r.Incidents), num(p.Incidents)),
		TiersMetShare:    []TierChange{},
		FirstArrivalS: Percentiles{Median: ratio(r.FirstArrivalS.Median, p.FirstArrivalS.Median),
			P90: ratio(r.FirstArrivalS.P90, p.FirstArrivalS.P90)},
		Accepted30sShare: ratio(r.Accepted30s.Share, p.Accepted30s.Share),
	}
	for cat, n := range r.Alerts.ByCategory {
		c.AlertsByCategory[cat] = ratio(num(n), num(p.Alerts.ByCategory[cat]))
	}
	for cat := range p.Alerts.ByCategory {
		if _, ok := r.Alerts.ByCategory[cat]; !ok {
			c.AlertsByCategory[cat] = ratio(num(0), num(p.Alerts.ByCategory[cat]))
		}
	}
	for _, t := range r.Tiers {
		tc := TierChange{Tier: t.Tier}
		for _, pt := range p.Tiers {
			if pt.Tier == t.Tier {
				tc.MetShare = ratio(t.MetShare, pt.MetShare)
			}
		}
		c.TiersMetShare = append(c.TiersMetShare, tc)
	}
	return c
}

// getHistoryReport: GET /api/v1/history/report?from&to&compare=previous|year.
func (s *Server) getHistoryReport(r *http.Request, _ Principal) (int, any, *Error) {
	v := r.URL.Query()
	for _, f := range []string{"from", "to"} {
		if v.Get(f) == "" {
			return 0, nil, Invalid(f, "required: an RFC 3339 time such as 2026-11-01T00:00:00+08:00")
		}
	}
	compare := v.Get("compare")
	if compare != "" && compare != "previous" && compare != "year" {
		return 0, nil, Invalid("compare", "want previous (the period of the same length before), year (the same dates a year before: 同比), or nothing")
	}
	q, e := s.historyQuery(r)
	if e != nil {
		return 0, nil, e
	}
	q.By = "grid"
	s.districtGrids(&q)
	fail := func(err error) (int, any, *Error) {
		s.Logger.Error().Err(err).Msg("history report")
		return 0, nil, Errorf("unavailable", "", "the history database did not answer; retry")
	}
	rep, err := s.History.Report(r.Context(), q)
	if err != nil {
		return fail(err)
	}
	if compare != "" {
		p := q
		p.From, p.To = q.From.Add(-q.To.Sub(q.From)), q.From
		if compare == "year" { // on the district's calendar, so a day stays that day
			p.From, p.To = q.From.In(q.Location).AddDate(-1, 0, 0), q.To.In(q.Location).AddDate(-1, 0, 0)
		}
		prev, err := s.History.Report(r.Context(), p)
		if err != nil {
			return fail(err)
		}
		rep.Previous = prev
		rep.Change = compareReports(rep, prev)
	}
	return http.StatusOK, rep, nil
}

// districtZone is where the district's days begin: the zone of the district in force
// (a PUT may have changed it), else Location, else UTC.
func (s *Server) districtZone() *time.Location {
	if s.Loop != nil {
		if tz := s.Loop.Config().TZ; tz != "" {
			if loc, err := time.LoadLocation(tz); err == nil {
				return loc
			}
		}
	}
	if s.Location != nil {
		return s.Location
	}
	return time.UTC
}
