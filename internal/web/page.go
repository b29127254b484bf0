package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/paygate/paygate/internal/api"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/store"
)

// Cashier states: the order's status, or "expired" for an unpaid order past
// its expiry (closed by the worker, or not yet).
const (
	statePending    = "pending"
	stateProcessing = "processing"
	stateSucceeded  = "succeeded"
	stateFailed     = "failed"
	stateClosed     = "closed"
	stateExpired    = "expired"
)

// base is what every page has.
type base struct {
	T *texts
	// Lang is the payer's explicit choice ("en", "zh"), kept in forms; "" when
	// it came from Accept-Language.
	Lang string
	// SwitchURL shows the page in the other language; "" where it cannot.
	SwitchURL string
	Test      bool
}

func (h *Handler) base(r *http.Request, t *texts) base {
	b := base{T: t, Lang: explicitLang(r)}
	if r.Method == http.MethodGet && !strings.HasSuffix(r.URL.Path, ".png") {
		b.SwitchURL = r.URL.Path + "?lang=" + t.SwitchTo
	}
	return b
}

// messageView is the not-found and error page.
type messageView struct {
	base
	Title, Text string
	Kind        string // notfound, error
}

// methodView is one method the payer can pick.
type methodView struct {
	Value string
	methodLabel
}

// cashierView is the cashier page of one order.
type cashierView struct {
	base
	Title                                 string
	ID, OutTradeNo, Subject, Description  string
	Merchant, MerchantInitial             string
	Symbol, Number, Currency, AmountValue string

	State   string // see the state constants
	Payable bool   // pending or processing, and not expired
	// SecondsLeft until expiry by the server's clock; the script counts down from it.
	SecondsLeft int64
	Countdown   string

	// Action is what the payer does next: choose, qr, redirect, wait, inapp, or "".
	Action      string
	Methods     []methodView
	Chosen      methodView
	Hint        string
	RedirectURL string
	RedirectBtn string

	FailureMessage string
	ReturnURL      string // signed; "" when the order has no return_url or is not final
	ReturnLabel    string
	ReturningText  string
	AutoReturn     bool
	ReturnDelayMs  int64

	Notice string
	PollMs int64

	// CardForm offers the card form (orders for a customer, where a card
	// channel takes the order): the card may be saved, with the payer's
	// consent. Saved are the customer's saved cards.
	CardForm bool
	Saved    []savedView

	// Plan is the order's instalment plan, nil when it has none: shown
	// before the payer picks a method and pays.
	Plan *planView
}

// planView is an instalment plan as the cashier shows it, in the order's
// currency.
type planView struct {
	Each, First, Fee, Total, Rate, FeePayer string
	Uneven                                  bool
}

// planOf renders o's instalment plan in t's language.
func planOf(o *store.Order, t *texts) *planView {
	p := payment.PlanOf(o)
	if p == nil {
		return nil
	}
	amount := func(n int64) string { return symbolOf(o.Currency, t) + formatNumber(n, o.Currency, t) }
	v := &planView{Each: fmt.Sprintf(t.PlanInstallments, p.Count, amount(p.Each)), First: amount(p.First), Fee: amount(p.Fee),
		Total: amount(p.Total), Rate: fmt.Sprintf("%d.%02d%%", p.FeeRate/100, p.FeeRate%100), FeePayer: t.PlanFeeMerchant, Uneven: p.Remainder != 0}
	if p.PayerFee {
		v.FeePayer = t.PlanFeePayer
	}
	return v
}

// savedView is a saved card offered on the cashier.
type savedView struct {
	ID, Label, Glyph string
}

// cashier serves GET /pay/{id}: an order's page, or an agreement's.
func (h *Handler) cashier(w http.ResponseWriter, r *http.Request) error {
	if strings.HasPrefix(r.PathValue("id"), id.Agreement) {
		return h.agreementPage(w, r)
	}
	o, err := h.order(r.Context(), r)
	if err != nil {
		return err
	}
	t := textsFor(r)
	v, err := h.cashierView(r.Context(), r, t, o)
	if err != nil {
		return err
	}
	v.Notice = t.Notices[r.URL.Query().Get("notice")]
	h.render(w, http.StatusOK, "cashier", v)
	return nil
}

// state is o as the cashier shows it.
func (h *Handler) state(o *store.Order) string {
	switch {
	case h.cfg.Payments.OrderExpired(o):
		return stateExpired
	case o.Status == store.OrderClosed && o.ClosedAt != nil && !o.ClosedAt.Before(o.ExpiresAt):
		return stateExpired // closed by the expiry job
	}
	return string(o.Status)
}

