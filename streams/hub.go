package streams

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"commandd/dispatch"
	"commandd/geo"
)

// The hub fans the engine's changes out to WebSocket clients. It keeps its own model of
// what clients see (units, open incidents, cameras), so a client that subscribes or
// falls behind gets a snapshot without touching the engine. Each frame is encoded once
// and shared by every client it goes to; unit positions are conflated and sent at the
// frame rate; incidents and assignments go out at once. A client's queue is bounded: a
// client that cannot keep up loses frames and is resynced with a fresh snapshot, and
// never slows the engine or anyone else.
//
// The model keeps each unit's and incident's JSON once encoded, so a `units` frame or a
// snapshot is put together by copying bytes, not by encoding again for every view.

// View is what the engine looks like at one position of the log.
type View struct {
	Seq       uint64
	T         time.Time
	Units     []dispatch.UnitView
	Incidents []dispatch.IncidentView
	Cameras   []dispatch.CameraView
	MoveUps   []dispatch.MoveUpView
}

// UnitFrame is a unit in a `units` frame.
type UnitFrame struct {
	ID       string          `json:"id"`
	Callsign string          `json:"callsign,omitempty"`
	Force    dispatch.Force  `json:"force"`
	Mode     string          `json:"mode"`
	Status   dispatch.Status `json:"status"`
	Lat      float64         `json:"lat"`
	Lng      float64         `json:"lng"`
	Heading  float64         `json:"heading"`
	Speed    float64         `json:"speed"`
	T        dispatch.Millis `json:"t,omitzero"`
	Incident string          `json:"incident,omitempty"`
}

func unitFrame(u dispatch.UnitView) UnitFrame {
	return UnitFrame{ID: u.ID, Callsign: u.Callsign, Force: u.Force, Mode: u.Mode.String(), Status: u.Status,
		Lat: u.Lat, Lng: u.Lng, Heading: u.Heading, Speed: u.Speed, T: u.T, Incident: u.Incident}
}

// Batch is what one log message changed, ready for the hub.
type Batch struct {
	Seq         uint64
	T           time.Time
	Moves       []UnitMove // units that only moved (the bulk of the traffic)
	Units       []UnitFrame
	Incidents   []dispatch.IncidentView // one (the latest) version of each
	Assignments []dispatch.Change
	Camera      []dispatch.Change
	Coverage    []dispatch.CoverageCell
	Cameras     []dispatch.CameraView // cameras added or moved
	MoveUpsSent []dispatch.Change     // move-ups sent to their units
	// MoveUps is the move-ups in force, when they changed (MoveUpsChanged).
	MoveUps        []dispatch.MoveUpView
	MoveUpsChanged bool

	incAt map[string]int // index in Incidents by id
}

// UnitMove is a unit's new position, from a fix that changed nothing else about it.
type UnitMove struct {
	ID                       string
	Lat, Lng, Heading, Speed float64
	T                        time.Time
}

// add collects the changes of one event; it runs under the loop's lock, so it may read
// the engine. An incident changed by several events of the message (a batch of fixes
// moving the units on it) is kept once, in its latest state.
func (b *Batch) add(e *dispatch.Engine, ev dispatch.Event, changes []dispatch.Change) {
	if _, fix := ev.(*dispatch.Fix); fix && len(changes) == 1 && changes[0].Kind == dispatch.UnitChanged {
		// The hub knows the rest of the unit: no need to ask the engine.
		c := &changes[0]
		b.Moves = append(b.Moves, UnitMove{ID: c.Unit, Lat: c.Lat, Lng: c.Lng, Heading: c.Heading, Speed: c.Speed, T: c.T})
		return
	}
	for _, c := range changes {
		switch c.Kind {
		case dispatch.UnitChanged:
			if u, ok := e.Unit(c.Unit); ok {
				b.Units = append(b.Units, unitFrame(u))
			}
		case dispatch.IncidentUpdated:
			if v, ok := e.Incident(c.Incident); ok {
				if i, seen := b.incAt[v.ID]; seen {
					b.Incidents[i] = v
					continue
				}
				if b.incAt == nil {
					b.incAt = map[string]int{}
				}
				b.incAt[v.ID] = len(b.Incidents)
				b.Incidents = append(b.Incidents, v)
			}
		case dispatch.Assigned:
			b.Assignments = append(b.Assignments, c)
		case dispatch.CameraEvent:
			if !c.Repeat {
				b.Camera = append(b.Camera, c)
			}
		case dispatch.CameraChanged:
			for _, cam := range e.Cameras() {
				if cam.ID == c.Camera {
					b.Cameras = append(b.Cameras, cam)
					break
				}
			}
		case dispatch.CoverageChanged:
			b.Coverage = append(b.Coverage, e.Coverage(c.Cells)...)
		case dispatch.MoveUpSent:
			b.MoveUpsSent = append(b.MoveUpsSent, c)
		case dispatch.MoveUpsChanged:
			b.MoveUps, b.MoveUpsChanged = e.MoveUps(), true
		}
	}
}

