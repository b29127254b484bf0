package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/paygate/paygate/internal/account"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/settlement"
	"github.com/paygate/paygate/internal/store"
)

func (h *Handler) merchants(w http.ResponseWriter, r *http.Request) error {
	ms, _, err := h.cfg.Store.MerchantList(r.Context(), store.ListParams{Limit: 100, StartingAfter: r.URL.Query().Get("before")})
	if err != nil {
		return err
	}
	return h.page(w, r, "merchants", "Merchants", ms)
}

func (h *Handler) createMerchant(w http.ResponseWriter, r *http.Request) error {
	bps, err := atoiField(r, "fee_rate_bps")
	if err != nil {
		return err
	}
	m, err := h.cfg.Accounts.CreateMerchant(r.Context(), account.MerchantParams{Name: r.PostFormValue("name"),
		Timezone: r.PostFormValue("timezone"), SettlementCurrency: r.PostFormValue("currency"), FeeRateBps: bps})
	if err != nil {
		return err
	}
	return back(w, r, "/console/merchants/"+m.ID, "Merchant created.")
}

func atoiField(r *http.Request, name string) (int, error) {
	v := strings.TrimSpace(r.PostFormValue(name))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errs.InvalidParam(name, name+" must be a whole number.")
	}
	return n, nil
}

type appView struct {
	App  *store.App
	Keys []*store.Key
}

type merchantData struct {
	Merchant *store.Merchant
	Settings *store.SettlementSettings
	Apps     []appView
	Users    []*store.ConsoleUser
	Routes   []*store.Route
	// Secrets are shown once, right after they were made.
	Secrets map[string]string
	Invite  string
}

func (h *Handler) merchant(w http.ResponseWriter, r *http.Request) error {
	return h.showMerchant(w, r, r.PathValue("id"), nil, "")
}

func (h *Handler) showMerchant(w http.ResponseWriter, r *http.Request, merchantID string, secrets map[string]string, invite string) error {
	ctx := r.Context()
	m, err := h.cfg.Store.MerchantGet(ctx, merchantID)
	if err != nil {
		return notFound(err)
	}
	d := merchantData{Merchant: m, Secrets: secrets, Invite: invite}
	if h.cfg.Settlements != nil {
		_, d.Settings, _ = h.cfg.Settlements.Settings(ctx, m.ID)
	}
	apps, _, err := h.cfg.Store.AppList(ctx, m.ID, store.ListParams{Limit: 100})
	if err != nil {
		return err
	}
	for _, a := range apps {
		keys, err := h.cfg.Store.KeyList(ctx, a.ID)
		if err != nil {
			return err
		}
		d.Apps = append(d.Apps, appView{App: a, Keys: keys})
	}
	if d.Users, err = h.cfg.Store.ConsoleUserList(ctx, store.ConsoleMerchant, m.ID); err != nil {
		return err
	}
	if d.Routes, err = h.cfg.Store.RouteList(ctx, m.ID); err != nil {
		return err
	}
	return h.page(w, r, "merchant", m.Name, d)
}

func (h *Handler) createApp(w http.ResponseWriter, r *http.Request) error {
	na, err := h.cfg.Accounts.CreateApp(r.Context(), r.PathValue("id"), account.AppParams{Name: r.PostFormValue("name"),
		Mode: r.PostFormValue("mode")})
	if err != nil {
		return notFound(err)
	}
	return h.showMerchant(w, r, na.App.MerchantID, map[string]string{
		"Secret key": na.SecretKey, "Signing secret": na.SigningSecret, "Webhook secret": na.WebhookSecret}, "")
}

// createKey adds a key to an app (rotation: add, move the integration, revoke the old).
func (h *Handler) createKey(w http.ResponseWriter, r *http.Request) error {
	k, secret, err := h.cfg.Accounts.CreateKey(r.Context(), r.PathValue("id"), account.KeyParams{Alg: r.PostFormValue("alg")})
	if err != nil {
		return notFound(err)
	}
	return h.showMerchant(w, r, k.MerchantID, map[string]string{k.ID: secret}, "")
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request) error {
	k, err := h.cfg.Accounts.RevokeKey(r.Context(), r.PathValue("id"))
	if err != nil {
		return notFound(err)
	}
	return back(w, r, "/console/merchants/"+k.MerchantID, "Key revoked.")
}

// updateFees sets one method's fee (or, without a method, the fixed fee per payment).
func (h *Handler) updateFees(w http.ResponseWriter, r *http.Request) error {
	if h.cfg.Settlements == nil {
		return errNotFound
	}
	ctx := r.Context()
	merchantID := r.PathValue("id")
	_, cur, err := h.cfg.Settlements.Settings(ctx, merchantID)
	if err != nil {
		return notFound(err)
	}
	var p settlement.SettingsParams
	method := strings.TrimSpace(r.PostFormValue("method"))
	bps, err := atoiField(r, "fee_rate_bps")
	if err != nil {
		return err
	}
	fixed, err := atoiField(r, "fixed_fee")
	if err != nil {
		return err
	}
	if method == "" {
		f := int64(fixed)
		p.FixedFee = &f
	} else {
		fees := []store.MethodFee{}
		for _, mf := range cur.MethodFees {
			if mf.Method != method {
				fees = append(fees, mf)
			}
		}
		p.MethodFees = append(fees, store.MethodFee{Method: method, FeeRateBps: bps, FixedFee: int64(fixed)})
	}
	if _, _, err := h.cfg.Settlements.UpdateSettings(ctx, merchantID, p); err != nil {
		return err
	}
	return back(w, r, "/console/merchants/"+merchantID, "Fees saved.")
}

