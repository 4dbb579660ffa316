package streams

import (
	"encoding/json"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"commandd/dispatch"
)

// The hub fans the engine's changes out to WebSocket clients. It keeps its own model of
// what clients see (units, open incidents, cameras), so a client that subscribes or
// falls behind gets a snapshot without touching the engine. Each frame is encoded once
// and shared by every client it goes to; unit positions are conflated and sent at the
// frame rate; incidents and assignments go out at once. A client's queue is bounded: a
// client that cannot keep up loses frames and is resynced with a fresh snapshot, and
// never slows the engine or anyone else.

// View is what the engine looks like at one position of the log.
type View struct {
	Seq       uint64
	T         time.Time
	Units     []dispatch.UnitView
	Incidents []dispatch.IncidentView
	Cameras   []dispatch.CameraView
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
	T        time.Time       `json:"t,omitzero"`
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
	Units       []UnitFrame
	Incidents   []dispatch.IncidentView
	Assignments []dispatch.Change
	Camera      []dispatch.Change
	Coverage    []dispatch.CoverageCell
}

// add collects the changes of one event; it runs under the loop's lock, so it may read
// the engine.
func (b *Batch) add(e *dispatch.Engine, changes []dispatch.Change) {
	for _, c := range changes {
		switch c.Kind {
		case dispatch.UnitChanged:
			if u, ok := e.Unit(c.Unit); ok {
				b.Units = append(b.Units, unitFrame(u))
			}
		case dispatch.IncidentUpdated:
			if v, ok := e.Incident(c.Incident); ok {
				b.Incidents = append(b.Incidents, v)
			}
		case dispatch.Assigned:
			b.Assignments = append(b.Assignments, c)
		case dispatch.CameraEvent:
			if !c.Repeat {
				b.Camera = append(b.Camera, c)
			}
		case dispatch.CoverageChanged:
			b.Coverage = append(b.Coverage, e.Coverage(c.Cells)...)
		}
	}
}

// Subscription is what a client asked to see.
type Subscription struct {
	Type     string     `json:"type"`
	View     string     `json:"view"`           // wall, unit, volunteer
	BBox     [4]float64 `json:"bbox,omitempty"` // minLng, minLat, maxLng, maxLat
	Unit     string     `json:"unit,omitempty"`
	Incident string     `json:"incident,omitempty"`
	Speed    float64    `json:"speed,omitempty"`
}

func (s *Subscription) inBox(lat, lng float64) bool {
	if s.BBox == [4]float64{} {
		return true
	}
	return lng >= s.BBox[0] && lat >= s.BBox[1] && lng <= s.BBox[2] && lat <= s.BBox[3]
}

// client is one WebSocket subscriber.
type client struct {
	sub    Subscription
	send   chan *websocket.PreparedMessage
	resync atomic.Bool
	done   chan struct{}
}

// queueLen bounds each client's queue of frames.
const queueLen = 256

// Hub holds the clients and the model they are served from.
type Hub struct {
	logger zerolog.Logger

	mu        sync.Mutex
	seq       uint64
	t         time.Time
	units     map[string]UnitFrame
	incidents map[string]dispatch.IncidentView
	cameras   map[string]dispatch.CameraView
	dirty     map[string]struct{} // units changed since the last units frame
	clients   map[*client]struct{}

	dropped atomic.Uint64 // frames dropped for slow clients
}

// NewHub returns an empty hub.
func NewHub(logger zerolog.Logger) *Hub {
	return &Hub{logger: logger, units: map[string]UnitFrame{}, incidents: map[string]dispatch.IncidentView{},
		cameras: map[string]dispatch.CameraView{}, dirty: map[string]struct{}{}, clients: map[*client]struct{}{}}
}

// Reset replaces the model with a view of the engine (at start and after a restore).
func (h *Hub) Reset(v View) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq, h.t = v.Seq, v.T
	clear(h.units)
	clear(h.incidents)
	clear(h.cameras)
	for _, u := range v.Units {
		h.units[u.ID] = unitFrame(u)
	}
	for _, inc := range v.Incidents {
		h.incidents[inc.ID] = inc
	}
	for _, c := range v.Cameras {
		h.cameras[c.ID] = c
	}
}

// frame is the envelope of every server message.
type frame struct {
	Type string    `json:"type"`
	Seq  uint64    `json:"seq"`
	T    time.Time `json:"t"`
}

func prepare(v any) *websocket.PreparedMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
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
	head := frame{Seq: b.Seq, T: b.T}
	for _, u := range b.Units {
		h.units[u.ID] = u
		h.dirty[u.ID] = struct{}{}
	}
	for _, inc := range b.Incidents {
		if inc.Status == "closed" {
			delete(h.incidents, inc.ID)
		} else {
			h.incidents[inc.ID] = inc
		}
		head.Type = "incident"
		msg := prepare(struct {
			frame
			dispatch.IncidentView
		}{head, inc})
		h.fanOut(msg, func(c *client) bool { return c.wantsIncident(inc) })
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
		h.fanOut(msg, func(c *client) bool { return c.sub.View == "wall" || c.sub.Unit == unit })
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
	if len(b.Coverage) > 0 {
		head.Type = "coverage"
		msg := prepare(struct {
			frame
			Cells []dispatch.CoverageCell `json:"cells"`
		}{head, b.Coverage})
		h.fanOut(msg, func(c *client) bool { return c.sub.View == "wall" })
	}
}

