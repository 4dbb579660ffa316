package jt808

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// Status bits of a location report.
const (
	StatusACC        uint32 = 1 << 0 // ignition on
	StatusPositioned uint32 = 1 << 1 // the fix is valid
	StatusSouth      uint32 = 1 << 2
	StatusWest       uint32 = 1 << 3
)

// Alarm bits of a location report a dispatcher cares about; the others stay
// readable in [Location.Alarm].
const (
	AlarmSOS       uint32 = 1 << 0 // emergency button
	AlarmOverspeed uint32 = 1 << 1
	AlarmFatigue   uint32 = 1 << 2
	AlarmGNSSFault uint32 = 1 << 4
	AlarmPowerLow  uint32 = 1 << 7
	AlarmPowerCut  uint32 = 1 << 8
	AlarmCollision uint32 = 1 << 29
	AlarmRollover  uint32 = 1 << 30
)

// Additional item ids this package interprets.
const (
	ItemMileage       uint8 = 0x01 // DWORD, 0.1 km
	ItemFuel          uint8 = 0x02 // WORD, 0.1 L
	ItemRecorderSpeed uint8 = 0x03 // WORD, 0.1 km/h, from the tachograph
	ItemSignal        uint8 = 0x30 // BYTE, mobile network signal strength
	ItemSatellites    uint8 = 0x31 // BYTE, GNSS satellites in use
)

// locationBaseLen is the fixed part of a location report.
const locationBaseLen = 4 + 4 + 4 + 4 + 2 + 2 + 2 + 6

// chinaTime is the zone of the report time: the standard fixes it at GMT+8
// whatever the terminal's location, and China has no daylight saving.
var chinaTime = time.FixedZone("UTC+8", 8*60*60)

// Item is one additional item of a location report, as sent.
type Item struct {
	ID    uint8
	Value []byte
}

// Location is a decoded location report (the 0x0200 body, also each item of a
// 0x0704 batch).
type Location struct {
	Alarm  uint32
	Status uint32
	// Lat and Lng are in degrees, negative for south and west.
	Lat, Lng  float64
	Altitude  uint16 // metres
	Speed     uint16 // 0.1 km/h
	Direction uint16 // degrees clockwise from north
	// Time is in UTC; the zero Time when the terminal sent all zeros (no clock
	// yet).
	Time time.Time
	// Items holds every additional item in order, including those the accessor
	// methods interpret, so that history can keep vendor extensions.
	Items []Item
	// Trailing holds bytes after the last whole item that do not form one
	// (an id and length running past the body); nil for a well-formed report.
	Trailing []byte
}

// Positioned reports whether the terminal says the fix is valid. A report
// without it carries the last known or a zero position and must not be taken
// for a fix.
func (l *Location) Positioned() bool { return l.Status&StatusPositioned != 0 }

// SpeedKmh is the speed in km/h.
func (l *Location) SpeedKmh() float64 { return float64(l.Speed) / 10 }

// Item returns the value of the first additional item with id.
func (l *Location) Item(id uint8) ([]byte, bool) {
	for _, it := range l.Items {
		if it.ID == id {
			return it.Value, true
		}
	}
	return nil, false
}

// itemUint reads a known item as an unsigned integer of size bytes; an item of
// another size is a vendor quirk and counts as absent rather than as an error.
func (l *Location) itemUint(id uint8, size int) (uint32, bool) {
	v, ok := l.Item(id)
	if !ok || len(v) != size {
		return 0, false
	}
	var n uint32
	for _, c := range v {
		n = n<<8 | uint32(c)
	}
	return n, true
}

// MileageKm is item 0x01, the odometer in km.
func (l *Location) MileageKm() (float64, bool) {
	n, ok := l.itemUint(ItemMileage, 4)
	return float64(n) / 10, ok
}

// FuelLitres is item 0x02.
func (l *Location) FuelLitres() (float64, bool) {
	n, ok := l.itemUint(ItemFuel, 2)
	return float64(n) / 10, ok
}

// RecorderSpeedKmh is item 0x03, the tachograph's speed in km/h.
func (l *Location) RecorderSpeedKmh() (float64, bool) {
	n, ok := l.itemUint(ItemRecorderSpeed, 2)
	return float64(n) / 10, ok
}

// Signal is item 0x30, the mobile network signal strength.
func (l *Location) Signal() (uint8, bool) {
	n, ok := l.itemUint(ItemSignal, 1)
	return uint8(n), ok
}

// Satellites is item 0x31, the number of GNSS satellites in use.
func (l *Location) Satellites() (uint8, bool) {
	n, ok := l.itemUint(ItemSatellites, 1)
	return uint8(n), ok
}

// DecodeLocation decodes a 0x0200 body.
func DecodeLocation(body []byte) (Location, error) {
	l, err := decodeLocation(body)
	if err != nil {
		return l, fmt.Errorf("jt808: %w", err)
	}
	return l, nil
}

