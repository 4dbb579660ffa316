package eido

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// XML namespaces of a PIDF-LO document (RFC 4119, RFC 5491).
const (
	nsPIDF    = "urn:ietf:params:xml:ns:pidf"
	nsGeopriv = "urn:ietf:params:xml:ns:pidf:geopriv10"
	nsCivic   = "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"
	nsGML     = "http://www.opengis.net/gml"
	nsGML32   = "http://www.opengis.net/gml/3.2"
	nsGeoShp  = "http://www.opengis.net/pidflo/1.0"
	srsWGS84  = "urn:ogc:def:crs:EPSG::4326"
	srsWGS84h = "urn:ogc:def:crs:EPSG::4979"
)

// MaxLocationValue is the longest locationByValue (a PIDF-LO document) Import reads,
// in bytes.
const MaxLocationValue = 64 << 10

// maxXMLDepth bounds the nesting of a PIDF-LO document.
const maxXMLDepth = 64

// pidfPoint writes a PIDF-LO presence document whose one tuple holds a WGS 84 point:
// the simplest geodetic location a receiver can read. entity names the presentity
// (without the pres: scheme).
func pidfPoint(entity string, lat, lng float64, timestamp string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	b.WriteString(`<presence xmlns="` + nsPIDF + `" xmlns:gp="` + nsGeopriv + `" xmlns:gml="` + nsGML + `" entity="pres:`)
	xmlEscape(&b, entity)
	b.WriteString(`"><tuple id="location"><status><gp:geopriv><gp:location-info>`)
	b.WriteString(`<gml:Point srsName="` + srsWGS84 + `"><gml:pos>`)
	b.WriteString(strconv.FormatFloat(lat, 'f', -1, 64))
	b.WriteByte(' ')
	b.WriteString(strconv.FormatFloat(lng, 'f', -1, 64))
	b.WriteString(`</gml:pos></gml:Point></gp:location-info><gp:usage-rules/></gp:geopriv></status><timestamp>`)
	xmlEscape(&b, timestamp)
	b.WriteString(`</timestamp></tuple></presence>`)
	return b.String()
}

func xmlEscape(b *strings.Builder, s string) {
	var buf bytes.Buffer
	_ = xml.EscapeText(&buf, []byte(s)) // writes to a buffer: cannot fail
	b.Write(buf.Bytes())
}

// pidfLocation is what Import takes from a PIDF-LO document: the first point (or
// circle centre), and the first civic address as text.
type pidfLocation struct {
	hasPoint bool
	lat, lng float64
	civic    string // the civic address as one line; "" when there is none
	hasCivic bool
}

