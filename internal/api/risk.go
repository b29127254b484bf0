package api

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/risk"
	"github.com/paygate/paygate/internal/store"
)

// Risk control: the operator's rules, lists, country tables, attempts and
// review queue, and merchants' own rules under /v1/risk/rules. The rules
// live in internal/risk; approving and rejecting a review in payment.

// riskRoutes are the operator's and the merchants' risk endpoints.
func (s *Server) riskRoutes() []route {
	return []route{
		{Method: "POST", Pattern: "/admin/v1/risk/rules", Access: operator, Handler: s.createRiskRule},
		{Method: "GET", Pattern: "/admin/v1/risk/rules", Access: operator, Handler: s.listRiskRules, Query: true},
		{Method: "POST", Pattern: "/admin/v1/risk/rules/test", Access: operator, Handler: s.testRiskRule},
		{Method: "GET", Pattern: "/admin/v1/risk/rules/{id}", Access: operator, Handler: s.getRiskRule},
		{Method: "POST", Pattern: "/admin/v1/risk/rules/{id}", Access: operator, Handler: s.updateRiskRule},
		{Method: "DELETE", Pattern: "/admin/v1/risk/rules/{id}", Access: operator, Handler: s.deleteRiskRule},
		{Method: "POST", Pattern: "/admin/v1/risk/lists", Access: operator, Handler: s.createRiskList},
		{Method: "GET", Pattern: "/admin/v1/risk/lists", Access: operator, Handler: s.listRiskLists, Query: true},
		{Method: "GET", Pattern: "/admin/v1/risk/lists/{id}", Access: operator, Handler: s.getRiskList},
		{Method: "DELETE", Pattern: "/admin/v1/risk/lists/{id}", Access: operator, Handler: s.deleteRiskList},
		{Method: "POST", Pattern: "/admin/v1/risk/lists/{id}/entries", Access: operator, Handler: s.addRiskListEntries},
		{Method: "GET", Pattern: "/admin/v1/risk/lists/{id}/entries", Access: operator, Handler: s.listRiskListEntries, Query: true},
		{Method: "DELETE", Pattern: "/admin/v1/risk/lists/{id}/entries/{value}", Access: operator, Handler: s.deleteRiskListEntry},
		{Method: "POST", Pattern: "/admin/v1/risk/ip-countries", Access: operator, Handler: s.importRanges(store.RiskRangesIP)},
		{Method: "POST", Pattern: "/admin/v1/risk/bin-countries", Access: operator, Handler: s.importRanges(store.RiskRangesBIN)},
		{Method: "GET", Pattern: "/admin/v1/risk/attempts", Access: operator, Handler: s.listRiskAttempts, Query: true},
		{Method: "GET", Pattern: "/admin/v1/risk/attempts/{id}", Access: operator, Handler: s.getRiskAttempt},
		{Method: "GET", Pattern: "/admin/v1/risk/reviews", Access: operator, Handler: s.listRiskReviews, Query: true},
		{Method: "POST", Pattern: "/admin/v1/orders/{id}/approve", Access: operator, Handler: s.approveOrder},
		{Method: "POST", Pattern: "/admin/v1/orders/{id}/reject", Access: operator, Handler: s.rejectOrder},

		{Method: "POST", Pattern: "/v1/risk/rules", Access: merchant, Handler: s.createRiskRule},
		{Method: "GET", Pattern: "/v1/risk/rules", Access: merchant, Handler: s.listRiskRules, Query: true},
		{Method: "GET", Pattern: "/v1/risk/rules/{id}", Access: merchant, Handler: s.getRiskRule},
		{Method: "POST", Pattern: "/v1/risk/rules/{id}", Access: merchant, Handler: s.updateRiskRule},
		{Method: "DELETE", Pattern: "/v1/risk/rules/{id}", Access: merchant, Handler: s.deleteRiskRule},
	}
}

// riskAuthor is who writes rules through r: a merchant's key, or the operator.
func riskAuthor(r *http.Request) risk.Author {
	if p := principalOf(r); p != nil {
		return risk.Author{Merchant: true, Scope: scopeOf(r)}
	}
	return risk.Platform
}

