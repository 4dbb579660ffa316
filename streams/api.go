package streams

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"commandd/dispatch"
)

// Limits bound what one request may carry and how often a token may call.
type Limits struct {
	MaxBody    int64   // bytes, for everything but fixes
	MaxFixBody int64   // bytes, for a batch of fixes
	MaxBatch   int     // fixes in one batch
	Rate       float64 // requests per second per token
	Burst      int
}

// DefaultLimits are generous for machines and strict enough to keep one from drowning
// the rest.
var DefaultLimits = Limits{MaxBody: 64 << 10, MaxFixBody: 16 << 20, MaxBatch: 50000, Rate: 500, Burst: 1000}

// Server is commandd's HTTP front: ingest, reads and the WebSocket hub.
type Server struct {
	Log     *Log
	Loop    *Loop
	Hub     *Hub
	Tokens  *Tokens
	Logger  zerolog.Logger
	Limits  Limits
	Origins []string // extra allowed WebSocket origins; the server's own host always is
	Metrics *Metrics
	// History answers supervisors' queries; nil: not kept (no --pg).
	History History
	// Archive is where replays read the past; nil: the log alone (LogArchive).
	Archive Archive
	// UI, when set, serves the web pages at / (the API stays under /api, /ws).
	UI http.Handler
	// Clock gives the time of events sent without one, and is what times sent are
	// checked against; nil: the wall clock. A simulation may run it faster.
	Clock func() time.Time
	// Location is the district's time zone: history days begin at its midnight unless
	// a query says otherwise; nil: UTC.
	Location *time.Location
	// External, when set, is the clock instead of Clock, and POST /api/v1/clock moves
	// it (the server then makes no ticks of its own).
	External *ExternalClock
	// TrustDeviceID accepts an OsmAnd report by its device id alone (Traccar's own way,
	// for closed networks); otherwise a device needs a token or its device secret.
	TrustDeviceID bool
	// JT808 bounds the JT/T 808 terminal connections (ServeJT808); zero fields take
	// their defaults.
	JT808 JT808Limits

	jt808 jt808State // JT/T 808 connections and terminals' alarm edges

	limiters sync.Map // token id → *rate.Limiter
	sockets  sync.Map // open WebSocket connections → *socket
}

// now is the time of the server's clock.
func (s *Server) now() time.Time {
	if s.External != nil {
		return s.External.Now()
	}
	if s.Clock != nil {
		return s.Clock()
	}
	return time.Now()
}

// handler is an API endpoint: it answers with a value and a status, or an error.
type handler func(r *http.Request, p Principal) (status int, body any, err *Error)

// route authenticates, authorises by role, rate-limits and runs h.
func (s *Server) route(name string, allowed []Role, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		status, body, err := s.serve(r, allowed, h)
		if err != nil {
			status = err.Status
			WriteError(w, err)
		} else {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			if body != nil {
				_ = json.NewEncoder(w).Encode(body)
			}
		}
		s.Metrics.request(name, status, time.Since(start))
		if err != nil {
			s.Logger.Debug().Str("endpoint", name).Int("status", status).Str("code", err.Code).Str("field", err.Field).
				Str("reason", err.Message).Msg("request rejected")
		}
	}
}

func (s *Server) serve(r *http.Request, allowed []Role, h handler) (int, any, *Error) {
	p, err := s.authenticate(r)
	if err != nil {
		return 0, nil, err
	}
	if err := s.admit(p, allowed); err != nil {
		return 0, nil, err
	}
	return h(r, p)
}

// admit is what every request and every socket message passes once its sender is
// known: the engine has caught up, the role may do this (admin may do anything), and
// the token is within its rate.
func (s *Server) admit(p Principal, allowed []Role) *Error {
	if !s.Loop.Ready() {
		// Until the engine has caught up with the log, answers would be about the past
		// (a unit registered before the restart would look unknown).
		return Errorf("unavailable", "", "replaying the log; retry when /readyz answers 200")
	}
	if !p.Is(allowed...) && !p.Is(Admin) {
		return Errorf("permission_denied", "", "role %s may not do this", p.Role)
	}
	if !s.limiter(p).Allow() {
		return Errorf("rate_limited", "", "too many requests for this token")
	}
	return nil
}

