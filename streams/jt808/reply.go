package jt808

import (
	"encoding/binary"
	"fmt"
)

// Result is the result byte of a general answer (0x8001 from the platform,
// 0x0001 from the terminal).
type Result uint8

const (
	ResultOK           Result = 0
	ResultFail         Result = 1
	ResultBadMessage   Result = 2
	ResultUnsupported  Result = 3
	ResultAlarmConfirm Result = 4 // platform only: the alarm was seen
)

// RegisterResult is the result byte of a registration answer (0x8100).
type RegisterResult uint8

const (
	RegisterOK            RegisterResult = 0
	RegisterVehicleTaken  RegisterResult = 1 // the vehicle is registered to another terminal
	RegisterNoVehicle     RegisterResult = 2
	RegisterTerminalTaken RegisterResult = 3 // the terminal is registered to another vehicle
	RegisterNoTerminal    RegisterResult = 4
)

// registerResultMaxDefined bounds the results a terminal understands; sending
// another would leave it retrying registration forever.
const registerResultMaxDefined = RegisterNoTerminal

// GeneralReply is a decoded general answer body.
type GeneralReply struct {
	Serial uint16 // serial of the answered message
	MsgID  uint16 // id of the answered message
	Result Result
}

// RegisterReply is a decoded registration answer body.
type RegisterReply struct {
	Serial   uint16 // serial of the registration
	Result   RegisterResult
	AuthCode string // only with RegisterOK
}

// Encode builds a complete frame: 0x7e, escaped header, body and check code,
// 0x7e. The body length and the sub-package and version flags come from body
// and h; h.BodyLen is ignored. It fails only for a body over [MaxBodyLen] or a
// header that cannot be encoded.
func Encode(h Header, body []byte) ([]byte, error) {
	raw, err := AppendHeader(make([]byte, 0, h.Len()+len(body)+1), h, len(body))
	if err != nil {
		return nil, fmt.Errorf("jt808: encode message %#04x: %w", h.MsgID, err)
	}
	raw = append(raw, body...)
	raw = append(raw, Checksum(raw))
	// Escaping at most doubles the size; most frames need few escapes.
	out := make([]byte, 0, len(raw)+len(raw)/8+2)
	out = append(out, flagByte)
	out = AppendEscaped(out, raw)
	return append(out, flagByte), nil
}

// replyHeader answers req in the terminal's own header edition and phone field,
// so that a 2019 terminal is not answered in 2013 format or vice versa.
func replyHeader(req Header, msgID, serial uint16) Header {
	return Header{
		MsgID:           msgID,
		Version:         req.Version,
		ProtocolVersion: req.ProtocolVersion,
		Phone:           req.Phone,
		Terminal:        req.Terminal,
		Serial:          serial,
	}
}

// EncodeGeneralReply builds the platform's 0x8001 answer to the message with
// header req; serial is the platform's own next serial for this terminal.
func EncodeGeneralReply(req Header, serial uint16, result Result) ([]byte, error) {
	body := GeneralReplyBody(GeneralReply{Serial: req.Serial, MsgID: req.MsgID, Result: result})
	return Encode(replyHeader(req, MsgPlatformReply, serial), body)
}

// GeneralReplyBody is the body of a general answer (0x8001 or 0x0001).
func GeneralReplyBody(r GeneralReply) []byte {
	b := binary.BigEndian.AppendUint16(make([]byte, 0, 5), r.Serial)
	b = binary.BigEndian.AppendUint16(b, r.MsgID)
	return append(b, byte(r.Result))
}

// EncodeRegisterReply builds the 0x8100 answer to the registration with header
// req. authCode is sent only with RegisterOK, where it must not be empty: the
// terminal authenticates with it on every connection.
func EncodeRegisterReply(req Header, serial uint16, result RegisterResult, authCode string) ([]byte, error) {
	body, err := RegisterReplyBody(RegisterReply{Serial: req.Serial, Result: result, AuthCode: authCode})
	if err != nil {
		return nil, err
	}
	return Encode(replyHeader(req, MsgRegisterReply, serial), body)
}

// RegisterReplyBody is the body of a registration answer.
func RegisterReplyBody(r RegisterReply) ([]byte, error) {
	if r.Result > registerResultMaxDefined {
		return nil, fmt.Errorf("jt808: registration answer: result %d is not defined", r.Result)
	}
	b := binary.BigEndian.AppendUint16(make([]byte, 0, 3+len(r.AuthCode)), r.Serial)
	b = append(b, byte(r.Result))
	if r.Result != RegisterOK {
		return b, nil
	}
	if r.AuthCode == "" {
		return nil, fmt.Errorf("jt808: registration answer: success without an authentication code")
	}
	if len(b)+len(r.AuthCode) > MaxBodyLen {
		return nil, fmt.Errorf("jt808: registration answer: authentication code of %d bytes is too long", len(r.AuthCode))
	}
	return append(b, r.AuthCode...), nil
}

// DecodeGeneralReply decodes a general answer body (0x8001 or 0x0001).
func DecodeGeneralReply(body []byte) (GeneralReply, error) {
	r, err := decodeGeneralReply(body)
	if err != nil {
		return r, fmt.Errorf("jt808: %w", err)
	}
	return r, nil
}

func decodeGeneralReply(body []byte) (GeneralReply, error) {
	if len(body) != 5 {
		return GeneralReply{}, fmt.Errorf("general answer: %d bytes, want 5", len(body))
	}
	return GeneralReply{
		Serial: binary.BigEndian.Uint16(body),
		MsgID:  binary.BigEndian.Uint16(body[2:]),
		Result: Result(body[4]),
	}, nil
}

// DecodeRegisterReply decodes a 0x8100 body.
func DecodeRegisterReply(body []byte) (RegisterReply, error) {
	r, err := decodeRegisterReply(body)
	if err != nil {
		return r, fmt.Errorf("jt808: %w", err)
	}
	return r, nil
}

func decodeRegisterReply(body []byte) (RegisterReply, error) {
	if len(body) < 3 {
		return RegisterReply{}, fmt.Errorf("registration answer: %d bytes, want at least 3", len(body))
	}
	r := RegisterReply{Serial: binary.BigEndian.Uint16(body), Result: RegisterResult(body[2])}
	if r.Result == RegisterOK {
		r.AuthCode = string(body[3:])
	}
	return r, nil
}
