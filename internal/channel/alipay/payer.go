package alipay

import (
	"fmt"
	"strconv"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/money"
)

// payTerms are a cross-border trade's currencies as Alipay reports them:
// trans_currency (标价币种, the currency total_amount is in; "" for CNY),
// pay_currency (订单支付币种) and pay_amount (支付币种订单金额, yuan with two
// decimals), and trans_pay_rate (标价币种兑换支付币种汇率: pay_currency units
// per unit of trans_currency). The names are alipay.trade.query's response
// parameters (open platform documentation and the SDK's
// AlipayTradeQueryResponse); the trade_status_sync callback is read for the
// same names when it carries them.
type payTerms struct {
	TransCurrency string `json:"trans_currency"`
	PayCurrency   string `json:"pay_currency"`
	PayAmount     string `json:"pay_amount"`
	TransPayRate  string `json:"trans_pay_rate"`
}

// fill sets the order's currency (trans_currency, CNY when none) and, when
// the payer paid in another currency, what the payer paid and the rate.
// Only two-decimal currencies are written as yuan-like amounts, so
// pay_amount is read as such; a pay_currency of other decimals is not
// reported rather than misread.
func (p payTerms) fill(currency *string, payerAmount *int64, payerCurrency, rate *string) error {
	*currency = "CNY"
	if p.TransCurrency != "" {
		*currency = p.TransCurrency
	}
	if p.PayCurrency == "" || p.PayAmount == "" || p.PayCurrency == *currency || !twoDecimals(p.PayCurrency) {
		return nil
	}
	fen, err := parseYuan(p.PayAmount)
	if err != nil {
		return fmt.Errorf("pay_amount: %w", err)
	}
	if p.TransPayRate != "" {
		if r, err := strconv.ParseFloat(p.TransPayRate, 64); err != nil || r <= 0 {
			return fmt.Errorf("trans_pay_rate %q is not a rate", p.TransPayRate)
		}
	}
	*payerAmount, *payerCurrency, *rate = fen, p.PayCurrency, p.TransPayRate
	return nil
}

// fillQuery fills q from the trade's payTerms.
func (p payTerms) fillQuery(q *channel.QueryResponse) error {
	return p.fill(&q.Currency, &q.PayerAmount, &q.PayerCurrency, &q.ExchangeRate)
}

// fillNotification fills n from the callback's payTerms.
func (p payTerms) fillNotification(n *channel.Notification) error {
	return p.fill(&n.Currency, &n.PayerAmount, &n.PayerCurrency, &n.ExchangeRate)
}

// twoDecimals reports whether currency has minor units of two decimals.
func twoDecimals(currency string) bool {
	e, ok := money.Exponent(currency)
	return ok && e == 2
}