// Subscription is what a client asked to see.
type Subscription struct {
	Type     string     `json:"type"`
	View     string     `json:"view"`           // wall, unit, volunteer
	BBox     [4]float64 `json:"bbox,omitempty"` // minLng, minLat, maxLng, maxLat
	Unit     string     `json:"unit,omitempty"`
	Lat      float64    `json:"lat,omitempty"` // volunteer: where, when not following a unit
	Lng      float64    `json:"lng,omitempty"`
	Incident string     `json:"incident,omitempty"`
	Speed    float64    `json:"speed,omitempty"`
}

// How far around it a unit's terminal lists open incidents, and a volunteer sees
// public tasks, in metres.
const (
	nearbyUnit      = 3000
	nearbyVolunteer = 2000
)

func (s *Subscription) inBox(lat, lng float64) bool {
	if s.BBox == [4]float64{} {
		return true
	}
	return lng >= s.BBox[0] && lat >= s.BBox[1] && lng <= s.BBox[2] && lat <= s.BBox[3]
}

// wantsIncident: walls see incidents in their box; a unit sees the incidents it is on
// and the open ones near it; a volunteer, the open ones near it. Near is reckoned from
// where the unit is now. Called with h.mu held.
func (h *Hub) wantsIncident(sub *Subscription, inc dispatch.IncidentView) bool {
	switch sub.View {
	case "wall":
		return sub.inBox(inc.Lat, inc.Lng)
	case "unit":
		return onIncident(inc, sub.Unit) || inc.Status != "closed" && h.near(sub, inc, nearbyUnit)
	case "volunteer":
		return inc.Status != "closed" && h.near(sub, inc, nearbyVolunteer)
	}
	return false
}

// near reports whether inc is within metres of the subscription's unit, or of its
// point when it follows none.
func (h *Hub) near(sub *Subscription, inc dispatch.IncidentView, metres float64) bool {
	at := geo.Point{Lat: sub.Lat, Lng: sub.Lng}
	if sub.Unit != "" {
		u := h.units[sub.Unit]
		if u == nil || u.cur.Lat == 0 && u.cur.Lng == 0 { // no fix yet
			return false
		}
		at = geo.Point{Lat: u.cur.Lat, Lng: u.cur.Lng}
	}
	return geo.Distance(at, geo.Point{Lat: inc.Lat, Lng: inc.Lng}) <= metres
}

// publicTask is what volunteers see of an incident: what and where, not who called
// or who is sent.
type publicTask struct {
	ID       string            `json:"id"`
	Status   string            `json:"status"`
	Priority int               `json:"priority"`
	Category dispatch.Category `json:"category"`
	Lat      float64           `json:"lat"`
	Lng      float64           `json:"lng"`
	Cell     geo.Cell          `json:"cell"`
	Received dispatch.Millis   `json:"received"`
}

