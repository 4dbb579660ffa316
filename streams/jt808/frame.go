package jt808

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

const (
	flagByte   = 0x7e
	escapeByte = 0x7d
)

// DefaultMaxFrame is a frame size limit (unescaped header, body and check code)
// that admits every legal frame: the largest header is the 2019 one with
// package fields, and the body length field has 10 bits.
const DefaultMaxFrame = maxHeaderLen + MaxBodyLen + 1

// ErrBadFrame is matched (errors.Is) by every error that costs the caller one
// frame but leaves the stream usable: the scanner has already moved on to the
// next 0x7e.
var ErrBadFrame = errors.New("jt808: bad frame")

// The distinct kinds of bad frame, so that the caller can count them apart.
var (
	ErrChecksum      = fmt.Errorf("%w: check code mismatch", ErrBadFrame)
	ErrFrameTooLarge = fmt.Errorf("%w: frame too large", ErrBadFrame)
	ErrEscape        = fmt.Errorf("%w: bad escape sequence", ErrBadFrame)
)

// Checksum is the JT/T 808 check code: the XOR of every unescaped byte of
// header and body.
func Checksum(b []byte) byte {
	var c byte
	for _, x := range b {
		c ^= x
	}
	return c
}

// AppendEscaped appends src to dst with 0x7e and 0x7d escaped. It writes no
// delimiters.
func AppendEscaped(dst, src []byte) []byte {
	for _, c := range src {
		switch c {
		case flagByte:
			dst = append(dst, escapeByte, 0x02)
		case escapeByte:
			dst = append(dst, escapeByte, 0x01)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// Unescape appends the unescaped form of src (frame content without the
// delimiters) to dst. A 0x7d not followed by 0x01 or 0x02, or a 0x7e inside src,
// is an error matching [ErrEscape]: such a frame was cut or corrupted.
func Unescape(dst, src []byte) ([]byte, error) {
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch c {
		case flagByte:
			return dst, fmt.Errorf("jt808: 0x7e at offset %d inside a frame: %w", i, ErrEscape)
		case escapeByte:
			if i+1 == len(src) {
				return dst, fmt.Errorf("jt808: 0x7d at the end of a frame: %w", ErrEscape)
			}
			i++
			switch src[i] {
			case 0x01:
				c = escapeByte
			case 0x02:
				c = flagByte
			default:
				return dst, fmt.Errorf("jt808: 0x7d %#02x at offset %d: %w", src[i], i-1, ErrEscape)
			}
		}
		dst = append(dst, c)
	}
	return dst, nil
}

// verify checks the trailing check code of an unescaped frame and returns header
// and body without it.
func verify(frame []byte) ([]byte, error) {
	if len(frame) == 0 {
		return nil, fmt.Errorf("jt808: empty frame: %w", ErrBadFrame)
	}
	n := len(frame) - 1
	if got, want := frame[n], Checksum(frame[:n]); got != want {
		return nil, fmt.Errorf("jt808: check code %#02x, computed %#02x: %w", got, want, ErrChecksum)
	}
	return frame[:n], nil
}

// Unframe takes one complete frame as it travels (0x7e, escaped content, 0x7e),
// unescapes it and verifies the check code. It returns header and body, in
// newly allocated memory.
func Unframe(frame []byte) ([]byte, error) {
	if len(frame) < 2 || frame[0] != flagByte || frame[len(frame)-1] != flagByte {
		return nil, fmt.Errorf("jt808: frame is not delimited by 0x7e: %w", ErrBadFrame)
	}
	raw, err := Unescape(make([]byte, 0, len(frame)-2), frame[1:len(frame)-1])
	if err != nil {
		return nil, err
	}
	return verify(raw)
}

// DecodeFrame is [Unframe] followed by [Parse].
func DecodeFrame(frame []byte) (Message, error) {
	payload, err := Unframe(frame)
	if err != nil {
		return Message{}, err
	}
	return Parse(payload)
}

type scanState uint8

const (
	// between frames: bytes other than 0x7e are noise and are skipped.
	stateOutside scanState = iota
	// after a 0x7e that may open a frame.
	stateInside
	// the current frame outgrew the limit: drop bytes up to the next 0x7e.
	stateDiscard
)

// Scanner cuts a byte stream into frames. It is not safe for concurrent use.
type Scanner struct {
	r      io.ByteReader
	max    int
	buf    []byte
	state  scanState
	esc    bool // the previous byte was 0x7d
	badEsc bool // the current frame holds an invalid escape
}

// NewScanner returns a Scanner reading r. maxFrame bounds the unescaped size of
// a frame including its check code; 0 or less means [DefaultMaxFrame].
func NewScanner(r io.Reader, maxFrame int) *Scanner {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	br, ok := r.(io.ByteReader)
	if !ok {
		br = bufio.NewReader(r)
	}
	return &Scanner{r: br, max: maxFrame, buf: make([]byte, 0, min(maxFrame, 1024))}
}

func (s *Scanner) open() {
	s.state = stateInside
	s.buf = s.buf[:0]
	s.esc = false
	s.badEsc = false
}

// Next returns the next frame's header and body (unescaped, check code verified
// and removed). The slice is valid until the next call.
//
// An error matching [ErrBadFrame] ([ErrChecksum], [ErrEscape],
// [ErrFrameTooLarge]) means one frame was lost; call Next again. Any other
// error comes from the reader (io.EOF at a clean end, io.ErrUnexpectedEOF in
// the middle of a frame) and ends the stream.
func (s *Scanner) Next() ([]byte, error) {
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) && s.state == stateInside && (len(s.buf) > 0 || s.esc || s.badEsc) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		switch s.state {
		case stateOutside, stateDiscard:
			if c == flagByte {
				s.open()
			}
		case stateInside:
			if c == flagByte {
				if len(s.buf) == 0 && !s.esc && !s.badEsc {
					// Back-to-back frames: a closing 0x7e right before an opening one.
					continue
				}
				payload, err := s.finish()
				if err != nil {
					// We may have been out of step, taking a closing 0x7e for an
					// opening one; then this 0x7e opens the next frame, and treating
					// it so costs nothing when we were in step.
					s.open()
					return nil, err
				}
				s.state = stateOutside
				return payload, nil
			}
			if s.esc {
				s.esc = false
				switch c {
				case 0x01:
					c = escapeByte
				case 0x02:
					c = flagByte
				default:
					s.badEsc = true
				}
			} else if c == escapeByte {
				s.esc = true
				continue
			}
			if len(s.buf) >= s.max {
				s.state = stateDiscard
				return nil, fmt.Errorf("jt808: frame exceeds %d bytes: %w", s.max, ErrFrameTooLarge)
			}
			s.buf = append(s.buf, c)
		}
	}
}

func (s *Scanner) finish() ([]byte, error) {
	if s.badEsc || s.esc {
		return nil, fmt.Errorf("jt808: 0x7d not followed by 0x01 or 0x02: %w", ErrEscape)
	}
	return verify(s.buf)
}