func decodeLocation(body []byte) (Location, error) {
	var l Location
	if len(body) < locationBaseLen {
		return l, fmt.Errorf("location: %d bytes, the fixed part needs %d", len(body), locationBaseLen)
	}
	be := binary.BigEndian
	l.Alarm = be.Uint32(body[0:])
	l.Status = be.Uint32(body[4:])
	lat, lng := be.Uint32(body[8:]), be.Uint32(body[12:])
	if lat > 90_000_000 {
		return l, fmt.Errorf("location: latitude %d µ° is beyond 90°", lat)
	}
	if lng > 180_000_000 {
		return l, fmt.Errorf("location: longitude %d µ° is beyond 180°", lng)
	}
	l.Lat, l.Lng = float64(lat)/1e6, float64(lng)/1e6
	if l.Status&StatusSouth != 0 {
		l.Lat = -l.Lat
	}
	if l.Status&StatusWest != 0 {
		l.Lng = -l.Lng
	}
	l.Altitude = be.Uint16(body[16:])
	l.Speed = be.Uint16(body[18:])
	l.Direction = be.Uint16(body[20:])
	t, err := decodeBCDTime(body[22:28])
	if err != nil {
		return l, fmt.Errorf("location: %w", err)
	}
	l.Time = t
	l.Items, l.Trailing = decodeItems(body[locationBaseLen:])
	return l, nil
}

// decodeItems splits the additional items. Bytes at the end that do not form
// a whole item come back as trailing rather than as an error: some terminals
// append data of their own after the standard part, and the fixed part of the
// report before it is still a good fix.
func decodeItems(b []byte) (items []Item, trailing []byte) {
	if len(b) == 0 {
		return nil, nil
	}
	// One copy for all values: the body may alias a reused scanner buffer.
	b = append([]byte(nil), b...)
	n, end := 0, 0
	for end+2 <= len(b) && end+2+int(b[end+1]) <= len(b) {
		end += 2 + int(b[end+1])
		n++
	}
	if n > 0 {
		items = make([]Item, 0, n)
	}
	for i := 0; i < end; {
		l := int(b[i+1])
		items = append(items, Item{ID: b[i], Value: b[i+2 : i+2+l : i+2+l]})
		i += 2 + l
	}
	if end < len(b) {
		trailing = b[end:]
	}
	return items, trailing
}

// decodeBCDTime reads YYMMDDhhmmss in UTC+8.
func decodeBCDTime(b []byte) (time.Time, error) {
	var f [6]int
	zero := true
	for i, c := range b {
		hi, lo := c>>4, c&0x0f
		if hi > 9 || lo > 9 {
			return time.Time{}, fmt.Errorf("time %x: byte %d (%#02x) is not BCD", b, i, c)
		}
		f[i] = int(hi)*10 + int(lo)
		zero = zero && c == 0
	}
	if zero {
		return time.Time{}, nil
	}
	year, month, day, hour, minute, sec := 2000+f[0], f[1], f[2], f[3], f[4], f[5]
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, chinaTime)
	// time.Date normalises 31 April to 1 May; a terminal that sends it is broken.
	if month < 1 || month > 12 || hour > 23 || minute > 59 || sec > 59 || t.Day() != day {
		return time.Time{}, fmt.Errorf("time %x: no such date and time", b)
	}
	return t.UTC(), nil
}

func appendBCDTime(dst []byte, t time.Time) ([]byte, error) {
	if t.IsZero() {
		return append(dst, 0, 0, 0, 0, 0, 0), nil
	}
	t = t.In(chinaTime)
	if t.Year() < 2000 || t.Year() > 2099 {
		return dst, fmt.Errorf("time %s: a two-digit year holds 2000-2099 only", t.Format(time.RFC3339))
	}
	for _, v := range [6]int{t.Year() - 2000, int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second()} {
		dst = append(dst, byte(v/10)<<4|byte(v%10))
	}
	return dst, nil
}

// LocationBody encodes l as a 0x0200 body. The south and west status bits are
// set from the signs of Lat and Lng; the time is truncated to the second.
func LocationBody(l *Location) ([]byte, error) {
	b, err := appendLocation(make([]byte, 0, locationBaseLen+16), l)
	if err != nil {
		return nil, fmt.Errorf("jt808: %w", err)
	}
	return b, nil
}

func appendLocation(dst []byte, l *Location) ([]byte, error) {
	if math.IsNaN(l.Lat) || math.IsNaN(l.Lng) || math.Abs(l.Lat) > 90 || math.Abs(l.Lng) > 180 {
		return dst, fmt.Errorf("location: position %v,%v is off the globe", l.Lat, l.Lng)
	}
	status := l.Status &^ (StatusSouth | StatusWest)
	// Signbit, not < 0: a decoded -0 (south bit on the equator) must encode back
	// to the bytes it came from.
	if math.Signbit(l.Lat) {
		status |= StatusSouth
	}
	if math.Signbit(l.Lng) {
		status |= StatusWest
	}
	be := binary.BigEndian
	dst = be.AppendUint32(dst, l.Alarm)
	dst = be.AppendUint32(dst, status)
	dst = be.AppendUint32(dst, uint32(math.Round(math.Abs(l.Lat)*1e6)))
	dst = be.AppendUint32(dst, uint32(math.Round(math.Abs(l.Lng)*1e6)))
	dst = be.AppendUint16(dst, l.Altitude)
	dst = be.AppendUint16(dst, l.Speed)
	dst = be.AppendUint16(dst, l.Direction)
	dst, err := appendBCDTime(dst, l.Time)
	if err != nil {
		return dst, fmt.Errorf("location: %w", err)
	}
	for _, it := range l.Items {
		if len(it.Value) > 0xff {
			return dst, fmt.Errorf("location: additional item %#02x of %d bytes, the length field holds 255", it.ID, len(it.Value))
		}
		dst = append(dst, it.ID, byte(len(it.Value)))
		dst = append(dst, it.Value...)
	}
	return append(dst, l.Trailing...), nil
}
