package dispatch

import (
	"fmt"
	"math"

	"commandd/geo"
)

// Fusion: several callers reporting one event become one incident, and camera alarms
// near an open incident become its evidence (or, when strong, an incident of their own).

// compatible reports whether alerts of categories a and b may describe one event.
// Criminal, public-order and dispute calls often describe the same scene from different
// eyes; "other" and "help" may go with anything; the rest only with themselves.
func compatible(a, b Category) bool {
	if a == b || a == OtherCategory || b == OtherCategory || a == Help || b == Help {
		return true
	}
	street := func(c Category) bool { return c == Criminal || c == PublicOrder || c == Dispute }
	return street(a) && street(b)
}

// nearestOpen returns the open incident nearest to p within rings k of cell and
// accepted by ok, or -1.
func (e *Engine) nearestOpen(p geo.Place, k int, ok func(inc *incident, d float64) bool) int32 {
	best, bestD := int32(-1), math.Inf(1)
	e.openIdx.Search(p.Cell, k, func(int) bool { return true }, func(i int32) {
		inc := e.incs[i]
		d := geo.FastDistance(p.Point, inc.scene.Point)
		if ok(inc, d) && (d < bestD || (d == bestD && i < best)) {
			best, bestD = i, d
		}
	})
	return best
}

func placeOf(lat, lng float64, cell geo.Cell) (geo.Place, error) {
	p := geo.Place{Point: geo.Point{Lat: lat, Lng: lng}, Cell: cell}
	if !p.Valid() {
		return p, fmt.Errorf("position %.6f,%.6f out of range", lat, lng)
	}
	if cell == 0 {
		return geo.PlaceOf(p.Point)
	}
	return p, nil
}

func (e *Engine) receiveAlert(ev *AlertReceived) {
	if ref, ok := e.alerts[ev.ID]; ok {
		e.emit(Change{Kind: AlertAccepted, Alert: ev.ID, Incident: e.incs[ref.inc].id, Duplicate: ref.dup, Repeat: true})
		return
	}
	p, err := placeOf(ev.Lat, ev.Lng, ev.Cell)
	if err != nil || ev.ID == "" || ev.Category > OtherCategory {
		e.reject(Invalid, fmt.Sprintf("alert %s: invalid id, position or category (%v)", ev.ID, err))
		return
	}
	prio := min(max(ev.Priority, 1), 4)
	view := AlertView{ID: ev.ID, T: Millis{ev.T}, Lat: ev.Lat, Lng: ev.Lng, Address: ev.Address,
		Category: ev.Category, Priority: prio, Caller: ev.Caller, Text: ev.Text}

	// The nearest compatible open incident within the radius and window, if any.
	i, bestD := int32(-1), math.Inf(1)
	maxK := geo.RingsWithin(e.openIdx.Spacing(p.Cell), e.cfg.DupRadius)
	if e.cfg.Baseline {
		maxK = -1 // no duplicate calls: every alert its own incident
	}
	e.openIdx.SearchNear(p, maxK, func(int) float64 { return e.cfg.DupRadius }, func(j int32, at geo.Place, _ uint32) {
		d := geo.FastDistance(p.Point, at.Point)
		if d > e.cfg.DupRadius || d > bestD || (d == bestD && j > i) {
			return
		}
		inc := e.incs[j]
		gap := ev.T.Sub(inc.lastSeen)
		if gap <= e.cfg.DupWindow && gap >= -e.cfg.DupWindow && compatible(inc.category, ev.Category) {
			i, bestD = j, d
		}
	})
	dup := i >= 0
	if dup {
		inc := e.incs[i]
		inc.alerts = append(inc.alerts, view)
		if ev.T.After(inc.lastSeen) {
			inc.lastSeen = ev.T
		}
		e.logTimeline(i, fmt.Sprintf("alert %s joined (%.0f m away)", ev.ID, geo.FastDistance(p.Point, inc.scene.Point)), "")
		if prio < inc.priority {
			inc.priority = prio
			e.resolvePlan(i)
			e.logTimeline(i, fmt.Sprintf("priority raised to %d", prio), "")
			e.replan = true
		}
	} else {
		i = e.openIncident(p, ev.Category, prio, ev.T, ev.Address)
		e.incs[i].alerts = append(e.incs[i].alerts, view)
		e.logTimeline(i, "alert "+ev.ID+" received", "")
		e.planOpen([]int32{i})
	}
	e.alerts[ev.ID] = alertRef{inc: i, dup: dup}
	e.emit(Change{Kind: AlertAccepted, Alert: ev.ID, Incident: e.incs[i].id, Duplicate: dup})
}

// AlertAnswer is what became of an alert: its incident, and whether it joined one
// opened before.
type AlertAnswer struct {
	Incident  string `json:"incident"`
	Duplicate bool   `json:"duplicate"`
}

// Alert returns what became of the alert with id, if the engine has seen it.
func (e *Engine) Alert(id string) (AlertAnswer, bool) {
	ref, ok := e.alerts[id]
	if !ok {
		return AlertAnswer{}, false
	}
	return AlertAnswer{Incident: e.incs[ref.inc].id, Duplicate: ref.dup}, true
}

