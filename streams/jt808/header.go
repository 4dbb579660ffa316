package jt808

import (
	"encoding/binary"
	"fmt"
)

// HeaderVersion tells the two header layouts apart.
type HeaderVersion uint8

const (
	// Version2013 is the header of JT/T 808-2011 and -2013 (the editions share
	// it): 6-byte BCD phone number.
	Version2013 HeaderVersion = iota
	// Version2019 is the JT/T 808-2019 header, flagged by bit 14 of the body
	// properties: a protocol version byte and a 10-byte BCD phone number.
	Version2019
)

func (v HeaderVersion) String() string {
	switch v {
	case Version2013:
		return "2013"
	case Version2019:
		return "2019"
	}
	return fmt.Sprintf("HeaderVersion(%d)", uint8(v))
}

// phoneLen is the size of the BCD phone number field.
func (v HeaderVersion) phoneLen() int {
	if v == Version2019 {
		return 10
	}
	return 6
}

// MaxBodyLen is the largest body the 10-bit length field can describe; larger
// messages must be sub-packaged.
const MaxBodyLen = 0x3ff

const (
	propLenMask    = 0x03ff
	propEncShift   = 10
	propEncMask    = 0x7
	propSubpackage = 1 << 13
	propVersion    = 1 << 14

	// 2019 header with package fields: id, props, version, phone, serial, total, index.
	maxHeaderLen = 2 + 2 + 1 + 10 + 2 + 4
)

// EncryptionRSA is the only encryption the standard defines (bit 10).
const EncryptionRSA = 1

// Header is a decoded message header.
type Header struct {
	MsgID   uint16
	Version HeaderVersion
	// ProtocolVersion is the 2019 header's version byte (1 for the 2019
	// edition); 0 in 2011/2013 headers.
	ProtocolVersion uint8
	// Encryption is the 3-bit encryption field: 0 none, [EncryptionRSA].
	Encryption uint8
	// BodyLen is the body length the header declares.
	BodyLen int
	// Phone is the terminal's phone number in BCD exactly as sent, kept to be
	// echoed in replies; the first 6 (2013) or 10 (2019) bytes are used.
	Phone [10]byte
	// Terminal is the phone number as digits with leading zeros stripped ("0"
	// for all zeros), so that both editions give one terminal the same name.
	// Some terminals send hex digits a-f in the field; they are kept, in lower
	// case, rather than refusing a terminal that otherwise works.
	Terminal string
	Serial   uint16
	// Subpackage is set when the message is one package of a larger one; Total
	// and Index (1-based) are then meaningful.
	Subpackage bool
	Total      uint16
	Index      uint16
}

// PhoneBCD returns the phone number field as sent.
func (h Header) PhoneBCD() []byte {
	return h.Phone[:h.Version.phoneLen()]
}

// Len is the encoded size of the header.
func (h Header) Len() int {
	n := 2 + 2 + h.Version.phoneLen() + 2
	if h.Version == Version2019 {
		n++
	}
	if h.Subpackage {
		n += 4
	}
	return n
}

// NewHeader returns a plain (not sub-packaged, not encrypted) header for a
// terminal number, as a terminal or the platform would send it. For
// Version2019 the protocol version byte is 1.
func NewHeader(msgID uint16, v HeaderVersion, terminal string, serial uint16) (Header, error) {
	phone, err := EncodePhone(terminal, v)
	if err != nil {
		return Header{}, err
	}
	h := Header{MsgID: msgID, Version: v, Phone: phone, Serial: serial}
	if v == Version2019 {
		h.ProtocolVersion = 1
	}
	h.Terminal = terminalName(h.PhoneBCD())
	return h, nil
}

