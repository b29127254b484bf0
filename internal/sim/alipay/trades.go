package alipay

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/channel"
)

// Alipay's trade states.
const (
	waitBuyerPay  = "WAIT_BUYER_PAY"
	tradeSuccess  = "TRADE_SUCCESS"
	tradeClosed   = "TRADE_CLOSED"
	tradeFinished = "TRADE_FINISHED"
)

// How a trade was created.
const (
	kindPrecreate   = "precreate"
	kindBarcode     = "bar_code"
	kindPage        = "page"
	kindApp         = "app"
	kindWithholding = "withholding" // alipay.trade.pay on an agreement
)

type trade struct {
	outTradeNo string
	tradeNo    string
	kind       string
	status     string
	// exists is false for a precreated trade nobody has scanned: Alipay
	// answers TRADE_NOT_EXIST for it.
	exists    bool
	total     int64
	subject   string
	qrCode    string
	notifyURL string
	buyerID   string
	expires   time.Time
	createdAt time.Time
	paidAt    time.Time
	closedAt  time.Time
	refunded  int64
	refunds   []*refund
	// agreementNo is the agreement a withholding trade was charged on.
	agreementNo string
	// terms are the cross-border and instalment fields the trade was
	// created with.
	terms tradeTerms
	// royaltiesTaken are royalties taken back outside the API
	// (TakeRoyaltyBack), by trans_out_type + " " + trans_out.
	royaltiesTaken map[string]int64
}

// tradeTerms are a trade's cross-border currencies (trans_currency: the
// currency total_amount is in, "" for CNY; settle_currency) and Huabei
// instalments (extend_params.hb_fq_num, hb_fq_seller_percent).
type tradeTerms struct {
	transCurrency  string
	settleCurrency string
	hbFqNum        string
	sellerPercent  string
}

// crossBorderCurrencies are the currencies this simulator takes as
// trans_currency and settle_currency (Alipay's cross-border acquiring
// lists these among others; CNY is the default and may be named).
var crossBorderCurrencies = map[string]bool{"CNY": true, "USD": true, "EUR": true, "GBP": true, "HKD": true, "SGD": true,
	"AUD": true, "CAD": true, "CHF": true, "NZD": true, "SEK": true, "DKK": true, "NOK": true}

// termsOf reads and checks a create's cross-border and instalment fields.
func termsOf(req *request) (tradeTerms, *apiError) {
	t := tradeTerms{transCurrency: req.str("trans_currency"), settleCurrency: req.str("settle_currency")}
	if t.transCurrency != "" && !crossBorderCurrencies[t.transCurrency] {
		return t, business("ACQ.INVALID_PARAMETER", "参数无效: trans_currency")
	}
	if t.settleCurrency != "" && !crossBorderCurrencies[t.settleCurrency] {
		return t, business("ACQ.INVALID_PARAMETER", "参数无效: settle_currency")
	}
	if t.transCurrency == "CNY" {
		t.transCurrency = ""
	}
	ext, _ := req.biz["extend_params"].(map[string]any)
	t.hbFqNum, _ = ext["hb_fq_num"].(string)
	t.sellerPercent, _ = ext["hb_fq_seller_percent"].(string)
	switch {
	case t.hbFqNum == "" && t.sellerPercent == "":
	case t.hbFqNum != "3" && t.hbFqNum != "6" && t.hbFqNum != "12":
		return t, business("ACQ.INVALID_PARAMETER", "参数无效: hb_fq_num")
	case t.sellerPercent != "0" && t.sellerPercent != "100":
		return t, business("ACQ.INVALID_PARAMETER", "参数无效: hb_fq_seller_percent")
	}
	return t, nil
}

// put adds a trade's terms to an answer about it.
func (t tradeTerms) put(out map[string]any) {
	if t.transCurrency != "" {
		out["trans_currency"] = t.transCurrency
	}
	if t.settleCurrency != "" {
		out["settle_currency"] = t.settleCurrency
	}
	if t.hbFqNum != "" {
		out["hb_fq_pay_info"] = map[string]string{"user_install_num": t.hbFqNum}
	}
}