// CameraEventIncident returns the incident a camera event was attached to ("" for
// none), if the engine still remembers the event.
func (e *Engine) CameraEventIncident(id string) (string, bool) {
	inc, ok := e.camSeen[id]
	return inc, ok
}

type camera struct {
	id      string
	name    string
	pos     geo.Place
	heading float64
}

// CameraView is a camera as readers see it.
type CameraView struct {
	ID      string   `json:"id"`
	Name    string   `json:"name,omitempty"`
	Lat     float64  `json:"lat"`
	Lng     float64  `json:"lng"`
	Cell    geo.Cell `json:"cell"`
	Heading float64  `json:"heading"`
}

// Cameras returns every camera in the order they were added.
func (e *Engine) Cameras() []CameraView {
	out := make([]CameraView, len(e.cameras))
	for n, c := range e.cameras {
		out[n] = c.view()
	}
	return out
}

func (c *camera) view() CameraView {
	return CameraView{ID: c.id, Name: c.name, Lat: c.pos.Lat, Lng: c.pos.Lng, Cell: c.pos.Cell, Heading: c.heading}
}

// Camera returns the camera with id.
func (e *Engine) Camera(id string) (CameraView, bool) {
	n, ok := e.camIDs[id]
	if !ok {
		return CameraView{}, false
	}
	return e.cameras[n].view(), true
}

func (e *Engine) upsertCamera(ev *CameraUpserted) {
	p, err := placeOf(ev.Lat, ev.Lng, ev.Cell)
	if err != nil {
		e.reject(Invalid, "camera "+ev.ID+": "+err.Error())
		return
	}
	n, ok := e.camIDs[ev.ID]
	if !ok {
		n = int32(len(e.cameras))
		e.cameras = append(e.cameras, &camera{id: ev.ID})
		e.camIDs[ev.ID] = n
	}
	c := e.cameras[n]
	c.name, c.pos, c.heading = ev.Name, p, ev.Heading
	e.emit(Change{Kind: CameraChanged, Camera: c.id, Lat: p.Lat, Lng: p.Lng, Cell: p.Cell, Heading: c.heading})
}

// strongCamera maps the camera events that open an incident by themselves to the
// category and priority of that incident.
var strongCamera = map[CameraEventType]struct {
	cat  Category
	prio int
}{
	Fight:      {PublicOrder, 2},
	FireSmoke:  {Fire, 1},
	FaceMatch:  {Criminal, 2},
	PlateMatch: {Criminal, 3},
}

func (e *Engine) receiveCameraEvent(ev *CameraEventReceived) {
	if inc, ok := e.camSeen[ev.ID]; ok {
		e.emit(Change{Kind: CameraEvent, Event: ev.ID, Camera: ev.Camera, Incident: inc, Repeat: true})
		return
	}
	n, ok := e.camIDs[ev.Camera]
	if !ok {
		e.reject(NotFound, "camera event "+ev.ID+": unknown camera "+ev.Camera)
		return
	}
	cam := e.cameras[n]
	view := CameraEventView{ID: ev.ID, Camera: ev.Camera, T: Millis{ev.T}, Type: ev.Type, Confidence: ev.Confidence,
		Snapshot: ev.Snapshot, Lat: cam.pos.Lat, Lng: cam.pos.Lng}
	i := e.nearestOpen(cam.pos, e.cfg.CameraRing, func(inc *incident, _ float64) bool {
		gap := ev.T.Sub(inc.lastSeen)
		return gap <= e.cfg.CameraWindow && gap >= -e.cfg.CameraWindow
	})
	if i >= 0 {
		inc := e.incs[i]
		inc.camEvents = append(inc.camEvents, view)
		e.logTimeline(i, fmt.Sprintf("camera %s: %s (%.2f)", ev.Camera, ev.Type, ev.Confidence), "")
	} else if s, ok := strongCamera[ev.Type]; ok && ev.Confidence >= e.cfg.CameraOpenConfidence {
		i = e.openIncident(cam.pos, s.cat, s.prio, ev.T, cam.name)
		e.incs[i].camEvents = append(e.incs[i].camEvents, view)
		e.logTimeline(i, fmt.Sprintf("opened by camera %s: %s (%.2f)", ev.Camera, ev.Type, ev.Confidence), "")
		e.planOpen([]int32{i})
	}
	incID := ""
	if i >= 0 {
		incID = e.incs[i].id
	}
	e.rememberCameraEvent(ev.ID, incID)
	e.emit(Change{Kind: CameraEvent, Event: ev.ID, Camera: ev.Camera, Incident: incID, Lat: cam.pos.Lat, Lng: cam.pos.Lng})
}

func (e *Engine) rememberCameraEvent(id, inc string) {
	e.camSeen[id] = inc
	e.camOrder = append(e.camOrder, id)
	if len(e.camOrder) > maxCameraEventsRemembered {
		drop := len(e.camOrder) - maxCameraEventsRemembered
		for _, old := range e.camOrder[:drop] {
			delete(e.camSeen, old)
		}
		e.camOrder = append(e.camOrder[:0], e.camOrder[drop:]...)
	}
}
