package streams

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/rs/zerolog"

	"commandd/dispatch"
	"commandd/streams/gb28181"
)

// GB28181Sink feeds what GB/T 28181 devices report (streams/gb28181) into the log, the
// way the API does: a catalog channel with a position becomes the camera of that id
// (PUT /api/v1/cameras/{id}), an alarm becomes a camera event of the alarming channel
// (POST /api/v1/camera-events). Both go through the API's decoders, so they are checked
// exactly as the wire contract says, and through commit, so they are stored and applied
// before the device is answered.
//
// Its methods are called from the SIP handlers, concurrently; a failure goes back to
// the device (an alarm is answered 500 and may be sent again; a channel is offered
// again with the next catalog).
type GB28181Sink struct {
	s   *Server
	log zerolog.Logger
}

var _ gb28181.Sink = (*GB28181Sink)(nil)

// NewGB28181Sink makes the sink of a gb28181.Server over s.
func NewGB28181Sink(s *Server, logger zerolog.Logger) *GB28181Sink {
	return &GB28181Sink{s: s, log: logger.With().Str("component", "gb28181").Logger()}
}

// ready refuses while the engine replays the log: what the API answers 503 then.
func (g *GB28181Sink) ready() error {
	if !g.s.Loop.Ready() {
		return fmt.Errorf("engine is replaying the log (/readyz not yet 200): %w",
			Errorf("unavailable", "", "the engine is catching up with the log"))
	}
	return nil
}

// Camera makes the channel the camera of its id (by "gb28181:<device id>"), unless the
// engine's camera already has that name and position. A heading the camera has (set
// over the API) is kept.
func (g *GB28181Sink) Camera(c gb28181.Camera) error {
	log := g.log.With().Str("device", c.DeviceID).Str("camera", c.ID).Logger()
	if err := g.ready(); err != nil {
		return fmt.Errorf("gb28181 camera %s of %s: %w", c.ID, c.DeviceID, err)
	}
	var old dispatch.CameraView
	var exists bool
	g.s.Loop.Read(func(e *dispatch.Engine) { old, exists = e.Camera(c.ID) })
	if exists && old.Name == c.Name && old.Lat == c.Lat && old.Lng == c.Lng {
		log.Debug().Msg("gb28181 camera unchanged")
		return nil
	}
	body, err := json.Marshal(cameraBody{Lat: c.Lat, Lng: c.Lng, Name: c.Name, Heading: old.Heading})
	if err != nil {
		return fmt.Errorf("gb28181 camera %s of %s: encode: %w", c.ID, c.DeviceID, err)
	}
	ev, derr := DecodeCamera(c.ID, body, g.s.now())
	if derr != nil {
		log.Warn().Err(derr).Float64("lat", c.Lat).Float64("lng", c.Lng).Msg("gb28181 channel is not a valid camera")
		return fmt.Errorf("gb28181 camera %s of %s: %w", c.ID, c.DeviceID, derr)
	}
	ev.By = "gb28181:" + c.DeviceID
	if _, _, cerr := g.s.commit(context.Background(), "", ev); cerr != nil {
		log.Error().Err(cerr).Msg("gb28181 camera not stored")
		return fmt.Errorf("gb28181 camera %s of %s: %w", c.ID, c.DeviceID, cerr)
	}
	log.Info().Str("name", ev.Name).Float64("lat", ev.Lat).Float64("lng", ev.Lng).Uint64("cell", uint64(ev.Cell)).
		Bool("moved", exists).Msg("gb28181 camera stored")
	return nil
}