// parsePIDF reads a PIDF-LO document for its first geodetic position and its first
// civic address. A position must be WGS 84 latitude then longitude (EPSG 4326 or
// 4979, the only systems RFC 5491 allows; a missing srsName is taken as 4326).
func parsePIDF(s string) (pidfLocation, error) {
	var out pidfLocation
	if len(s) > MaxLocationValue {
		return out, fmt.Errorf("the PIDF-LO document is longer than %d bytes", MaxLocationValue)
	}
	d := xml.NewDecoder(strings.NewReader(s))
	type frame struct {
		name xml.Name
		srs  string
	}
	var stack []frame
	var text strings.Builder
	inPos, inCivic, sawRoot := false, false, false
	var civic []civicPart
	civicDepth := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return out, fmt.Errorf("the PIDF-LO document is not well-formed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxXMLDepth {
				return out, fmt.Errorf("the PIDF-LO document nests deeper than %d elements", maxXMLDepth)
			}
			f := frame{name: t.Name}
			for _, a := range t.Attr {
				if a.Name.Local == "srsName" {
					f.srs = a.Value
				}
			}
			if len(stack) == 0 {
				if sawRoot || t.Name.Space != nsPIDF || t.Name.Local != "presence" {
					return out, errors.New("the location is not a PIDF-LO document (no pidf presence element)")
				}
				sawRoot = true
			}
			switch {
			case isGML(t.Name.Space) && t.Name.Local == "pos" && !out.hasPoint && len(stack) > 0 && isPointLike(stack[len(stack)-1].name):
				parent := stack[len(stack)-1]
				if parent.srs != "" && parent.srs != srsWGS84 && parent.srs != srsWGS84h {
					return out, fmt.Errorf("unsupported srsName %q: want %s", clip(parent.srs, 60), srsWGS84)
				}
				inPos = true
				text.Reset()
			case t.Name.Space == nsCivic && t.Name.Local == "civicAddress" && !out.hasCivic && !inCivic:
				inCivic, civicDepth = true, len(stack)+1
				civic = civic[:0]
			case inCivic && len(stack) == civicDepth:
				text.Reset()
			}
			stack = append(stack, f)
		case xml.CharData:
			if inPos || inCivic {
				if text.Len()+len(t) > MaxLocationValue {
					return out, errors.New("the PIDF-LO document has too much text")
				}
				text.Write(t)
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
			switch {
			case inPos:
				inPos = false
				lat, lng, err := parsePos(text.String())
				if err != nil {
					return out, err
				}
				out.hasPoint, out.lat, out.lng = true, lat, lng
			case inCivic && len(stack) == civicDepth:
				if v := strings.Join(strings.Fields(text.String()), " "); v != "" {
					civic = append(civic, civicPart{t.Name.Local, v})
				}
			case inCivic && len(stack) == civicDepth-1:
				inCivic = false
				out.hasCivic, out.civic = true, civicLine(civic)
			}
		}
	}
	if !sawRoot {
		return out, errors.New("the location is not a PIDF-LO document (no pidf presence element)")
	}
	return out, nil
}

func isGML(space string) bool { return space == nsGML || space == nsGML32 }

// isPointLike reports whether a gml:pos inside name is a position of the target: a
// gml:Point, or the centre of a circle (RFC 5491's gs:Circle).
func isPointLike(name xml.Name) bool {
	return (isGML(name.Space) && name.Local == "Point") || (name.Space == nsGeoShp && name.Local == "Circle")
}

// parsePos reads "lat lng" (or "lat lng alt") from a gml:pos.
func parsePos(s string) (lat, lng float64, err error) {
	f := strings.Fields(s)
	if len(f) != 2 && len(f) != 3 {
		return 0, 0, fmt.Errorf("gml:pos %q is not \"latitude longitude\"", clip(s, 60))
	}
	lat, err1 := strconv.ParseFloat(f[0], 64)
	lng, err2 := strconv.ParseFloat(f[1], 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("gml:pos %q is not \"latitude longitude\"", clip(s, 60))
	}
	if math.IsNaN(lat) || math.IsNaN(lng) || lat < -90 || lat > 90 || lng < -180 || lng > 180 {
		return 0, 0, fmt.Errorf("gml:pos %q is out of range (latitude in [-90, 90], longitude in [-180, 180])", clip(s, 60))
	}
	return lat, lng, nil
}

type civicPart struct{ element, value string }

// civicLine writes a civic address (RFC 5139 elements) as one line: the street
// ("42 W Cellular Street"), then the place, city, state or province, postal code and
// country, comma-separated. Elements it does not know follow in document order.
func civicLine(parts []civicPart) string {
	get := func(names ...string) []string {
		var out []string
		for _, n := range names {
			for _, p := range parts {
				if p.element == n {
					out = append(out, p.value)
				}
			}
		}
		return out
	}
	known := map[string]bool{}
	street := []string{"HNO", "HNS", "PRM", "PRD", "RD", "STS", "POD", "POM"}
	tail := []string{"LOC", "NAM", "A6", "A5", "A4", "A3", "A2", "A1", "PC", "country"}
	for _, n := range append(append([]string{}, street...), tail...) {
		known[n] = true
	}
	var line []string
	if s := strings.Join(get(street...), " "); s != "" {
		line = append(line, s)
	}
	for _, p := range parts {
		if !known[p.element] {
			line = append(line, p.value)
		}
	}
	for _, n := range tail {
		line = append(line, get(n)...)
	}
	return strings.Join(line, ", ")
}

// clip shortens s for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