type usersData struct {
	Users  []*store.ConsoleUser
	Invite string
}

// usersPage lists the operators (for operators) or the merchant's users.
func (h *Handler) usersPage(w http.ResponseWriter, r *http.Request) error {
	return h.showUsers(w, r, "")
}

func (h *Handler) showUsers(w http.ResponseWriter, r *http.Request, invite string) error {
	p := principalOf(r)
	kind, merchant := store.ConsoleOperator, ""
	if !p.Operator() {
		kind, merchant = store.ConsoleMerchant, p.User.MerchantID
	}
	us, err := h.cfg.Store.ConsoleUserList(r.Context(), kind, merchant)
	if err != nil {
		return err
	}
	return h.page(w, r, "users", "Users", usersData{Users: us, Invite: invite})
}

// inviteUser invites a user: an operator invites operators, or (with a
// merchant field) a merchant's users; a merchant's admin invites users of
// their own merchant. The link is shown once, to pass on.
func (h *Handler) inviteUser(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	n := NewUser{Kind: store.ConsoleOperator, Email: r.PostFormValue("email"), Name: r.PostFormValue("name"), Role: r.PostFormValue("role")}
	if m := r.PostFormValue("merchant"); m != "" || !p.Operator() {
		n.Kind, n.MerchantID = store.ConsoleMerchant, m
		if !p.Operator() {
			n.MerchantID = p.User.MerchantID
		}
	}
	u, token, err := h.users.Add(r.Context(), n)
	if err != nil {
		return err
	}
	h.cfg.Log.Info("console user invited", "by", p.User.ID, "user", u.ID, "kind", u.Kind, "merchant", u.MerchantID)
	link := strings.TrimRight(h.cfg.PublicURL, "/") + "/console/invite/" + token
	if p.Operator() && u.Kind == store.ConsoleMerchant {
		return h.showMerchant(w, r, u.MerchantID, nil, link)
	}
	return h.showUsers(w, r, link)
}

// disableUser turns a user off and ends their sessions.
func (h *Handler) disableUser(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	ctx := r.Context()
	u, err := h.cfg.Store.ConsoleUserGet(ctx, r.PathValue("id"))
	if err != nil || (!p.Operator() && u.MerchantID != p.User.MerchantID) || u.ID == p.User.ID {
		return errNotFound
	}
	u.Disabled, u.UpdatedAt = true, h.now()
	if err := h.cfg.Store.ConsoleUserUpdate(ctx, u); err != nil {
		return err
	}
	if _, err := h.cfg.Store.ConsoleSessionRevokeUser(ctx, u.ID, h.now()); err != nil {
		return err
	}
	to := "/console/users"
	if p.Operator() && u.Kind == store.ConsoleMerchant {
		to = "/console/merchants/" + u.MerchantID
	}
	return back(w, r, to, "User disabled.")
}

func (h *Handler) settlements(w http.ResponseWriter, r *http.Request) error {
	if h.cfg.Settlements == nil {
		return errNotFound
	}
	p := principalOf(r)
	live := p.Live()
	f := store.SettlementFilter{MerchantID: p.scopeMerchant(), Livemode: &live, Status: r.URL.Query().Get("status"),
		ListParams: store.ListParams{Limit: 100, StartingAfter: r.URL.Query().Get("before")}}
	if p.Operator() {
		f.MerchantID = r.URL.Query().Get("merchant")
	}
	ss, _, err := h.cfg.Settlements.List(r.Context(), f)
	if err != nil {
		return err
	}
	return h.page(w, r, "settlements", "Settlements", ss)
}

func (h *Handler) markPaid(w http.ResponseWriter, r *http.Request) error {
	if h.cfg.Settlements == nil {
		return errNotFound
	}
	ref := strings.TrimSpace(r.PostFormValue("bank_reference"))
	if ref == "" {
		return errs.Missing("bank_reference")
	}
	if _, err := h.cfg.Settlements.Pay(r.Context(), r.PathValue("id"), ref); err != nil {
		return err
	}
	return back(w, r, "/console/settlements", "Settlement marked as paid.")
}

func (h *Handler) reviews(w http.ResponseWriter, r *http.Request) error {
	if h.cfg.Risk == nil {
		return errNotFound
	}
	os, _, err := h.cfg.Risk.Reviews(r.Context(), store.ListParams{Limit: 100, StartingAfter: r.URL.Query().Get("before")})
	if err != nil {
		return err
	}
	return h.page(w, r, "reviews", "Review queue", os)
}

func (h *Handler) decide(w http.ResponseWriter, r *http.Request) error {
	orderID := r.PathValue("id")
	if !id.Valid(id.Order, orderID) {
		return errNotFound
	}
	var err error
	switch r.PathValue("decision") {
	case "approve":
		_, err = h.cfg.Payments.ApproveOrder(r.Context(), orderID)
	case "reject":
		_, err = h.cfg.Payments.RejectOrder(r.Context(), orderID)
	default:
		return errNotFound
	}
	if err != nil {
		return err
	}
	return back(w, r, "/console/reviews", "Decision recorded.")
}
