package api

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/paygate/paygate/internal/errs"
)

// maxBody bounds every request body (docs/api.md body_too_large).
const maxBody = 64 << 10

// readBody reads the whole body up to maxBody.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, errs.Invalid("body_unreadable", "The request body could not be read.")
	}
	if len(b) > maxBody {
		return nil, errs.New(errs.KindTooLarge, "body_too_large", "The request body is larger than 64 KiB.")
	}
	return b, nil
}

// decodeJSON decodes body into dst strictly: one JSON object whose member
// names match dst's json tags exactly (a case variant is an unknown
// parameter, as any other unknown name), no name twice in one object at any
// depth, strings of valid UTF-8 only (no invalid bytes, no lone surrogate
// escapes: nothing is silently replaced by U+FFFD), every type as declared.
// It decodes with github.com/go-json-experiment/json, whose defaults are
// these rules (encoding/json's are the opposite: case-insensitive names,
// the last of duplicate names wins, invalid UTF-8 replaced). Problems are
// 400s with stable codes, and never quote the value sent (it may be card
// data):
//   - not JSON, not one object: json_invalid;
//   - an unknown name: unknown_parameter, param the name;
//   - a name twice: parameter_duplicated, param the field's path;
//   - text that is not UTF-8, or a value of the wrong type:
//     <field>_invalid, param the field's path ("payer.ip").
//
// A field's path is its parameter names joined by "." (map keys and array
// indices left out: "metadata", "candidates.weight"), and the code names
// its top-level parameter, as validation does.
func decodeJSON(r *http.Request, body []byte, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return errs.New(errs.KindUnsupportedMedia, "content_type_unsupported", "Send the body as application/json.")
		}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	err := jsonv2.Unmarshal(body, dst, jsonv2.RejectUnknownMembers(true))
	if err == nil {
		return nil
	}
	var semErr *jsonv2.SemanticError
	var synErr *jsontext.SyntacticError
	switch {
	case errors.As(err, &synErr) && errors.Is(err, jsontext.ErrDuplicateName):
		path := fieldPath(reflect.TypeOf(dst), synErr.JSONPointer)
		e := errs.Invalid("parameter_duplicated", "Received the parameter "+pointerText(synErr.JSONPointer)+" more than once.")
		e.Param = path
		return e
	case errors.As(err, &synErr) && badText(body, synErr.ByteOffset):
		path := fieldPath(reflect.TypeOf(dst), synErr.JSONPointer)
		if path == "" {
			return errs.Invalid("json_invalid", "The body must be UTF-8 text.")
		}
		top, _, _ := strings.Cut(path, ".")
		return errs.InvalidParam(top, "Invalid "+path+": text must be valid UTF-8 (no invalid bytes or lone surrogates).").WithParam(path)
	case errors.As(err, &synErr):
		return errs.Invalid("json_invalid", "The body is not valid JSON.")
	case errors.As(err, &semErr) && errors.Is(err, jsonv2.ErrUnknownName):
		name := semErr.JSONPointer.LastToken()
		e := errs.Invalid("unknown_parameter", "Received unknown parameter: "+clip(name)+".")
		e.Param = name
		return e
	case errors.As(err, &semErr):
		path := fieldPath(reflect.TypeOf(dst), semErr.JSONPointer)
		if path == "" {
			return errs.Invalid("json_invalid", "The body must be a JSON object.")
		}
		top, _, _ := strings.Cut(path, ".")
		want := "a valid value"
		if semErr.GoType != nil {
			want = typeName(semErr.GoType)
		}
		return errs.InvalidParam(top, "Invalid "+path+": expected "+want+".").WithParam(path)
	}
	return errs.Invalid("json_invalid", "The body is not valid JSON.")
}

// badText reports whether the syntax error at offset is text that is not
// UTF-8: an invalid byte sequence, or a \u escape of a surrogate that is
// not part of a pair.
func badText(body []byte, offset int64) bool {
	if offset < 0 || offset >= int64(len(body)) {
		return false
	}
	rest := body[offset:]
	if r, size := utf8.DecodeRune(rest); r == utf8.RuneError && size <= 1 {
		return true
	}
	if len(rest) >= 6 && rest[0] == '\\' && rest[1] == 'u' {
		if n, err := strconv.ParseUint(string(rest[2:6]), 16, 16); err == nil && n >= 0xD800 && n <= 0xDFFF {
			return true
		}
	}
	return false
}

// fieldPath turns a JSON pointer into the dotted path of the parameters it
// goes through in t ("/payer/ip" → "payer.ip"), leaving out map keys and
// array indices ("/metadata/k" → "metadata").
func fieldPath(t reflect.Type, ptr jsontext.Pointer) string {
	var names []string
	for tok := range ptr.Tokens() {
		for t != nil && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t == nil {
			break
		}
		switch t.Kind() {
		case reflect.Struct:
			f, ok := jsonField(t, tok)
			if !ok {
				return strings.Join(names, ".")
			}
			names = append(names, tok)
			t = f.Type
		case reflect.Map, reflect.Slice, reflect.Array:
			t = t.Elem()
		default:
			return strings.Join(names, ".")
		}
	}
	return strings.Join(names, ".")
}

// jsonField finds the field of struct t whose json name is name.
func jsonField(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == name || (tag == "" && f.Name == name) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// pointerText writes a JSON pointer as a dotted path with every token
// ("/metadata/k" → "metadata.k"), clipped, for messages.
func pointerText(ptr jsontext.Pointer) string {
	var toks []string
	for tok := range ptr.Tokens() {
		toks = append(toks, tok)
	}
	return clip(strings.Join(toks, "."))
}

func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind().String() {
	case "int", "int64", "int32":
		return "an integer"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "an array"
	}
	return t.Kind().String()
}

// clip shortens a value quoted back in an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