type refund struct {
	outRequestNo string // "" for the refund a cancel makes
	amount       int64
	at           time.Time
	// royalties are what the refund took back from royalty receivers
	// (refund_royalty_parameters), by trans_out_type + " " + trans_out.
	royalties map[string]int64
}

func (t *trade) refund(outRequestNo string) *refund {
	for _, r := range t.refunds {
		if r.outRequestNo == outRequestNo {
			return r
		}
	}
	return nil
}

// expire closes a waiting trade whose time_expire has passed. The caller holds s.mu.
func (s *Sim) expire(t *trade) {
	if t.status == waitBuyerPay && !t.expires.IsZero() && s.clock.Now().After(t.expires) {
		t.status, t.closedAt = tradeClosed, s.clock.Now()
	}
}

// lookup returns the trade as Alipay sees it (nil when it does not exist).
// The caller holds s.mu.
func (s *Sim) lookup(outTradeNo string) *trade {
	t := s.trades[outTradeNo]
	if t == nil || !t.exists {
		return nil
	}
	s.expire(t)
	return t
}

// newTradeNo is an Alipay-like 28-digit trade number. The caller holds s.mu.
func (s *Sim) newTradeNo() string {
	s.seq++
	return s.clock.Now().In(cst).Format("20060102") + "22001" + fmt.Sprintf("%015d", s.seq)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

var errTradeNotExist = business("ACQ.TRADE_NOT_EXIST", "交易不存在")

// validOutTradeNo: up to 64 letters, digits and underscores.
func validOutTradeNo(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// orderFields checks out_trade_no, total_amount and subject.
func orderFields(req *request) (no string, total int64, e *apiError) {
	for _, f := range []string{"out_trade_no", "total_amount", "subject"} {
		if req.str(f) == "" {
			return "", 0, invalid("isv.missing-"+strings.ReplaceAll(f, "_", "-"), "缺少必选参数 "+f)
		}
	}
	no = req.str("out_trade_no")
	if !validOutTradeNo(no) {
		return "", 0, business("ACQ.INVALID_PARAMETER", "参数无效: out_trade_no")
	}
	total, ok := parseYuan(req.str("total_amount"))
	if !ok {
		return "", 0, business("ACQ.INVALID_PARAMETER", "参数无效: total_amount")
	}
	return no, total, nil
}

// timeExpire reads the optional time_expire.
func timeExpire(req *request) (time.Time, *apiError) {
	s := req.str("time_expire")
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(timeLayout, s, cst)
	if err != nil {
		return time.Time{}, business("ACQ.INVALID_PARAMETER", "参数无效: time_expire")
	}
	return t, nil
}

// existingOrder answers a create for an out_trade_no already in use: the
// same order again is fine (ok), anything else an error. The caller holds s.mu.
func existingOrder(t *trade, total int64, subject string) (ok bool, e *apiError) {
	switch {
	case t.status == tradeSuccess || t.status == tradeFinished:
		return false, business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
	case t.status == tradeClosed:
		return false, business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
	case t.total != total || t.subject != subject:
		return false, business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
	}
	return true, nil
}

// createWaiting creates (or finds again) a trade that waits for the payer.
// exists says whether Alipay knows it at once (page, wap, app) or only
// after a scan (precreate).
func (s *Sim) createWaiting(req *request, kind string, exists bool) (*trade, *apiError) {
	no, total, e := orderFields(req)
	if e != nil {
		return nil, e
	}
	expires, e := timeExpire(req)
	if e != nil {
		return nil, e
	}
	terms, e := termsOf(req)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.trades[no]; t != nil {
		if t.terms != terms {
			return nil, business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
		}
		s.expire(t)
		if _, e := existingOrder(t, total, req.str("subject")); e != nil {
			return nil, e
		}
		t.exists = t.exists || exists
		return t, nil
	}
	now := s.clock.Now()
	t := &trade{
		outTradeNo: no, kind: kind, status: waitBuyerPay, exists: exists,
		total: total, subject: req.str("subject"), notifyURL: req.notifyURL,
		expires: expires, createdAt: now, terms: terms,
	}
	if exists {
		t.tradeNo = s.newTradeNo()
	}
	if kind == kindPrecreate {
		t.qrCode = req.base + "/qr/bax0" + randomHex(10)
	}
	s.trades[no] = t
	return t, nil
}

func (s *Sim) precreate(req *request) (map[string]any, *apiError) {
	t, e := s.createWaiting(req, kindPrecreate, false)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.qrCode == "" { // created by another kind of call first
		return nil, business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
	}
	return map[string]any{"out_trade_no": t.outTradeNo, "qr_code": t.qrCode}, nil
}

// appPay stands in for the Alipay app receiving a signed order string.
func (s *Sim) appPay(req *request) (map[string]any, *apiError) {
	t, e := s.createWaiting(req, kindApp, true)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]any{"out_trade_no": t.outTradeNo, "trade_no": t.tradeNo, "total_amount": yuan(t.total), "seller_id": SellerID}, nil
}

// authCodeValid: 16–24 digits starting 25–30.
func authCodeValid(code string) bool {
	if len(code) < 16 || len(code) > 24 {
		return false
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return false
		}
	}
	return code[:2] >= "25" && code[:2] <= "30"
}

