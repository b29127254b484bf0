package wechatpay

// WeChat Pay Global (cross-border, 境外直连): the /v3/global/ API, signed
// and answered like the domestic one, its notifications encrypted the
// same way.
//
// Served: POST /v3/global/transactions/{native,jsapi,app,mweb}; GET
// /v3/global/transactions/out-trade-no/{no}?mchid= and …/id/{id}?mchid=;
// POST …/out-trade-no/{no}/close; POST /v3/global/refunds; GET
// /v3/global/refunds/out-refund-no/{no}?mchid= and …/id/{id}?mchid=.
//
// A create needs trade_type (the path's: NATIVE, JSAPI, APP, MWEB),
// merchant_category_code (four digits) and amount.currency, one of the
// simulator's rates (SetExchangeRate; by default USD 7.1234, EUR 7.7, GBP
// 9.0, HKD 0.91, JPY 0.04765432 CNY per unit); total is in the currency's
// minor units. When the payer pays, payer_total is total converted to CNY
// fen at the trade's rate, rounded half to even, and the trade (queried or
// notified) carries id, amount {total, currency, payer_total,
// payer_currency CNY} and exchange_rate {type SETTLEMENT_RATE, rate × 10^8}.
// A refund is in the trade's currency; payer_refund is its share
// converted the same way, the refund that completes the trade taking what
// is left of payer_total so that the refunds add up to it. A refund's
// create answer carries no status (as WeChat's table shows); its query and
// its REFUND.* notification do.
//
// Simplified: one merchant for both APIs (a trade belongs to the API that
// created it; the other answers ORDER_NOT_EXIST); the rate is fixed per
// currency, not per day; no settlement currency, statements or profit
// sharing; global trades are left out of the domestic trade bill.

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/money"
)

// globalTerms are a global trade's currency, rate (CNY per unit × 10^8)
// and, once paid, what the payer paid in CNY fen.
type globalTerms struct {
	Currency   string
	Rate       int64
	PayerTotal int64
	MCC        string
}

// defaultRates are the simulator's test rates to CNY, × 10^8.
func defaultRates() map[string]int64 {
	return map[string]int64{
		"USD": 712340000, "EUR": 770000000, "GBP": 900000000, "HKD": 91000000, "JPY": 4765432,
	}
}

// SetExchangeRate sets the rate (CNY per unit of currency, × 10^8) that
// trades in currency created from now on are paid at; 0 removes the
// currency (its creates are then refused).
func (s *Sim) SetExchangeRate(currency string, rate int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rate <= 0 {
		delete(s.rates, currency)
		return
	}
	s.rates[currency] = rate
}

// PayerTotal returns what the payer paid (CNY fen) for a paid global
// trade, and the rate it was converted at; ok is false for any other.
func (s *Sim) PayerTotal(outTradeNo string) (fen, rate int64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.trades[outTradeNo]
	if t == nil || t.global == nil || !t.paid() {
		return 0, 0, false
	}
	return t.global.PayerTotal, t.global.Rate, true
}

// convert turns amount minor units of currency into CNY fen at rate (× 10^8),
// rounding half to even: amount × rate × 10^2 / (10^8 × 10^exponent).
func convert(amount int64, currency string, rate int64) int64 {
	exp, _ := money.Exponent(currency)
	num := new(big.Int).Mul(big.NewInt(amount), big.NewInt(rate))
	num.Mul(num, big.NewInt(100))
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(8+exp)), nil)
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	switch r.Mul(r, big.NewInt(2)).Cmp(den) {
	case 1:
		q.Add(q, big.NewInt(1))
	case 0:
		if q.Bit(0) == 1 {
			q.Add(q, big.NewInt(1))
		}
	}
	return q.Int64()
}

// globalCreateTerms checks a global create's own fields; nil terms with
// the refusal when they are wrong.
func (s *Sim) globalCreateTerms(kind, tradeType, mcc, currency string, settleInfo bool) (*globalTerms, int, any) {
	refuse := func(msg string) (*globalTerms, int, any) {
		st, b := paramError(msg)
		return nil, st, b
	}
	if kind == "h5" {
		kind = "mweb"
	}
	want := map[string]string{"native": "NATIVE", "jsapi": "JSAPI", "app": "APP", "mweb": "MWEB"}[kind]
	switch {
	case tradeType != want:
		return refuse("trade_type 应为 " + want)
	case len(mcc) != 4 || strings.Trim(mcc, "0123456789") != "":
		return refuse("merchant_category_code 格式错误")
	case settleInfo:
		return refuse("不支持 settle_info")
	}
	s.mu.Lock()
	rate, ok := s.rates[currency]
	s.mu.Unlock()
	if !ok {
		return refuse("amount.currency 不支持的币种: " + currency)
	}
	return &globalTerms{Currency: currency, Rate: rate, MCC: mcc}, 0, nil
}