func public(inc dispatch.IncidentView) publicTask {
	return publicTask{ID: inc.ID, Status: inc.Status, Priority: inc.Priority, Category: inc.Category,
		Lat: inc.Lat, Lng: inc.Lng, Cell: inc.Cell, Received: inc.Received}
}

// followsUnit reports whether the subscription gets a unit's own frames.
func (s *Subscription) followsUnit() bool {
	return s.Unit != "" && (s.View == "unit" || s.View == "volunteer")
}

// client is one WebSocket subscriber.
type client struct {
	sub Subscription
	// send is the queue of frames for the writer. A nil entry only wakes the writer
	// to look at resync.
	send   chan *websocket.PreparedMessage
	resync atomic.Bool // the client lost frames: its next frame is a fresh snapshot
	done   chan struct{}
}

// queueLen bounds each client's queue of frames: over 10 s of unit frames, more than
// a healthy client ever lags by, and small enough (1 KiB) for 10,000 idle clients.
const queueLen = 128

// unitState is the hub's model of one unit.
type unitState struct {
	cur UnitFrame
	enc []byte // JSON of cur; nil until needed after a change
	// What walls were last told of the unit's position, to send a unit that leaves a
	// wall's box once more, so the wall can drop it: the position in the last units
	// frame (if any) and those snapshots gave out since.
	told    bool
	lastLat float64
	lastLng float64
	shown   [][2]float64
	dirty   bool   // in Hub.dirty
	changed uint64 // seq of its last change
	flush   uint64 // the last FlushUnits that sent it, and where in its list
	flushAt int
}

func (h *Hub) markDirty(u *unitState) {
	if !u.dirty {
		u.dirty = true
		h.dirty = append(h.dirty, u)
	}
}

// sent records that walls have been told the unit's current position.
func (u *unitState) sent() {
	u.dirty = false
	u.told, u.lastLat, u.lastLng, u.shown = true, u.cur.Lat, u.cur.Lng, nil
}

func (u *unitState) json() []byte {
	if u.enc == nil {
		u.enc = u.cur.appendJSON(nil)
	}
	return u.enc
}

// appendJSON appends f as json.Marshal would write it, several times faster: a wall
// frame re-encodes every unit that moved, ten times a second.
func (f *UnitFrame) appendJSON(b []byte) []byte {
	b = appendJSONString(append(b, `{"id":`...), f.ID)
	if f.Callsign != "" {
		b = appendJSONString(append(b, `,"callsign":`...), f.Callsign)
	}
	b = appendJSONString(append(b, `,"force":`...), f.Force.String())
	b = appendJSONString(append(b, `,"mode":`...), f.Mode)
	b = appendJSONString(append(b, `,"status":`...), f.Status.String())
	b = appendJSONFloat(append(b, `,"lat":`...), f.Lat)
	b = appendJSONFloat(append(b, `,"lng":`...), f.Lng)
	b = appendJSONFloat(append(b, `,"heading":`...), f.Heading)
	b = appendJSONFloat(append(b, `,"speed":`...), f.Speed)
	if !f.T.IsZero() {
		b = f.T.AppendJSON(append(b, `,"t":`...))
	}
	if f.Incident != "" {
		b = appendJSONString(append(b, `,"incident":`...), f.Incident)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string, byte for byte as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			enc, _ := json.Marshal(s)
			return append(b, enc...)
		}
	}
	return append(append(append(b, '"'), s...), '"')
}