func (s *Server) limiter(p Principal) *rate.Limiter {
	if l, ok := s.limiters.Load(p.Name()); ok {
		return l.(*rate.Limiter)
	}
	l, _ := s.limiters.LoadOrStore(p.Name(), rate.NewLimiter(rate.Limit(s.Limits.Rate), s.Limits.Burst))
	return l.(*rate.Limiter)
}

// body reads a request body of at most limit bytes.
func body(r *http.Request, limit int64) ([]byte, *Error) { return bodyInto(r, limit, nil) }

// bodyInto reads a request body of at most limit bytes into buf's memory, growing it
// as needed. Fix batches are megabytes each; reading them into reused memory sized by
// Content-Length spares the allocator and the zeroing of a fresh buffer per request.
func bodyInto(r *http.Request, limit int64, buf []byte) ([]byte, *Error) {
	size := r.ContentLength
	if size < 0 || size > limit {
		size = 0
	}
	b, err := readAll(http.MaxBytesReader(nil, r.Body, limit), buf, size)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, Errorf("too_large", "", "body over %d bytes", limit)
	}
	if err != nil {
		return nil, Invalid("", "reading body: %v", err)
	}
	return b, nil
}

// readAll reads rd to its end into buf's memory; size, when known, is how much to
// expect.
func readAll(rd io.Reader, buf []byte, size int64) ([]byte, error) {
	b := buf[:0]
	if int64(cap(b)) < size+1 { // +1: room to see the end without growing
		b = make([]byte, 0, size+512)
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := rd.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// fixBodies holds memory for fix batch bodies between requests: decoding copies what
// it keeps, so the body is free again once ingestFixes returns.
var fixBodies = sync.Pool{New: func() any { return new([]byte) }}

// commit appends one event to the log, waits until the engine has applied it, and
// returns the engine's answer. A rejection by the engine becomes the matching error.
// fresh is false when there is no answer of its own to give: JetStream dropped the event
// as a retry of one stored under msgID, or its answer is no longer kept; the caller then
// answers from the engine's state.
func (s *Server) commit(ctx context.Context, msgID string, ev dispatch.Event) (ans []dispatch.Change, fresh bool, _ *Error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	seq, dup, err := s.Log.AppendOnce(ctx, msgID, ev)
	if err != nil {
		s.Logger.Error().Err(err).Str("event", ev.Kind()).Msg("log append failed")
		return nil, false, Errorf("unavailable", "", "the event log did not take the event; retry")
	}
	ans, err = s.Loop.Wait(ctx, seq)
	if errors.Is(err, ErrAnswerGone) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, Errorf("unavailable", "", "stored at %d but not yet applied; retry to get the answer", seq)
	}
	for _, c := range ans {
		if c.Kind == dispatch.Rejected {
			return ans, false, rejection(c)
		}
	}
	return ans, !dup, nil
}

// rejection answers an engine rejection with the contract's error code for its class.
func rejection(c dispatch.Change) *Error {
	switch c.Code {
	case dispatch.NotFound:
		return Errorf("not_found", "", "%s", c.Reason)
	case dispatch.Conflict:
		return Errorf("conflict", "", "%s", c.Reason)
	}
	return Invalid("", "%s", c.Reason)
}

// apiRoute is one endpoint of the API: its pattern, its name in the metrics, the
// roles it admits (admin always) and its handler.
type apiRoute struct {
	pattern, name string
	roles         []Role
	h             handler
}

// routes are the API's endpoints. docs/api.md's table of roles says the same, and a
// test checks every route against it, so a new route needs its row there.
func (s *Server) routes() []apiRoute {
	staff := []Role{Operator, Supervisor}
	return []apiRoute{
		{"PUT /api/v1/units/{id}", "put_unit", []Role{Operator}, s.putUnit},
		{"GET /api/v1/units", "get_units", append(staff, Ingest), s.getUnits},
		{"GET /api/v1/units/{id}", "get_unit", append(staff, Ingest, UnitRole), s.getUnit},
		{"PUT /api/v1/cameras/{id}", "put_camera", []Role{Operator, Ingest}, s.putCamera},
		{"GET /api/v1/cameras", "get_cameras", append(staff, Ingest), s.getCameras},
		{"POST /api/v1/fixes", "post_fixes", []Role{Ingest, UnitRole}, s.postFixes},
		{"POST /api/v1/alerts", "post_alert", []Role{Ingest, Operator}, s.postAlert},
		{"POST /api/v1/camera-events", "post_camera_event", []Role{Ingest}, s.postCameraEvent},
		{"POST /api/v1/incidents/{id}/assign", "assign", []Role{Operator}, s.assign},
		{"POST /api/v1/incidents/{id}/release", "release", []Role{Operator}, s.release},
		{"POST /api/v1/incidents/{id}/close", "close", []Role{Operator}, s.close},
		{"POST /api/v1/incidents/{id}/notes", "note", []Role{Operator}, s.note},
		{"POST /api/v1/units/{id}/status", "unit_status", []Role{Operator, UnitRole}, s.unitStatus},
		{"GET /api/v1/incidents", "get_incidents", staff, s.getIncidents},
		{"GET /api/v1/incidents/{id}", "get_incident", append(staff, UnitRole), s.getIncident},
		{"GET /api/v1/incidents/{id}/candidates", "get_candidates", staff, s.getCandidates},
		{"GET /api/v1/coverage", "get_coverage", append(staff, UnitRole), s.getCoverage},
		{"GET /api/v1/history/incidents", "history_incidents", staff, s.getHistoryIncidents},
		{"GET /api/v1/history/grids", "history_grids", staff, s.getHistoryGrids},
		{"GET /api/v1/history/report", "history_report", staff, s.getHistoryReport},
		{"PUT /api/v1/district", "put_district", nil, s.putDistrict},
		{"GET /api/v1/district", "get_district", staff, s.getDistrict},
		{"GET /api/v1/clock", "get_clock", append(staff, Ingest, UnitRole, Volunteer), s.getClock},
		{"POST /api/v1/clock", "set_clock", nil, s.setClock},
		{"POST /api/v1/tokens", "post_token", nil, s.postToken},
		{"GET /api/v1/tokens", "get_tokens", nil, s.getTokens},
		{"DELETE /api/v1/tokens/{id}", "delete_token", nil, s.deleteToken},
		{"GET /api/v1/incidents/{id}/eido", "get_eido", append(staff, Ingest), s.getEIDO},
		{"POST /api/v1/eido", "post_eido", []Role{Operator, Ingest}, s.postEIDO},
		{"GET /api/v1/handhelds", "get_handhelds", staff, s.getHandhelds},
		{"GET /api/v1/audit", "get_audit", []Role{Supervisor}, s.getAudit},
		{"GET /api/v1/moveups", "get_moveups", staff, s.getMoveUps},
		{"POST /api/v1/moveups/{unit}/confirm", "confirm_moveup", []Role{Operator}, s.confirmMoveUp},
		{"GET /api/v1/cluster", "get_cluster", staff, s.getCluster},
	}
}

// openRoute is an endpoint that authenticates in its own way (a socket's
// subscription, a device's secret) or not at all (probes, metrics, the pages).
type openRoute struct {
	pattern string
	h       http.Handler
}

func (s *Server) openRoutes() []openRoute {
	out := []openRoute{
		{"GET /ws", http.HandlerFunc(s.serveWS)},
		{"GET /osmand", s.OsmAnd()},
		{"POST /osmand", s.OsmAnd()},
		{"GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })},
		{"GET /readyz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !s.Loop.Ready() {
				WriteError(w, Errorf("unavailable", "", "replaying the log"))
				return
			}
			w.Write([]byte("ready\n"))
		})},
		{"GET /metrics", s.Metrics.Handler()},
	}
	if s.UI != nil {
		// The pages and their files; /api, /ws and the rest above are more specific.
		out = append(out, openRoute{"GET /", s.UI})
	}
	return out
}

