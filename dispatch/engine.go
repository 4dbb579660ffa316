package dispatch

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"commandd/geo"
)

// Config shapes an engine. The zero value of every field means its default.
type Config struct {
	// Plans choose the response plan by category and priority; the first match wins.
	// Empty: DefaultPlanRules.
	Plans []PlanRule `json:"plans,omitempty"`
	// Zones override plan deadlines by place; the first zone holding the scene wins.
	Zones []Zone `json:"zones,omitempty"`
	// Name is the district's name (湖里区); TZ its time zone (IANA), where its days begin.
	Name string `json:"name,omitempty"`
	TZ   string `json:"tz,omitempty"`
	// District is the set of cells whose coverage the engine keeps.
	District []geo.Cell `json:"district,omitempty"`
	// Grids are the district's management grids; an incident carries the one holding
	// its scene.
	Grids []Grid `json:"grids,omitempty"`
	// Source is the district file in force, in WGS-84, as GET /api/v1/district gives it
	// back; the engine does not read it.
	Source json.RawMessage `json:"source,omitempty"`
	// Recommend turns automatic assignment into recommend-and-confirm: the planner only
	// recommends, and operators confirm with Assign.
	Recommend bool `json:"recommend,omitempty"`
	// Baseline turns the planning off, to measure what it buys: the straight-line
	// nearest free unit for each missing one, incident by incident as they come, no
	// units pulled from other incidents, and every alert an incident of its own.
	Baseline bool `json:"baseline,omitempty"`
	// ArrivalRadius is how close (m) a fix of a car or motorbike must be to the scene
	// or post to count as arrival; bikes arrive at half of it and units on foot at a
	// quarter (they stop where the scene is, not at the kerb). Default 100.
	ArrivalRadius float64 `json:"arrival_radius_m,omitempty"`
	// DupRadius and DupWindow: alerts this close in space (m) and time to an open
	// incident's latest alert, with compatible categories, join it. Default 300 m, 10 min.
	DupRadius float64       `json:"dup_radius_m,omitempty"`
	DupWindow time.Duration `json:"dup_window,omitempty"`
	// CameraRing and CameraWindow: camera events within this many H3 rings and this
	// long after an open incident's latest activity attach to it. Default 2, 10 min.
	CameraRing   int           `json:"camera_ring,omitempty"`
	CameraWindow time.Duration `json:"camera_window,omitempty"`
	// CameraOpenConfidence is the confidence from which a strong camera event (fight,
	// fire, face or plate match) opens an incident by itself. Default 0.8.
	CameraOpenConfidence float64 `json:"camera_open_confidence,omitempty"`
	// Horizon is how far (s of travel) the planner looks for units when no unit can
	// make a deadline: such a tier still gets the soonest unit, late. Default 900 s.
	Horizon time.Duration `json:"horizon,omitempty"`
	// ReplanEvery is how often ticks plan again for incidents still short of units.
	// Default 5 s.
	ReplanEvery time.Duration `json:"replan_every,omitempty"`
	// RetireClosed is how long a closed incident stays in the engine (readable, and its
	// alerts' ids remembered, so a retried alert gets the same answer) before a tick
	// drops it, which keeps memory and snapshots bounded; the history store keeps it
	// for good. 0: never.
	RetireClosed time.Duration `json:"retire_closed,omitempty"`
	// MoveUp is what the engine does with free units that would cover more calls
	// elsewhere (moveup.go): "off", "recommend" (to operators, who confirm) or "auto"
	// (sent at once). Empty: recommend.
	MoveUp string `json:"moveup,omitempty"`
	// Model is the travel-time model. Default geo.DefaultSpeedModel().
	Model geo.TravelModel `json:"-"`
}

// CoverageTiers are the tiers the coverage layers are kept for: the default plan's
// (the first rule matching any incident), else DefaultPlan's.
func (c Config) CoverageTiers() []Tier {
	for i := range c.Plans {
		if c.Plans[i].Default() {
			return c.Plans[i].Plan.Tiers
		}
	}
	return DefaultPlan().Tiers
}

// arrivalShare is the share of ArrivalRadius at which a unit of each mode arrives.
var arrivalShare = [...]float64{geo.Foot: 0.25, geo.Bike: 0.5, geo.Motorbike: 1, geo.Car: 1}

// arrivalRadius is how close a fix of a unit of mode m must be to its target to count
// as its arrival.
func (c Config) arrivalRadius(m geo.Mode) float64 { return c.ArrivalRadius * arrivalShare[m] }

// WithDefaults is c with every zero field at its default, as an engine runs it.
func (c Config) WithDefaults() Config { return c.withDefaults() }