// appendJSONFloat appends f as encoding/json does (positions and speeds are never
// NaN or infinite: ingest refuses them).
func appendJSONFloat(b []byte, f float64) []byte {
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		enc, _ := json.Marshal(f)
		return append(b, enc...)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

// incidentState is the hub's model of one open incident.
type incidentState struct {
	view dispatch.IncidentView
	enc  []byte // JSON of view
	pub  []byte // JSON of its public task
}

func encodeIncident(inc dispatch.IncidentView) (incidentState, error) {
	enc, err := json.Marshal(inc)
	if err != nil {
		return incidentState{}, err
	}
	pub, err := json.Marshal(public(inc))
	return incidentState{view: inc, enc: enc, pub: pub}, err
}

// Hub holds the clients and the model they are served from.
type Hub struct {
	logger zerolog.Logger

	mu        sync.Mutex
	seq       uint64
	t         time.Time
	units     map[string]*unitState
	incidents map[string]incidentState
	cameras   map[string]dispatch.CameraView
	moveups   []dispatch.MoveUpView // in force: walls get them in snapshots and moveups frames
	dirty     []*unitState          // units changed since the last units frame, each once
	flushes   uint64                // FlushUnits calls that sent units
	clients   map[*client]struct{}

	// The latest frames but units, in a ring, so that a client that comes back with
	// the last seq it saw resumes without a gap: every frame after seq lost is here.
	history [historyLen]pastFrame
	written uint64 // frames ever put in history
	lost    uint64

	dropped atomic.Uint64 // frames dropped for slow clients
}

// historyLen is how many frames a reconnecting client may have missed and still
// resume; at a busy district's few frames a second, some minutes of them.
const historyLen = 4096

// pastFrame is a frame sent and who it was for.
type pastFrame struct {
	seq  uint64
	msg  *websocket.PreparedMessage
	want func(*client) bool
}

// NewHub returns an empty hub.
func NewHub(logger zerolog.Logger) *Hub {
	return &Hub{logger: logger, units: map[string]*unitState{}, incidents: map[string]incidentState{},
		cameras: map[string]dispatch.CameraView{}, clients: map[*client]struct{}{}}
}

// Reset replaces the model with a view of the engine (at start and after a restore).
// Clients already connected are resynced.
func (h *Hub) Reset(v View) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reset(v)
	for c := range h.clients {
		h.markResync(c)
	}
}

// reset replaces the model. Called with h.mu held.
func (h *Hub) reset(v View) {
	h.seq, h.t = v.Seq, v.T
	h.history, h.written, h.lost = [historyLen]pastFrame{}, 0, v.Seq // frames before are not known
	clear(h.units)
	clear(h.incidents)
	clear(h.cameras)
	h.dirty = h.dirty[:0]
	for _, u := range v.Units {
		f := unitFrame(u)
		h.units[u.ID] = &unitState{cur: f, told: true, lastLat: f.Lat, lastLng: f.Lng}
	}
	for _, inc := range v.Incidents {
		if st, err := encodeIncident(inc); err == nil {
			h.incidents[inc.ID] = st
		}
	}
	for _, c := range v.Cameras {
		h.cameras[c.ID] = c
	}
	h.moveups = v.MoveUps
}

// frame is the envelope of every server message.
type frame struct {
	Type string          `json:"type"`
	Seq  uint64          `json:"seq"`
	T    dispatch.Millis `json:"t"`
}

// header is the envelope as JSON without its closing brace, for frames put together
// from encoded parts.
func header(typ string, seq uint64, t time.Time) []byte {
	b, _ := json.Marshal(frame{Type: typ, Seq: seq, T: dispatch.Millis{Time: t}})
	return b[:len(b)-1]
}

func prepare(v any) *websocket.PreparedMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return prepareBytes(b)
}

// prepareBytes makes a frame of b; the frame keeps its own copy, so b may be reused.
func prepareBytes(b []byte) *websocket.PreparedMessage {
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, b)
	if err != nil {
		return nil
	}
	return pm
}