// GB28181EventID is the camera event id of an alarm: GB-<device>-<channel>-<SN>-<alarm
// time, Unix ms>, so that an alarm sent again (a device that got no answer, or a 500) is
// the same event and is applied once, and alarms of two channels of a device that
// numbers every alarm alike (some do) are not. An id longer than the API's MaxEventID
// (device and channel ids may be up to 64 characters) is GB-<the first 32 hex digits
// of its SHA-256>. An
// alarm without a readable AlarmTime carries its receive time, so a resend of it is
// another event.
func GB28181EventID(a gb28181.Alarm) string {
	id := fmt.Sprintf("GB-%s-%s-%d-%d", a.DeviceID, a.CameraID, a.SN, a.Time.UnixMilli())
	if len(id) > MaxEventID {
		sum := sha256.Sum256([]byte(id))
		id = "GB-" + hex.EncodeToString(sum[:16])
	}
	return id
}

// Alarm makes the alarm a camera event of the alarming channel, of the mapped type and
// confidence (docs/api.md, "GB/T 28181 camera platforms"). The engine places it at the
// camera; a camera it does not know (no catalog has placed the channel yet) is rejected
// ("unknown camera", the API's 404), which the device gets as 500 and may send again
// once its catalog is in. An alarm time the API would refuse (more than 5 minutes
// ahead or 7 days behind the server's clock: a device with a wrong clock) is replaced
// by the server's time; the event id keeps the device's.
func (g *GB28181Sink) Alarm(a gb28181.Alarm) error {
	id := GB28181EventID(a)
	log := g.log.With().Str("device", a.DeviceID).Str("camera", a.CameraID).Str("event", id).
		Str("type", a.EventType).Float64("confidence", a.Confidence).Logger()
	if err := g.ready(); err != nil {
		return fmt.Errorf("gb28181 alarm %s: %w", id, err)
	}
	in := struct {
		ID         string  `json:"id"`
		Camera     string  `json:"camera"`
		T          *int64  `json:"t,omitempty"`
		Type       string  `json:"type"`
		Confidence float64 `json:"confidence"`
	}{ID: id, Camera: a.CameraID, Type: a.EventType, Confidence: a.Confidence}
	ms := a.Time.UnixMilli()
	in.T = &ms
	now := g.s.now()
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("gb28181 alarm %s: encode: %w", id, err)
	}
	ev, derr := DecodeCameraEvent(body, now)
	if derr != nil && derr.Field == "t" {
		log.Warn().Time("alarm_time", a.Time).Time("server_time", now).Str("why", derr.Message).
			Msg("gb28181 alarm time refused, using the server's time (check the device's clock)")
		in.T = nil
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("gb28181 alarm %s: encode: %w", id, err)
		}
		ev, derr = DecodeCameraEvent(body, now)
	}
	if derr != nil {
		log.Warn().Err(derr).Msg("gb28181 alarm is not a valid camera event")
		return fmt.Errorf("gb28181 alarm %s: %w", id, derr)
	}
	ans, fresh, cerr := g.s.commit(context.Background(), "camera_event:"+ev.ID, ev)
	if cerr != nil {
		if cerr.Code == "not_found" {
			log.Warn().Err(cerr).Msg("gb28181 alarm of a camera the engine does not know (no catalog placed it yet)")
		} else {
			log.Error().Err(cerr).Msg("gb28181 alarm not stored")
		}
		return fmt.Errorf("gb28181 alarm %s of camera %s: %w", id, a.CameraID, cerr)
	}
	inc, found, repeat := "", false, !fresh
	for _, c := range ans {
		if c.Kind == dispatch.CameraEvent && c.Event == ev.ID {
			inc, found, repeat = c.Incident, true, repeat || c.Repeat
		}
	}
	if !found {
		g.s.Loop.Read(func(e *dispatch.Engine) { inc, _ = e.CameraEventIncident(ev.ID) })
	}
	l := log.Info().Str("incident", inc).Bool("repeat", repeat).Int("priority", a.Priority).
		Int("method", a.Method).Int("alarm_type", a.Type).Str("description", a.Description)
	if a.HasPosition { // the event is placed at its camera; the alarm's own position is for the log
		l = l.Float64("alarm_lat", a.Lat).Float64("alarm_lng", a.Lng)
	}
	l.Msg("gb28181 camera event stored")
	return nil
}