func (h *Handler) secondsLeft(o *store.Order) int64 {
	d := o.ExpiresAt.Sub(h.cfg.Clock.Now())
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

func (h *Handler) cashierView(ctx context.Context, r *http.Request, t *texts, o *store.Order) (*cashierView, error) {
	m, err := h.cfg.Store.MerchantGet(ctx, o.MerchantID)
	if err != nil {
		return nil, fmt.Errorf("cashier: merchant of order %s: %w", o.ID, err)
	}
	v := &cashierView{
		base: h.base(r, t), ID: o.ID, OutTradeNo: o.OutTradeNo, Subject: o.Subject, Description: o.Description,
		Merchant: m.Name, MerchantInitial: initial(m.Name),
		Symbol: symbolOf(o.Currency, t), Number: formatNumber(o.Amount, o.Currency, t), Currency: o.Currency,
		AmountValue: money.Format(o.Amount, o.Currency),
		State:       h.state(o), PollMs: h.cfg.PollInterval.Milliseconds(), ReturnDelayMs: h.cfg.ReturnDelay.Milliseconds(),
	}
	v.Test = !o.Livemode
	v.Title = m.Name + " · " + t.Checkout
	v.Payable = v.State == statePending || v.State == stateProcessing
	v.Plan = planOf(o, t)
	if v.Payable {
		v.SecondsLeft = h.secondsLeft(o)
		v.Countdown = countdown(v.SecondsLeft)
	}
	switch v.State {
	case statePending:
		h.nextStep(ctx, v, t, o)
	case stateFailed:
		v.FailureMessage = o.FailureMessage
	}
	if o.Status == store.OrderSucceeded || o.Status == store.OrderFailed || o.Status == store.OrderClosed {
		ru, err := h.returnURL(ctx, o)
		if err != nil {
			// The payer still sees the result; only the way back is missing.
			h.cfg.Log.Error("cashier: sign return URL", "order", o.ID, "err", err)
		}
		v.ReturnURL = ru
		v.ReturnLabel = fmt.Sprintf(t.BackToMerchant, m.Name)
		v.ReturningText = fmt.Sprintf(t.Returning, m.Name)
		v.AutoReturn = ru != "" && o.Status == store.OrderSucceeded
	}
	return v, nil
}

// nextStep fills in what the payer of a pending order does next.
func (h *Handler) nextStep(ctx context.Context, v *cashierView, t *texts, o *store.Order) {
	if o.Method == "" {
		v.Action = "choose"
		for _, m := range h.cfg.Payments.CashierMethods(ctx, o) {
			v.Methods = append(v.Methods, methodView{Value: m, methodLabel: labelOf(m, t)})
		}
		h.cards(ctx, v, t, o)
		return
	}
	v.Chosen = methodView{Value: o.Method, methodLabel: labelOf(o.Method, t)}
	var na channel.NextAction
	if len(o.NextAction) > 0 {
		if err := json.Unmarshal(o.NextAction, &na); err != nil {
			h.cfg.Log.Warn("cashier: unreadable next_action", "order", o.ID, "err", err)
		}
	}
	switch {
	case na.Type == "qr_code" && na.QRCode != "":
		v.Action = "qr"
		v.Hint = fmt.Sprintf(t.ScanHint, v.Chosen.Name)
		if o.Method == "sandbox" {
			v.Hint = t.SandboxHint
		}
	case na.Type == "redirect" && externalURL(na.URL, o.ID):
		v.Action, v.RedirectURL = "redirect", na.URL
		v.RedirectBtn = fmt.Sprintf(t.ContinueTo, v.Chosen.Name)
	case na.Type == "sdk_params":
		v.Action = "inapp"
	case o.ChannelTradeNo == "" && len(h.cfg.Payments.CashierMethods(ctx, o)) > 0:
		// The channel was never reached (it was down at create): picking the
		// method again retries it.
		v.Action = "choose"
		v.Methods = []methodView{v.Chosen}
	default:
		v.Action = "wait" // the sandbox's stand-in pages, micropay and cards in flight
	}
}

// externalURL reports whether s is an http(s) URL other than this order's
// own cashier page (the sandbox answers page/wap/h5 with the cashier itself).
func externalURL(s, orderID string) bool {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return false
	}
	return u.Path != "/pay/"+orderID
}

// countdown renders seconds as m:ss, or h:mm:ss from an hour up.
func countdown(s int64) string {
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// initial is the first letter of name, for the merchant's badge.
func initial(name string) string {
	r, _ := utf8.DecodeRuneInString(strings.TrimSpace(name))
	if r == utf8.RuneError {
		return "·"
	}
	return string(unicode.ToUpper(r))
}

// selectMethod serves POST /pay/{id}/method: the payer picks a method for
// an order created without one.
func (h *Handler) selectMethod(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	unlock := h.locks.lock(id)
	defer unlock()
	_, err := h.cfg.Payments.SelectMethod(r.Context(), id, r.PostFormValue("method"), remoteIP(r))
	return h.afterAction(w, r, err)
}

// remoteIP is the address the request comes from (the payer's browser, or
// the last proxy before the gateway).
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	return host
}