// Publish takes one batch of changes: the model is updated, and incident, assignment,
// camera and coverage frames go out at once.
func (h *Hub) Publish(b Batch) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq, h.t = b.Seq, b.T
	head := frame{Seq: b.Seq, T: dispatch.Millis{Time: b.T}}
	for _, m := range b.Moves {
		st := h.units[m.ID]
		if st == nil { // a unit is in the model from its registration on
			continue
		}
		st.cur.Lat, st.cur.Lng, st.cur.Heading, st.cur.Speed, st.cur.T, st.enc = m.Lat, m.Lng, m.Heading, m.Speed, dispatch.Millis{Time: m.T}, nil
		st.changed = b.Seq
		h.markDirty(st)
	}
	for _, u := range b.Units {
		st := h.units[u.ID]
		if st == nil {
			st = &unitState{}
			h.units[u.ID] = st
		}
		st.cur, st.enc, st.changed = u, nil, b.Seq
		h.markDirty(st)
	}
	for _, cam := range b.Cameras {
		h.cameras[cam.ID] = cam
	}
	var last map[string]int // a batch built by hand may hold an incident twice: send the last
	if len(b.Incidents) > 1 {
		last = make(map[string]int, len(b.Incidents))
		for i, inc := range b.Incidents {
			last[inc.ID] = i
		}
	}
	var buf []byte
	for i, inc := range b.Incidents {
		if last != nil && last[inc.ID] != i {
			continue
		}
		st, err := encodeIncident(inc)
		if err != nil {
			h.logger.Error().Err(err).Str("incident", inc.ID).Msg("encode incident")
			continue
		}
		old, had := h.incidents[inc.ID]
		if inc.Status == "closed" {
			delete(h.incidents, inc.ID)
		} else {
			h.incidents[inc.ID] = st
		}
		// A client also hears of an incident it saw and no longer does (a unit
		// released, the incident closed), so it can let go of it.
		wants := func(c *client) bool {
			return h.wantsIncident(&c.sub, inc) || had && h.wantsIncident(&c.sub, old.view)
		}
		buf = append(append(append(buf[:0], header("incident", b.Seq, b.T)...), ','), st.enc[1:]...)
		h.fanOut(prepareBytes(buf), func(c *client) bool { return c.sub.View != "volunteer" && wants(c) })
		buf = append(append(append(buf[:0], header("incident", b.Seq, b.T)...), ','), st.pub[1:]...)
		h.fanOut(prepareBytes(buf), func(c *client) bool { return c.sub.View == "volunteer" && wants(c) })
	}
	for _, a := range b.Assignments {
		head.Type = "assignment"
		msg := prepare(struct {
			frame
			Incident string  `json:"incident"`
			Unit     string  `json:"unit"`
			Tier     int     `json:"tier"`
			ETA      float64 `json:"eta_s"`
		}{head, a.Incident, a.Unit, a.Tier, a.ETA})
		unit := a.Unit
		h.fanOut(msg, func(c *client) bool { return c.sub.View == "wall" || c.sub.followsUnit() && c.sub.Unit == unit })
	}
	for _, ce := range b.Camera {
		head.Type = "camera"
		msg := prepare(struct {
			frame
			Event    string  `json:"event"`
			Camera   string  `json:"camera"`
			Incident string  `json:"incident,omitempty"`
			Lat      float64 `json:"lat"`
			Lng      float64 `json:"lng"`
		}{head, ce.Event, ce.Camera, ce.Incident, ce.Lat, ce.Lng})
		lat, lng := ce.Lat, ce.Lng
		h.fanOut(msg, func(c *client) bool { return c.sub.View == "wall" && c.sub.inBox(lat, lng) })
	}
	for _, mv := range b.MoveUpsSent {
		head.Type = "moveup"
		msg := prepare(struct {
			frame
			Unit string   `json:"unit"`
			Lat  float64  `json:"lat"`
			Lng  float64  `json:"lng"`
			Cell geo.Cell `json:"cell"`
			ETA  float64  `json:"eta_s"`
		}{head, mv.Unit, mv.Lat, mv.Lng, mv.Cell, mv.ETA})
		unit := mv.Unit
		h.fanOut(msg, func(c *client) bool { return c.sub.followsUnit() && c.sub.Unit == unit })
	}
	if b.MoveUpsChanged {
		h.moveups = b.MoveUps
		head.Type = "moveups"
		msg := prepare(struct {
			frame
			MoveUps []dispatch.MoveUpView `json:"moveups"`
		}{head, h.moveUpList()})
		h.fanOut(msg, func(c *client) bool { return c.sub.View == "wall" })
	}
	if len(b.Coverage) > 0 {
		head.Type = "coverage"
		msg := prepare(struct {
			frame
			Cells []dispatch.CoverageCell `json:"cells"`
		}{head, b.Coverage})
		h.fanOut(msg, func(c *client) bool { return c.sub.View == "wall" })
	}
}

