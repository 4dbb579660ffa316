// Package geo holds the geometry the dispatch engine stands on: WGS-84 and GCJ-02
// coordinates, the H3 grid, a moving-point index of units by cell, the travel-time
// model that ranks units, incremental coverage of a district, and GeoJSON output.
//
// Everything inside the product is WGS-84; GCJ-02 (Chinese map data) is converted at
// the edges with ToWGS84 and ToGCJ02.
package geo