func (c Config) withDefaults() Config {
	if len(c.Plans) == 0 {
		c.Plans = DefaultPlanRules()
	}
	if c.ArrivalRadius == 0 {
		c.ArrivalRadius = 100
	}
	if c.DupRadius == 0 {
		c.DupRadius = 300
	}
	if c.DupWindow == 0 {
		c.DupWindow = 10 * time.Minute
	}
	if c.CameraRing == 0 {
		c.CameraRing = 2
	}
	if c.CameraWindow == 0 {
		c.CameraWindow = 10 * time.Minute
	}
	if c.CameraOpenConfidence == 0 {
		c.CameraOpenConfidence = 0.8
	}
	if c.Horizon == 0 {
		c.Horizon = 900 * time.Second
	}
	if c.ReplanEvery == 0 {
		c.ReplanEvery = 5 * time.Second
	}
	if c.Model == nil {
		c.Model = geo.DefaultSpeedModel()
	}
	if c.MoveUp == "" {
		c.MoveUp = MoveUpRecommend
	}
	c.Zones = append([]Zone(nil), c.Zones...)
	for i := range c.Zones {
		c.Zones[i].set = geo.NewCellSet(c.Zones[i].Cells)
	}
	return c
}

// Engine is the dispatch state machine. It is not safe for concurrent use: one
// goroutine applies the log in order.
type Engine struct {
	cfg        Config
	configured bool // a Configure event put cfg in force
	now        time.Time

	units   []*unit
	unitIDs map[string]int32
	// terminals are the units' JT/T 808 terminals: terminal → unit index.
	terminals map[string]int32
	placed    *geo.Index // units with a position, by cell

	incs     []*incident // nil: retired (indexes stay put)
	live     int         // incs before it are all retired
	incIDs   map[string]int32
	open     []int32    // open incidents, ascending
	openIdx  *geo.Index // open incidents by scene cell
	alerts   map[string]alertRef
	cameras  []*camera
	camIDs   map[string]int32
	camSeen  map[string]string // camera event id → incident id ("" for none)
	camOrder []string          // camera event ids, oldest first, to bound camSeen

	tokens    map[string]*TokenView // issued and revoked tokens by id
	tokenHash map[string]string     // an issued token's hash → its id

	loc        *time.Location // the district's time zone
	mu         moveUps
	learn      learned
	gridAt     map[geo.Cell]int32 // cell → index of the management grid holding it
	coverage   *geo.Coverage
	covKinds   []uint16 // eligible kinds of the default plan's tiers: coverage layer l is tier l+1
	lastReplan time.Time
	replan     bool // a unit freed up or an incident lacks units: plan at the end of Apply

	scratch scratch
	out     []Change
	touched []int32 // incidents changed during this Apply, in order of first change
	// shortList holds the open incidents that lacked units at the end of the last
	// Apply, in no particular order; planning looks for competing incidents there.
	shortList []int32
	cellBuf   []geo.Cell
}

type alertRef struct {
	inc int32
	dup bool
}

// maxCameraEventsRemembered bounds how many camera event ids are kept for idempotency.
const maxCameraEventsRemembered = 100000

// New returns an empty engine.
func New(cfg Config) *Engine {
	cfg = cfg.withDefaults()
	e := &Engine{
		unitIDs:   make(map[string]int32),
		terminals: make(map[string]int32),
		placed:    geo.NewIndex(),
		incIDs:    make(map[string]int32),
		openIdx:   geo.NewIndex(),
		alerts:    make(map[string]alertRef),
		camIDs:    make(map[string]int32),
		camSeen:   make(map[string]string),
		tokens:    make(map[string]*TokenView),
		tokenHash: make(map[string]string),
	}
	e.setConfig(cfg)
	return e
}

// setConfig puts cfg (with its defaults) in force: what reads it at once (the grids by
// cell, the coverage layers over the district's cells) is built for it, empty.
func (e *Engine) setConfig(cfg Config) {
	e.cfg = cfg
	e.loc = time.UTC
	if loc, err := time.LoadLocation(cfg.TZ); err == nil && cfg.TZ != "" {
		e.loc = loc
	}
	e.setMoveUpCells()
	e.gridAt = make(map[geo.Cell]int32)
	for g := len(cfg.Grids) - 1; g >= 0; g-- { // the first grid listing a cell holds it
		for _, c := range cfg.Grids[g].Cells {
			e.gridAt[c] = int32(g)
		}
	}
	covTiers := cfg.CoverageTiers()
	horizon := 0.0
	e.covKinds = e.covKinds[:0]
	for _, t := range covTiers {
		horizon = max(horizon, t.Deadline.Seconds())
		e.covKinds = append(e.covKinds, t.kinds())
	}
	e.coverage = geo.NewCoverage(cfg.District, len(covTiers), cfg.Model, horizon)
}

// Now is the engine's clock: the latest time of the events it has applied.
func (e *Engine) Now() time.Time { return e.now }

// Config returns the configuration in force (the last Configure event's, else the one
// the engine was made with), with defaults filled in.
func (e *Engine) Config() Config { return e.cfg }