// Handler returns the HTTP routes of the wire contract.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.HandleFunc(rt.pattern, s.route(rt.name, rt.roles, rt.h))
	}
	for _, rt := range s.openRoutes() {
		mux.Handle(rt.pattern, rt.h)
	}
	return securityHeaders(mux)
}

// securityHeaders sets what every answer carries: no sniffing of types, no referrer,
// no framing; API answers are not cached and load nothing. The pages set their own
// Content-Security-Policy over this one.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		if strings.HasPrefix(r.URL.Path, "/api/") {
			hd.Set("Cache-Control", "no-store")
		}
		if r.TLS != nil {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.ServeHTTP(w, r)
	})
}

func (s *Server) putUnit(r *http.Request, p Principal) (int, any, *Error) {
	b, err := body(r, s.Limits.MaxBody)
	if err != nil {
		return 0, nil, err
	}
	ev, err := DecodeUnit(r.PathValue("id"), b, s.now())
	if err != nil {
		return 0, nil, err
	}
	ev.By = p.Name()
	if _, _, err := s.commit(r.Context(), "", ev); err != nil {
		return 0, nil, err
	}
	var v dispatch.UnitView
	s.Loop.Read(func(e *dispatch.Engine) { v, _ = e.Unit(ev.ID) })
	return http.StatusOK, v, nil
}