// fanOut queues msg for every client for which want is true, and keeps it for
// clients that resume. Called with h.mu held.
func (h *Hub) fanOut(msg *websocket.PreparedMessage, want func(*client) bool) {
	if msg == nil {
		return
	}
	slot := &h.history[h.written%historyLen]
	h.lost = max(h.lost, slot.seq)
	*slot = pastFrame{seq: h.seq, msg: msg, want: want}
	h.written++
	for c := range h.clients {
		if want(c) {
			h.deliver(c, msg)
		}
	}
}

// deliver queues msg for c. It never blocks: when c's queue is full the frame is
// dropped and c is marked for a resync; until the resync is sent, c's frames are
// dropped (the snapshot will hold what they said). Called with h.mu held.
func (h *Hub) deliver(c *client, msg *websocket.PreparedMessage) {
	if c.resync.Load() {
		h.dropped.Add(1)
		return
	}
	select {
	case c.send <- msg:
	default:
		c.resync.Store(true)
		h.dropped.Add(1)
		h.logger.Debug().Str("view", c.sub.View).Msg("client fell behind: resync")
	}
}

// markResync makes c's next frame a fresh snapshot, waking its writer if its queue
// is empty. Called with h.mu held.
func (h *Hub) markResync(c *client) {
	c.resync.Store(true)
	select {
	case c.send <- nil:
	default: // the queue is not empty: the writer will look at resync
	}
}

// flushed is a unit in one FlushUnits.
type flushed struct {
	st    *unitState
	lat   float64
	lng   float64
	prior [][2]float64 // positions walls were told before this frame
}

// FlushUnits sends the units that changed since the last call, conflated (only the
// latest state of each), as one `units` frame per distinct subscription. Call it at
// the frame rate. A wall gets the units in its box, and once more a unit that left
// it (its position now outside the box says it left).
func (h *Hub) FlushUnits() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.dirty) == 0 {
		return
	}
	walls, units := 0, 0
	for c := range h.clients {
		switch {
		case c.sub.View == "wall":
			walls++
		case c.sub.followsUnit():
			units++
		}
	}
	if walls+units == 0 { // nobody to tell: no encoding either
		for _, st := range h.dirty {
			st.sent()
		}
		h.dirty = h.dirty[:0]
		return
	}
	changed := make([]flushed, 0, len(h.dirty))
	for _, st := range h.dirty {
		f := flushed{st: st, lat: st.cur.Lat, lng: st.cur.Lng, prior: st.shown}
		if st.told {
			f.prior = append(f.prior, [2]float64{st.lastLat, st.lastLng})
		}
		st.sent()
		changed = append(changed, f)
	}
	h.dirty = h.dirty[:0]
	if walls > 0 { // frames list units in id order
		slices.SortFunc(changed, func(a, b flushed) int { return strings.Compare(a.st.cur.ID, b.st.cur.ID) })
	}
	h.flushes++
	for i := range changed {
		changed[i].st.flush, changed[i].st.flushAt = h.flushes, i
	}
	// Clients with the same subscription share one encoded frame, and so do
	// subscriptions that select the same units (boxes that hold all that moved).
	groups := map[Subscription][]*client{}
	for c := range h.clients {
		groups[c.sub] = append(groups[c.sub], c)
	}
	head := append(header("units", h.seq, h.t), `,"units":[`...)
	frames := map[string]*websocket.PreparedMessage{} // by the set of units selected
	sel := make([]byte, (len(changed)+7)/8)
	var buf []byte
	for sub, clients := range groups {
		clear(sel)
		n := 0
		switch sub.View {
		case "wall":
			for i := range changed {
				if f := &changed[i]; sub.inBox(f.lat, f.lng) || sub.inBoxAny(f.prior) {
					sel[i/8] |= 1 << (i % 8)
					n++
				}
			}
		case "unit", "volunteer":
			if st := h.units[sub.Unit]; st != nil && st.flush == h.flushes {
				i := st.flushAt
				sel[i/8] |= 1 << (i % 8)
				n++
			}
		}
		if n == 0 {
			continue
		}
		msg, ok := frames[string(sel)]
		if !ok {
			buf = append(buf[:0], head...)
			for i := range changed {
				if sel[i/8]&(1<<(i%8)) != 0 {
					if buf[len(buf)-1] != '[' {
						buf = append(buf, ',')
					}
					buf = append(buf, changed[i].st.json()...)
				}
			}
			msg = prepareBytes(append(buf, "]}"...))
			frames[string(sel)] = msg
		}
		if msg == nil {
			continue
		}
		for _, c := range clients {
			h.deliver(c, msg)
		}
	}
}