// Apply applies one event and returns what changed. The returned slice and any slices
// inside it belong to the engine and are valid until the next Apply.
func (e *Engine) Apply(ev Event) []Change {
	e.out = e.out[:0]
	if t := ev.Time(); t.After(e.now) {
		e.now = t
	}
	switch ev := ev.(type) {
	case *Fix:
		e.applyFix(ev)
	case *UnitUpserted:
		e.upsertUnit(ev)
	case *AlertReceived:
		e.receiveAlert(ev)
	case *CameraUpserted:
		e.upsertCamera(ev)
	case *CameraEventReceived:
		e.receiveCameraEvent(ev)
	case *Assign:
		e.assignCommand(ev)
	case *Release:
		e.releaseCommand(ev)
	case *SetStatus:
		e.statusCommand(ev)
	case *Close:
		e.closeCommand(ev)
	case *Note:
		e.noteCommand(ev)
	case *Tick:
		e.tick()
	case *Configure:
		e.configure(ev)
	case *TokenIssued:
		e.issueToken(ev)
	case *TokenRevoked:
		e.revokeToken(ev)
	case *MoveUpConfirmed:
		e.moveUpConfirm(ev)
	case *Accessed:
	default:
		e.reject(Invalid, fmt.Sprintf("unknown event %T", ev))
	}
	// Planning may pull units from less urgent incidents, which then lack units and are
	// planned in turn; priorities only go down, so this ends. Nothing carries over to
	// the next event, so a snapshot between two events is the whole state.
	for round := 0; e.replan && round < 8; round++ {
		e.replan = false
		e.planOpen(nil)
	}
	e.replan = false
	if len(e.touched) > 0 {
		e.flushTouched()
	}
	return e.out
}

func (e *Engine) emit(c Change) {
	if c.T.IsZero() {
		c.T = e.now
	}
	e.out = append(e.out, c)
}

func (e *Engine) reject(code Rejection, reason string) {
	e.emit(Change{Kind: Rejected, Code: code, Reason: reason})
}

// touch records that incident i changed, so one IncidentUpdated goes out for it at the
// end of Apply.
func (e *Engine) touch(i int32) {
	inc := e.incs[i]
	if !inc.touched {
		inc.touched = true
		e.touched = append(e.touched, i)
	}
}

func (e *Engine) flushTouched() {
	for _, i := range e.touched {
		inc := e.incs[i]
		e.evaluate(i)
		inc.touched = false
		if short := inc.short(); short != inc.onShortList {
			inc.onShortList = short
			if short {
				e.shortList = append(e.shortList, i)
			} else {
				e.shortList = slices.DeleteFunc(e.shortList, func(x int32) bool { return x == i })
			}
		}
		e.emit(Change{Kind: IncidentUpdated, Incident: inc.id})
	}
	e.touched = e.touched[:0]
}

func (e *Engine) tick() {
	e.retire()
	for _, i := range e.open {
		if e.evaluate(i) {
			e.touch(i)
		}
	}
	if e.lastReplan.IsZero() || e.now.Sub(e.lastReplan) >= e.cfg.ReplanEvery {
		e.lastReplan = e.now
		e.replan = len(e.shortList) > 0
	}
	e.flushCoverage()
	e.moveUpTick()
}

// retire drops the incidents closed for longer than cfg.RetireClosed, with their
// alerts' ids. Closed incidents hold no units, and nothing indexes them but incIDs.
func (e *Engine) retire() {
	if e.cfg.RetireClosed <= 0 {
		return
	}
	cutoff := e.now.Add(-e.cfg.RetireClosed)
	for i := e.live; i < len(e.incs); i++ {
		inc := e.incs[i]
		if inc == nil || !inc.closed || inc.closedAt.After(cutoff) {
			continue
		}
		for _, a := range inc.alerts {
			delete(e.alerts, a.ID)
		}
		delete(e.incIDs, inc.id)
		e.incs[i] = nil
	}
	for e.live < len(e.incs) && e.incs[e.live] == nil {
		e.live++
	}
}

// coverageStep is how many moved units a tick brings into the coverage layer at most.
// Each costs ~17 µs, so a tick holds the engine ≤ ~5 ms however many units move; a
// district's few hundred units are all taken every tick, while at 100k moving units the
// layer trails their positions by some seconds (it informs walls; planning does not
// read it).
const coverageStep = 256

func (e *Engine) flushCoverage() {
	changed := e.coverage.FlushSome(e.now, coverageStep)
	if len(changed) == 0 {
		return
	}
	cells := e.coverage.Cells()
	e.cellBuf = e.cellBuf[:0]
	for _, i := range changed {
		e.cellBuf = append(e.cellBuf, cells[i])
	}
	e.emit(Change{Kind: CoverageChanged, Cells: e.cellBuf})
}
