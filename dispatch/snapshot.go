package dispatch

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"commandd/geo"
)

// A snapshot is the engine's whole state as JSON. Restoring a snapshot taken after
// event k and applying events k+1…n gives exactly the changes of the straight run: the
// indexes are rebuilt, and everything that reads them ranks what it finds canonically,
// so the order in which a rebuilt index hands out units never shows.

const snapshotVersion = 1

type snapshotState struct {
	Version    int               `json:"version"`
	Now        time.Time         `json:"now"`
	LastReplan time.Time         `json:"last_replan"`
	Units      []unitState       `json:"units"`
	Incidents  []*incidentState  `json:"incidents"`
	Cameras    []CameraView      `json:"cameras"`
	Alerts     []alertState      `json:"alerts"`
	CamEvents  []camEventState   `json:"camera_events"`
	Coverage   geo.CoverageState `json:"coverage"`
	// Config is the configuration in force (absent in snapshots taken before the
	// configuration was in the log); Configured says whether a Configure event put it.
	Config     *Config       `json:"config,omitempty"`
	Configured bool          `json:"configured,omitempty"`
	Tokens     []tokenState  `json:"tokens,omitempty"`
	MoveUp     *moveUpState  `json:"moveup,omitempty"`
	Learned    *learnedState `json:"learned,omitempty"`
}

type unitState struct {
	ID       string    `json:"id"`
	Callsign string    `json:"callsign,omitempty"`
	Force    Force     `json:"force"`
	Mode     geo.Mode  `json:"mode"`
	Status   Status    `json:"status"`
	Pos      geo.Place `json:"pos"`
	FixT     time.Time `json:"fix_t"`
	Heading  float64   `json:"heading"`
	Speed    float64   `json:"speed"`
	Inc      int32     `json:"inc"`
	Tier     int       `json:"tier"`
	Target   geo.Place `json:"target"`
	Secret   string    `json:"secret,omitempty"`
	Terminal string    `json:"terminal,omitempty"`
}

type incidentState struct {
	ID          string            `json:"id"`
	Closed      bool              `json:"closed"`
	Priority    int               `json:"priority"`
	Category    Category          `json:"category"`
	Scene       geo.Place         `json:"scene"`
	Address     string            `json:"address"`
	Zone        string            `json:"zone"`
	ZoneID      string            `json:"zone_id,omitempty"`
	GridID      string            `json:"grid_id,omitempty"`
	GridName    string            `json:"grid_name,omitempty"`
	Received    time.Time         `json:"received"`
	LastSeen    time.Time         `json:"last_seen"`
	ClosedAt    time.Time         `json:"closed_at"`
	Disposition string            `json:"disposition"`
	Alerts      []AlertView       `json:"alerts"`
	CamEvents   []CameraEventView `json:"camera_events"`
	Tiers       []tierState       `json:"tiers"`
	Excluded    []int32           `json:"excluded"`
	Notes       []NoteView        `json:"notes,omitempty"`
	Timeline    []TimelineEntry   `json:"timeline"`
}

type tierState struct {
	Tier        Tier            `json:"plan"`
	State       TierState       `json:"state"`
	Units       []tierUnitState `json:"units"`
	Recommended []tierUnitState `json:"recommended"`
	Posts       []geo.Place     `json:"posts"`
}

type tierUnitState struct {
	Unit     int32     `json:"unit"`
	ETA      float64   `json:"eta"`
	Assigned time.Time `json:"assigned"`
	Accepted time.Time `json:"accepted,omitzero"`
	Enroute  time.Time `json:"enroute,omitzero"`
	Arrived  time.Time `json:"arrived"`
	Cleared  time.Time `json:"cleared"`
	Target   geo.Place `json:"target"`
	From     geo.Cell  `json:"from,omitempty"`
	Secret   string    `json:"secret,omitempty"`
}

type alertState struct {
	ID  string `json:"id"`
	Inc int32  `json:"inc"`
	Dup bool   `json:"dup"`
}

