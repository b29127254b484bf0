package alipay

import "math/big"

// A trade in a trans_currency (标价币种) other than CNY is paid in CNY at
// the simulator's rate. Its query answer (alipay.trade.query: pay_currency
// 订单支付币种, pay_amount 支付币种订单金额, trans_pay_rate 标价币种兑换支付币种
// 汇率, as Alipay's response parameters name them) and, once paid, its
// trade_status_sync callback carry trans_currency, pay_currency CNY,
// pay_amount (yuan, two decimals: total_amount × rate, rounded half to
// even) and trans_pay_rate. Simplified: the rate is fixed per currency.

// payRates are the simulator's rates, CNY per unit of trans_currency, as
// Alipay writes trans_pay_rate.
var payRates = map[string]string{
	"USD": "7.1234", "EUR": "7.7", "GBP": "9.0", "HKD": "0.91", "SGD": "5.3", "AUD": "4.7",
	"CAD": "5.2", "CHF": "8.1", "NZD": "4.3", "SEK": "0.68", "DKK": "1.03", "NOK": "0.66",
}

// payTerms returns what the payer of t pays in CNY: pay_amount (fen) and
// trans_pay_rate; ok is false for a trade in CNY.
func (t tradeTerms) payTerms(total int64) (fen int64, rate string, ok bool) {
	rate, ok = payRates[t.transCurrency]
	if !ok {
		return 0, "", false
	}
	r, _ := new(big.Rat).SetString(rate)
	x := new(big.Rat).Mul(r, new(big.Rat).SetInt64(total))
	return roundHalfEven(x), rate, true
}

// putPay adds the CNY the payer pays for a paid trade of total (minor
// units of trans_currency) to an answer or callback about it.
func (t tradeTerms) putPay(total int64, put func(k, v string)) {
	fen, rate, ok := t.payTerms(total)
	if !ok {
		return
	}
	put("trans_currency", t.transCurrency)
	put("pay_currency", "CNY")
	put("pay_amount", yuan(fen))
	put("trans_pay_rate", rate)
}

// roundHalfEven rounds x to an integer, halves to even.
func roundHalfEven(x *big.Rat) int64 {
	num, den := new(big.Int).Set(x.Num()), x.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	twice := new(big.Int).Mul(m.Abs(m), big.NewInt(2))
	switch twice.Cmp(den) {
	case 1:
		q.Add(q, big.NewInt(int64(num.Sign())))
	case 0:
		if q.Bit(0) == 1 {
			q.Add(q, big.NewInt(int64(num.Sign())))
		}
	}
	return q.Int64()
}