func (s *Subscription) inBoxAny(pos [][2]float64) bool {
	for _, p := range pos {
		if s.inBox(p[0], p[1]) {
			return true
		}
	}
	return false
}

// unitsInView lists the units sub sees, by id. Called with h.mu held.
func (h *Hub) unitsInView(sub *Subscription) []*unitState {
	var units []*unitState
	switch sub.View {
	case "wall":
		for _, u := range h.units {
			if sub.inBox(u.cur.Lat, u.cur.Lng) {
				units = append(units, u)
			}
		}
		slices.SortFunc(units, func(a, b *unitState) int { return strings.Compare(a.cur.ID, b.cur.ID) })
	case "unit", "volunteer":
		if u, ok := h.units[sub.Unit]; ok {
			units = append(units, u)
		}
	}
	return units
}

// appendUnits appends the units' JSON, comma-separated, for a client of sub that is
// being told of them outside a units frame. Called with h.mu held.
func (h *Hub) appendUnits(buf []byte, sub *Subscription, units []*unitState) []byte {
	for i, u := range units {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, u.json()...)
		if u.dirty && sub.View == "wall" {
			// Told before the units frame: remember, so a move out of the box is sent.
			u.shown = append(u.shown, [2]float64{u.cur.Lat, u.cur.Lng})
		}
	}
	return buf
}

// snapshotFor encodes everything sub can see. Called with h.mu held.
func (h *Hub) snapshotFor(sub *Subscription) *websocket.PreparedMessage {
	buf := append(header("snapshot", h.seq, h.t), `,"units":[`...)
	buf = h.appendUnits(buf, sub, h.unitsInView(sub))
	var incidents []*incidentState
	for id := range h.incidents {
		if inc := h.incidents[id]; h.wantsIncident(sub, inc.view) {
			incidents = append(incidents, &inc)
		}
	}
	slices.SortFunc(incidents, func(a, b *incidentState) int { return strings.Compare(a.view.ID, b.view.ID) })
	buf = append(buf, `],"incidents":[`...)
	for i, inc := range incidents {
		if i > 0 {
			buf = append(buf, ',')
		}
		if sub.View == "volunteer" {
			buf = append(buf, inc.pub...)
		} else {
			buf = append(buf, inc.enc...)
		}
	}
	cameras := []dispatch.CameraView{}
	if sub.View == "wall" {
		for _, cam := range h.cameras {
			if sub.inBox(cam.Lat, cam.Lng) {
				cameras = append(cameras, cam)
			}
		}
		slices.SortFunc(cameras, func(a, b dispatch.CameraView) int { return strings.Compare(a.ID, b.ID) })
	}
	camJSON, err := json.Marshal(cameras)
	if err != nil {
		camJSON = []byte("[]")
	}
	buf = append(append(buf, `],"cameras":`...), camJSON...)
	if sub.View == "wall" {
		list, _ := json.Marshal(h.moveUpList())
		buf = append(append(buf, `,"moveups":`...), list...)
	}
	return prepareBytes(append(buf, '}'))
}