// barcodePay is alipay.trade.pay (scene bar_code): the scenario is the
// auth code's last four digits.
func (s *Sim) barcodePay(req *request) (map[string]any, *apiError) {
	no, total, e := orderFields(req)
	if e != nil {
		return nil, e
	}
	scene, code := req.str("scene"), req.str("auth_code")
	switch {
	case scene == "":
		return nil, invalid("isv.missing-scene", "缺少必选参数 scene")
	case scene != "bar_code" && scene != "security_code":
		return nil, business("ACQ.INVALID_PARAMETER", "参数无效: scene")
	case code == "":
		return nil, invalid("isv.missing-auth-code", "缺少必选参数 auth_code")
	case !authCodeValid(code):
		return nil, business("ACQ.PAYMENT_AUTH_CODE_INVALID", "支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.trades[no]; t != nil && t.exists {
		s.expire(t)
		if _, e := existingOrder(t, total, req.str("subject")); e != nil {
			return nil, e
		}
		if t.status == waitBuyerPay {
			return s.barcodeAnswer(t, "10003", "Waiting Payment"), nil
		}
	}
	scenario := code[len(code)-4:]
	if scenario == "2222" {
		return nil, business("ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足")
	}
	now := s.clock.Now()
	t := &trade{
		outTradeNo: no, tradeNo: s.newTradeNo(), kind: kindBarcode, status: waitBuyerPay, exists: true,
		total: total, subject: req.str("subject"), notifyURL: req.notifyURL, createdAt: now,
		buyerID: "2088" + code[len(code)-12:],
	}
	s.trades[no] = t
	if scenario == "1111" {
		return s.barcodeAnswer(t, "10003", "Waiting Payment"), nil
	}
	s.markPaid(t)
	if scenario == "3333" {
		return nil, errUnknown
	}
	return s.barcodeAnswer(t, "10000", "Success"), nil
}

func (s *Sim) barcodeAnswer(t *trade, code, msg string) map[string]any {
	out := map[string]any{
		"code": code, "msg": msg,
		"trade_no": t.tradeNo, "out_trade_no": t.outTradeNo,
		"buyer_logon_id": "159****5620", "total_amount": yuan(t.total),
	}
	if t.status == tradeSuccess {
		out["receipt_amount"], out["buyer_pay_amount"] = yuan(t.total), yuan(t.total)
		out["gmt_payment"] = t.paidAt.In(cst).Format(timeLayout)
		out["buyer_user_id"] = t.buyerID
		out["fund_bill_list"] = []map[string]string{{"fund_channel": "ALIPAYACCOUNT", "amount": yuan(t.total)}}
	}
	return out
}

// markPaid pays a trade and posts its callback. The caller holds s.mu.
func (s *Sim) markPaid(t *trade) {
	t.status, t.exists, t.paidAt = tradeSuccess, true, s.clock.Now()
	if t.tradeNo == "" {
		t.tradeNo = s.newTradeNo()
	}
	if t.buyerID == "" {
		t.buyerID = "2088" + fmt.Sprintf("%012d", s.seq)
	}
	s.notify(t, nil)
}

func (s *Sim) query(req *request) (map[string]any, *apiError) {
	no := req.str("out_trade_no")
	if no == "" && req.str("trade_no") == "" {
		return nil, invalid("isv.missing-out-trade-no", "缺少必选参数 out_trade_no")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, apiErr := s.named(req)
	if apiErr != nil {
		return nil, apiErr
	}
	out := map[string]any{
		"trade_no": t.tradeNo, "out_trade_no": t.outTradeNo, "trade_status": t.status,
		"total_amount": yuan(t.total), "buyer_logon_id": "159****5620",
	}
	t.terms.put(out)
	if !t.paidAt.IsZero() {
		out["send_pay_date"] = t.paidAt.In(cst).Format(timeLayout)
		out["buyer_user_id"] = t.buyerID
		out["receipt_amount"], out["buyer_pay_amount"], out["invoice_amount"] = yuan(t.total), yuan(t.total), yuan(t.total)
		out["point_amount"] = "0.00"
		t.terms.putPay(t.total, func(k, v string) { out[k] = v })
	}
	return out, nil
}

// byTradeNo finds an existing trade by Alipay's number. The caller holds s.mu.
// named returns the trade a request names by out_trade_no, or by trade_no
// when out_trade_no is absent; ACQ.TRADE_NOT_EXIST when there is none. The
// caller holds s.mu.
func (s *Sim) named(req *request) (*trade, *apiError) {
	no := req.str("out_trade_no")
	t := s.lookup(no)
	if t == nil && no == "" {
		t = s.byTradeNo(req.str("trade_no"))
	}
	if t == nil {
		return nil, errTradeNotExist
	}
	return t, nil
}

func (s *Sim) byTradeNo(tradeNo string) *trade {
	for _, t := range s.trades {
		if t.exists && t.tradeNo == tradeNo && tradeNo != "" {
			s.expire(t)
			return t
		}
	}
	return nil
}

func (s *Sim) closeTrade(req *request) (map[string]any, *apiError) {
	no := req.str("out_trade_no")
	if no == "" {
		return nil, invalid("isv.missing-out-trade-no", "缺少必选参数 out_trade_no")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lookup(no)
	if t == nil {
		return nil, errTradeNotExist
	}
	if t.status != waitBuyerPay {
		return nil, business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
	}
	t.status, t.closedAt = tradeClosed, s.clock.Now()
	s.notify(t, nil)
	return map[string]any{"trade_no": t.tradeNo, "out_trade_no": t.outTradeNo}, nil
}

// cancel is alipay.trade.cancel: close an unpaid trade, refund a paid one in
// full, and remember an unknown out_trade_no as closed so a payment that
// arrives later fails.
func (s *Sim) cancel(req *request) (map[string]any, *apiError) {
	no := req.str("out_trade_no")
	if no == "" {
		return nil, invalid("isv.missing-out-trade-no", "缺少必选参数 out_trade_no")
	}
	if !validOutTradeNo(no) {
		return nil, business("ACQ.INVALID_PARAMETER", "参数无效: out_trade_no")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	t := s.trades[no]
	if t == nil {
		t = &trade{outTradeNo: no, tradeNo: s.newTradeNo(), kind: "cancelled", status: tradeClosed, exists: true, createdAt: now, closedAt: now}
		s.trades[no] = t
		return map[string]any{"trade_no": t.tradeNo, "out_trade_no": no, "retry_flag": "N", "action": "close"}, nil
	}
	s.expire(t)
	out := map[string]any{"trade_no": t.tradeNo, "out_trade_no": no, "retry_flag": "N"}
	switch t.status {
	case waitBuyerPay:
		existed := t.exists
		if t.tradeNo == "" {
			t.tradeNo = s.newTradeNo()
			out["trade_no"] = t.tradeNo
		}
		t.status, t.exists, t.closedAt = tradeClosed, true, now
		if existed {
			s.notify(t, nil)
		}
		out["action"] = "close"
	case tradeSuccess:
		left := t.total - t.refunded
		r := &refund{amount: left, at: now}
		t.refunds = append(t.refunds, r)
		t.refunded, t.status, t.closedAt = t.total, tradeClosed, now
		s.notify(t, r)
		out["action"] = "refund"
		out["gmt_refund_pay"] = now.In(cst).Format(timeLayout)
	case tradeClosed:
		out["action"] = "close"
	default:
		return nil, business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
	}
	return out, nil
}

func (s *Sim) refund(req *request) (map[string]any, *apiError) {
	no := req.str("out_trade_no")
	switch {
	case no == "" && req.str("trade_no") == "":
		return nil, invalid("isv.missing-out-trade-no", "缺少必选参数 out_trade_no")
	case req.str("refund_amount") == "":
		return nil, invalid("isv.missing-refund-amount", "缺少必选参数 refund_amount")
	}
	amount, ok := parseYuan(req.str("refund_amount"))
	if !ok {
		return nil, business("ACQ.INVALID_PARAMETER", "参数无效: refund_amount")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, apiErr := s.named(req)
	if apiErr != nil {
		return nil, apiErr
	}
	reqNo := req.str("out_request_no")
	if reqNo == "" {
		reqNo = t.outTradeNo
	}
	answer := func(change string) map[string]any {
		return map[string]any{
			"trade_no": t.tradeNo, "out_trade_no": t.outTradeNo, "buyer_logon_id": "159****5620",
			"buyer_user_id": t.buyerID, "fund_change": change, "refund_fee": yuan(t.refunded),
			"gmt_refund_pay": s.clock.Now().In(cst).Format(timeLayout),
		}
	}
	if prev := t.refund(reqNo); prev != nil {
		if prev.amount != amount {
			return nil, business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改: out_request_no was used for another amount")
		}
		return answer("N"), nil
	}
	switch t.status {
	case tradeSuccess:
	case tradeClosed:
		return nil, business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
	default:
		return nil, business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
	}
	if amount > t.total-t.refunded {
		return nil, business("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
	}
	royalties, apiErr := s.refundRoyaltiesLocked(t, req)
	if apiErr != nil {
		return nil, apiErr
	}
	r := &refund{outRequestNo: reqNo, amount: amount, at: s.clock.Now(), royalties: royalties}
	t.refunds = append(t.refunds, r)
	t.refunded += amount
	if t.refunded == t.total {
		t.status, t.closedAt = tradeClosed, r.at
	}
	s.notify(t, r)
	return answer("Y"), nil
}

func (s *Sim) refundQuery(req *request) (map[string]any, *apiError) {
	no := req.str("out_trade_no")
	if no == "" && req.str("trade_no") == "" {
		return nil, invalid("isv.missing-out-trade-no", "缺少必选参数 out_trade_no")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, apiErr := s.named(req)
	if apiErr != nil {
		return nil, apiErr
	}
	reqNo := req.str("out_request_no")
	if reqNo == "" {
		reqNo = t.outTradeNo
	}
	r := t.refund(reqNo)
	if r == nil {
		return map[string]any{}, nil // 10000 with no refund data: not refunded
	}
	out := map[string]any{
		"trade_no": t.tradeNo, "out_trade_no": t.outTradeNo, "out_request_no": reqNo,
		"total_amount": yuan(t.total), "refund_amount": yuan(r.amount), "refund_status": "REFUND_SUCCESS",
	}
	if opts, ok := req.biz["query_options"].([]any); ok {
		for _, o := range opts {
			if o == "gmt_refund_pay" {
				out["gmt_refund_pay"] = r.at.In(cst).Format(timeLayout)
			}
		}
	}
	return out, nil
}

// Scan makes the payer scan a precreated trade's code: Alipay now knows
// the trade (WAIT_BUYER_PAY).
func (s *Sim) Scan(outTradeNo string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.payerTrade(outTradeNo)
	if err != nil {
		return err
	}
	if t.status != waitBuyerPay {
		return fmt.Errorf("alipay sim: trade %s is %s, not waiting", outTradeNo, t.status)
	}
	if !t.exists {
		t.exists, t.tradeNo = true, s.newTradeNo()
	}
	return nil
}

// payerTrade is the trade a payer acts on, existing or only precreated. The
// caller holds s.mu.
func (s *Sim) payerTrade(outTradeNo string) (*trade, error) {
	t := s.trades[outTradeNo]
	if t == nil {
		return nil, fmt.Errorf("alipay sim: trade %s: %w", outTradeNo, channel.ErrTradeNotFound)
	}
	s.expire(t)
	return t, nil
}

// PayerPays makes the payer pay a waiting trade (scanning it first if it was
// precreated); Alipay then posts TRADE_SUCCESS.
func (s *Sim) PayerPays(outTradeNo string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.payerTrade(outTradeNo)
	if err != nil {
		return err
	}
	switch t.status {
	case tradeSuccess, tradeFinished:
		return fmt.Errorf("alipay sim: trade %s: %w", outTradeNo, channel.ErrAlreadyPaid)
	case tradeClosed:
		return fmt.Errorf("alipay sim: trade %s is closed", outTradeNo)
	}
	s.markPaid(t)
	return nil
}

// PayerFails makes the payer abandon a waiting trade: it closes
// (TRADE_CLOSED; Alipay has no failed state) and Alipay posts that.
func (s *Sim) PayerFails(outTradeNo string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.payerTrade(outTradeNo)
	if err != nil {
		return err
	}
	if t.status != waitBuyerPay {
		return fmt.Errorf("alipay sim: trade %s is %s, not waiting", outTradeNo, t.status)
	}
	if t.tradeNo == "" {
		t.tradeNo = s.newTradeNo()
	}
	t.status, t.exists, t.closedAt = tradeClosed, true, s.clock.Now()
	s.notify(t, nil)
	return nil
}

// serveQR is what the payer's Alipay app opens when it scans a qr_code:
// the trade now exists, and a page offers to pay it.
func (s *Sim) serveQR(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var found *trade
	for _, t := range s.trades {
		if t.qrCode != "" && strings.HasSuffix(t.qrCode, r.URL.Path) {
			found = t
			break
		}
	}
	var data struct{ Error, Subject, OutTradeNo, Amount, ReturnURL string }
	if found == nil {
		data.Error = "二维码无效 (unknown QR code)"
	} else {
		s.expire(found)
		if found.status == waitBuyerPay && !found.exists {
			found.exists, found.tradeNo = true, s.newTradeNo()
		}
		if found.status != waitBuyerPay {
			data.Error = "交易状态 " + found.status
		}
		data.Subject, data.OutTradeNo, data.Amount = found.subject, found.outTradeNo, yuan(found.total)
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if found == nil {
		w.WriteHeader(http.StatusNotFound)
	}
	_ = cashierPage.Execute(w, data)
}

// Terms are what a trade was created with beyond its amount: trans_currency
// ("" for CNY), settle_currency, and the Huabei instalments of
// extend_params (hb_fq_num, hb_fq_seller_percent; "" when none).
type Terms struct {
	TransCurrency     string
	SettleCurrency    string
	HbFqNum           string
	HbFqSellerPercent string
}

// TradeTerms returns the terms of the trade of out_trade_no; ok is false
// when there is no such trade.
func (s *Sim) TradeTerms(outTradeNo string) (Terms, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.trades[outTradeNo]
	if t == nil {
		return Terms{}, false
	}
	return Terms{TransCurrency: t.terms.transCurrency, SettleCurrency: t.terms.settleCurrency,
		HbFqNum: t.terms.hbFqNum, HbFqSellerPercent: t.terms.sellerPercent}, true
}