// wantsIncident: walls see incidents in their box; a unit sees the incidents it is on
// and those near it.
func (c *client) wantsIncident(inc dispatch.IncidentView) bool {
	switch c.sub.View {
	case "wall":
		return c.sub.inBox(inc.Lat, inc.Lng)
	case "unit":
		for _, t := range inc.Tiers {
			for _, u := range t.Units {
				if u.Unit == c.sub.Unit {
					return true
				}
			}
		}
	}
	return false
}

// fanOut queues msg for every client for which want is true. It never blocks: a full
// queue marks its client for a resync instead.
func (h *Hub) fanOut(msg *websocket.PreparedMessage, want func(*client) bool) {
	if msg == nil {
		return
	}
	for c := range h.clients {
		if !want(c) || c.resync.Load() {
			continue
		}
		select {
		case c.send <- msg:
		default:
			c.resync.Store(true)
			h.dropped.Add(1)
		}
	}
}

// FlushUnits sends the units that changed since the last call, conflated (only the
// latest state of each), as one `units` frame per distinct view. Call it at the frame
// rate.
func (h *Hub) FlushUnits() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.dirty) == 0 {
		return
	}
	changed := make([]UnitFrame, 0, len(h.dirty))
	for id := range h.dirty {
		changed = append(changed, h.units[id])
	}
	clear(h.dirty)
	slices.SortFunc(changed, func(a, b UnitFrame) int { return compareStrings(a.ID, b.ID) })
	// Clients with the same subscription share one encoded frame.
	groups := map[Subscription][]*client{}
	for c := range h.clients {
		groups[c.sub] = append(groups[c.sub], c)
	}
	for sub, clients := range groups {
		var units []UnitFrame
		for _, u := range changed {
			if sub.View == "wall" && sub.inBox(u.Lat, u.Lng) || sub.View == "unit" && u.ID == sub.Unit {
				units = append(units, u)
			}
		}
		if len(units) == 0 {
			continue
		}
		msg := prepare(struct {
			frame
			Units []UnitFrame `json:"units"`
		}{frame{Type: "units", Seq: h.seq, T: h.t}, units})
		set := map[*client]bool{}
		for _, c := range clients {
			set[c] = true
		}
		h.fanOut(msg, func(c *client) bool { return set[c] })
	}
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// snapshotFor encodes everything c's subscription can see. Called with h.mu held.
func (h *Hub) snapshotFor(c *client) *websocket.PreparedMessage {
	var units []UnitFrame
	for _, u := range h.units {
		if c.sub.View == "wall" && c.sub.inBox(u.Lat, u.Lng) || c.sub.View == "unit" && u.ID == c.sub.Unit {
			units = append(units, u)
		}
	}
	slices.SortFunc(units, func(a, b UnitFrame) int { return compareStrings(a.ID, b.ID) })
	incidents := []dispatch.IncidentView{}
	for _, inc := range h.incidents {
		if c.wantsIncident(inc) {
			incidents = append(incidents, inc)
		}
	}
	slices.SortFunc(incidents, func(a, b dispatch.IncidentView) int { return compareStrings(a.ID, b.ID) })
	cameras := []dispatch.CameraView{}
	if c.sub.View == "wall" {
		for _, cam := range h.cameras {
			if c.sub.inBox(cam.Lat, cam.Lng) {
				cameras = append(cameras, cam)
			}
		}
		slices.SortFunc(cameras, func(a, b dispatch.CameraView) int { return compareStrings(a.ID, b.ID) })
	}
	if units == nil {
		units = []UnitFrame{}
	}
	return prepare(struct {
		frame
		Units     []UnitFrame             `json:"units"`
		Incidents []dispatch.IncidentView `json:"incidents"`
		Cameras   []dispatch.CameraView   `json:"cameras"`
	}{frame{Type: "snapshot", Seq: h.seq, T: h.t}, units, incidents, cameras})
}

// join registers a client and queues its first snapshot.
func (h *Hub) join(sub Subscription) *client {
	c := &client{sub: sub, send: make(chan *websocket.PreparedMessage, queueLen), done: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clients[c] = struct{}{}
	c.send <- h.snapshotFor(c)
	return c
}

// leave unregisters a client.
func (h *Hub) leave(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clients, c)
}

// resyncFrame is the fresh snapshot a client gets after it fell behind.
func (h *Hub) resyncFrame(c *client) *websocket.PreparedMessage {
	h.mu.Lock()
	defer h.mu.Unlock()
	for len(c.send) > 0 {
		<-c.send
	}
	c.resync.Store(false)
	return h.snapshotFor(c)
}

// Clients is the number of connected clients.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// Dropped is how many frames slow clients have lost.
func (h *Hub) Dropped() uint64 { return h.dropped.Load() }
