package dispatch

import "fmt"

// names maps a small enum to its wire names, so every enum marshals the same way.
type names[T ~uint8] struct {
	what string
	list []string
}

func (n names[T]) str(v T) string {
	if int(v) < len(n.list) {
		return n.list[v]
	}
	return fmt.Sprintf("%s(%d)", n.what, uint8(v))
}

// text is MarshalText for an enum: an unknown value is an error, so a snapshot that
// could not be read back is never written.
func (n names[T]) text(v T) ([]byte, error) {
	if int(v) >= len(n.list) {
		return nil, fmt.Errorf("unknown %s %d", n.what, uint8(v))
	}
	return []byte(n.list[v]), nil
}

func (n names[T]) parse(s string) (T, error) {
	for i, name := range n.list {
		if name == s {
			return T(i), nil
		}
	}
	return 0, fmt.Errorf("unknown %s %q", n.what, s)
}

// Force is the kind of force a unit belongs to (the three-tier patrol).
type Force uint8

// The forces.
const (
	Police Force = iota
	Patrol
	Volunteer
	Guard
)

var forceNames = names[Force]{"force", []string{"police", "patrol", "volunteer", "guard"}}

func (f Force) String() string               { return forceNames.str(f) }
func (f Force) MarshalText() ([]byte, error) { return forceNames.text(f) }
func (f *Force) UnmarshalText(b []byte) error {
	v, err := forceNames.parse(string(b))
	*f = v
	return err
}

// ParseForce reads a force's wire name.
func ParseForce(s string) (Force, error) { return forceNames.parse(s) }

// Status is a unit's duty status.
type Status uint8

// The statuses. Only Available units are free for the planner. The values are what
// logs and snapshots store, so a new status goes at the end, whatever its place in the
// course of an assignment: Accepted (the unit acknowledged its order) comes between
// Dispatched and Enroute.
const (
	Available Status = iota
	Dispatched
	Enroute
	OnScene
	Busy
	OffDuty
	Accepted
)

var statusNames = names[Status]{"status", []string{"available", "dispatched", "enroute", "onscene", "busy", "offduty", "accepted"}}

// valid reports whether s is a known status (a decoded event may carry any number).
func (s Status) valid() bool { return int(s) < len(statusNames.list) }

func (s Status) String() string               { return statusNames.str(s) }
func (s Status) MarshalText() ([]byte, error) { return statusNames.text(s) }
func (s *Status) UnmarshalText(b []byte) error {
	v, err := statusNames.parse(string(b))
	*s = v
	return err
}

// ParseStatus reads a status's wire name.
func ParseStatus(s string) (Status, error) { return statusNames.parse(s) }

// Category is what an alert or incident is about.
type Category uint8

// The categories of 110 alerts.
const (
	Criminal Category = iota
	PublicOrder
	Traffic
	Fire
	Dispute
	Help
	OtherCategory
)

var categoryNames = names[Category]{"category", []string{"criminal", "public_order", "traffic", "fire", "dispute", "help", "other"}}

func (c Category) String() string               { return categoryNames.str(c) }
func (c Category) MarshalText() ([]byte, error) { return categoryNames.text(c) }
func (c *Category) UnmarshalText(b []byte) error {
	v, err := categoryNames.parse(string(b))
	*c = v
	return err
}

// ParseCategory reads a category's wire name.
func ParseCategory(s string) (Category, error) { return categoryNames.parse(s) }

// CameraEventType is the analytics rule a camera alarm came from.
type CameraEventType uint8

// The camera event types.
const (
	Intrusion CameraEventType = iota
	Tripwire
	Loitering
	Crowd
	Fight
	FireSmoke
	FaceMatch
	PlateMatch
	OtherCameraEvent
)

var cameraEventNames = names[CameraEventType]{"camera event type", []string{"intrusion", "tripwire", "loitering", "crowd", "fight", "fire", "face_match", "plate_match", "other"}}

func (t CameraEventType) String() string               { return cameraEventNames.str(t) }
func (t CameraEventType) MarshalText() ([]byte, error) { return cameraEventNames.text(t) }
func (t *CameraEventType) UnmarshalText(b []byte) error {
	v, err := cameraEventNames.parse(string(b))
	*t = v
	return err
}

// ParseCameraEventType reads a camera event type's wire name.
func ParseCameraEventType(s string) (CameraEventType, error) { return cameraEventNames.parse(s) }

// TierState is the clock of one response tier.
type TierState uint8

// The tier states. AtRisk is raised as soon as no assigned (or, when recommending,
// recommended) unit can make the deadline, not when the clock runs out.
const (
	Pending TierState = iota
	AtRisk
	Met
	Missed
)

var tierStateNames = names[TierState]{"tier state", []string{"pending", "at_risk", "met", "missed"}}

func (s TierState) String() string               { return tierStateNames.str(s) }
func (s TierState) MarshalText() ([]byte, error) { return tierStateNames.text(s) }
func (s *TierState) UnmarshalText(b []byte) error {
	v, err := tierStateNames.parse(string(b))
	*s = v
	return err
}