type camEventState struct {
	ID       string `json:"id"`
	Incident string `json:"incident"`
}

func tierUnitStates(tus []*tierUnit) []tierUnitState {
	out := make([]tierUnitState, len(tus))
	for n, tu := range tus {
		out[n] = tierUnitState{Unit: tu.unit, ETA: tu.eta, Assigned: tu.assigned, Accepted: tu.accepted, Enroute: tu.enroute, Arrived: tu.arrived,
			Cleared: tu.cleared, Target: tu.target, From: tu.from}
	}
	return out
}

func tierUnitsFrom(st []tierUnitState) []*tierUnit {
	out := make([]*tierUnit, len(st))
	for n, s := range st {
		out[n] = &tierUnit{unit: s.Unit, eta: s.ETA, assigned: s.Assigned, accepted: s.Accepted, enroute: s.Enroute, arrived: s.Arrived,
			cleared: s.Cleared, target: s.Target, from: s.From}
	}
	return out
}

// Snapshot returns the engine's whole state as JSON.
func (e *Engine) Snapshot() ([]byte, error) { return e.Capture().Marshal() }

// Capture is a copy of the engine's state that shares no memory with it: taken on the
// engine's goroutine, encoded anywhere, so the engine only pauses for the copy.
type Capture struct{ st snapshotState }

// Capture copies the engine's state for a snapshot.
func (e *Engine) Capture() *Capture {
	st := snapshotState{Version: snapshotVersion, Now: e.now, LastReplan: e.lastReplan,
		Cameras: e.Cameras(), Coverage: e.coverage.State(), Units: make([]unitState, 0, len(e.units)),
		Config: new(e.cfg), Configured: e.configured, Tokens: e.tokenStates(), MoveUp: e.moveUpCapture(), Learned: e.learnedCapture()}
	for _, u := range e.units {
		st.Units = append(st.Units, unitState{ID: u.id, Callsign: u.callsign, Force: u.force, Mode: u.mode,
			Status: u.status, Pos: u.pos, FixT: u.fixT, Heading: u.heading, Speed: u.speed,
			Inc: u.inc, Tier: u.tier, Target: u.target, Secret: u.secret, Terminal: u.terminal})
	}
	for _, inc := range e.incs {
		if inc == nil {
			st.Incidents = append(st.Incidents, nil) // retired: its index stays taken
			continue
		}
		is := &incidentState{ID: inc.id, Closed: inc.closed, Priority: inc.priority, Category: inc.category,
			Scene: inc.scene, Address: inc.address, Zone: inc.zone, ZoneID: inc.zoneID, GridID: inc.gridID, GridName: inc.gridName, Received: inc.received, LastSeen: inc.lastSeen,
			ClosedAt: inc.closedAt, Disposition: inc.disposition, Alerts: slices.Clone(inc.alerts),
			CamEvents: slices.Clone(inc.camEvents), Excluded: slices.Clone(inc.excluded), Notes: slices.Clone(inc.notes),
			Timeline: slices.Clone(inc.timeline)}
		for _, t := range inc.tiers {
			is.Tiers = append(is.Tiers, tierState{Tier: t.Tier, State: t.state, Units: tierUnitStates(t.units),
				Recommended: tierUnitStates(t.recommended), Posts: slices.Clone(t.posts)})
		}
		st.Incidents = append(st.Incidents, is)
	}
	for _, inc := range e.incs[e.live:] {
		if inc == nil {
			continue
		}
		for _, a := range inc.alerts {
			ref := e.alerts[a.ID]
			st.Alerts = append(st.Alerts, alertState{ID: a.ID, Inc: ref.inc, Dup: ref.dup})
		}
	}
	for _, id := range e.camOrder {
		st.CamEvents = append(st.CamEvents, camEventState{ID: id, Incident: e.camSeen[id]})
	}
	return &Capture{st}
}

// Marshal encodes a capture as the JSON that Restore reads.
func (c *Capture) Marshal() ([]byte, error) {
	b, err := json.Marshal(c.st)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return b, nil
}