func (s *Server) getUnits(r *http.Request, _ Principal) (int, any, *Error) {
	var v []dispatch.UnitView
	s.Loop.Read(func(e *dispatch.Engine) { v = e.Units() })
	return http.StatusOK, v, nil
}

func (s *Server) getUnit(r *http.Request, p Principal) (int, any, *Error) {
	id := r.PathValue("id")
	if p.Is(UnitRole) && p.Unit != id {
		return 0, nil, Errorf("permission_denied", "", "a unit token reads only its own unit")
	}
	var v dispatch.UnitView
	var ok bool
	s.Loop.Read(func(e *dispatch.Engine) { v, ok = e.Unit(id) })
	if !ok {
		return 0, nil, Errorf("not_found", "", "no unit %q", id)
	}
	return http.StatusOK, v, nil
}

func (s *Server) putCamera(r *http.Request, p Principal) (int, any, *Error) {
	b, err := body(r, s.Limits.MaxBody)
	if err != nil {
		return 0, nil, err
	}
	ev, err := DecodeCamera(r.PathValue("id"), b, s.now())
	if err != nil {
		return 0, nil, err
	}
	ev.By = p.Name()
	if _, _, err := s.commit(r.Context(), "", ev); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, dispatch.CameraView{ID: ev.ID, Name: ev.Name, Lat: ev.Lat, Lng: ev.Lng, Cell: ev.Cell, Heading: ev.Heading}, nil
}

func (s *Server) getCameras(r *http.Request, _ Principal) (int, any, *Error) {
	var v []dispatch.CameraView
	s.Loop.Read(func(e *dispatch.Engine) { v = e.Cameras() })
	return http.StatusOK, v, nil
}

// fixesAnswer is the answer to a batch of fixes.
type fixesAnswer struct {
	Accepted int         `json:"accepted"`
	Rejected []ItemError `json:"rejected"`
}

func (s *Server) postFixes(r *http.Request, p Principal) (int, any, *Error) {
	buf := fixBodies.Get().(*[]byte)
	defer fixBodies.Put(buf)
	b, err := bodyInto(r, s.Limits.MaxFixBody, *buf)
	*buf = b
	if err != nil {
		return 0, nil, err
	}
	ans, err := s.ingestFixes(r.Context(), b, p)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, ans, nil
}

