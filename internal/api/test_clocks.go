package api

import (
	"net/http"
	"time"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/billing"
	"github.com/paygate/paygate/internal/errs"
)

type createTestClockRequest struct {
	Name       *string `json:"name"`
	FrozenTime *string `json:"frozen_time"`
}

type advanceTestClockRequest struct {
	FrozenTime *string `json:"frozen_time"`
}

// testClockRoutes are the merchant API's test clocks (test mode only).
func (s *Server) testClockRoutes() []route {
	return []route{
		{Method: "POST", Pattern: "/v1/test/clocks", Access: merchant, Handler: s.createTestClock},
		{Method: "GET", Pattern: "/v1/test/clocks", Access: merchant, Handler: s.listTestClocks, Query: true},
		{Method: "GET", Pattern: "/v1/test/clocks/{id}", Access: merchant, Handler: s.getTestClock},
		{Method: "POST", Pattern: "/v1/test/clocks/{id}/advance", Access: merchant, Handler: s.advanceTestClock},
	}
}

// frozenTime parses a frozen_time: RFC 3339 or unix seconds.
func frozenTime(v *string) (time.Time, error) {
	if v == nil {
		return time.Time{}, nil
	}
	t, err := parseTime(*v)
	if err != nil {
		return time.Time{}, errs.InvalidParam("frozen_time", "frozen_time must be an RFC 3339 time or unix seconds.")
	}
	return t, nil
}

func (s *Server) createTestClock(w http.ResponseWriter, r *http.Request) error {
	var req createTestClockRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	at, err := frozenTime(req.FrozenTime)
	if err != nil {
		return err
	}
	c, err := s.Billing.CreateTestClock(r.Context(), scopeOf(r), str(req.Name), at)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, billing.TestClockObject(c))
}

func (s *Server) getTestClock(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Billing.GetTestClock(r.Context(), scopeOf(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, billing.TestClockObject(c))
}

func (s *Server) listTestClocks(w http.ResponseWriter, r *http.Request) error {
	lp, err := listParams(r.URL.Query())
	if err != nil {
		return err
	}
	cs, more, err := s.Billing.ListTestClocks(r.Context(), scopeOf(r), lp)
	if err != nil {
		return err
	}
	data := make([]client.TestClock, len(cs))
	for i, c := range cs {
		data[i] = billing.TestClockObject(c)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

func (s *Server) advanceTestClock(w http.ResponseWriter, r *http.Request) error {
	var req advanceTestClockRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	if req.FrozenTime == nil {
		return errs.Missing("frozen_time")
	}
	at, err := frozenTime(req.FrozenTime)
	if err != nil {
		return err
	}
	c, err := s.Billing.AdvanceTestClock(r.Context(), scopeOf(r), r.PathValue("id"), at)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, billing.TestClockObject(c))
}
