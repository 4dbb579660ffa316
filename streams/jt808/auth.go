package jt808

import (
	"bytes"
	"fmt"
)

const (
	imeiLen      = 15
	softwareLen  = 20
	authFixed19  = 1 + imeiLen + softwareLen
	maxAuthCode  = 0xff
	nulAndSpaces = "\x00 "
)

// Auth is a decoded 0x0102 authentication body.
type Auth struct {
	// Code is the authentication code as sent, byte for byte: compare it with
	// the one the registration answer handed out.
	Code string
	// IMEI and SoftwareVersion are 2019 only, with padding removed.
	IMEI            string
	SoftwareVersion string
}

// DecodeAuth decodes a 0x0102 body laid out for header version v: in 2011/2013
// the whole body is the code; in 2019 a length byte, the code, the IMEI (15
// bytes) and the software version (20 bytes).
func DecodeAuth(body []byte, v HeaderVersion) (Auth, error) {
	a, err := decodeAuth(body, v)
	if err != nil {
		return a, fmt.Errorf("jt808: %w", err)
	}
	return a, nil
}

func decodeAuth(body []byte, v HeaderVersion) (Auth, error) {
	var a Auth
	if v != Version2019 {
		if len(body) == 0 {
			return a, fmt.Errorf("authentication: empty code")
		}
		a.Code = string(body)
		return a, nil
	}
	if len(body) < 1 {
		return a, fmt.Errorf("authentication: empty body, the 2019 layout starts with the code length")
	}
	n := int(body[0])
	if want := authFixed19 + n; len(body) != want {
		return a, fmt.Errorf("authentication: %d bytes, the 2019 layout with a %d-byte code has %d", len(body), n, want)
	}
	if n == 0 {
		return a, fmt.Errorf("authentication: empty code")
	}
	a.Code = string(body[1 : 1+n])
	rest := body[1+n:]
	a.IMEI = trimField(rest[:imeiLen])
	a.SoftwareVersion = trimField(rest[imeiLen:])
	return a, nil
}

// AuthBody encodes a as a 0x0102 body for header version v.
func AuthBody(a *Auth, v HeaderVersion) ([]byte, error) {
	if a.Code == "" {
		return nil, fmt.Errorf("jt808: authentication: empty code")
	}
	if v != Version2019 {
		return []byte(a.Code), nil
	}
	if len(a.Code) > maxAuthCode {
		return nil, fmt.Errorf("jt808: authentication: code of %d bytes, the 2019 length byte holds %d", len(a.Code), maxAuthCode)
	}
	dst := make([]byte, 0, authFixed19+len(a.Code))
	dst = append(dst, byte(len(a.Code)))
	dst = append(dst, a.Code...)
	var err error
	if dst, err = appendField(dst, a.IMEI, imeiLen, "IMEI"); err != nil {
		return nil, fmt.Errorf("jt808: authentication: %w", err)
	}
	if dst, err = appendField(dst, a.SoftwareVersion, softwareLen, "software version"); err != nil {
		return nil, fmt.Errorf("jt808: authentication: %w", err)
	}
	return dst, nil
}

// trimField strips the NUL (and, from some vendors, space) padding of a
// fixed-size string field.
func trimField(b []byte) string {
	return string(bytes.Trim(b, nulAndSpaces))
}

// appendField writes s NUL-padded to size bytes.
func appendField(dst []byte, s string, size int, name string) ([]byte, error) {
	if len(s) > size {
		return dst, fmt.Errorf("%s %q is %d bytes, the field holds %d", name, s, len(s), size)
	}
	dst = append(dst, s...)
	for range size - len(s) {
		dst = append(dst, 0)
	}
	return dst, nil
}
