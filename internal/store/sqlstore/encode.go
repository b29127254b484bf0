package sqlstore

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Timestamps are BIGINT unix microseconds in UTC; optional ones are NULL when unset.

// zeroMicros is the zero time.Time in unix microseconds, so a zero time
// survives a round trip as a zero time.
var zeroMicros = time.Time{}.UnixMicro()

// micros encodes t.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros decodes a timestamp.
func fromMicros(v int64) time.Time {
	if v == zeroMicros {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// nullMicros encodes an optional timestamp.
func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

// fromNullMicros decodes an optional timestamp.
func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// nullString encodes s, storing "" as NULL (for columns unique when set).
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// rawJSON encodes an optional JSON document: nil or empty is NULL.
func rawJSON(m json.RawMessage) any {
	if len(m) == 0 {
		return nil
	}
	return string(m)
}

// fromRawJSON decodes an optional JSON document.
func fromRawJSON(v sql.NullString) json.RawMessage {
	if !v.Valid {
		return nil
	}
	return json.RawMessage(v.String)
}

// metadataJSON encodes metadata; nil is stored as {}.
func metadataJSON(m map[string]string) (string, error) {
	if m == nil {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode metadata: %w", err)
	}
	return string(b), nil
}

// fromMetadataJSON decodes metadata.
func fromMetadataJSON(s string) (map[string]string, error) {
	m := map[string]string{}
	if s == "" {
		return m, nil
	}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decode metadata: %w", err)
	}
	return m, nil
}

// cleanText makes s storable in a PostgreSQL text column, which takes
// neither NUL bytes nor invalid UTF-8: each NUL and each run of invalid
// bytes becomes U+FFFD. Other text is stored as it is.
func cleanText(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", "\uFFFD"), "\uFFFD")
}

// stringsJSON encodes a list of strings; nil is stored as [].
func stringsJSON(l []string) (string, error) {
	if l == nil {
		return "[]", nil
	}
	b, err := json.Marshal(l)
	if err != nil {
		return "", fmt.Errorf("encode list: %w", err)
	}
	return string(b), nil
}

// fromStringsJSON decodes a list of strings; it is never nil.
func fromStringsJSON(s string) ([]string, error) {
	l := []string{}
	if s == "" {
		return l, nil
	}
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("decode list: %w", err)
	}
	return l, nil
}