type riskRuleRequest struct {
	Name        *string           `json:"name"`
	Description *string           `json:"description"`
	Expression  *string           `json:"expression"`
	Template    *string           `json:"template"`
	Params      json.RawMessage   `json:"params"`
	Action      *string           `json:"action"`
	Mode        *string           `json:"mode"`
	Priority    *int              `json:"priority"`
	Scope       *riskScopeRequest `json:"scope"`
	AppliesTo   []string          `json:"applies_to"`
	Disabled    *bool             `json:"disabled"`
}

type riskScopeRequest struct {
	MerchantID *string         `json:"merchant_id"`
	AppID      *string         `json:"app_id"`
	Livemode   json.RawMessage `json:"livemode"`
}

// params turns a request into the service's parameters. A scope, when
// given, replaces the rule's whole scope (a field left out is "every").
func (q *riskRuleRequest) params() (risk.RuleParams, error) {
	p := risk.RuleParams{Name: q.Name, Description: q.Description, Expression: q.Expression, Template: q.Template,
		Params: q.Params, Action: q.Action, Mode: q.Mode, Priority: q.Priority, AppliesTo: q.AppliesTo, Disabled: q.Disabled}
	if q.Scope != nil {
		empty := ""
		p.MerchantID, p.AppID = &empty, &empty
		if q.Scope.MerchantID != nil {
			p.MerchantID = q.Scope.MerchantID
		}
		if q.Scope.AppID != nil {
			p.AppID = q.Scope.AppID
		}
		switch v := string(bytes.TrimSpace(q.Scope.Livemode)); v {
		case "", "null":
			p.LivemodeSet = v != ""
		case "true", "false":
			b := v == "true"
			p.Livemode, p.LivemodeSet = &b, true
		default:
			return p, errs.InvalidParam("scope", "scope.livemode must be true, false or null.").WithParam("scope.livemode")
		}
	}
	return p, nil
}

func riskRuleObject(r *store.RiskRule) client.RiskRule {
	out := client.RiskRule{ID: r.ID, Object: "risk_rule", Name: r.Name, Description: r.Description, Owner: r.Owner,
		Expression: r.Expression, Template: r.Template, Params: r.Params, Action: r.Action, Mode: r.Mode, Priority: r.Priority,
		Scope: client.RiskScope{MerchantID: r.MerchantID, AppID: r.AppID, Livemode: r.Livemode}, AppliesTo: r.AppliesTo,
		Disabled: r.Disabled, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if out.AppliesTo == nil {
		out.AppliesTo = []string{}
	}
	return out
}

func (s *Server) createRiskRule(w http.ResponseWriter, r *http.Request) error {
	var req riskRuleRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	p, err := req.params()
	if err != nil {
		return err
	}
	rule, err := s.Risk.CreateRule(r.Context(), riskAuthor(r), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, riskRuleObject(rule))
}

func (s *Server) updateRiskRule(w http.ResponseWriter, r *http.Request) error {
	var req riskRuleRequest
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	p, err := req.params()
	if err != nil {
		return err
	}
	rule, err := s.Risk.UpdateRule(r.Context(), riskAuthor(r), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, riskRuleObject(rule))
}

func (s *Server) getRiskRule(w http.ResponseWriter, r *http.Request) error {
	rule, err := s.Risk.GetRule(r.Context(), riskAuthor(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, riskRuleObject(rule))
}

func (s *Server) deleteRiskRule(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	if err := s.Risk.DeleteRule(r.Context(), riskAuthor(r), r.PathValue("id")); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, client.DeletedObject{ID: r.PathValue("id"), Object: "risk_rule", Deleted: true})
}

func (s *Server) listRiskRules(w http.ResponseWriter, r *http.Request) error {
	by := riskAuthor(r)
	allowed := []string{}
	if !by.Merchant {
		allowed = []string{"merchant_id", "owner"}
	}
	q := r.URL.Query()
	lp, err := listParams(q, allowed...)
	if err != nil {
		return err
	}
	f := store.RiskRuleFilter{ListParams: lp, MerchantID: q.Get("merchant_id"), Owner: q.Get("owner")}
	if f.Owner != "" && f.Owner != store.RiskOwnerPlatform && f.Owner != store.RiskOwnerMerchant {
		return errs.InvalidParam("owner", "owner must be platform or merchant.")
	}
	rules, more, err := s.Risk.ListRules(r.Context(), by, f)
	if err != nil {
		return err
	}
	data := make([]client.RiskRule, len(rules))
	for i, rule := range rules {
		data[i] = riskRuleObject(rule)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

func (s *Server) testRiskRule(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Rule *riskRuleRequest `json:"rule"`
		Days *int             `json:"days"`
	}
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	if req.Rule == nil {
		return errs.Missing("rule")
	}
	days := 7
	if req.Days != nil {
		days = *req.Days
	}
	p, err := req.Rule.params()
	if err != nil {
		return err
	}
	out, err := s.Risk.TestRule(r.Context(), p, days)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		Object string `json:"object"`
		*risk.DryRun
	}{"risk_dry_run", out})
}

