package alipay

import (
	"fmt"
	"strings"
	"time"
)

// Profit sharing (分账): alipay.trade.royalty.relation.bind,
// alipay.trade.order.settle and alipay.trade.order.settle.query. A
// settlement is made once per out_request_no of a paid trade (a repeat
// answers the first), never for more than the trade's amount less its
// refunds and earlier settlements (ACQ.ALLOC_AMOUNT_VALIDATE_ERROR); each
// trans_in must be bound first (ACQ.TRANS_IN_NOT_BOUND here). Its details
// are PROCESSING until queried once, then SUCCESS, or FAIL with error_code
// TXN_RESULT_ACCOUNT_STATUS_NOT_VALID for the account RoyaltyAbnormal. A
// query of a settlement never made is TRADE_SETTLE_NOT_EXIST.
// A refund takes royalties back with refund_royalty_parameters
// (refund.go's refundRoyaltiesLocked), checked before anything moves.
// Simplified: no unbind, no royalty_finish.

// RoyaltyAbnormal is a receiver account whose share Alipay fails.
const RoyaltyAbnormal = "2088000000000404"

type settlement struct {
	outRequestNo, settleNo, tradeNo string
	details                         []*royaltyLine
	at                              time.Time
}

type royaltyLine struct {
	transInType, transIn, state, errorCode string
	amount                                 int64
}

