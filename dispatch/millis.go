package dispatch

import "time"

// Millis is a time as the wire contract emits it: RFC 3339 in UTC with exactly three
// fractional digits ("2026-11-22T09:30:00.000Z"), which readers can compare as
// strings. Times are cut to the millisecond at ingest, so nothing is lost; the
// engine works in time.Time and only its views carry Millis.
type Millis struct{ time.Time }

// MillisLayout is the layout of Millis on the wire.
const MillisLayout = "2006-01-02T15:04:05.000Z07:00"

// AppendJSON appends m as a JSON string.
func (m Millis) AppendJSON(b []byte) []byte {
	b = append(b, '"')
	b = m.UTC().AppendFormat(b, MillisLayout)
	return append(b, '"')
}

// MarshalJSON implements json.Marshaler.
func (m Millis) MarshalJSON() ([]byte, error) { return m.AppendJSON(make([]byte, 0, 26)), nil }