// ingestFixes decodes a body of fixes (a JSON array or NDJSON), keeps those of known
// units p may report for, and stores them. A unit's own fixes may leave out the unit.
func (s *Server) ingestFixes(ctx context.Context, b []byte, p Principal) (fixesAnswer, *Error) {
	own := ""
	if p.Is(UnitRole) {
		own = p.Unit
	}
	fixes, rejected, err := decodeFixes(b, s.now(), s.Limits.MaxBatch, own)
	if err != nil {
		return fixesAnswer{}, err
	}
	accepted := s.knownFixes(fixes, &rejected, p)
	if rejected == nil {
		rejected = []ItemError{}
	}
	if len(accepted) > 0 {
		if err := s.Log.AppendFixes(ctx, accepted); err != nil {
			s.Logger.Error().Err(err).Int("fixes", len(accepted)).Msg("log append failed")
			return fixesAnswer{}, Errorf("unavailable", "", "the event log did not take the fixes; retry")
		}
	}
	s.Metrics.fixes(len(accepted), len(rejected))
	return fixesAnswer{Accepted: len(accepted), Rejected: rejected}, nil
}

// knownFixes keeps the fixes of known units that p may report for; the others are
// added to rejected, with their index in the batch as sent.
func (s *Server) knownFixes(fixes []dispatch.Fix, rejected *[]ItemError, p Principal) []dispatch.Fix {
	bad := map[int]bool{}
	for _, r := range *rejected {
		bad[r.Index] = true
	}
	kept := fixes[:0]
	index := 0
	s.Loop.Read(func(e *dispatch.Engine) {
		for _, f := range fixes {
			for bad[index] {
				index++
			}
			switch {
			case p.Is(UnitRole) && f.Unit != p.Unit:
				*rejected = append(*rejected, ItemError{Index: index, Error: Errorf("permission_denied", "unit", "a unit token reports only for its own unit")})
			case !e.Known(f.Unit):
				*rejected = append(*rejected, ItemError{Index: index, Error: Errorf("not_found", "unit", "unknown unit %q", f.Unit)})
			default:
				kept = append(kept, f)
			}
			index++
		}
	})
	slices.SortFunc(*rejected, func(a, b ItemError) int { return cmp.Compare(a.Index, b.Index) })
	return kept
}

// alertAnswer is the answer to an alert.
type alertAnswer struct {
	Alert     string `json:"alert"`
	Incident  string `json:"incident"`
	Duplicate bool   `json:"duplicate"`
}

func (s *Server) postAlert(r *http.Request, p Principal) (int, any, *Error) {
	b, err := body(r, s.Limits.MaxBody)
	if err != nil {
		return 0, nil, err
	}
	ev, err := DecodeAlert(b, s.now())
	if err != nil {
		return 0, nil, err
	}
	return s.takeAlert(r.Context(), ev)
}

// takeAlert stores an alert and answers what became of it: 201 and its incident, or
// 200 with the same answer for an alert id taken before.
func (s *Server) takeAlert(ctx context.Context, ev *dispatch.AlertReceived) (int, alertAnswer, *Error) {
	// The message id lets JetStream drop a sender's quick retry; then, or if the answer
	// is no longer kept, the engine answers from its memory of alert ids.
	ans, fresh, err := s.commit(ctx, "alert:"+ev.ID, ev)
	if err != nil {
		return 0, alertAnswer{}, err
	}
	for _, c := range ans {
		if fresh && c.Kind == dispatch.AlertAccepted && c.Alert == ev.ID {
			status := http.StatusCreated
			if c.Repeat {
				status = http.StatusOK
			}
			return status, alertAnswer{Alert: ev.ID, Incident: c.Incident, Duplicate: c.Duplicate}, nil
		}
	}
	var known dispatch.AlertAnswer
	var ok bool
	s.Loop.Read(func(e *dispatch.Engine) { known, ok = e.Alert(ev.ID) })
	if !ok {
		return 0, alertAnswer{}, Errorf("unavailable", "", "alert stored, answer not found; retry")
	}
	return http.StatusOK, alertAnswer{Alert: ev.ID, Incident: known.Incident, Duplicate: known.Duplicate}, nil
}

