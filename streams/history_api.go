package streams

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"commandd/geo"
)

// History answers supervisors' questions from the long-term store (--pg).
type History interface {
	// Incidents returns the incidents matching q, as the API gives an incident,
	// oldest first.
	Incidents(ctx context.Context, q HistoryQuery) ([]json.RawMessage, error)
	// Incident returns one incident as the API gives it, if the history holds it.
	Incident(ctx context.Context, id string) (json.RawMessage, bool, error)
	// Grids returns, per grid (an H3 cell at q.Res) and day, what happened there.
	Grids(ctx context.Context, q HistoryQuery) ([]GridDays, error)
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
}

// GridDays is one grid's days.
type GridDays struct {
	Grid             string    `json:"grid"`
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
	return parseHistoryQuery(r.URL.Query(), s.now(), s.Location)
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
	for _, g := range q.Grids {
		if g.Resolution() != q.Res {
			return 0, nil, Invalid("cells", "grids must be cells of resolution res (%d)", q.Res)
		}
	}
	grids, err := s.History.Grids(r.Context(), q)
	if err != nil {
		s.Logger.Error().Err(err).Msg("history query")
		return 0, nil, Errorf("unavailable", "", "the history database did not answer; retry")
	}
	return http.StatusOK, map[string]any{"res": q.Res, "from": q.From, "to": q.To, "grids": grids}, nil
}