// moveUpList is the move-ups in force, never null. Called with h.mu held.
func (h *Hub) moveUpList() []dispatch.MoveUpView {
	if h.moveups == nil {
		return []dispatch.MoveUpView{}
	}
	return h.moveups
}

// join registers a client and returns its first snapshot; every frame queued for it
// afterwards is newer than the snapshot.
func (h *Hub) join(sub Subscription) (*client, *websocket.PreparedMessage) {
	return h.resume(sub, nil)
}

// resume adds a client that saw frames up to seq *since (nil: a new client). When
// every frame it missed is still kept, they are queued for it, then a units frame
// with the units in its view and those that left it, and no snapshot is returned;
// otherwise it starts from a snapshot.
func (h *Hub) resume(sub Subscription, since *uint64) (*client, *websocket.PreparedMessage) {
	c := &client{sub: sub, send: make(chan *websocket.PreparedMessage, queueLen), done: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clients[c] = struct{}{}
	if since == nil || *since < h.lost || *since > h.seq {
		return c, h.snapshotFor(&c.sub)
	}
	var missed []*websocket.PreparedMessage
	for n := h.written - min(h.written, historyLen); n < h.written; n++ {
		if f := &h.history[n%historyLen]; f.seq > *since && f.want(c) {
			missed = append(missed, f.msg)
		}
	}
	if len(missed)+1 > queueLen {
		return c, h.snapshotFor(&c.sub)
	}
	for _, msg := range missed {
		c.send <- msg
	}
	units := h.unitsInView(&c.sub)
	if c.sub.View == "wall" {
		for _, u := range h.units {
			if u.changed > *since && !c.sub.inBox(u.cur.Lat, u.cur.Lng) {
				units = append(units, u) // it left the box: its position outside says so
			}
		}
		slices.SortFunc(units, func(a, b *unitState) int { return strings.Compare(a.cur.ID, b.cur.ID) })
	}
	buf := append(header("units", h.seq, h.t), `,"units":[`...)
	buf = h.appendUnits(buf, &c.sub, units)
	c.send <- prepareBytes(append(buf, "]}"...))
	return c, nil
}

// leave unregisters a client: nothing is queued for it afterwards.
func (h *Hub) leave(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clients, c)
}

// resyncFrame is the fresh snapshot a client gets after it fell behind; the frames
// still queued are older than it and are dropped.
func (h *Hub) resyncFrame(c *client) *websocket.PreparedMessage {
	h.mu.Lock()
	defer h.mu.Unlock()
	for len(c.send) > 0 {
		if <-c.send != nil {
			h.dropped.Add(1)
		}
	}
	c.resync.Store(false)
	return h.snapshotFor(&c.sub)
}

// resetFor replaces the model with v and sends c (a replay's only client) its snapshot
// at once, in place of whatever is still queued for it: a replay that seeks shows the
// moment sought, once.
func (h *Hub) resetFor(c *client, v View) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reset(v)
	for len(c.send) > 0 {
		<-c.send
	}
	c.resync.Store(false)
	h.deliver(c, h.snapshotFor(&c.sub))
}

// tell sends c alone a frame of type typ whose fields are those of body (a struct).
func (h *Hub) tell(c *client, typ string, body any) { h.tellAt(c, typ, time.Time{}, body) }

// tellAt is tell with the frame's t given (zero: the hub's time).
func (h *Hub) tellAt(c *client, typ string, t time.Time, body any) {
	b, err := json.Marshal(body)
	if err != nil || len(b) < 2 {
		h.logger.Error().Err(err).Str("type", typ).Msg("encode frame")
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if t.IsZero() {
		t = h.t
	}
	msg := header(typ, h.seq, t)
	if len(b) > 2 {
		msg = append(msg, ',')
	}
	h.deliver(c, prepareBytes(append(msg, b[1:]...)))
}

// Clients is the number of connected clients.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// Dropped is how many frames slow clients have lost.
func (h *Hub) Dropped() uint64 { return h.dropped.Load() }
