package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/paygate/paygate/internal/errs"
)

// maxBody bounds every request body (API.md body_too_large).
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

// decodeJSON decodes body into dst strictly: one JSON object, no unknown
// fields, every type as declared. Problems are 400s with stable codes.
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
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	err := d.Decode(dst)
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case err == nil:
		if d.More() {
			return errs.Invalid("json_invalid", "The body must hold exactly one JSON object.")
		}
		if _, err := d.Token(); err != io.EOF {
			return errs.Invalid("json_invalid", "The body must hold exactly one JSON object.")
		}
		return nil
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return errs.Invalid("json_invalid", "The body must be a JSON object.")
		}
		// A nested field (payer.ip) is reported as its top-level parameter's
		// code (payer_invalid) with the full path as param, as validation does.
		top, _, _ := strings.Cut(typeErr.Field, ".")
		return errs.InvalidParam(top, "Invalid "+typeErr.Field+": expected "+typeName(typeErr.Type.Kind().String())+".").WithParam(typeErr.Field)
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return errs.Invalid("json_invalid", "The body is not valid JSON.")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		e := errs.Invalid("unknown_parameter", "Received unknown parameter: "+field+".")
		e.Param = field
		return e
	}
	return errs.Invalid("json_invalid", "The body is not valid JSON.")
}

func typeName(kind string) string {
	switch kind {
	case "int", "int64", "int32":
		return "an integer"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "map", "struct":
		return "an object"
	}
	return kind
}