// DecodeHeader decodes the header at the start of b and returns it with its
// encoded length.
func DecodeHeader(b []byte) (Header, int, error) {
	var h Header
	if len(b) < 4 {
		return h, 0, fmt.Errorf("jt808: header: %d bytes, too short for message id and properties", len(b))
	}
	h.MsgID = binary.BigEndian.Uint16(b)
	props := binary.BigEndian.Uint16(b[2:])
	h.BodyLen = int(props & propLenMask)
	h.Encryption = uint8(props>>propEncShift) & propEncMask
	h.Subpackage = props&propSubpackage != 0
	if props&propVersion != 0 {
		h.Version = Version2019
	}
	n := h.Len()
	if len(b) < n {
		return h, 0, fmt.Errorf("jt808: header of message %#04x: %d bytes, the %s header with these properties (%#04x) needs %d",
			h.MsgID, len(b), h.Version, props, n)
	}
	i := 4
	if h.Version == Version2019 {
		h.ProtocolVersion = b[i]
		i++
	}
	pl := h.Version.phoneLen()
	copy(h.Phone[:], b[i:i+pl])
	h.Terminal = terminalName(b[i : i+pl])
	i += pl
	h.Serial = binary.BigEndian.Uint16(b[i:])
	i += 2
	if h.Subpackage {
		h.Total = binary.BigEndian.Uint16(b[i:])
		h.Index = binary.BigEndian.Uint16(b[i+2:])
		i += 4
	}
	return h, i, nil
}

// AppendHeader appends the encoded header to dst; the body length comes from
// bodyLen, not from h.BodyLen, so that a header decoded from one message can be
// reused for another.
func AppendHeader(dst []byte, h Header, bodyLen int) ([]byte, error) {
	if bodyLen < 0 || bodyLen > MaxBodyLen {
		return dst, fmt.Errorf("jt808: body of %d bytes does not fit the 10-bit length field (max %d); sub-package it", bodyLen, MaxBodyLen)
	}
	if h.Version != Version2013 && h.Version != Version2019 {
		return dst, fmt.Errorf("jt808: unknown header version %d", h.Version)
	}
	if h.Encryption > propEncMask {
		return dst, fmt.Errorf("jt808: encryption %d does not fit 3 bits", h.Encryption)
	}
	props := uint16(bodyLen) | uint16(h.Encryption)<<propEncShift
	if h.Subpackage {
		props |= propSubpackage
	}
	if h.Version == Version2019 {
		props |= propVersion
	}
	dst = binary.BigEndian.AppendUint16(dst, h.MsgID)
	dst = binary.BigEndian.AppendUint16(dst, props)
	if h.Version == Version2019 {
		dst = append(dst, h.ProtocolVersion)
	}
	dst = append(dst, h.PhoneBCD()...)
	dst = binary.BigEndian.AppendUint16(dst, h.Serial)
	if h.Subpackage {
		dst = binary.BigEndian.AppendUint16(dst, h.Total)
		dst = binary.BigEndian.AppendUint16(dst, h.Index)
	}
	return dst, nil
}

const hexDigits = "0123456789abcdef"

// terminalName renders the phone field as digits without leading zeros.
func terminalName(bcd []byte) string {
	var d [20]byte
	n := 0
	for _, c := range bcd {
		for _, nib := range [2]byte{c >> 4, c & 0x0f} {
			if n == 0 && nib == 0 {
				continue
			}
			d[n] = hexDigits[nib]
			n++
		}
	}
	if n == 0 {
		return "0"
	}
	return string(d[:n])
}

// EncodePhone is the phone number field of a v header for a terminal number:
// left-padded with zeros to 12 or 20 digits. Hex digits a-f are accepted
// because [DecodeHeader] keeps them.
func EncodePhone(terminal string, v HeaderVersion) ([10]byte, error) {
	var out [10]byte
	if v != Version2013 && v != Version2019 {
		return out, fmt.Errorf("jt808: unknown header version %d", v)
	}
	digits := 2 * v.phoneLen()
	if terminal == "" {
		return out, fmt.Errorf("jt808: empty terminal number")
	}
	if len(terminal) > digits {
		return out, fmt.Errorf("jt808: terminal number %q has %d digits, the %s header holds %d", terminal, len(terminal), v, digits)
	}
	pad := digits - len(terminal)
	for i := 0; i < len(terminal); i++ {
		var nib byte
		switch c := terminal[i]; {
		case c >= '0' && c <= '9':
			nib = c - '0'
		case c >= 'a' && c <= 'f':
			nib = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			nib = c - 'A' + 10
		default:
			return out, fmt.Errorf("jt808: terminal number %q: %q is not a digit", terminal, c)
		}
		p := pad + i
		if p%2 == 0 {
			out[p/2] |= nib << 4
		} else {
			out[p/2] |= nib
		}
	}
	return out, nil
}