// cameraAnswer is the answer to a camera event.
type cameraAnswer struct {
	Event    string  `json:"event"`
	Incident *string `json:"incident"`
}

func (s *Server) postCameraEvent(r *http.Request, p Principal) (int, any, *Error) {
	b, err := body(r, s.Limits.MaxBody)
	if err != nil {
		return 0, nil, err
	}
	ev, err := DecodeCameraEvent(b, s.now())
	if err != nil {
		return 0, nil, err
	}
	ans, fresh, err := s.commit(r.Context(), "camera_event:"+ev.ID, ev)
	if err != nil {
		return 0, nil, err
	}
	out := cameraAnswer{Event: ev.ID}
	inc, found := "", false
	for _, c := range ans {
		if fresh && c.Kind == dispatch.CameraEvent && c.Event == ev.ID {
			inc, found = c.Incident, true
		}
	}
	if !found {
		s.Loop.Read(func(e *dispatch.Engine) { inc, _ = e.CameraEventIncident(ev.ID) })
	}
	if inc != "" {
		out.Incident = &inc
	}
	return http.StatusAccepted, out, nil
}

// command commits an operator command and answers with the incident after it.
func (s *Server) command(r *http.Request, ev dispatch.Event, incident string) (int, any, *Error) {
	if _, _, err := s.commit(r.Context(), "", ev); err != nil {
		return 0, nil, err
	}
	var v dispatch.IncidentView
	s.Loop.Read(func(e *dispatch.Engine) { v, _ = e.Incident(incident) })
	return http.StatusOK, v, nil
}

func (s *Server) assign(r *http.Request, p Principal) (int, any, *Error) {
	b, err := body(r, s.Limits.MaxBody)
	if err != nil {
		return 0, nil, err
	}
	id := r.PathValue("id")
	ev, err := DecodeAssign(id, b, s.now(), p.Name())
	if err != nil {
		return 0, nil, err
	}
	return s.command(r, ev, id)
}

func (s *Server) release(r *http.Request, p Principal) (int, any, *Error) {
	b, err := body(r, s.Limits.MaxBody)
	if err != nil {
		return 0, nil, err
	}
	id := r.PathValue("id")
	ev, err := DecodeRelease(id, b, s.now(), p.Name())
	if err != nil {
		return 0, nil, err
	}
	return s.command(r, ev, id)
}

func (s *Server) close(r *http.Request, p Principal) (int, any, *Error) {
	b, err := body(r, s.Limits.MaxBody)
	if err != nil {
		return 0, nil, err
	}
	id := r.PathValue("id")
	ev, err := DecodeClose(id, b, s.now(), p.Name())
	if err != nil {
		return 0, nil, err
	}
	return s.command(r, ev, id)
}

// noteAnswer is the answer to a note: the note as the incident keeps it.
type noteAnswer struct {
	Incident string          `json:"incident"`
	T        dispatch.Millis `json:"t"`
	By       string          `json:"by"`
	Text     string          `json:"text"`
}

func (s *Server) note(r *http.Request, p Principal) (int, any, *Error) {
	b, err := body(r, s.Limits.MaxBody)
	if err != nil {
		return 0, nil, err
	}
	id := r.PathValue("id")
	ev, err := DecodeNote(id, b, s.now(), p.Name())
	if err != nil {
		return 0, nil, err
	}
	if _, _, err := s.commit(r.Context(), "", ev); err != nil {
		return 0, nil, err
	}
	// The engine stamps the note with its clock; the newest note of this author and
	// text is this one (or one just like it, which answers the same).
	ans := noteAnswer{Incident: id, T: dispatch.Millis{Time: ev.T}, By: ev.By, Text: ev.Text}
	s.Loop.Read(func(e *dispatch.Engine) {
		v, _ := e.Incident(id)
		for n := len(v.Notes) - 1; n >= 0; n-- {
			if v.Notes[n].By == ev.By && v.Notes[n].Text == ev.Text {
				ans.T = v.Notes[n].T
				break
			}
		}
	})
	return http.StatusCreated, ans, nil
}

