package streams

// Readers of the district file's JSON values, each naming its path when it refuses one.

import (
	"bytes"
	"encoding/json"
	"slices"
	"sort"
)

// name the path of what is wrong. A missing value (nil) or null reads as the zero value.

func absent(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// object reads a JSON object whose keys must be among keys; the first unknown key in
// sorted order is the error, so the answer does not depend on map order.
func object(path string, raw json.RawMessage, keys ...string) (map[string]json.RawMessage, *Error) {
	var o map[string]json.RawMessage
	if absent(raw) || json.Unmarshal(raw, &o) != nil {
		return nil, Invalid(path, "want an object")
	}
	var unknown []string
	for k := range o {
		if !slices.Contains(keys, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		field := unknown[0]
		if path != "" {
			field = path + "." + field
		}
		return nil, Invalid(field, "unknown field")
	}
	return o, nil
}

// value reads raw as a T; absent (missing or null) is T's zero value, anything else
// not a T is an error at path saying what was wanted.
func value[T any](path string, raw json.RawMessage, want string) (T, *Error) {
	var v T
	if absent(raw) {
		return v, nil
	}
	if json.Unmarshal(raw, &v) != nil {
		var zero T
		return zero, Invalid(path, "want %s", want)
	}
	return v, nil
}

func list(path string, raw json.RawMessage) ([]json.RawMessage, *Error) {
	return value[[]json.RawMessage](path, raw, "an array")
}

// boundedList is list with at most max items, what naming them in the error.
func boundedList(path string, raw json.RawMessage, max int, what string) ([]json.RawMessage, *Error) {
	items, e := list(path, raw)
	if e == nil && len(items) > max {
		return nil, Invalid(path, "%d %s: at most %d", len(items), what, max)
	}
	return items, e
}

func str(path string, raw json.RawMessage) (string, *Error) {
	return value[string](path, raw, "a string")
}

func number(path string, raw json.RawMessage) (float64, *Error) {
	return value[float64](path, raw, "a number")
}

func integer(path string, raw json.RawMessage) (int, *Error) {
	return value[int](path, raw, "a whole number")
}

func strs(path string, raw json.RawMessage) ([]string, *Error) {
	return value[[]string](path, raw, "an array of strings")
}

func ints(path string, raw json.RawMessage) ([]int, *Error) {
	return value[[]int](path, raw, "an array of whole numbers")
}
