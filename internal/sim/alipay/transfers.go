package alipay

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Transfers (单笔转账): alipay.fund.trans.uni.transfer and
// alipay.fund.trans.common.query for product TRANS_ACCOUNT_NO_PWD, scene
// DIRECT_TRANSFER. One transfer per out_biz_no: a repeat with the same
// amount and payee answers the first's state, with others
// INVALID_PARAMETER. Payee scenarios follow the
// identity: PayeeMissing is PAYEE_NOT_EXIST, an identity ending in
// PayeeSlowSuffix answers DEALING until queried once, PayeeLost is paid
// but answered 20000 (unknown); every other payee is paid at once. The
// platform's account has no balance limit. Simplified: no
// ALIPAY_OPEN_ID, no bank card product, no transfer callbacks
// (alipay.fund.trans.order.changed).

// Payee scenarios.
const (
	PayeeMissing    = "nobody@example.com"
	PayeeLost       = "lost@example.com"
	PayeeSlowSuffix = "@slow.example.com"
)

type transfer struct {
	outBizNo, orderID, identity, status string
	amount                              int64
	dealing                             bool
	at                                  time.Time
}

func (s *Sim) transferAnswer(t *transfer) map[string]any {
	return map[string]any{"out_biz_no": t.outBizNo, "order_id": t.orderID, "pay_fund_order_id": t.orderID,
		"status": t.status, "trans_date": t.at.In(cst).Format(timeLayout)}
}

func (s *Sim) uniTransfer(req *request) (map[string]any, *apiError) {
	no := req.str("out_biz_no")
	payee, _ := req.biz["payee_info"].(map[string]any)
	identity, _ := payee["identity"].(string)
	idType, _ := payee["identity_type"].(string)
	switch {
	case no == "":
		return nil, missing("out_biz_no")
	case req.str("trans_amount") == "":
		return nil, missing("trans_amount")
	case req.str("product_code") != "TRANS_ACCOUNT_NO_PWD" || req.str("biz_scene") != "DIRECT_TRANSFER":
		return nil, invalid("isv.invalid-parameter", "product_code / biz_scene: the simulator takes TRANS_ACCOUNT_NO_PWD / DIRECT_TRANSFER")
	case identity == "" || (idType != "ALIPAY_LOGON_ID" && idType != "ALIPAY_USER_ID"):
		return nil, invalid("isv.invalid-parameter", "payee_info: identity and identity_type ALIPAY_LOGON_ID or ALIPAY_USER_ID")
	}
	amount, ok := parseYuan(req.str("trans_amount"))
	if !ok {
		return nil, business("INVALID_PARAMETER", "参数有误: trans_amount")
	}
	if amount < 10 {
		return nil, business("EXCEED_LIMIT_SM_MIN_AMOUNT", "单笔最低转账金额0.1元")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.transfers == nil {
		s.transfers = map[string]*transfer{}
	}
	if t, ok := s.transfers[no]; ok {
		if t.amount != amount || t.identity != identity {
			return nil, business("INVALID_PARAMETER", "参数有误: out_biz_no was used for another transfer")
		}
		return s.transferAnswer(t), nil
	}
	if identity == PayeeMissing {
		return nil, business("PAYEE_NOT_EXIST", "收款账号不存在")
	}
	s.seq++
	t := &transfer{outBizNo: no, orderID: fmt.Sprintf("20260315110070000006%012d", s.seq), identity: identity, amount: amount,
		status: "SUCCESS", at: s.clock.Now()}
	if strings.HasSuffix(identity, PayeeSlowSuffix) {
		t.status, t.dealing = "DEALING", true
	}
	s.transfers[no] = t
	if identity == PayeeLost {
		return nil, errUnknown
	}
	return s.transferAnswer(t), nil
}

func (s *Sim) transferQuery(req *request) (map[string]any, *apiError) {
	no := req.str("out_biz_no")
	if no == "" && req.str("order_id") == "" {
		return nil, missing("out_biz_no")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.transfers {
		if t.outBizNo == no || (no == "" && t.orderID == req.str("order_id")) {
			out := s.transferAnswer(t)
			if t.dealing { // paid once asked
				t.status, t.dealing = "SUCCESS", false
			}
			return out, nil
		}
	}
	return nil, business("ORDER_NOT_EXIST", "转账订单不存在")
}

// Transfers returns the amount paid per out_biz_no of every transfer
// made, in out_biz_no order (tests check nothing was paid twice or lost).
func (s *Sim) Transfers() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.transfers))
	keys := make([]string, 0, len(s.transfers))
	for k := range s.transfers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out[k] = s.transfers[k].amount
	}
	return out
}
