package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/risk"
	"github.com/paygate/paygate/internal/store"
)

// The risk pages are the operators': the rules (platform and merchants'),
// a rule editor whose draft is always tried against the recent attempts
// (risk.Service.TestRule, which records nothing) before it can be saved,
// and the lists with their entries. Saving, lists and entries go through
// risk.Service (CreateRule, UpdateRule, CreateList, AddEntries,
// DeleteEntry), the code the operator API uses.

// ruleForm is the editor's fields, as the form sends them.
type ruleForm struct {
	RuleID, Name, Description, Expression, Action, Mode, Priority, Merchant, Scope string
	// Template names the template a rule being edited was made from: saving
	// keeps its expression as written, without the template.
	Template string
	Refunds  bool // applies to refunds too
	Days     int
}

// params are the form's fields as risk.RuleParams.
func (f ruleForm) params() (risk.RuleParams, error) {
	p := risk.RuleParams{Name: &f.Name, Description: &f.Description, Expression: &f.Expression, Action: &f.Action, Mode: &f.Mode,
		MerchantID: &f.Merchant, LivemodeSet: true, AppliesTo: []string{store.RiskKindPayment}}
	if f.Refunds {
		p.AppliesTo = append(p.AppliesTo, store.RiskKindRefund)
	}
	if f.Priority != "" {
		n, err := strconv.Atoi(f.Priority)
		if err != nil {
			return p, errs.InvalidParam("priority", "priority must be a whole number, 0 to 10000.")
		}
		p.Priority = &n
	}
	switch f.Scope {
	case "", "both":
	case "test", "live":
		live := f.Scope == "live"
		p.Livemode = &live
	default:
		return p, errs.InvalidParam("scope", "The mode must be both, test or live.")
	}
	return p, nil
}

func readRuleForm(r *http.Request) (ruleForm, error) {
	f := ruleForm{RuleID: r.PostFormValue("rule"), Name: strings.TrimSpace(r.PostFormValue("name")),
		Description: strings.TrimSpace(r.PostFormValue("description")), Expression: strings.TrimSpace(r.PostFormValue("expression")),
		Action: r.PostFormValue("action"), Mode: r.PostFormValue("mode"), Priority: strings.TrimSpace(r.PostFormValue("priority")),
		Merchant: strings.TrimSpace(r.PostFormValue("merchant")), Scope: r.PostFormValue("scope"),
		Refunds: r.PostFormValue("refunds") == "yes", Days: 7}
	if f.Mode == "" {
		f.Mode = risk.ModeEnforce
	}
	if d := strings.TrimSpace(r.PostFormValue("days")); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil {
			return f, errs.InvalidParam("days", "days must be a whole number, 1 to 90.")
		}
		f.Days = n
	}
	return f, nil
}

// formOf is the editor filled with a saved rule.
func formOf(rule *store.RiskRule) ruleForm {
	f := ruleForm{RuleID: rule.ID, Name: rule.Name, Description: rule.Description, Expression: rule.Expression, Action: rule.Action,
		Mode: rule.Mode, Priority: strconv.Itoa(rule.Priority), Merchant: rule.MerchantID, Scope: "both", Template: rule.Template, Days: 7}
	if rule.Livemode != nil {
		f.Scope = "test"
		if *rule.Livemode {
			f.Scope = "live"
		}
	}
	for _, k := range rule.AppliesTo {
		f.Refunds = f.Refunds || k == store.RiskKindRefund
	}
	return f
}

type rulesData struct {
	Rules  []*store.RiskRule
	Lists  []*store.RiskList
	Kinds  []string
	Form   ruleForm
	DryRun *risk.DryRun
}

// riskRules lists the rules and lists and shows the editor: empty, filled
// with a rule (?rule=), or (POST) with a draft and its dry run.
func (h *Handler) riskRules(w http.ResponseWriter, r *http.Request) error {
	if h.cfg.Risk == nil {
		return errNotFound
	}
	ctx := r.Context()
	rules, _, err := h.cfg.Risk.ListRules(ctx, risk.Platform, store.RiskRuleFilter{ListParams: store.ListParams{Limit: 100}})
	if err != nil {
		return err
	}
	d := rulesData{Rules: rules, Kinds: risk.ListKinds, Form: ruleForm{Action: store.RiskBlock, Mode: risk.ModeEnforce, Priority: "100", Scope: "both", Days: 7}}
	if d.Lists, _, err = h.cfg.Risk.ListLists(ctx, store.ListParams{Limit: 100}); err != nil {
		return err
	}
	if ruleID := r.URL.Query().Get("rule"); ruleID != "" && r.Method == http.MethodGet {
		rule, err := h.platformRule(r, ruleID)
		if err != nil {
			return err
		}
		d.Form = formOf(rule)
	}
	if r.Method == http.MethodPost {
		if d.Form, err = readRuleForm(r); err != nil {
			return err
		}
		p, err := d.Form.params()
		if err != nil {
			return err
		}
		if d.Form.Name == "" {
			p.Name = nil // a draft needs no name to be tried
		}
		if d.DryRun, err = h.cfg.Risk.TestRule(ctx, p, d.Form.Days); err != nil {
			return err
		}
	}
	return h.page(w, r, "risk", "Risk rules", d)
}

