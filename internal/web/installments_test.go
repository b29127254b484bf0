package web_test

import (
	"testing"

	"github.com/paygate/paygate/internal/payment"
)

// TestPageShowsInstallmentPlan: an order to be paid in instalments shows
// its plan before the payer picks a method: each instalment's amount, the
// first one's when the total does not divide, the fee with its rate and
// who pays it, and the total, in English and Chinese; only methods that
// take that many instalments are offered.
func TestPageShowsInstallmentPlan(t *testing.T) {
	t.Parallel()
	b := setup(t)
	o := b.order(false, payment.CreateOrderParams{Amount: 100000, Currency: "CNY", Subject: "Sofa",
		Installments: &payment.InstallmentsParams{Count: 3, FeePayer: "payer"}})
	// ¥1,000.00 + 2.30 % (¥23.00) = ¥1,023.00 in 3: ¥341.00 each.
	r := b.get("/pay/"+o.ID, "en")
	wantStatus(t, r, 200)
	mustContain(t, r.body, `<dd id="plan-each">3 instalments of CN¥341.00</dd>`,
		`<dd id="plan-fee">CN¥23.00 (2.30%, paid by you)</dd>`, `<dd id="plan-total">CN¥1,023.00</dd>`,
		`id="method-sandbox"`)
	mustNotContain(t, r.body, `id="plan-first"`)
	r = b.get("/pay/"+o.ID, "zh-CN")
	mustContain(t, r.body, `<dd id="plan-each">分 3 期，每期 ¥341.00</dd>`, `(2.30%, 由您承担)`, "分期计划", "应还总额")

	m := b.order(false, payment.CreateOrderParams{Amount: 100000, Currency: "CNY", Subject: "Sofa",
		Installments: &payment.InstallmentsParams{Count: 12, FeePayer: "merchant"}})
	// The merchant pays 7.50 %: the payer repays ¥1,000.00 in 12, the
	// first ¥83.37 and then ¥83.33.
	r = b.get("/pay/"+m.ID, "en")
	mustContain(t, r.body, `<dd id="plan-each">12 instalments of CN¥83.33</dd>`, `<dd id="plan-first">CN¥83.37</dd>`,
		`<dd id="plan-fee">CN¥75.00 (7.50%, paid by the merchant)</dd>`, `<dd id="plan-total">CN¥1,000.00</dd>`)
}
