package gb28181

// Event types of commandd camera events (POST /api/v1/camera-events "type").
const (
	EventIntrusion  = "intrusion"
	EventTripwire   = "tripwire"
	EventLoitering  = "loitering"
	EventCrowd      = "crowd"
	EventFight      = "fight"
	EventFire       = "fire"
	EventFaceMatch  = "face_match"
	EventPlateMatch = "plate_match"
	EventOther      = "other"
)

// GB/T 28181(-2016) AlarmMethod values.
const (
	MethodPhone       = 1 // telephone alarm
	MethodDevice      = 2 // device alarm (video loss, tamper, storage full, temperature)
	MethodSMS         = 3 // SMS alarm
	MethodGPS         = 4 // GPS alarm
	MethodVideo       = 5 // video (analytics) alarm, AlarmType 1–12
	MethodDeviceFault = 6 // device fault (disk, fan)
	MethodOther       = 7 // other alarm
)

// alarmKey selects a row of alarmMapping. Type 0 is the row used for every
// AlarmType of that AlarmMethod that has no row of its own.
type alarmKey struct {
	Method int
	Type   int
}

// alarmMapping is the one table from a GB/T 28181 alarm (AlarmMethod, and for
// video and device alarms the Info/AlarmType) to a commandd camera-event type.
// docs/api.md ("GB/T 28181 camera platforms") carries the same table for the
// API documentation; keep both in step (TestMappingMatchesDoc checks it).
//
// Only video alarms (AlarmMethod 5) describe something happening in the scene,
// so only they map to a specific type. Telephone, SMS, GPS and "other" alarms
// say nothing about the scene; device alarms and device faults are about the
// equipment (video loss, tamper, full disk, temperature, fan). All of those
// become "other". GB/T 28181 has no fire, face or plate code, so fire,
// face_match and plate_match are never produced by this mapping.
var alarmMapping = map[alarmKey]string{
	{MethodVideo, 1}:  EventOther,     // manual video alarm
	{MethodVideo, 2}:  EventIntrusion, // motion detection
	{MethodVideo, 3}:  EventOther,     // left (abandoned) object
	{MethodVideo, 4}:  EventOther,     // removed object
	{MethodVideo, 5}:  EventTripwire,  // tripwire
	{MethodVideo, 6}:  EventIntrusion, // intrusion (area entry)
	{MethodVideo, 7}:  EventTripwire,  // wrong way (retrograde)
	{MethodVideo, 8}:  EventLoitering, // loitering
	{MethodVideo, 9}:  EventCrowd,     // flow counting
	{MethodVideo, 10}: EventCrowd,     // density
	{MethodVideo, 11}: EventOther,     // video abnormal
	{MethodVideo, 12}: EventFight,     // fast movement
	{MethodVideo, 0}:  EventOther,     // any other or missing video AlarmType

	{MethodPhone, 0}:       EventOther, // telephone alarm
	{MethodDevice, 0}:      EventOther, // device alarm: 1 video loss, 2 tamper, 3 storage full, 4 high / 5 low temperature
	{MethodSMS, 0}:         EventOther, // SMS alarm
	{MethodGPS, 0}:         EventOther, // GPS alarm
	{MethodDeviceFault, 0}: EventOther, // device fault: 1 disk, 2 fan
	{MethodOther, 0}:       EventOther, // other alarm
}

// EventType maps a GB/T 28181 AlarmMethod and AlarmType to a commandd
// camera-event type. Unknown methods and types give "other".
func EventType(method, alarmType int) string {
	if t, ok := alarmMapping[alarmKey{method, alarmType}]; ok {
		return t
	}
	if t, ok := alarmMapping[alarmKey{method, 0}]; ok {
		return t
	}
	return EventOther
}

// priorityConfidence maps AlarmPriority (1 = highest) to the confidence of the
// camera event. GB/T 28181 alarms carry no confidence of their own; the
// priority the device or platform assigned is the best available signal.
var priorityConfidence = map[int]float64{
	1: 0.95,
	2: 0.85,
	3: 0.7,
	4: 0.5,
}

// Confidence returns the camera-event confidence for an AlarmPriority.
// A missing or out-of-range priority is treated like the lowest (4): 0.5.
func Confidence(priority int) float64 {
	if c, ok := priorityConfidence[priority]; ok {
		return c
	}
	return priorityConfidence[4]
}