// saveRule creates the draft (no rule id) or changes the rule it edits,
// through risk.Service; the editor offers it only under the draft's dry run.
func (h *Handler) saveRule(w http.ResponseWriter, r *http.Request) error {
	if h.cfg.Risk == nil {
		return errNotFound
	}
	f, err := readRuleForm(r)
	if err != nil {
		return err
	}
	p, err := f.params()
	if err != nil {
		return err
	}
	var rule *store.RiskRule
	if f.RuleID == "" {
		rule, err = h.cfg.Risk.CreateRule(r.Context(), risk.Platform, p)
	} else if _, err = h.platformRule(r, f.RuleID); err == nil {
		rule, err = h.cfg.Risk.UpdateRule(r.Context(), risk.Platform, f.RuleID, p)
	}
	if err != nil {
		return err
	}
	h.cfg.Log.Info("console risk rule saved", "user", principalOf(r).User.ID, "rule", rule.ID, "name", rule.Name)
	return back(w, r, "/console/risk#"+rule.ID, "Rule saved.")
}

// errMerchantRule: the editor writes the platform's rules; a merchant's own
// rules are the merchant's to write (operators may turn them off).
var errMerchantRule = errs.Invalid("merchant_rule", "This is a merchant's own rule: the merchant edits it (you may disable it).")

// platformRule returns a rule the editor may change.
func (h *Handler) platformRule(r *http.Request, ruleID string) (*store.RiskRule, error) {
	rule, err := h.cfg.Risk.GetRule(r.Context(), risk.Platform, ruleID)
	if err != nil {
		return nil, err
	}
	if rule.Owner != store.RiskOwnerPlatform {
		return nil, errMerchantRule
	}
	return rule, nil
}

// toggleRule turns a rule off or on again.
func (h *Handler) toggleRule(w http.ResponseWriter, r *http.Request) error {
	if h.cfg.Risk == nil {
		return errNotFound
	}
	var off bool
	switch r.PathValue("state") {
	case "disable":
		off = true
	case "enable":
	default:
		return errNotFound
	}
	rule, err := h.cfg.Risk.UpdateRule(r.Context(), risk.Platform, r.PathValue("id"), risk.RuleParams{Disabled: &off})
	if err != nil {
		return err
	}
	return back(w, r, "/console/risk#"+rule.ID, "Rule saved.")
}

// createList makes a list (risk.Service.CreateList) and opens it.
func (h *Handler) createList(w http.ResponseWriter, r *http.Request) error {
	if h.cfg.Risk == nil {
		return errNotFound
	}
	l, err := h.cfg.Risk.CreateList(r.Context(), risk.CreateListParams{Name: strings.TrimSpace(r.PostFormValue("name")),
		Kind: r.PostFormValue("kind"), Description: strings.TrimSpace(r.PostFormValue("description"))})
	if err != nil {
		return err
	}
	return back(w, r, "/console/risk/lists/"+l.ID, "List created.")
}

type listData struct {
	List    *store.RiskList
	Entries []*store.RiskListEntry
}

// riskList shows a list's entries, with forms to add and remove them.
func (h *Handler) riskList(w http.ResponseWriter, r *http.Request) error {
	if h.cfg.Risk == nil {
		return errNotFound
	}
	l, err := h.cfg.Risk.GetList(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	es, err := h.cfg.Risk.Entries(r.Context(), l.ID)
	if err != nil {
		return err
	}
	return h.page(w, r, "risk_list", "Risk list", listData{List: l, Entries: es})
}

// addEntries adds one value per line of the form (risk.Service.AddEntries
// checks and normalises each for the list's kind).
func (h *Handler) addEntries(w http.ResponseWriter, r *http.Request) error {
	if h.cfg.Risk == nil {
		return errNotFound
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	var ps []risk.EntryParams
	for _, v := range strings.Split(r.PostFormValue("values"), "\n") {
		if v = strings.TrimSpace(v); v != "" {
			ps = append(ps, risk.EntryParams{Value: v, Reason: reason})
		}
	}
	l, err := h.cfg.Risk.AddEntries(r.Context(), r.PathValue("id"), ps)
	if err != nil {
		return err
	}
	return back(w, r, "/console/risk/lists/"+l.ID, "Entries added.")
}

// deleteEntry removes one value from a list.
func (h *Handler) deleteEntry(w http.ResponseWriter, r *http.Request) error {
	if h.cfg.Risk == nil {
		return errNotFound
	}
	listID := r.PathValue("id")
	if err := h.cfg.Risk.DeleteEntry(r.Context(), listID, r.PostFormValue("value")); err != nil {
		return err
	}
	return back(w, r, "/console/risk/lists/"+url.PathEscape(listID), "Entry removed.")
}
