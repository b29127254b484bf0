package api

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/settlement"
	"github.com/paygate/paygate/internal/store"
)

// Settlements, their lines and statements (the merchant API); runs,
// payouts and merchants' settlement settings (the operator API). The rules
// live in internal/settlement.

// settlementRoutes are the settlement routes of both APIs.
func (s *Server) settlementRoutes() []route {
	return []route{
		{Method: "GET", Pattern: "/v1/settlements", Access: merchant, Handler: s.listSettlements, Query: true},
		{Method: "GET", Pattern: "/v1/settlements/{id}", Access: merchant, Handler: s.getSettlement, Query: true},
		{Method: "GET", Pattern: "/v1/settlements/{id}/lines", Access: merchant, Handler: s.listSettlementLines, Query: true},
		{Method: "GET", Pattern: "/v1/statements/{date}", Access: merchant, Handler: s.getStatement, Query: true, Stream: true},
		{Method: "GET", Pattern: "/admin/v1/settlements", Access: operator, Handler: s.listSettlements, Query: true},
		{Method: "GET", Pattern: "/admin/v1/settlements/{id}", Access: operator, Handler: s.getSettlement, Query: true},
		{Method: "GET", Pattern: "/admin/v1/settlements/{id}/lines", Access: operator, Handler: s.listSettlementLines, Query: true},
		{Method: "POST", Pattern: "/admin/v1/settlements/{id}/payout", Access: operator, Handler: s.startPayout},
		{Method: "POST", Pattern: "/admin/v1/settlements/{id}/pay", Access: operator, Handler: s.paySettlement},
		{Method: "POST", Pattern: "/admin/v1/settlements/run", Access: operator, Handler: s.runSettlement},
		{Method: "GET", Pattern: "/admin/v1/merchants/{id}/settlement-settings", Access: operator, Handler: s.getSettlementSettings},
		{Method: "POST", Pattern: "/admin/v1/merchants/{id}/settlement-settings", Access: operator, Handler: s.updateSettlementSettings},
	}
}

// isOperator reports whether r came through the operator API (the same
// handlers serve both; the merchant's are scoped to its merchant and mode).
func isOperator(r *http.Request) bool { return principalOf(r) == nil }

func (s *Server) listSettlements(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	operator := isOperator(r)
	filters := []string{"status", "currency", "date"}
	if operator {
		filters = append(filters, "merchant_id", "livemode")
	}
	lp, err := listParams(q, filters...)
	if err != nil {
		return err
	}
	f := store.SettlementFilter{ListParams: lp, Status: q.Get("status"), Currency: q.Get("currency"), Day: q.Get("date")}
	if operator {
		f.MerchantID = q.Get("merchant_id")
		if v := q.Get("livemode"); v != "" {
			live, err := strconv.ParseBool(v)
			if err != nil || (v != "true" && v != "false") {
				return errs.InvalidParam("livemode", `livemode must be "true" or "false".`)
			}
			f.Livemode = &live
		}
	} else {
		sc := scopeOf(r)
		f.MerchantID, f.Livemode = sc.MerchantID, &sc.Livemode
	}
	list, more, err := s.Settlements.List(r.Context(), f)
	if err != nil {
		return err
	}
	data := make([]client.Settlement, len(list))
	for i, st := range list {
		data[i] = settlement.Object(st, operator)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

// settlementOf finds the {id} settlement the caller may see.
func (s *Server) settlementOf(r *http.Request) (*store.Settlement, error) {
	if isOperator(r) {
		return s.Settlements.Get(r.Context(), r.PathValue("id"))
	}
	return s.Settlements.GetInScope(r.Context(), scopeOf(r), r.PathValue("id"))
}

// linesURL is where a settlement's lines are listed, in the caller's API.
func linesURL(r *http.Request, id string) string {
	if isOperator(r) {
		return "/admin/v1/settlements/" + id + "/lines"
	}
	return "/v1/settlements/" + id + "/lines"
}

// getSettlement renders a settlement; ?expand=lines adds its first page of
// lines (up to 100), the rest being at lines.url.
func (s *Server) getSettlement(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := onlyParams(q, "expand"); err != nil {
		return err
	}
	expand := q.Get("expand")
	if expand != "" && expand != "lines" {
		return errs.InvalidParam("expand", `expand takes "lines".`)
	}
	st, err := s.settlementOf(r)
	if err != nil {
		return err
	}
	out := settlement.Object(st, isOperator(r))
	if expand == "lines" {
		lines, more, err := s.Settlements.Lines(r.Context(), st, "", 100)
		if err != nil {
			return err
		}
		out.Lines = &client.SettlementLineList{Object: "list", Data: lineObjects(lines, isOperator(r)), HasMore: more, URL: linesURL(r, st.ID)}
	}
	return writeJSON(w, http.StatusOK, out)
}

func lineObjects(lines []*store.SettlementLine, operator bool) []client.SettlementLine {
	out := make([]client.SettlementLine, len(lines))
	for i, l := range lines {
		out[i] = settlement.LineObject(l, operator)
	}
	return out
}

// listSettlementLines pages through a settlement's lines in time order:
// ?limit=1..100 and ?starting_after=<ref_id of a line>.
func (s *Server) listSettlementLines(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := onlyParams(q, "limit", "starting_after"); err != nil {
		return err
	}
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return errs.InvalidParam("limit", "limit must be an integer from 1 to 100.")
		}
		limit = n
	}
	st, err := s.settlementOf(r)
	if err != nil {
		return err
	}
	lines, more, err := s.Settlements.Lines(r.Context(), st, q.Get("starting_after"), limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(lineObjects(lines, isOperator(r)), more))
}