func (s *Server) unitStatus(r *http.Request, p Principal) (int, any, *Error) {
	id := r.PathValue("id")
	if p.Is(UnitRole) && p.Unit != id {
		return 0, nil, Errorf("permission_denied", "", "a unit token acts only for its own unit")
	}
	b, err := body(r, s.Limits.MaxBody)
	if err != nil {
		return 0, nil, err
	}
	ev, err := DecodeStatus(id, b, s.now(), p.Name())
	if err != nil {
		return 0, nil, err
	}
	if _, _, err := s.commit(r.Context(), "", ev); err != nil {
		return 0, nil, err
	}
	var v dispatch.UnitView
	s.Loop.Read(func(e *dispatch.Engine) { v, _ = e.Unit(id) })
	return http.StatusOK, v, nil
}

func (s *Server) getIncidents(r *http.Request, _ Principal) (int, any, *Error) {
	status := r.URL.Query().Get("status")
	if status != "" && status != "open" && status != "closed" && status != "all" {
		return 0, nil, Invalid("status", "want open, closed or all")
	}
	var all []dispatch.IncidentView
	s.Loop.Read(func(e *dispatch.Engine) { all = e.Incidents(status != "open" && status != "") })
	out := []dispatch.IncidentView{}
	for _, v := range all {
		if status != "closed" || v.Status == "closed" {
			out = append(out, v)
		}
	}
	return http.StatusOK, out, nil
}

func (s *Server) getIncident(r *http.Request, p Principal) (int, any, *Error) {
	id := r.PathValue("id")
	v, ok, e := s.incident(r.Context(), id)
	if e != nil {
		return 0, nil, e
	}
	if !ok {
		return 0, nil, Errorf("not_found", "", "no incident %q", id)
	}
	if p.Is(UnitRole) && !onIncident(v, p.Unit) {
		return 0, nil, Errorf("permission_denied", "", "a unit token reads only the incidents it is on")
	}
	return http.StatusOK, v, nil
}

// incident finds an incident in the engine or, once the engine has retired it, in
// the history.
func (s *Server) incident(ctx context.Context, id string) (v dispatch.IncidentView, ok bool, _ *Error) {
	s.Loop.Read(func(e *dispatch.Engine) { v, ok = e.Incident(id) })
	if ok || s.History == nil {
		return v, ok, nil
	}
	doc, ok, err := s.History.Incident(ctx, id)
	if err != nil {
		s.Logger.Error().Err(err).Str("incident", id).Msg("history lookup")
		return v, false, Errorf("unavailable", "", "the history database did not answer; retry")
	}
	if !ok {
		return v, false, nil
	}
	if err := json.Unmarshal(doc, &v); err != nil {
		s.Logger.Error().Err(err).Str("incident", id).Msg("history incident unreadable")
		return v, false, Errorf("unavailable", "", "the history holds incident %s in a form this server cannot read", id)
	}
	return v, true, nil
}

func onIncident(v dispatch.IncidentView, unit string) bool {
	for _, t := range v.Tiers {
		for _, u := range t.Units {
			if u.Unit == unit {
				return true
			}
		}
	}
	return false
}

// maxCandidates bounds the limit of GET /api/v1/incidents/{id}/candidates.
const maxCandidates = 50

