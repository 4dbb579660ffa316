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

func list(path string, raw json.RawMessage) ([]json.RawMessage, *Error) {
	var l []json.RawMessage
	if absent(raw) {
		return nil, nil
	}
	if json.Unmarshal(raw, &l) != nil {
		return nil, Invalid(path, "want an array")
	}
	return l, nil
}

func str(path string, raw json.RawMessage) (string, *Error) {
	var s string
	if absent(raw) {
		return "", nil
	}
	if json.Unmarshal(raw, &s) != nil {
		return "", Invalid(path, "want a string")
	}
	return s, nil
}

func number(path string, raw json.RawMessage) (float64, *Error) {
	var f float64
	if absent(raw) {
		return 0, nil
	}
	if json.Unmarshal(raw, &f) != nil {
		return 0, Invalid(path, "want a number")
	}
	return f, nil
}

func integer(path string, raw json.RawMessage) (int, *Error) {
	var n int
	if absent(raw) {
		return 0, nil
	}
	if json.Unmarshal(raw, &n) != nil {
		return 0, Invalid(path, "want a whole number")
	}
	return n, nil
}

func strs(path string, raw json.RawMessage) ([]string, *Error) {
	var l []string
	if absent(raw) {
		return nil, nil
	}
	if json.Unmarshal(raw, &l) != nil {
		return nil, Invalid(path, "want an array of strings")
	}
	return l, nil
}

func ints(path string, raw json.RawMessage) ([]int, *Error) {
	var l []int
	if absent(raw) {
		return nil, nil
	}
	if json.Unmarshal(raw, &l) != nil {
		return nil, Invalid(path, "want an array of whole numbers")
	}
	return l, nil
}
