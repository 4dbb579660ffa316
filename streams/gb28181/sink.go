package gb28181

import "time"

// Sink receives what the server learns from devices. Its methods are called
// from the SIP request handlers, possibly concurrently, and the device's
// request is answered only after they return: they should be quick and must
// be safe for concurrent use.
type Sink interface {
	// Camera is called for each catalog channel with a usable position, the
	// first time it is seen and again whenever its name or position changes.
	// When it fails the channel is offered again with the next catalog.
	Camera(c Camera) error
	// Alarm is called for each alarm notification. When it fails the device
	// is answered 500, so that it may send the alarm again.
	Alarm(a Alarm) error
}

// Camera is a catalog channel with a position.
type Camera struct {
	ID       string  // channel id (the catalog item's DeviceID): the camera id
	DeviceID string  // the registered device or platform that reported it
	Name     string  // channel name, decoded to UTF-8
	Lat      float64 // WGS84 degrees as the device reports them
	Lng      float64

	// Informational fields of the catalog item, as sent ("" if absent).
	Manufacturer string
	Model        string
	Address      string
	ParentID     string
	Status       string // "ON"/"OFF" on most devices
}

// Alarm is an alarm notification (MESSAGE Notify/CmdType Alarm).
type Alarm struct {
	DeviceID    string    // the registered device or platform that sent it (SIP From user)
	CameraID    string    // the alarming channel (the Notify's DeviceID); the camera id
	SN          int       // the notification's sequence number
	Time        time.Time // AlarmTime read in Config.Location; the receive time if absent or unreadable
	Priority    int       // AlarmPriority 1 (highest) – 4; 0 if absent or out of range
	Method      int       // AlarmMethod 1–7; 0 if absent or unknown
	Type        int       // Info/AlarmType; 0 if absent
	Description string    // AlarmDescription, decoded to UTF-8

	HasPosition bool // Lat and Lng were given and are usable
	Lat, Lng    float64

	EventType  string  // the commandd camera-event type (see EventType and docs/api.md)
	Confidence float64 // from Priority (see Confidence)
}

// Device is a registered device or lower platform.
type Device struct {
	ID         string    // its 20-digit SIP id
	Transport  string    // "UDP" or "TCP"
	Addr       string    // the source address its REGISTER came from
	Registered time.Time // when it (last) registered
	LastSeen   time.Time // its last REGISTER, keepalive or other accepted MESSAGE
	// Expires is when it is dropped unless it refreshes: the end of its
	// registration or LastSeen+Config.KeepaliveTimeout, whichever is first.
	Expires  time.Time
	Channels int // catalog channels with a position seen so far
}
