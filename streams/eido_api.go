package streams

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"commandd/dispatch"
	"commandd/streams/eido"
)

// NENA EIDO, the incident document other dispatch centers exchange: an incident goes
// out as one (GET /api/v1/incidents/{id}/eido), and one that comes in has its calls
// taken as alerts (POST /api/v1/eido), each as POST /api/v1/alerts would take it.

// eidoIssuer names this system in the documents it issues.
const eidoIssuer = "commandd"

func (s *Server) getEIDO(r *http.Request, _ Principal) (int, any, *Error) {
	id := r.PathValue("id")
	v, ok, e := s.incident(r.Context(), id)
	if e != nil {
		return 0, nil, e
	}
	if !ok {
		return 0, nil, Errorf("not_found", "", "no incident %q", id)
	}
	doc, err := eido.Export(v, eidoIssuer)
	if err != nil {
		s.Logger.Error().Err(err).Str("incident", id).Msg("eido export")
		return 0, nil, Errorf("unavailable", "", "the incident could not be written as EIDO")
	}
	return http.StatusOK, json.RawMessage(doc), nil
}

// eidoAnswer is the answer to POST /api/v1/eido: what became of each call, in the
// document's order.
type eidoAnswer struct {
	Alerts []alertAnswer `json:"alerts"`
}

func (s *Server) postEIDO(r *http.Request, _ Principal) (int, any, *Error) {
	b, err := body(r, eido.MaxDocument)
	if err != nil {
		return 0, nil, err
	}
	calls, ierr := eido.Import(b)
	var bad *eido.Error
	if errors.As(ierr, &bad) {
		return 0, nil, Invalid(bad.Field, "%s", bad.Message)
	}
	if ierr != nil {
		return 0, nil, Invalid("", "%v", ierr)
	}
	// Every call is checked before any is taken: a document with one call the server
	// cannot take changes nothing.
	now := s.now()
	alerts := make([]*dispatch.AlertReceived, len(calls))
	for i, c := range calls {
		a := c.Alert()
		field := fmt.Sprintf("callComponent[%d]", i)
		if e := CheckTime(a.T, now, field+".callStartTimestamp"); e != nil {
			return 0, nil, e
		}
		cell, e := placeCell(a.Lat, a.Lng, field+".locationReference")
		if e != nil {
			return 0, nil, e
		}
		a.Cell = cell
		alerts[i] = &a
	}
	ans := eidoAnswer{Alerts: make([]alertAnswer, 0, len(alerts))}
	status := http.StatusOK
	for _, a := range alerts {
		st, one, e := s.takeAlert(r.Context(), a)
		if e != nil {
			return 0, nil, e
		}
		if st == http.StatusCreated {
			status = http.StatusCreated
		}
		ans.Alerts = append(ans.Alerts, one)
	}
	return status, ans, nil
}
