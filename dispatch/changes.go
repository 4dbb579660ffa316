package dispatch

import (
	"time"

	"commandd/geo"
)

// ChangeKind says what a Change is about.
type ChangeKind uint8

// The kinds of change.
const (
	UnitChanged     ChangeKind = iota // a unit moved or changed status
	IncidentOpened                    // a new incident (read it with Engine.Incident)
	IncidentUpdated                   // anything about an incident changed; once per Apply
	IncidentClosed                    // an incident was closed
	AlertAccepted                     // the answer to an alert: its incident, merged or not, repeated or not
	Assigned                          // a unit was sent to an incident's tier
	Recommended                       // a unit is recommended (recommend-and-confirm mode)
	Released                          // a unit left an incident before arriving, or cleared after
	Arrived                           // a unit reached the scene or its perimeter post
	TierChanged                       // a tier clock changed state
	CameraChanged                     // a camera was added or moved
	CameraEvent                       // a camera event: attached to an incident, opened one, or neither
	CoverageChanged                   // coverage of Cells changed (read it with Engine.Coverage)
	Rejected                          // the event referred to something unknown or was not allowed
	Configured                        // a configuration came into force (read it with Engine.Config)
	TokenChanged                      // a token was issued or revoked (Event is its id)
	MoveUpSent                        // a unit was sent to a post (Lat, Lng, Cell, ETA)
	MoveUpsChanged                    // the move-ups in force changed (read them with Engine.MoveUps)
)

var changeKindNames = names[ChangeKind]{"change", []string{
	"unit", "incident_opened", "incident", "incident_closed", "alert_accepted", "assignment",
	"recommendation", "released", "arrived", "tier", "camera", "camera_event", "coverage", "rejected", "configure", "token",
	"moveup", "moveups"}}

func (k ChangeKind) String() string               { return changeKindNames.str(k) }
func (k ChangeKind) MarshalText() ([]byte, error) { return changeKindNames.text(k) }
func (k *ChangeKind) UnmarshalText(b []byte) error {
	v, err := changeKindNames.parse(string(b))
	*k = v
	return err
}

// Change is one consequence of an event. It is a flat value so the hot path (a fix
// moving a unit) builds it without allocating; which fields are set depends on Kind.
type Change struct {
	Kind      ChangeKind `json:"kind"`
	T         time.Time  `json:"t"`
	Unit      string     `json:"unit,omitempty"`
	Incident  string     `json:"incident,omitempty"`
	Alert     string     `json:"alert,omitempty"`
	Camera    string     `json:"camera,omitempty"`
	Event     string     `json:"event,omitempty"`
	Tier      int        `json:"tier,omitempty"`
	ETA       float64    `json:"eta_s,omitempty"`
	State     TierState  `json:"state,omitempty"`
	Status    Status     `json:"status,omitempty"`
	Lat       float64    `json:"lat,omitempty"`
	Lng       float64    `json:"lng,omitempty"`
	Cell      geo.Cell   `json:"cell,omitempty"`
	Heading   float64    `json:"heading,omitempty"`
	Speed     float64    `json:"speed,omitempty"`
	Duplicate bool       `json:"duplicate,omitempty"`
	Repeat    bool       `json:"repeat,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	Code      Rejection  `json:"code,omitempty"` // of a Rejected change
	Cells     []geo.Cell `json:"cells,omitempty"`
}

// Rejection is the class of a Rejected change, which the API answers with its error
// code: the reason is for people, the class for programs.
type Rejection uint8

// The classes of rejection, zero first: an event the engine cannot take as it is.
const (
	Invalid  Rejection = iota // the event itself is wrong (a field, a value)
	NotFound                  // it names an incident, unit, camera or token the engine does not hold
	Conflict                  // it is well formed, but the state it meets does not allow it
)

var rejectionNames = names[Rejection]{"rejection", []string{"invalid", "not_found", "conflict"}}

func (r Rejection) String() string               { return rejectionNames.str(r) }
func (r Rejection) MarshalText() ([]byte, error) { return rejectionNames.text(r) }
func (r *Rejection) UnmarshalText(b []byte) error {
	v, err := rejectionNames.parse(string(b))
	*r = v
	return err
}
