package dispatch

import (
	"encoding/json"
	"fmt"
	"time"

	"commandd/geo"
)

// Event is an input to the engine. Every event carries its time; the engine's clock is
// the latest time it has seen, so clock ticks are events too.
type Event interface {
	// Kind is the event's wire type, e.g. "fix" or "alert".
	Kind() string
	// Time is when the event happened (for commands and ticks: when the log took it).
	Time() time.Time
}

// UnitUpserted adds a unit to the roster or changes its callsign, force, mode or status.
type UnitUpserted struct {
	T        time.Time `json:"t"`
	ID       string    `json:"id"`
	Callsign string    `json:"callsign,omitempty"`
	Force    Force     `json:"force"`
	Mode     geo.Mode  `json:"mode"`
	Status   Status    `json:"status"`
	// Secret is the hex SHA-256 of the unit's device secret, which an OsmAnd client
	// presents instead of a token; empty: the unit keeps the one it has.
	Secret string `json:"secret,omitempty"`
	// Terminal is the unit's JT/T 808 terminal: the phone number of its message
	// headers, as decimal digits without leading zeros; empty: the unit keeps the one
	// it has. A terminal named for another unit leaves the unit that had it.
	Terminal string `json:"terminal,omitempty"`
	By       string `json:"by,omitempty"`
}

// MoveUpConfirmed is an operator sending a recommended move-up to its unit.
type MoveUpConfirmed struct {
	T    time.Time `json:"t"`
	Unit string    `json:"unit"`
	By   string    `json:"by,omitempty"`
}

func (e *MoveUpConfirmed) Kind() string    { return "moveup_confirm" }
func (e *MoveUpConfirmed) Time() time.Time { return e.T }

// Fix is a GPS position of a unit. Cell is computed by the sender (ingest) at
// geo.DefaultRes so the engine never calls into H3 on the hot path.
type Fix struct {
	Unit     string    `json:"unit"`
	T        time.Time `json:"t"`
	Lat      float64   `json:"lat"`
	Lng      float64   `json:"lng"`
	Cell     geo.Cell  `json:"cell,omitempty"`
	Speed    float64   `json:"speed,omitempty"`    // m/s
	Heading  float64   `json:"heading,omitempty"`  // degrees
	Accuracy float64   `json:"accuracy,omitempty"` // metres
	// Alarm is the alarm word of a JT/T 808 report (bit 0: emergency), kept for the
	// history; the engine does not read it.
	Alarm uint32 `json:"alarm,omitempty"`
	// Mileage is the odometer of a JT/T 808 report (item 0x01), in 0.1 km; 0: not sent.
	Mileage uint32 `json:"mileage,omitempty"`
}

// AlertReceived is a 110 alert, already taken by a call-taker and geocoded. T is when
// the call was received: the response clocks run from it.
type AlertReceived struct {
	ID       string    `json:"id"`
	T        time.Time `json:"t"`
	Lat      float64   `json:"lat"`
	Lng      float64   `json:"lng"`
	Cell     geo.Cell  `json:"cell,omitempty"`
	Address  string    `json:"address,omitempty"`
	Category Category  `json:"category"`
	Priority int       `json:"priority"`
	Caller   string    `json:"caller,omitempty"`
	Text     string    `json:"text,omitempty"`
}

// CameraUpserted adds or moves a camera.
type CameraUpserted struct {
	T       time.Time `json:"t"`
	ID      string    `json:"id"`
	Name    string    `json:"name,omitempty"`
	Lat     float64   `json:"lat"`
	Lng     float64   `json:"lng"`
	Cell    geo.Cell  `json:"cell,omitempty"`
	Heading float64   `json:"heading,omitempty"`
	By      string    `json:"by,omitempty"`
}

// CameraEventReceived is an analytics alarm from a camera.
type CameraEventReceived struct {
	ID         string          `json:"id"`
	Camera     string          `json:"camera"`
	T          time.Time       `json:"t"`
	Type       CameraEventType `json:"type"`
	Confidence float64         `json:"confidence"`
	Snapshot   string          `json:"snapshot,omitempty"`
}

// Assign is an operator's command to put a unit on an incident's tier (tier 0: the
// first tier the unit may fill). It overrides the planner, and in recommend mode it is
// how a recommendation is confirmed.
type Assign struct {
	T        time.Time `json:"t"`
	Incident string    `json:"incident"`
	Unit     string    `json:"unit"`
	Tier     int       `json:"tier,omitempty"`
	By       string    `json:"by"`
}

