package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// object is a request body: a JSON object whose fields are read with strict types.
// Fields the API does not know are ignored, so clients may send more than it reads.
type object map[string]json.RawMessage

// readObject reads the body as a JSON object of at most MaxBody bytes. An empty body is
// an empty object when allowEmpty, a refusal otherwise.
func readObject(w http.ResponseWriter, r *http.Request, allowEmpty bool) (object, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, err
		}
		return nil, badRequest("body: could not be read")
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		if allowEmpty {
			return object{}, nil
		}
		return nil, badRequest("body: a JSON object is required")
	}
	if !utf8.Valid(body) {
		return nil, badRequest("body: not valid UTF-8")
	}
	if body[0] != '{' {
		return nil, badRequest("body: must be a JSON object")
	}
	var obj object
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&obj); err != nil {
		return nil, badRequest("body: invalid JSON")
	}
	if dec.More() {
		return nil, badRequest("body: trailing data after the JSON object")
	}
	return obj, nil
}

// absent reports whether the field is missing or null.
func (o object) absent(name string) bool {
	raw, ok := o[name]
	return !ok || string(raw) == "null"
}

// str reads a string field; a missing or null field is "" (required: a refusal).
func (o object) str(name string, required bool) (string, error) {
	if o.absent(name) {
		if required {
			return "", badRequest(name + ": required")
		}
		return "", nil
	}
	raw := o[name]
	if raw[0] != '"' {
		return "", badRequest(name + ": must be a string")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", badRequest(name + ": must be a string")
	}
	return s, nil
}

// boolean reads a bool field; missing or null is false (required: a refusal).
func (o object) boolean(name string, required bool) (bool, error) {
	if o.absent(name) {
		if required {
			return false, badRequest(name + ": required")
		}
		return false, nil
	}
	switch string(o[name]) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, badRequest(name + ": must be true or false")
}

// integer reads a required field that must be a JSON integer: no fraction, no exponent,
// no quotes.
func (o object) integer(name string) (int, error) {
	if o.absent(name) {
		return 0, badRequest(name + ": required")
	}
	n, err := strconv.Atoi(string(o[name]))
	if err != nil {
		return 0, badRequest(fmt.Sprintf("%s: must be an integer", name))
	}
	return n, nil
}
