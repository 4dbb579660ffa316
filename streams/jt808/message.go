package jt808

import (
	"errors"
	"fmt"
)

// Message ids this package knows.
const (
	MsgTerminalReply uint16 = 0x0001 // terminal general answer
	MsgHeartbeat     uint16 = 0x0002
	MsgLogout        uint16 = 0x0003 // terminal deregistration
	MsgRegister      uint16 = 0x0100
	MsgAuth          uint16 = 0x0102
	MsgLocation      uint16 = 0x0200
	MsgBatch         uint16 = 0x0704 // batch / blind-area location upload
	MsgPlatformReply uint16 = 0x8001 // platform general answer
	MsgRegisterReply uint16 = 0x8100
)

var (
	// ErrUnsupported is returned by [DecodeBody] for a message id it has no
	// decoder for; the platform answers such messages with [ResultUnsupported].
	ErrUnsupported = errors.New("jt808: unsupported message")
	// ErrEncrypted is returned by [DecodeBody] for an encrypted body: the
	// package holds no keys.
	ErrEncrypted = errors.New("jt808: encrypted body")
	// ErrBodyLength is matched by the error of [Parse] when the body is not as
	// long as the header says: a frame cut short, or a vendor dialect.
	ErrBodyLength = errors.New("jt808: body length mismatch")
)

// Message is a header with its body. Body aliases the buffer it was parsed from.
type Message struct {
	Header Header
	Body   []byte
}

// Parse splits a frame's header and body (unescaped, check code removed, as the
// [Scanner] returns them) and checks the body length the header declares. On
// a length mismatch the decoded header still comes back with the error, so
// that the caller can answer [ResultBadMessage] to the right serial.
func Parse(payload []byte) (Message, error) {
	h, n, err := DecodeHeader(payload)
	if err != nil {
		return Message{}, err
	}
	body := payload[n:]
	if len(body) != h.BodyLen {
		return Message{Header: h}, fmt.Errorf("jt808: message %#04x from %s: header declares a %d-byte body, frame holds %d: %w",
			h.MsgID, h.Terminal, h.BodyLen, len(body), ErrBodyLength)
	}
	return Message{Header: h, Body: body}, nil
}

// Heartbeat is the (empty) body of 0x0002.
type Heartbeat struct{}

// Logout is the (empty) body of 0x0003.
type Logout struct{}

// DecodeBody decodes body by the message id of h. The result is one of
// [Heartbeat], [Logout], [Register], [Auth], [Location], [Batch],
// [GeneralReply] (0x0001 and 0x8001) and [RegisterReply] (values, not pointers).
// Unknown ids give [ErrUnsupported]. A sub-packaged header is refused: pass the
// packages through a [Reassembler] first.
func DecodeBody(h Header, body []byte) (any, error) {
	if h.Encryption != 0 {
		return nil, fmt.Errorf("jt808: message %#04x from %s: encryption %d: %w", h.MsgID, h.Terminal, h.Encryption, ErrEncrypted)
	}
	if h.Subpackage {
		return nil, fmt.Errorf("jt808: message %#04x from %s: package %d of %d, reassemble first", h.MsgID, h.Terminal, h.Index, h.Total)
	}
	var (
		v   any
		err error
	)
	switch h.MsgID {
	case MsgHeartbeat:
		v = Heartbeat{}
	case MsgLogout:
		v = Logout{}
	case MsgRegister:
		v, err = decodeRegister(body, h.Version)
	case MsgAuth:
		v, err = decodeAuth(body, h.Version)
	case MsgLocation:
		v, err = decodeLocation(body)
	case MsgBatch:
		v, err = decodeBatch(body)
	case MsgTerminalReply, MsgPlatformReply:
		v, err = decodeGeneralReply(body)
	case MsgRegisterReply:
		v, err = decodeRegisterReply(body)
	default:
		return nil, fmt.Errorf("jt808: message %#04x from %s: %w", h.MsgID, h.Terminal, ErrUnsupported)
	}
	if err != nil {
		// The body decoders' errors name the field; add which message and terminal.
		return nil, fmt.Errorf("jt808: message %#04x from %s: %w", h.MsgID, h.Terminal, err)
	}
	return v, nil
}
