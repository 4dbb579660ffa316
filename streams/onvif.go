package streams

import (
	"strings"

	"commandd/dispatch"
)

// ONVIF rule-engine topics a camera platform may send as a camera event's type
// (ONVIF Analytics Service; Profile M), and the camera event types they are. The
// topic is matched without its namespace prefix and regardless of case, since
// platforms write "tns1:RuleEngine/…", "RuleEngine/…" or the expanded form alike.
// docs/api.md lists the same table.
var onvifTopics = map[string]dispatch.CameraEventType{
	"ruleengine/fielddetector/objectsinside":           dispatch.Intrusion,
	"ruleengine/cellmotiondetector/motion":             dispatch.Intrusion,
	"ruleengine/motionregiondetector/motion":           dispatch.Intrusion,
	"ruleengine/linedetector/crossed":                  dispatch.Tripwire,
	"ruleengine/loiteringdetector/objectisloitering":   dispatch.Loitering,
	"ruleengine/countaggregation/counter":              dispatch.Crowd,
	"ruleengine/recognition/face":                      dispatch.FaceMatch,
	"ruleengine/recognition/licenseplate":              dispatch.PlateMatch,
	"ruleengine/tamperdetector/tamper":                 dispatch.OtherCameraEvent,
	"ruleengine/declarativemotiondetector/motionmatch": dispatch.Intrusion,
}

// onvifEventType reads a camera event type given as an ONVIF rule-engine topic: a
// topic of the table is its type, any other rule-engine topic is "other"; ok is false
// for what is not a rule-engine topic at all.
func onvifEventType(topic string) (dispatch.CameraEventType, bool) {
	t := strings.ToLower(topic)
	if i := strings.Index(t, "ruleengine/"); i >= 0 && (i == 0 || t[i-1] == ':' || t[i-1] == '/') {
		t = t[i:]
	} else {
		return 0, false
	}
	if typ, ok := onvifTopics[t]; ok {
		return typ, true
	}
	return dispatch.OtherCameraEvent, true
}
