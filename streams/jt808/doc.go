// Package jt808 is a codec for JT/T 808, the Chinese road-transport vehicle
// terminal protocol that most patrol-car and fleet GPS terminals speak over TCP.
// It knows the 2011/2013 and 2019 editions and nothing about the server: the
// caller owns the connection, the roster and the log.
//
// The layers, bottom up:
//
//   - framing (frame.go): frames are delimited by 0x7e, 0x7e and 0x7d inside a
//     frame are escaped as 0x7d 0x02 and 0x7d 0x01, and the last unescaped byte is
//     the XOR of header and body. A [Scanner] cuts a byte stream into verified
//     frames; errors matching [ErrBadFrame] cost one frame, not the connection.
//   - the message header (header.go): message id, body properties, the terminal's
//     phone number in BCD (6 bytes in 2011/2013, 10 bytes plus a protocol version
//     byte in 2019), the serial number and, for sub-packaged messages, the package
//     count and index. [Header.Terminal] is the same string for both editions so
//     that a terminal keeps its identity across a firmware upgrade.
//   - bodies: registration (register.go), authentication (auth.go), location
//     report (location.go) and batch/blind-area upload (batch.go). [DecodeBody]
//     picks the decoder from the message id.
//   - replies (reply.go): the platform's general answer and registration answer
//     as complete escaped frames, plus [Encode] and body builders so that a test
//     can play the terminal side.
//   - sub-packaged messages (reassemble.go): a per-connection [Reassembler].
//
// A typical connection loop:
//
//	sc := jt808.NewScanner(conn, jt808.DefaultMaxFrame)
//	ra := jt808.NewReassembler(jt808.ReassemblyLimits{})
//	for {
//		payload, err := sc.Next()
//		if errors.Is(err, jt808.ErrBadFrame) {
//			badFrames.Inc() // check code, escape or size: drop the frame, keep the line
//			continue
//		}
//		if err != nil {
//			return err // the connection is gone
//		}
//		m, err := jt808.Parse(payload)
//		if err != nil {
//			continue // or answer jt808.ResultBadMessage when errors.Is(err, jt808.ErrBodyLength)
//		}
//		// The standard wants every package of a sub-packaged message answered.
//		m, complete, err := ra.Add(m.Header, m.Body)
//		if err != nil || !complete {
//			continue
//		}
//		body, err := jt808.DecodeBody(m.Header, m.Body)
//		...
//		reply, err := jt808.EncodeGeneralReply(m.Header, nextSerial(), jt808.ResultOK)
//	}
//
// Decoders never panic, whatever the input, and return errors that say which
// field was wrong. Slices returned by the [Scanner] and [Parse] alias the
// scanner's buffer; decoded bodies ([Location], [Register], ...) own their memory.
package jt808
