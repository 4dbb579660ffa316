package jt808

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Plate colours of a registration (JT/T 697.7); 0 means the vehicle has no
// plate yet and the plate field holds the VIN instead.
const (
	PlateNone   uint8 = 0
	PlateBlue   uint8 = 1
	PlateYellow uint8 = 2
	PlateBlack  uint8 = 3
	PlateWhite  uint8 = 4
	PlateOther  uint8 = 9
)

// Register is a decoded 0x0100 registration body.
type Register struct {
	Province uint16 // GB/T 2260 administrative division, first two digits
	City     uint16 // the remaining four digits
	// Manufacturer, Model and TerminalID are fixed-size fields with padding
	// removed.
	Manufacturer string
	Model        string
	TerminalID   string
	PlateColor   uint8
	// Plate is the licence plate as sent, GBK-encoded (the VIN when PlateColor
	// is 0); [Register.PlateText] decodes it.
	Plate []byte
}

// regLayout is the size of the three fixed string fields in one edition.
type regLayout struct {
	name                    string
	manufacturer, model, id int
}

func (l regLayout) fixed() int { return 2 + 2 + l.manufacturer + l.model + l.id + 1 }

var (
	layout2011 = regLayout{"2011", 5, 8, 7}
	layout2013 = regLayout{"2013", 5, 20, 7}
	layout2019 = regLayout{"2019", 11, 30, 30}
)

// registerLayout picks the field sizes. 2011 and 2013 share the header, so
// the body size tells them apart: a 2013 body is at least 37 bytes, and a
// 2011 body with a usual plate (up to 11 bytes) is shorter. A 2011 body
// carrying a 17-character VIN would be misread; such terminals are not known.
func registerLayout(body []byte, v HeaderVersion) regLayout {
	switch {
	case v == Version2019:
		return layout2019
	case len(body) < layout2013.fixed():
		return layout2011
	default:
		return layout2013
	}
}

// DecodeRegister decodes a 0x0100 body laid out for header version v.
func DecodeRegister(body []byte, v HeaderVersion) (Register, error) {
	r, err := decodeRegister(body, v)
	if err != nil {
		return r, fmt.Errorf("jt808: %w", err)
	}
	return r, nil
}

func decodeRegister(body []byte, v HeaderVersion) (Register, error) {
	var r Register
	l := registerLayout(body, v)
	if len(body) < l.fixed() {
		return r, fmt.Errorf("registration: %d bytes, the %s layout needs at least %d", len(body), l.name, l.fixed())
	}
	r.Province = binary.BigEndian.Uint16(body)
	r.City = binary.BigEndian.Uint16(body[2:])
	i := 4
	r.Manufacturer = trimField(body[i : i+l.manufacturer])
	i += l.manufacturer
	r.Model = trimField(body[i : i+l.model])
	i += l.model
	r.TerminalID = trimField(body[i : i+l.id])
	i += l.id
	r.PlateColor = body[i]
	i++
	if i < len(body) {
		r.Plate = append([]byte(nil), body[i:]...)
	}
	return r, nil
}

// PlateText decodes the plate from GBK. Some terminals pad the plate with
// NULs; they are dropped.
func (r *Register) PlateText() (string, error) {
	s, err := simplifiedchinese.GBK.NewDecoder().Bytes(r.Plate)
	if err != nil {
		return "", fmt.Errorf("jt808: plate %x is not GBK: %w", r.Plate, err)
	}
	return trimField(s), nil
}

// EncodePlate converts a plate to GBK for [Register.Plate].
func EncodePlate(plate string) ([]byte, error) {
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(plate))
	if err != nil {
		return nil, fmt.Errorf("jt808: plate %q has no GBK encoding: %w", plate, err)
	}
	return b, nil
}

// RegisterBody encodes r as a 0x0100 body for header version v, in the 2013
// layout for Version2013.
func RegisterBody(r *Register, v HeaderVersion) ([]byte, error) {
	l := layout2013
	if v == Version2019 {
		l = layout2019
	}
	dst := make([]byte, 0, l.fixed()+len(r.Plate))
	dst = binary.BigEndian.AppendUint16(dst, r.Province)
	dst = binary.BigEndian.AppendUint16(dst, r.City)
	var err error
	for _, f := range []struct {
		s, name string
		size    int
	}{
		{r.Manufacturer, "manufacturer", l.manufacturer},
		{r.Model, "model", l.model},
		{r.TerminalID, "terminal id", l.id},
	} {
		if dst, err = appendField(dst, f.s, f.size, f.name); err != nil {
			return nil, fmt.Errorf("jt808: registration (%s layout): %w", l.name, err)
		}
	}
	dst = append(dst, r.PlateColor)
	dst = append(dst, r.Plate...)
	if len(dst) > MaxBodyLen {
		return nil, fmt.Errorf("jt808: registration: %d bytes, plate too long", len(dst))
	}
	return dst, nil
}