// getStatement streams a day's statement as CSV (stream.go).
func (s *Server) getStatement(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if err := onlyParams(q, "type"); err != nil {
		return err
	}
	st, err := s.Settlements.Statement(r.Context(), scopeOf(r), r.PathValue("date"), q.Get("type"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+st.Filename()+`"`)
	return st.Write(r.Context(), w)
}

func (s *Server) startPayout(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	st, err := s.Settlements.StartPayout(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, settlement.Object(st, true))
}

type paySettlementRequest struct {
	BankReference *string `json:"bank_reference"`
}

func (s *Server) paySettlement(w http.ResponseWriter, r *http.Request) error {
	var req paySettlementRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	if req.BankReference == nil {
		return errs.Missing("bank_reference")
	}
	st, err := s.Settlements.Pay(r.Context(), r.PathValue("id"), *req.BankReference)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, settlement.Object(st, true))
}

type runSettlementRequest struct {
	Date       *string `json:"date"`
	MerchantID *string `json:"merchant_id"`
}

// runSettlement settles now: {date, merchant_id?}.
func (s *Server) runSettlement(w http.ResponseWriter, r *http.Request) error {
	var req runSettlementRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	if req.Date == nil {
		return errs.Missing("date")
	}
	rep, err := s.Settlements.Run(r.Context(), settlement.RunParams{Day: *req.Date, MerchantID: str(req.MerchantID)})
	if err != nil {
		return err
	}
	out := client.SettlementRun{Object: "settlement_run", Date: *req.Date, Merchants: rep.Merchants,
		Settlements: make([]client.Settlement, len(rep.Settlements)), Skipped: rep.Skipped}
	for i, st := range rep.Settlements {
		out.Settlements[i] = settlement.Object(st, true)
	}
	if out.Skipped == nil {
		out.Skipped = map[string]string{}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getSettlementSettings(w http.ResponseWriter, r *http.Request) error {
	m, st, err := s.Settlements.Settings(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, settlement.SettingsObject(m, st))
}

type updateSettlementSettingsRequest struct {
	SettleDays  *int               `json:"settle_days"`
	ReserveBps  *int               `json:"reserve_bps"`
	ReserveDays *int               `json:"reserve_days"`
	FixedFee    *int64             `json:"fixed_fee"`
	MethodFees  []methodFeeRequest `json:"method_fees"`
}

func (s *Server) updateSettlementSettings(w http.ResponseWriter, r *http.Request) error {
	var req updateSettlementSettingsRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	p := settlement.SettingsParams{SettleDays: req.SettleDays, ReserveBps: req.ReserveBps, ReserveDays: req.ReserveDays, FixedFee: req.FixedFee}
	if req.MethodFees != nil {
		p.MethodFees = make([]store.MethodFee, len(req.MethodFees))
		for i, mf := range req.MethodFees {
			if mf.Method == nil {
				return errs.Missing("method_fees[" + strconv.Itoa(i) + "].method")
			}
			p.MethodFees[i] = store.MethodFee{Method: *mf.Method}
			if mf.FeeRateBps != nil {
				p.MethodFees[i].FeeRateBps = *mf.FeeRateBps
			}
			if mf.FixedFee != nil {
				p.MethodFees[i].FixedFee = *mf.FixedFee
			}
		}
	}
	m, st, err := s.Settlements.UpdateSettings(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, settlement.SettingsObject(m, st))
}

type methodFeeRequest struct {
	Method     *string `json:"method"`
	FeeRateBps *int    `json:"fee_rate_bps"`
	FixedFee   *int64  `json:"fixed_fee"`
}

// onlyParams refuses query parameters other than allowed, and any given twice.
func onlyParams(q url.Values, allowed ...string) error {
	known := map[string]bool{}
	for _, a := range allowed {
		known[a] = true
	}
	for k, v := range q {
		if !known[k] {
			return errs.Unknown(k)
		}
		if len(v) > 1 {
			return errs.InvalidParam(k, k+" may be given once.")
		}
	}
	return nil
}
