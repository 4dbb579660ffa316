// Package eido converts commandd incidents to and from NENA EIDO 1.0 JSON documents
// (Emergency Incident Data Object, NENA-STA-021).
//
// Export writes an incident (dispatch.IncidentView) as one EIDO document: the
// incident component, one call component per alert, an emergency resource component
// per assigned unit, a notes component per operator note and per alert text, and
// location components whose locationByValue is a PIDF-LO document holding a
// gml:Point (the schema's only way to give a location by value). Every component
// carries the prologue the schema requires ($id, lastUpdateTimeStamp,
// updatedByAgencyReference); the issuer is both the issuing element and the one
// agency of the document.
//
// Import reads an EIDO document and returns its calls as Calls, each ready to become
// a commandd alert. A Call's ID is derived from the document's $id and the call's
// $id, so posting the same document again names the same alerts. Every problem is an
// *Error naming the JSON path of the element at fault, for the API's 400 answer; a
// call whose locations give no coordinates (a civic address alone, or a location by
// reference, which Import never dereferences) is such an error.
//
// Times are written in RFC 3339, UTC, with milliseconds; lists are never null.
package eido