// sameAPI reports whether a call of r's API (global or domestic) may see t.
func sameAPI(r *v3Request, t *trade) bool {
	return strings.HasPrefix(r.URL.Path, "/v3/global/") == (t.global != nil)
}

// globalView is a global trade as queried and notified.
type globalView struct {
	AppID          string            `json:"appid"`
	MchID          string            `json:"mchid"`
	OutTradeNo     string            `json:"out_trade_no"`
	ID             string            `json:"id,omitempty"`
	TradeType      string            `json:"trade_type,omitempty"`
	TradeState     string            `json:"trade_state"`
	TradeStateDesc string            `json:"trade_state_desc"`
	BankType       string            `json:"bank_type,omitempty"`
	Attach         string            `json:"attach"`
	SuccessTime    string            `json:"success_time,omitempty"`
	Payer          *payerView        `json:"payer,omitempty"`
	Amount         globalAmountView  `json:"amount"`
	ExchangeRate   *exchangeRateView `json:"exchange_rate,omitempty"`
}

type globalAmountView struct {
	Total         int64  `json:"total"`
	Currency      string `json:"currency"`
	PayerTotal    *int64 `json:"payer_total,omitempty"`
	PayerCurrency string `json:"payer_currency,omitempty"`
}

type exchangeRateView struct {
	Type string `json:"type"`
	Rate int64  `json:"rate"`
}

// anyView is the trade as its API shows it.
func (t *trade) anyView() any {
	if t.global == nil {
		return t.view()
	}
	g := t.global
	v := globalView{
		AppID: AppID, MchID: MchID, OutTradeNo: t.OutTradeNo, ID: t.TransactionID, TradeType: t.TradeType,
		TradeState: t.State, TradeStateDesc: t.StateDesc, Attach: t.Attach,
		Amount: globalAmountView{Total: t.Total, Currency: g.Currency},
	}
	if !t.PaidAt.IsZero() {
		payerTotal := g.PayerTotal
		v.BankType, v.SuccessTime = "OTHERS", t.PaidAt.In(cst).Format(time.RFC3339)
		v.Payer, v.Amount.PayerTotal, v.Amount.PayerCurrency = &payerView{OpenID: t.OpenID}, &payerTotal, "CNY"
		v.ExchangeRate = &exchangeRateView{Type: "SETTLEMENT_RATE", Rate: g.Rate}
	}
	return v
}

func (s *Sim) globalRoutes() {
	for _, kind := range []string{"native", "jsapi", "app", "mweb"} {
		k := kind
		if k == "mweb" {
			k = "h5"
		}
		s.mux.Handle("POST /v3/global/transactions/"+kind, s.v3(func(r *v3Request) (int, any) { return s.create(r, k) }))
	}
	s.mux.Handle("GET /v3/global/transactions/out-trade-no/{no}", s.v3(s.queryByOutTradeNo))
	s.mux.Handle("GET /v3/global/transactions/id/{id}", s.v3(s.queryByTransactionID))
	s.mux.Handle("POST /v3/global/transactions/out-trade-no/{no}/close", s.v3(s.close))
	s.mux.Handle("POST /v3/global/refunds", s.v3(s.globalRefund))
	s.mux.Handle("GET /v3/global/refunds/out-refund-no/{no}", s.v3(s.globalRefundQuery))
	s.mux.Handle("GET /v3/global/refunds/id/{id}", s.v3(s.globalRefundQuery))
}

// globalRefundView is a global refund as answered and queried.
type globalRefundView struct {
	ID            string `json:"id"`
	OutRefundNo   string `json:"out_refund_no"`
	TransactionID string `json:"transaction_id"`
	OutTradeNo    string `json:"out_trade_no"`
	Channel       string `json:"channel"`
	RecvAccount   string `json:"recv_account"`
	SuccessTime   string `json:"success_time,omitempty"`
	CreateTime    string `json:"create_time"`
	Status        string `json:"status,omitempty"`
	Amount        struct {
		Refund        int64            `json:"refund"`
		Currency      string           `json:"currency"`
		PayerRefund   int64            `json:"payer_refund"`
		PayerCurrency string           `json:"payer_currency"`
		ExchangeRate  exchangeRateView `json:"exchange_rate"`
	} `json:"amount"`
}