func riskListObject(l *store.RiskList) client.RiskList {
	return client.RiskList{ID: l.ID, Object: "risk_list", Name: l.Name, Kind: l.Kind, Description: l.Description,
		Entries: l.Entries, CreatedAt: l.CreatedAt.UTC()}
}

func (s *Server) createRiskList(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name        *string `json:"name"`
		Kind        *string `json:"kind"`
		Description *string `json:"description"`
	}
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	l, err := s.Risk.CreateList(r.Context(), risk.CreateListParams{Name: str(req.Name), Kind: str(req.Kind), Description: str(req.Description)})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, riskListObject(l))
}

func (s *Server) getRiskList(w http.ResponseWriter, r *http.Request) error {
	l, err := s.Risk.GetList(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, riskListObject(l))
}

func (s *Server) listRiskLists(w http.ResponseWriter, r *http.Request) error {
	lp, err := listParams(r.URL.Query())
	if err != nil {
		return err
	}
	ls, more, err := s.Risk.ListLists(r.Context(), lp)
	if err != nil {
		return err
	}
	data := make([]client.RiskList, len(ls))
	for i, l := range ls {
		data[i] = riskListObject(l)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

func (s *Server) deleteRiskList(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	if err := s.Risk.DeleteList(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, client.DeletedObject{ID: r.PathValue("id"), Object: "risk_list", Deleted: true})
}

// isCSV reports whether r's body is text/csv.
func isCSV(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "text/csv"
}

// addRiskListEntries adds one entry (JSON) or many (text/csv:
// value,expires_at,reason per line).
func (s *Server) addRiskListEntries(w http.ResponseWriter, r *http.Request) error {
	var entries []risk.EntryParams
	if isCSV(r) {
		var err error
		if entries, err = risk.ParseEntriesCSV(bytes.NewReader(bodyOf(r))); err != nil {
			return err
		}
	} else {
		var req struct {
			Value     *string `json:"value"`
			ExpiresAt *string `json:"expires_at"`
			Reason    *string `json:"reason"`
		}
		if err := decodeJSON(r, bodyOf(r), &req); err != nil {
			return err
		}
		e := risk.EntryParams{Value: str(req.Value), Reason: str(req.Reason)}
		if req.ExpiresAt != nil {
			t, err := parseTime(*req.ExpiresAt)
			if err != nil {
				return errs.InvalidParam("expires_at", "expires_at must be an RFC 3339 time or unix seconds.")
			}
			e.ExpiresAt = &t
		}
		entries = []risk.EntryParams{e}
	}
	l, err := s.Risk.AddEntries(r.Context(), r.PathValue("id"), entries)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, riskListObject(l))
}

// listRiskListEntries lists a list's entries: JSON, or CSV with ?format=csv
// (what addRiskListEntries takes back).
func (s *Server) listRiskListEntries(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	for k := range q {
		if k != "format" {
			return errs.Unknown(k)
		}
	}
	format := q.Get("format")
	if format != "" && format != "csv" && format != "json" {
		return errs.InvalidParam("format", "format must be json or csv.")
	}
	entries, err := s.Risk.Entries(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if format == "csv" {
		var b bytes.Buffer
		if err := risk.WriteEntriesCSV(&b, entries); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, err := w.Write(b.Bytes())
		return err
	}
	data := make([]client.RiskListEntry, len(entries))
	for i, e := range entries {
		data[i] = client.RiskListEntry{Object: "risk_list_entry", Value: e.Value, Reason: e.Reason, ExpiresAt: e.ExpiresAt, CreatedAt: e.CreatedAt.UTC()}
	}
	return writeJSON(w, http.StatusOK, newList(data, false))
}

func (s *Server) deleteRiskListEntry(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	if err := s.Risk.DeleteEntry(r.Context(), r.PathValue("id"), r.PathValue("value")); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, client.DeletedObject{ID: r.PathValue("value"), Object: "risk_list_entry", Deleted: true})
}

// importRanges replaces the IP or BIN country table with a text/csv body
// (paygate risk import-ip-countries takes larger files).
func (s *Server) importRanges(kind string) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if !isCSV(r) {
			return errs.New(errs.KindUnsupportedMedia, "content_type_unsupported", "Send the table as text/csv.")
		}
		parse := risk.ParseIPCountries
		if kind == store.RiskRangesBIN {
			parse = risk.ParseBINCountries
		}
		rs, err := parse(bytes.NewReader(bodyOf(r)))
		if err != nil {
			return err
		}
		if err := s.Risk.ImportRanges(r.Context(), kind, rs); err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]any{"object": "risk_country_table", "kind": kind, "ranges": len(rs)})
	}
}