// getCandidates: GET /api/v1/incidents/{id}/candidates?tier=N&limit=K, the units an
// operator could send to a tier, by the engine's travel times, and the soonest it
// could not, with why.
func (s *Server) getCandidates(r *http.Request, _ Principal) (int, any, *Error) {
	q := r.URL.Query()
	if q.Get("tier") == "" {
		return 0, nil, Invalid("tier", "tier is required")
	}
	tier, err := strconv.Atoi(q.Get("tier"))
	if err != nil || tier < 1 {
		return 0, nil, Invalid("tier", "want a tier number from 1")
	}
	limit := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxCandidates {
			return 0, nil, Invalid("limit", "want 1 to %d", maxCandidates)
		}
		limit = n
	}
	id := r.PathValue("id")
	var v dispatch.CandidatesView
	var cerr error
	s.Loop.Read(func(e *dispatch.Engine) { v, cerr = e.Candidates(id, tier, limit) })
	switch {
	case errors.Is(cerr, dispatch.ErrUnknownIncident):
		return 0, nil, Errorf("not_found", "", "no incident %q", id)
	case errors.Is(cerr, dispatch.ErrNoSuchTier):
		return 0, nil, Invalid("tier", "%v", cerr)
	case errors.Is(cerr, dispatch.ErrIncidentClosed):
		return 0, nil, Errorf("conflict", "", "%v: no unit can be sent", cerr)
	case cerr != nil:
		return 0, nil, Errorf("unavailable", "", "%v", cerr)
	}
	return http.StatusOK, v, nil
}

func (s *Server) getCoverage(r *http.Request, _ Principal) (int, any, *Error) {
	if res := r.URL.Query().Get("res"); res != "" && res != "9" {
		return 0, nil, Invalid("res", "coverage is kept at resolution 9")
	}
	var v []dispatch.CoverageCell
	s.Loop.Read(func(e *dispatch.Engine) { v = e.Coverage(nil) })
	return http.StatusOK, v, nil
}

// MaxDistrictBody bounds PUT /api/v1/district's body: with its cells the district is
// one log message, which must stay under MaxMessage.
const MaxDistrictBody = min(DistrictFileLimit, 8<<20)

// putDistrict replaces the district in force — its name, time zone, cells, grids,
// zones, plans and file — keeping the rest of the configuration in force (recommend,
// baseline, retirement, windows), by a Configure event in the log: replays, the
// history and a restart see it where it happened. A file that does not decode changes
// nothing.
func (s *Server) putDistrict(r *http.Request, p Principal) (int, any, *Error) {
	b, err := body(r, MaxDistrictBody)
	if err != nil {
		return 0, nil, err
	}
	d, err := DecodeDistrict(b)
	if err != nil {
		return 0, nil, err
	}
	cfg := s.Loop.Config()
	cfg.Name, cfg.TZ, cfg.District, cfg.Grids, cfg.Zones, cfg.Plans, cfg.Source =
		d.Name, d.TZ, d.District, d.Grids, d.Zones, d.Plans, d.Source
	cfg.Model = nil // the process's, never the log's
	if verr := cfg.Validate(); verr != nil {
		return 0, nil, Invalid("", "%v", verr)
	}
	ev := &dispatch.Configure{T: s.now(), Config: cfg, By: p.Name()}
	if msg, eerr := EncodeEvents([]dispatch.Event{ev}); eerr != nil {
		return 0, nil, Invalid("", "%v", eerr)
	} else if len(msg) > MaxMessage {
		return 0, nil, Errorf("too_large", "", "the district with its cells is %d bytes, over the log's %d", len(msg), MaxMessage)
	}
	if _, _, err := s.commit(r.Context(), "", ev); err != nil {
		return 0, nil, err
	}
	return s.getDistrict(r, p)
}

// getDistrict answers the district in force: its file in WGS-84 with the cell count of
// the district and of each grid and zone.
func (s *Server) getDistrict(_ *http.Request, _ Principal) (int, any, *Error) {
	v, err := DistrictView(s.Loop.Config())
	if errors.Is(err, ErrNoDistrict) {
		return 0, nil, Errorf("not_found", "", "no district was given (commandd --district FILE, or PUT /api/v1/district)")
	}
	if err != nil {
		s.Logger.Error().Err(err).Msg("district view")
		return 0, nil, Errorf("internal", "", "the district in force cannot be shown")
	}
	return http.StatusOK, v, nil
}
