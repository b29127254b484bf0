package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/store"
)

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return errs.Internal(err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}

// list is the list envelope of the API reference (docs/api.md).
type list[T any] struct {
	Object  string `json:"object"`
	Data    []T    `json:"data"`
	HasMore bool   `json:"has_more"`
}

func newList[T any](data []T, hasMore bool) list[T] {
	if data == nil {
		data = []T{}
	}
	return list[T]{Object: "list", Data: data, HasMore: hasMore}
}

// listParams parses limit, starting_after, ending_before, created_gte and
// created_lt, rejecting unknown query parameters other than allowed.
func listParams(q url.Values, allowed ...string) (store.ListParams, error) {
	known := map[string]bool{"limit": true, "starting_after": true, "ending_before": true, "created_gte": true, "created_lt": true}
	for _, a := range allowed {
		known[a] = true
	}
	for k, v := range q {
		if !known[k] {
			e := errs.Invalid("unknown_parameter", "Received unknown parameter: "+k+".")
			e.Param = k
			return store.ListParams{}, e
		}
		if len(v) > 1 {
			return store.ListParams{}, errs.InvalidParam(k, k+" may be given once.")
		}
	}
	var p store.ListParams
	p.Limit = 20
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return p, errs.InvalidParam("limit", "limit must be an integer from 1 to 100.")
		}
		p.Limit = n
	}
	p.StartingAfter, p.EndingBefore = q.Get("starting_after"), q.Get("ending_before")
	if p.StartingAfter != "" && p.EndingBefore != "" {
		return p, errs.InvalidParam("ending_before", "Give starting_after or ending_before, not both.")
	}
	for _, f := range []struct {
		name string
		dst  **time.Time
	}{{"created_gte", &p.CreatedGTE}, {"created_lt", &p.CreatedLT}} {
		s := q.Get(f.name)
		if s == "" {
			continue
		}
		t, err := parseTime(s)
		if err != nil {
			return p, errs.InvalidParam(f.name, f.name+" must be an RFC 3339 time or unix seconds.")
		}
		*f.dst = &t
	}
	return p, nil
}

func parseTime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Parse(time.RFC3339, s)
}
