package streams

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Error is an API error in the shape of the wire contract:
// {"error":{"code":"invalid_argument","message":"lat out of range","field":"lat"}}.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Code + ": " + e.Field + ": " + e.Message
	}
	return e.Code + ": " + e.Message
}

// The error codes of the wire contract and their HTTP statuses.
var codeStatus = map[string]int{
	"invalid_argument":  http.StatusBadRequest,
	"unauthenticated":   http.StatusUnauthorized,
	"permission_denied": http.StatusForbidden,
	"not_found":         http.StatusNotFound,
	"conflict":          http.StatusConflict,
	"too_large":         http.StatusRequestEntityTooLarge,
	"rate_limited":      http.StatusTooManyRequests,
	"unavailable":       http.StatusServiceUnavailable,
}

// Errorf returns an error with a contract code, the field it is about ("" for none)
// and a message.
func Errorf(code, field, format string, args ...any) *Error {
	status, ok := codeStatus[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	return &Error{Status: status, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Invalid is an invalid_argument error about field.
func Invalid(field, format string, args ...any) *Error {
	return Errorf("invalid_argument", field, format, args...)
}

// WriteError answers a request with err.
func WriteError(w http.ResponseWriter, err *Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(err.Status)
	_ = json.NewEncoder(w).Encode(map[string]*Error{"error": err})
}