// globalView is the refund as queried (withStatus) or as the create answers.
func (rf *refund) globalView(withStatus bool) globalRefundView {
	v := globalRefundView{
		ID: rf.RefundID, OutRefundNo: rf.OutRefundNo, TransactionID: rf.trade.TransactionID, OutTradeNo: rf.trade.OutTradeNo,
		Channel: "ORIGINAL", RecvAccount: "支付用户零钱", CreateTime: rf.CreatedAt.In(cst).Format(time.RFC3339),
	}
	if withStatus {
		v.Status = rf.Status
	}
	if !rf.SuccessAt.IsZero() {
		v.SuccessTime = rf.SuccessAt.In(cst).Format(time.RFC3339)
	}
	v.Amount.Refund, v.Amount.Currency, v.Amount.PayerRefund, v.Amount.PayerCurrency = rf.Amount, rf.trade.global.Currency, rf.payerRefund, "CNY"
	v.Amount.ExchangeRate = exchangeRateView{Type: "SETTLEMENT_RATE", Rate: rf.trade.global.Rate}
	return v
}

// globalRefund serves POST /v3/global/refunds.
func (s *Sim) globalRefund(r *v3Request) (int, any) {
	var req struct {
		MchID string `json:"mchid"`
		AppID string `json:"appid"`
		refundBody
	}
	if err := json.Unmarshal(r.body, &req); err != nil {
		return paramError("请求体不是合法的JSON: " + err.Error())
	}
	switch {
	case req.MchID != MchID:
		return fail(http.StatusBadRequest, "MCH_NOT_EXISTS", "商户号不存在")
	case req.OutTradeNo == "" && req.TransactionID == "":
		return paramError("transaction_id 和 out_trade_no 必须二选一")
	case req.OutRefundNo == "" || req.Amount == nil || req.Amount.Currency == "":
		return paramError("缺少必填参数 (out_refund_no, amount.currency)")
	case !outTradeNoPattern.MatchString(req.OutRefundNo):
		return paramError("out_refund_no 格式错误")
	case req.Amount.Refund <= 0 || req.Amount.Total <= 0:
		return paramError("amount.refund 和 amount.total 必须大于0")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.refundedTradeLocked(req.OutTradeNo, req.TransactionID)
	if t == nil || t.global == nil || (req.TransactionID != "" && t.TransactionID != req.TransactionID) {
		return fail(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "订单不存在")
	}
	fp := fmt.Sprintf("%s|%d|%d|%s", t.OutTradeNo, req.Amount.Refund, req.Amount.Total, req.Amount.Currency)
	if rf := s.refunds[req.OutRefundNo]; rf != nil {
		if rf.fingerprint != fp {
			return fail(http.StatusBadRequest, "INVALID_REQUEST", "退款单号已存在,请求参数与原退款不一致")
		}
		return http.StatusOK, rf.globalView(false)
	}
	switch {
	case !t.paid():
		return fail(http.StatusBadRequest, "INVALID_REQUEST", "订单状态不正确,当前状态 "+t.State)
	case req.Amount.Currency != t.global.Currency:
		return paramError("amount.currency 与原订单币种不一致")
	case req.Amount.Total != t.Total:
		return paramError("订单金额 amount.total 与原订单金额不一致")
	case t.Refunded+req.Amount.Refund > t.Total:
		return fail(http.StatusBadRequest, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
	}
	var payerRefunded int64
	for _, rf := range s.refunds {
		if rf.trade == t {
			payerRefunded += rf.payerRefund
		}
	}
	payer := min(convert(req.Amount.Refund, t.global.Currency, t.global.Rate), t.global.PayerTotal-payerRefunded)
	if t.Refunded+req.Amount.Refund == t.Total {
		payer = t.global.PayerTotal - payerRefunded // the last refund takes what is left
	}
	rf := &refund{
		OutRefundNo: req.OutRefundNo, RefundID: s.nextIDLocked("5030", 17), Status: "PROCESSING", Reason: req.Reason,
		NotifyURL: req.NotifyURL, trade: t, Amount: req.Amount.Refund, fingerprint: fp, CreatedAt: s.clock.Now(),
		payerRefund: payer,
	}
	s.refunds[rf.OutRefundNo] = rf
	t.Refunded += rf.Amount
	t.setState(stateRefund)
	s.later(s.opts.Scaled(refundSettle), func() { s.settleRefund(rf) })
	return http.StatusOK, rf.globalView(false)
}

// globalRefundQuery serves GET /v3/global/refunds/out-refund-no/{no} and …/id/{id}.
func (s *Sim) globalRefundQuery(r *v3Request) (int, any) {
	if st, b, ok := checkMchIDQuery(r); !ok {
		return st, b
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rf := s.refunds[r.PathValue("no")]
	if id := r.PathValue("id"); id != "" {
		rf = nil
		for _, c := range s.refunds {
			if c.RefundID == id {
				rf = c
			}
		}
	}
	if rf == nil || rf.trade.global == nil {
		return fail(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "退款单不存在")
	}
	return http.StatusOK, rf.globalView(true)
}