// testPay serves POST /pay/{id}/test: in test mode, the payer's payment
// succeeds or fails through the sandbox (payment.Service.TestPay). Live
// orders are refused with 403.
func (h *Handler) testPay(w http.ResponseWriter, r *http.Request) error {
	if strings.HasPrefix(r.PathValue("id"), id.Agreement) {
		return h.agreementTest(w, r)
	}
	o, err := h.order(r.Context(), r)
	if err != nil {
		return err
	}
	if o.Livemode {
		return errs.TestModeOnly
	}
	outcome := r.PostFormValue("outcome")
	if outcome != "succeeded" && outcome != "failed" {
		return h.afterAction(w, r, errs.InvalidParam("outcome", `outcome must be "succeeded" or "failed".`))
	}
	if h.cfg.Payments.OrderExpired(o) {
		return h.afterAction(w, r, payment.ErrOrderExpired)
	}
	unlock := h.locks.lock(o.ID)
	defer unlock()
	sc := payment.Scope{MerchantID: o.MerchantID, AppID: o.AppID, Livemode: o.Livemode}
	_, err = h.cfg.Payments.TestPay(r.Context(), sc, o.ID, outcome == "succeeded")
	return h.afterAction(w, r, err)
}

// afterAction sends the payer back to the page after a form post (303, so a
// reload does not post again). A refusal the payer should read (the order
// was paid meanwhile, the channel is down…) comes back as a notice on the
// page; unknown orders and internal faults are error pages.
func (h *Handler) afterAction(w http.ResponseWriter, r *http.Request, err error) error {
	q := url.Values{}
	if l := explicitLang(r); l != "" {
		q.Set("lang", l)
	}
	if err != nil {
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind == errs.KindNotFound || (api.HTTPStatus(e) >= 500 && e.Kind != errs.KindChannel) {
			return err
		}
		if e.Kind == errs.KindChannel {
			h.logged(r, err)
		}
		q.Set("notice", e.Code)
	}
	target := "/pay/" + r.PathValue("id")
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// cards offers the customer's saved cards and the card form on the page of
// an order made for a customer, when a card channel serves it.
func (h *Handler) cards(ctx context.Context, v *cashierView, t *texts, o *store.Order) {
	if o.CustomerID == "" || h.cfg.Billing == nil || !h.cfg.Payments.CardsServed(ctx, o) {
		return
	}
	v.CardForm = true
	pms, err := h.cfg.Billing.CustomerMethods(ctx, o)
	if err != nil {
		h.cfg.Log.Error("cashier: saved cards", "order", o.ID, "err", err)
		return
	}
	for _, pm := range pms {
		brand := pm.Brand
		if brand != "" {
			brand = strings.ToUpper(brand[:1]) + brand[1:]
		}
		v.Saved = append(v.Saved, savedView{ID: pm.ID, Label: fmt.Sprintf(t.PayWithSaved, brand, pm.Last4), Glyph: labelOf("card", t).Glyph})
	}
}

// payCard serves POST /pay/{id}/card: the payer pays with the card they
// entered, saving it when they ticked the box. The card data is passed to
// the channel and never kept, logged or shown back.
func (h *Handler) payCard(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	month, _ := strconv.Atoi(r.PostFormValue("exp_month"))
	year, _ := strconv.Atoi(r.PostFormValue("exp_year"))
	if year > 0 && year < 100 {
		year += 2000
	}
	card := &channel.Card{Number: digitsOf(r.PostFormValue("number")), ExpMonth: month, ExpYear: year, CVC: r.PostFormValue("cvc")}
	unlock := h.locks.lock(id)
	defer unlock()
	_, err := h.cfg.Payments.PayWithCard(r.Context(), id, card, r.PostFormValue("save") == "on")
	return h.afterAction(w, r, err)
}

// digitsOf keeps the digits of a card number typed with spaces or dashes.
func digitsOf(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		case c == ' ' || c == '-':
		default:
			return s // not a number: let the validation say so
		}
	}
	return b.String()
}

// paySaved serves POST /pay/{id}/saved: the payer pays with a saved card.
func (h *Handler) paySaved(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	unlock := h.locks.lock(id)
	defer unlock()
	_, err := h.cfg.Payments.PayWithSaved(r.Context(), id, r.PostFormValue("payment_method"))
	return h.afterAction(w, r, err)
}