// Release takes a unit off an incident; the planner will not send it there again.
type Release struct {
	T        time.Time `json:"t"`
	Incident string    `json:"incident"`
	Unit     string    `json:"unit"`
	By       string    `json:"by"`
}

// SetStatus is a unit's (or an operator's) status report: enroute, onscene, available
// (cleared), busy, offduty. Incident names the incident an onscene report is about.
type SetStatus struct {
	T        time.Time `json:"t"`
	Unit     string    `json:"unit"`
	Status   Status    `json:"status"`
	Incident string    `json:"incident,omitempty"`
	By       string    `json:"by"`
}

// Close ends an incident and frees its units.
type Close struct {
	T           time.Time `json:"t"`
	Incident    string    `json:"incident"`
	Disposition string    `json:"disposition,omitempty"`
	By          string    `json:"by"`
}

// Note is an operator's note on an incident, open or closed: what was learnt or
// decided, in words, for the others on shift and for the supervisor's replay.
type Note struct {
	T        time.Time `json:"t"`
	Incident string    `json:"incident"`
	Text     string    `json:"text"`
	By       string    `json:"by"`
}

// Tick advances the engine's clock: tier deadlines pass, coverage is brought up to
// date and incidents still short of units are planned again.
type Tick struct {
	T time.Time `json:"t"`
}

func (e *UnitUpserted) Kind() string        { return "unit" }
func (e *Fix) Kind() string                 { return "fix" }
func (e *AlertReceived) Kind() string       { return "alert" }
func (e *CameraUpserted) Kind() string      { return "camera" }
func (e *CameraEventReceived) Kind() string { return "camera_event" }
func (e *Assign) Kind() string              { return "assign" }
func (e *Release) Kind() string             { return "release" }
func (e *SetStatus) Kind() string           { return "status" }
func (e *Close) Kind() string               { return "close" }
func (e *Note) Kind() string                { return "note" }
func (e *Tick) Kind() string                { return "tick" }

func (e *UnitUpserted) Time() time.Time        { return e.T }
func (e *Fix) Time() time.Time                 { return e.T }
func (e *AlertReceived) Time() time.Time       { return e.T }
func (e *CameraUpserted) Time() time.Time      { return e.T }
func (e *CameraEventReceived) Time() time.Time { return e.T }
func (e *Assign) Time() time.Time              { return e.T }
func (e *Release) Time() time.Time             { return e.T }
func (e *SetStatus) Time() time.Time           { return e.T }
func (e *Close) Time() time.Time               { return e.T }
func (e *Note) Time() time.Time                { return e.T }
func (e *Tick) Time() time.Time                { return e.T }

// newEvent returns an empty event of a wire type.
func newEvent(kind string) (Event, error) {
	switch kind {
	case "unit":
		return &UnitUpserted{}, nil
	case "fix":
		return &Fix{}, nil
	case "alert":
		return &AlertReceived{}, nil
	case "camera":
		return &CameraUpserted{}, nil
	case "camera_event":
		return &CameraEventReceived{}, nil
	case "assign":
		return &Assign{}, nil
	case "release":
		return &Release{}, nil
	case "status":
		return &SetStatus{}, nil
	case "close":
		return &Close{}, nil
	case "note":
		return &Note{}, nil
	case "tick":
		return &Tick{}, nil
	case "configure":
		return &Configure{}, nil
	case "token":
		return &TokenIssued{}, nil
	case "token_revoked":
		return &TokenRevoked{}, nil
	case "access":
		return &Accessed{}, nil
	case "moveup_confirm":
		return &MoveUpConfirmed{}, nil
	}
	return nil, fmt.Errorf("unknown event type %q", kind)
}

// MarshalEvent encodes an event as JSON with its wire type in a "kind" field: the form
// events take in the log and in fixture scripts.
func MarshalEvent(ev Event) ([]byte, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode %s event: %w", ev.Kind(), err)
	}
	head := `{"kind":"` + ev.Kind() + `"`
	if len(body) > 2 {
		head += ","
	}
	return append([]byte(head), body[1:]...), nil
}

// UnmarshalEvent decodes an event written by MarshalEvent.
func UnmarshalEvent(b []byte) (Event, error) {
	var head struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	ev, err := newEvent(head.Kind)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, ev); err != nil {
		return nil, fmt.Errorf("decode %s event: %w", head.Kind, err)
	}
	return ev, nil
}