func riskAttemptObject(a *store.RiskAttempt) client.RiskAttempt {
	out := client.RiskAttempt{ID: a.ID, Object: "risk_attempt", Kind: a.Kind, MerchantID: a.MerchantID, AppID: a.AppID,
		Livemode: a.Livemode, OrderID: a.OrderID, OutTradeNo: a.OutTradeNo, Amount: a.Amount, Currency: a.Currency,
		Decision: a.Decision, Score: a.Score, Context: a.Context, CreatedAt: a.CreatedAt.UTC()}
	if json.Unmarshal(a.Rules, &out.Rules) != nil || out.Rules == nil {
		out.Rules = []client.RiskRuleFired{}
	}
	return out
}

func (s *Server) listRiskAttempts(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lp, err := listParams(q, "merchant_id", "decision", "order_id")
	if err != nil {
		return err
	}
	as, more, err := s.Risk.Attempts(r.Context(), store.RiskAttemptFilter{ListParams: lp, MerchantID: q.Get("merchant_id"),
		Decision: q.Get("decision"), OrderID: q.Get("order_id")})
	if err != nil {
		return err
	}
	data := make([]client.RiskAttempt, len(as))
	for i, a := range as {
		data[i] = riskAttemptObject(a)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

func (s *Server) getRiskAttempt(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Risk.Attempt(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, riskAttemptObject(a))
}

// listRiskReviews is the review queue: orders waiting for review, every
// merchant's, each with the attempt that sent it there.
func (s *Server) listRiskReviews(w http.ResponseWriter, r *http.Request) error {
	lp, err := listParams(r.URL.Query())
	if err != nil {
		return err
	}
	orders, more, err := s.Risk.Reviews(r.Context(), lp)
	if err != nil {
		return err
	}
	data := make([]client.RiskReview, len(orders))
	for i, o := range orders {
		data[i] = client.RiskReview{Object: "risk_review", MerchantID: o.MerchantID, Order: payment.OrderObject(o)}
		var d struct {
			Attempt string `json:"attempt"`
		}
		if json.Unmarshal(o.Risk, &d) == nil && d.Attempt != "" {
			if a, err := s.Risk.Attempt(r.Context(), d.Attempt); err == nil {
				obj := riskAttemptObject(a)
				data[i].Attempt = &obj
			}
		}
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

func (s *Server) approveOrder(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	o, err := s.Payments.ApproveOrder(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, payment.OrderObject(o))
}

func (s *Server) rejectOrder(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	o, err := s.Payments.RejectOrder(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, payment.OrderObject(o))
}