// Encode writes the JSON of Marshal to w (and a newline).
func (c *Capture) Encode(w io.Writer) error {
	if err := json.NewEncoder(w).Encode(c.st); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// Restore returns an engine with the state of a snapshot, under the configuration the
// snapshot carries; cfg is only the seed for a snapshot that carries none (one written
// before the configuration was in snapshots), and gives the travel model, which is
// never in a snapshot.
func Restore(cfg Config, snapshot []byte) (*Engine, error) {
	var st snapshotState
	if err := json.Unmarshal(snapshot, &st); err != nil {
		return nil, fmt.Errorf("restore snapshot: %w", err)
	}
	if st.Version != snapshotVersion {
		return nil, fmt.Errorf("restore snapshot: version %d, want %d", st.Version, snapshotVersion)
	}
	if st.Config != nil {
		c := *st.Config
		c.Model = cfg.Model
		cfg = c
	}
	e := New(cfg)
	e.configured = st.Configured
	e.now, e.lastReplan = st.Now, st.LastReplan
	for n, s := range st.Units {
		u := &unit{id: s.ID, callsign: s.Callsign, force: s.Force, mode: s.Mode, status: s.Status, pos: s.Pos,
			fixT: s.FixT, heading: s.Heading, speed: s.Speed, inc: s.Inc, tier: s.Tier, target: s.Target, secret: s.Secret}
		e.units = append(e.units, u)
		e.unitIDs[u.id] = int32(n)
		if s.Terminal != "" {
			e.setTerminal(int32(n), s.Terminal)
		}
		if u.placed() {
			e.placed.Move(int32(n), u.pos)
		}
	}
	for n, s := range st.Incidents {
		if s == nil {
			e.incs = append(e.incs, nil)
			if e.live == n {
				e.live++
			}
			continue
		}
		inc := &incident{id: s.ID, closed: s.Closed, priority: s.Priority, category: s.Category, scene: s.Scene,
			address: s.Address, zone: s.Zone, zoneID: s.ZoneID, gridID: s.GridID, gridName: s.GridName, received: s.Received, lastSeen: s.LastSeen, closedAt: s.ClosedAt,
			disposition: s.Disposition, alerts: s.Alerts, camEvents: s.CamEvents, excluded: s.Excluded,
			notes: s.Notes, timeline: s.Timeline}
		for _, ts := range s.Tiers {
			inc.tiers = append(inc.tiers, &tier{Tier: ts.Tier, kinds: ts.Tier.kinds(), state: ts.State, units: tierUnitsFrom(ts.Units),
				recommended: tierUnitsFrom(ts.Recommended), posts: ts.Posts})
		}
		e.incs = append(e.incs, inc)
		e.incIDs[inc.id] = int32(n)
		if !inc.closed {
			e.open = append(e.open, int32(n))
			e.openIdx.Move(int32(n), inc.scene)
			if inc.short() {
				inc.onShortList = true
				e.shortList = append(e.shortList, int32(n))
			}
		}
	}
	for _, c := range st.Cameras {
		e.camIDs[c.ID] = int32(len(e.cameras))
		e.cameras = append(e.cameras, &camera{id: c.ID, name: c.Name, heading: c.Heading,
			pos: geo.Place{Point: geo.Point{Lat: c.Lat, Lng: c.Lng}, Cell: c.Cell}})
	}
	for _, a := range st.Alerts {
		e.alerts[a.ID] = alertRef{inc: a.Inc, dup: a.Dup}
	}
	for _, c := range st.CamEvents {
		e.camSeen[c.ID] = c.Incident
		e.camOrder = append(e.camOrder, c.ID)
	}
	for n, u := range e.units {
		e.placed.SetTag(int32(n), u.tag())
	}
	e.restoreTokens(st.Tokens)
	e.moveUpRestore(st.MoveUp)
	e.learnedRestore(st.Learned)
	e.coverage.SetState(st.Coverage)
	slices.Sort(e.open)
	return e, nil
}
