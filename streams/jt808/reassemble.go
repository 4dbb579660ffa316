package jt808

import "fmt"

// ReassemblyLimits bound what one connection's [Reassembler] holds; a zero
// field takes its default.
type ReassemblyLimits struct {
	// MaxPackages is the largest package count accepted for one message
	// (default 128, i.e. about 128 KiB of body).
	MaxPackages int
	// MaxBytes bounds the bodies held for all incomplete messages together
	// (default 256 KiB).
	MaxBytes int
	// MaxAge drops an incomplete message once this many messages that are not
	// its packages have been added after its last package (default 32): a
	// terminal that gave up on a message never finishes it.
	MaxAge int
}

func (l ReassemblyLimits) withDefaults() ReassemblyLimits {
	if l.MaxPackages <= 0 {
		l.MaxPackages = 128
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = 256 << 10
	}
	if l.MaxAge <= 0 {
		l.MaxAge = 32
	}
	return l
}

// Packages of one message have consecutive serials, so the message id and the
// serial of package 1 (derived from any package) name the message.
type reKey struct {
	msgID uint16
	first uint16
}

type partial struct {
	header Header
	parts  [][]byte
	have   int
	size   int
	last   uint64 // Reassembler.seq at the latest package
}

// Reassembler joins sub-packaged messages of one connection. It is not safe
// for concurrent use.
type Reassembler struct {
	lim     ReassemblyLimits
	pending map[reKey]*partial
	bytes   int
	seq     uint64
	dropped int
}

// NewReassembler returns an empty Reassembler.
func NewReassembler(lim ReassemblyLimits) *Reassembler {
	return &Reassembler{lim: lim.withDefaults(), pending: make(map[reKey]*partial)}
}

// Pending is the number of incomplete messages held.
func (r *Reassembler) Pending() int { return len(r.pending) }

// Dropped counts incomplete messages given up on (too old, over a limit, or
// contradicted by a later package), for the caller's metrics.
func (r *Reassembler) Dropped() int { return r.dropped }

// Add takes every message of the connection, so that it can age out stale
// ones. A message that is not sub-packaged comes straight back, complete. A
// package is stored (copied) and complete is false until the last one
// arrives; then the whole message comes back with the header of its first
// package, Subpackage cleared and BodyLen set to the joined length.
//
// An error drops the package and, if it contradicts what is held or breaks a
// limit, the whole message; the connection is still usable.
func (r *Reassembler) Add(h Header, body []byte) (msg Message, complete bool, err error) {
	r.seq++
	r.expire()
	if !h.Subpackage {
		return Message{Header: h, Body: body}, true, nil
	}
	if h.Total == 0 || h.Index == 0 || h.Index > h.Total {
		return Message{}, false, fmt.Errorf("jt808: message %#04x serial %d: package %d of %d is out of range", h.MsgID, h.Serial, h.Index, h.Total)
	}
	if int(h.Total) > r.lim.MaxPackages {
		return Message{}, false, fmt.Errorf("jt808: message %#04x serial %d: %d packages, the limit is %d", h.MsgID, h.Serial, h.Total, r.lim.MaxPackages)
	}
	key := reKey{h.MsgID, h.Serial - (h.Index - 1)}
	p := r.pending[key]
	if p != nil && len(p.parts) != int(h.Total) {
		r.drop(key, p)
		return Message{}, false, fmt.Errorf("jt808: message %#04x from serial %d: package %d says %d packages, earlier ones said %d; dropped",
			h.MsgID, key.first, h.Index, h.Total, len(p.parts))
	}
	if r.bytes+len(body) > r.lim.MaxBytes {
		if p != nil {
			r.drop(key, p)
		}
		return Message{}, false, fmt.Errorf("jt808: message %#04x from serial %d: holding %d more bytes breaks the %d-byte limit; dropped",
			h.MsgID, key.first, len(body), r.lim.MaxBytes)
	}
	if p == nil {
		p = &partial{header: h, parts: make([][]byte, h.Total)}
		r.pending[key] = p
	}
	p.last = r.seq
	if h.Index == 1 {
		p.header = h
	}
	i := int(h.Index) - 1
	if p.parts[i] != nil {
		// A retransmission of a package we hold: keep the first copy.
		return Message{}, false, nil
	}
	// The body usually aliases the scanner's buffer; the next frame overwrites it.
	p.parts[i] = append(make([]byte, 0, len(body)), body...)
	p.have++
	p.size += len(body)
	r.bytes += len(body)
	if p.have < len(p.parts) {
		return Message{}, false, nil
	}
	whole := make([]byte, 0, p.size)
	for _, part := range p.parts {
		whole = append(whole, part...)
	}
	delete(r.pending, key)
	r.bytes -= p.size
	hdr := p.header
	hdr.Serial = key.first
	hdr.Subpackage, hdr.Total, hdr.Index = false, 0, 0
	hdr.BodyLen = len(whole)
	return Message{Header: hdr, Body: whole}, true, nil
}

func (r *Reassembler) expire() {
	for k, p := range r.pending {
		if r.seq-p.last > uint64(r.lim.MaxAge) {
			r.drop(k, p)
		}
	}
}

func (r *Reassembler) drop(k reKey, p *partial) {
	delete(r.pending, k)
	r.bytes -= p.size
	r.dropped++
}
