package jt808

import (
	"encoding/binary"
	"fmt"
)

// Batch types of 0x0704.
const (
	BatchNormal    uint8 = 0 // positions collected while online, sent together
	BatchBlindArea uint8 = 1 // positions stored while out of coverage, sent late
)

// Batch is a decoded 0x0704 body.
type Batch struct {
	Type      uint8
	Locations []Location
}

// DecodeBatch decodes a 0x0704 body. The count must match the items present: a
// mismatch means the body was cut or mis-framed, and guessing which positions
// are real would put wrong ones into history.
func DecodeBatch(body []byte) (Batch, error) {
	b, err := decodeBatch(body)
	if err != nil {
		return b, fmt.Errorf("jt808: %w", err)
	}
	return b, nil
}

func decodeBatch(body []byte) (Batch, error) {
	var b Batch
	if len(body) < 3 {
		return b, fmt.Errorf("batch: %d bytes, count and type need 3", len(body))
	}
	count := int(binary.BigEndian.Uint16(body))
	b.Type = body[2]
	// Check the count against the smallest possible item before allocating for it.
	if count*(2+locationBaseLen) > len(body)-3 {
		return b, fmt.Errorf("batch: count %d does not fit in %d bytes", count, len(body))
	}
	b.Locations = make([]Location, 0, count)
	off := 3
	for i := range count {
		if len(body)-off < 2 {
			return b, fmt.Errorf("batch: item %d of %d at offset %d: no length", i+1, count, off)
		}
		n := int(binary.BigEndian.Uint16(body[off:]))
		off += 2
		if len(body)-off < n {
			return b, fmt.Errorf("batch: item %d of %d at offset %d: length %d, %d bytes left", i+1, count, off-2, n, len(body)-off)
		}
		l, err := decodeLocation(body[off : off+n])
		if err != nil {
			return b, fmt.Errorf("batch: item %d of %d: %w", i+1, count, err)
		}
		b.Locations = append(b.Locations, l)
		off += n
	}
	if off != len(body) {
		return b, fmt.Errorf("batch: %d bytes after the %d items", len(body)-off, count)
	}
	return b, nil
}

// BatchBody encodes b as a 0x0704 body.
func BatchBody(b *Batch) ([]byte, error) {
	if len(b.Locations) > 0xffff {
		return nil, fmt.Errorf("jt808: batch: %d locations, the count holds 65535", len(b.Locations))
	}
	dst := binary.BigEndian.AppendUint16(nil, uint16(len(b.Locations)))
	dst = append(dst, b.Type)
	for i := range b.Locations {
		at := len(dst)
		dst = append(dst, 0, 0)
		var err error
		dst, err = appendLocation(dst, &b.Locations[i])
		if err != nil {
			return nil, fmt.Errorf("jt808: batch: item %d: %w", i+1, err)
		}
		n := len(dst) - at - 2
		if n > 0xffff {
			return nil, fmt.Errorf("jt808: batch: item %d is %d bytes", i+1, n)
		}
		binary.BigEndian.PutUint16(dst[at:], uint16(n))
	}
	return dst, nil
}
