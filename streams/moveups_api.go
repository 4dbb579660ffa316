package streams

import (
	"net/http"

	"commandd/dispatch"
)

// getMoveUps answers the move-ups in force: recommended ones waiting for an operator,
// and sent ones whose units have not reached their posts yet.
func (s *Server) getMoveUps(r *http.Request, _ Principal) (int, any, *Error) {
	var list []dispatch.MoveUpView
	s.Loop.Read(func(e *dispatch.Engine) { list = e.MoveUps() })
	if list == nil {
		list = []dispatch.MoveUpView{}
	}
	return http.StatusOK, list, nil
}

// confirmMoveUp sends a recommended move-up to its unit (a moveup frame on its
// socket) and answers it.
func (s *Server) confirmMoveUp(r *http.Request, p Principal) (int, any, *Error) {
	id := r.PathValue("unit")
	var known bool
	s.Loop.Read(func(e *dispatch.Engine) { known = e.Known(id) })
	if !known {
		return 0, nil, Errorf("not_found", "unit", "unknown unit %s", id)
	}
	ev := &dispatch.MoveUpConfirmed{T: s.now(), Unit: id, By: p.Name()}
	if _, _, err := s.commit(r.Context(), "", ev); err != nil {
		return 0, nil, err
	}
	var sent dispatch.MoveUpView
	s.Loop.Read(func(e *dispatch.Engine) {
		for _, v := range e.MoveUps() {
			if v.Unit == id {
				sent = v
			}
		}
	})
	return http.StatusOK, sent, nil
}