func (s *Sim) royaltyBind(req *request) (map[string]any, *apiError) {
	if req.str("out_request_no") == "" {
		return nil, missing("out_request_no")
	}
	list, _ := req.biz["receiver_list"].([]any)
	if len(list) == 0 || len(list) > 20 {
		return nil, invalid("isv.invalid-parameter", "receiver_list: 1 to 20 receivers")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.royaltyBound == nil {
		s.royaltyBound = map[string]bool{}
	}
	for _, x := range list {
		e, _ := x.(map[string]any)
		typ, _ := e["type"].(string)
		account, _ := e["account"].(string)
		if account == "" || (typ != "userId" && typ != "loginName" && typ != "openId") {
			return nil, invalid("isv.invalid-parameter", "receiver_list: type userId, loginName or openId and account")
		}
		s.royaltyBound[typ+" "+account] = true
	}
	return map[string]any{"result_code": "SUCCESS"}, nil
}

func (s *Sim) orderSettle(req *request) (map[string]any, *apiError) {
	no, tradeNo := req.str("out_request_no"), req.str("trade_no")
	params, _ := req.biz["royalty_parameters"].([]any)
	switch {
	case no == "":
		return nil, missing("out_request_no")
	case tradeNo == "":
		return nil, missing("trade_no")
	case len(params) == 0:
		return nil, missing("royalty_parameters")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.settlements[no]; ok {
		return map[string]any{"trade_no": st.tradeNo, "settle_no": st.settleNo}, nil
	}
	var t *trade
	for _, x := range s.trades {
		if x.tradeNo == tradeNo {
			t = x
		}
	}
	if t == nil || t.status != tradeSuccess {
		return nil, business("ACQ.TRADE_NOT_EXIST", "交易不存在或未支付")
	}
	s.seq++
	st := &settlement{outRequestNo: no, settleNo: fmt.Sprintf("20260315110070001506%012d", s.seq), tradeNo: tradeNo, at: s.clock.Now()}
	var total int64
	for _, x := range params {
		p, _ := x.(map[string]any)
		typ, _ := p["trans_in_type"].(string)
		in, _ := p["trans_in"].(string)
		amountText, _ := p["amount"].(string)
		amount, ok := parseYuan(amountText)
		switch {
		case !ok || amount <= 0:
			return nil, business("INVALID_PARAMETER", "参数有误: amount")
		case !s.royaltyBound[typ+" "+in]:
			return nil, business("ACQ.TRANS_IN_NOT_BOUND", "分账收入方未绑定分账关系")
		}
		total += amount
		st.details = append(st.details, &royaltyLine{transInType: typ, transIn: in, state: "PROCESSING", amount: amount})
	}
	if total > t.total-t.refunded-s.settledLocked(tradeNo) {
		return nil, business("ACQ.ALLOC_AMOUNT_VALIDATE_ERROR", "分账金额超过最大可分账金额")
	}
	if s.settlements == nil {
		s.settlements = map[string]*settlement{}
	}
	s.settlements[no] = st
	return map[string]any{"trade_no": tradeNo, "settle_no": st.settleNo}, nil
}

// settledLocked sums what a trade's settlements pay (or may pay).
func (s *Sim) settledLocked(tradeNo string) int64 {
	var n int64
	for _, st := range s.settlements {
		if st.tradeNo != tradeNo {
			continue
		}
		for _, d := range st.details {
			if d.state != "FAIL" {
				n += d.amount
			}
		}
	}
	return n
}

func (s *Sim) orderSettleQuery(req *request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.settlements[req.str("out_request_no")]
	if st == nil || (req.str("trade_no") != "" && st.tradeNo != req.str("trade_no")) {
		return nil, business("TRADE_SETTLE_NOT_EXIST", "结算单不存在")
	}
	var details []map[string]any
	for _, d := range st.details {
		v := map[string]any{"operation_type": "transfer", "state": d.state, "trans_in_type": d.transInType, "trans_in": d.transIn,
			"amount": fmt.Sprintf("%d.%02d", d.amount/100, d.amount%100), "execute_dt": st.at.In(cst).Format(timeLayout)}
		if d.errorCode != "" {
			v["error_code"], v["error_desc"] = d.errorCode, "分账收入方账户状态异常"
		}
		details = append(details, v)
		if d.state == "PROCESSING" { // settles once asked
			if d.transIn == RoyaltyAbnormal {
				d.state, d.errorCode = "FAIL", "TXN_RESULT_ACCOUNT_STATUS_NOT_VALID"
			} else {
				d.state = "SUCCESS"
			}
		}
	}
	return map[string]any{"out_request_no": st.outRequestNo, "settle_no": st.settleNo,
		"operation_dt": st.at.In(cst).Format(timeLayout), "royalty_detail_list": details}, nil
}

// Royalties returns what each receiver account holds of settlements, by
// account: what it got less what refunds took back (tests check nothing
// was paid twice or lost).
func (s *Sim) Royalties() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int64{}
	for _, st := range s.settlements {
		for _, d := range st.details {
			if d.state == "SUCCESS" {
				out[d.transIn] += d.amount
			}
		}
	}
	for _, t := range s.trades {
		for k, n := range t.royaltiesTaken {
			_, account, _ := strings.Cut(k, " ")
			out[account] -= n
		}
		for _, r := range t.refunds {
			for k, n := range r.royalties {
				_, account, _ := strings.Cut(k, " ")
				out[account] -= n
			}
		}
	}
	return out
}

// refundRoyaltiesLocked reads a refund's refund_royalty_parameters
// (royalty_type transfer, trans_out_type userId or loginName, trans_out,
// amount in yuan) and checks each against the trade: the receiver must
// have a SUCCESS royalty of this trade with that much not yet taken back
// by earlier refunds. Any entry that would over-return (or names no
// royalty of the trade) refuses the whole refund with
// ACQ.ALLOC_AMOUNT_VALIDATE_ERROR, so nothing moves; that code is
// alipay.trade.order.settle's for an amount over what can be allocated —
// the refund's own code for this case was not found in the documents
// searched, so the simulator reuses it.
func (s *Sim) refundRoyaltiesLocked(t *trade, req *request) (map[string]int64, *apiError) {
	params, _ := req.biz["refund_royalty_parameters"].([]any)
	if len(params) == 0 {
		return nil, nil
	}
	left := map[string]int64{}
	for _, st := range s.settlements {
		if st.tradeNo != t.tradeNo {
			continue
		}
		for _, d := range st.details {
			if d.state == "SUCCESS" {
				left[d.transInType+" "+d.transIn] += d.amount
			}
		}
	}
	for _, r := range t.refunds {
		for k, n := range r.royalties {
			left[k] -= n
		}
	}
	for k, n := range t.royaltiesTaken {
		left[k] -= n
	}
	out := map[string]int64{}
	for _, x := range params {
		p, _ := x.(map[string]any)
		kind, _ := p["royalty_type"].(string)
		typ, _ := p["trans_out_type"].(string)
		from, _ := p["trans_out"].(string)
		amountText, _ := p["amount"].(string)
		amount, ok := parseYuan(amountText)
		switch {
		case kind != "" && kind != "transfer":
			return nil, business("INVALID_PARAMETER", "参数有误: royalty_type")
		case from == "" || (typ != "userId" && typ != "loginName"):
			return nil, business("INVALID_PARAMETER", "参数有误: trans_out")
		case !ok || amount <= 0:
			return nil, business("INVALID_PARAMETER", "参数有误: amount")
		}
		k := typ + " " + from
		out[k] += amount
		if out[k] > left[k] {
			return nil, business("ACQ.ALLOC_AMOUNT_VALIDATE_ERROR", "退分账金额超过可退分账金额")
		}
	}
	return out, nil
}

// TakeRoyaltyBack takes amount of a userId receiver's royalty of a trade
// back outside the API (as a refund made in Alipay's merchant console
// would), so that the gateway's next refund asking for it over-returns.
func (s *Sim) TakeRoyaltyBack(outTradeNo, userID string, amount int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.payerTrade(outTradeNo)
	if err != nil {
		return err
	}
	if t.royaltiesTaken == nil {
		t.royaltiesTaken = map[string]int64{}
	}
	t.royaltiesTaken["userId "+userID] += amount
	return nil
}
