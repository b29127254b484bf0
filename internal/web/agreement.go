package web

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/paygate/paygate/internal/billing"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/store"
)

// agreementView is the page of an agreement.
type agreementView struct {
	base
	ID, Merchant, MerchantInitial, Description, Max, Period, Method string
	State                                                           string // pending, active, terminated
	ReturnURL                                                       string
	Notice                                                          string
}

// agreementPage serves GET /pay/{id} for an agreement's id: the agreement's plan and,
// while it waits for the payer of a test-mode one, the test payer's
// buttons. Agreements signed at a channel's own page (WeChat Pay, Alipay)
// show their state only.
func (h *Handler) agreementPage(w http.ResponseWriter, r *http.Request) error {
	if h.cfg.Billing == nil {
		return errs.OrderNotFound
	}
	a, err := h.cfg.Billing.PageAgreement(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	m, err := h.cfg.Store.MerchantGet(r.Context(), a.MerchantID)
	if err != nil {
		return err
	}
	t := textsFor(r)
	v := agreementView{base: h.base(r, t), ID: a.ID, Merchant: m.Name, MerchantInitial: initial(m.Name), Description: a.Description,
		Max: fmt.Sprintf(t.AgreementMax, symbolOf(a.Currency, t)+money.Format(a.MaxAmountPerCharge, a.Currency)), Period: fmt.Sprintf(t.AgreementPeriod, a.Period),
		Method: labelOf(a.Method, t).Name, State: string(a.Status), Notice: t.Notices[r.URL.Query().Get("notice")]}
	v.Test = !a.Livemode
	if a.Status != store.AgreementPending {
		v.ReturnURL = a.ReturnURL
	}
	h.render(w, http.StatusOK, "agreement", v)
	return nil
}

// agreementTest serves POST /pay/{id}/test for an agreement's id: the test payer
// signs or refuses a test-mode agreement (billing.Service.TestPayer).
func (h *Handler) agreementTest(w http.ResponseWriter, r *http.Request) error {
	if h.cfg.Billing == nil {
		return errs.OrderNotFound
	}
	a, err := h.cfg.Billing.PageAgreement(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if a.Livemode {
		return errs.TestModeOnly
	}
	action := billing.PayerSign
	if r.PostFormValue("outcome") == "refused" {
		action = billing.PayerRefuse
	}
	sc := store.Scope{MerchantID: a.MerchantID, AppID: a.AppID, Livemode: a.Livemode}
	_, err = h.cfg.Billing.TestPayer(r.Context(), sc, a.ID, action)
	q := url.Values{}
	if l := explicitLang(r); l != "" {
		q.Set("lang", l)
	}
	if err != nil {
		e := errs.As(err)
		if e.Kind != errs.KindConflict && e.Kind != errs.KindInvalid {
			return err
		}
		q.Set("notice", e.Code)
	}
	target := "/pay/" + a.ID
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}
