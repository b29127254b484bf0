package wechatpay

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"time"
)

// Profit sharing (分账, API v3): POST /v3/profitsharing/receivers/add,
// POST /v3/profitsharing/orders, GET /v3/profitsharing/orders/{no}
// ?transaction_id=… and POST /v3/profitsharing/orders/unfreeze. A sharing
// is made once per out_order_no (a repeat answers the first) of a paid
// trade made with settle_info.profit_sharing (400 INVALID_REQUEST
// otherwise), never for more than the trade's amount less its refunds and
// earlier sharings (400 NOT_ENOUGH); a receiver must have been added.
// A sharing is PROCESSING with PENDING receivers until queried once, then
// FINISHED: each receiver SUCCESS, or CLOSED with fail_reason
// ACCOUNT_ABNORMAL for the account ReceiverAbnormal. Returns: below.
// Simplified: no maximum sharing ratio, no 180-day unfreeze.
//
// A receiver's name is checked as WeChat does: required for MERCHANT_ID;
// when given, the Wechatpay-Serial header must name the platform key and
// the name must decrypt with it (RSAES-OAEP, SHA-1, base64), and match
// the name a test told ExpectReceiverName (INVALID_REQUEST otherwise).

// ReceiverAbnormal is a receiver account whose share WeChat closes.
const ReceiverAbnormal = "o-abnormal"

var sharingNoPattern = regexp.MustCompile(`^[0-9A-Za-z_\-|*@]{1,64}$`)

type sharingLine struct {
	Type, Account, Description, Result, FailReason string
	Amount                                         int64
}

type sharing struct {
	outOrderNo, orderID, transactionID, state string
	receivers                                 []sharingLine
	unfreeze                                  bool
	at                                        time.Time
}

func receiverKey(typ, account string) string { return typ + " " + account }

func (s *Sim) addReceiver(r *v3Request) (int, any) {
	var req struct {
		AppID        string `json:"appid"`
		Type         string `json:"type"`
		Account      string `json:"account"`
		Name         string `json:"name"`
		RelationType string `json:"relation_type"`
	}
	if err := json.Unmarshal(r.body, &req); err != nil {
		return paramError("请求体不是合法的JSON: " + err.Error())
	}
	switch {
	case req.AppID == "" || req.Type == "" || req.Account == "" || req.RelationType == "":
		return paramError("缺少必填参数 (appid, type, account, relation_type)")
	case req.Type != "MERCHANT_ID" && req.Type != "PERSONAL_OPENID":
		return paramError("type 取值错误")
	case req.Type == "MERCHANT_ID" && req.Name == "":
		return paramError("接收方类型为MERCHANT_ID时，name（商户全称）必填")
	}
	var name string
	if req.Name != "" {
		if r.Header.Get("Wechatpay-Serial") != platformSerial {
			return paramError("平台证书序列号Wechatpay-Serial错误")
		}
		ct, err := base64.StdEncoding.DecodeString(req.Name)
		if err != nil {
			return paramError("name 解密失败")
		}
		plain, err := rsa.DecryptOAEP(sha1.New(), rand.Reader, platformKey, ct, nil)
		if err != nil {
			return paramError("name 解密失败")
		}
		name = string(plain)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if want, ok := s.receiverNames[req.Account]; ok && name != "" && name != want {
		return fail(http.StatusBadRequest, "INVALID_REQUEST", "分账接收方全称不匹配")
	}
	if s.sharingReceivers == nil {
		s.sharingReceivers = map[string]bool{}
	}
	s.sharingReceivers[receiverKey(req.Type, req.Account)] = true
	if s.addedNames == nil {
		s.addedNames = map[string]string{}
	}
	s.addedNames[req.Account] = name
	return http.StatusOK, map[string]any{"type": req.Type, "account": req.Account, "relation_type": req.RelationType}
}

// ExpectReceiverName makes receivers/add check that a receiver account's
// name, when given, is name.
func (s *Sim) ExpectReceiverName(account, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.receiverNames == nil {
		s.receiverNames = map[string]string{}
	}
	s.receiverNames[account] = name
}

// ReceiverName is the name (decrypted) a receiver account was last added
// with, "" when none.
func (s *Sim) ReceiverName(account string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addedNames[account]
}

func (s *Sim) createSharing(r *v3Request) (int, any) {
	var req struct {
		AppID         string `json:"appid"`
		TransactionID string `json:"transaction_id"`
		OutOrderNo    string `json:"out_order_no"`
		Receivers     []struct {
			Type        string `json:"type"`
			Account     string `json:"account"`
			Amount      int64  `json:"amount"`
			Description string `json:"description"`
		} `json:"receivers"`
		UnfreezeUnsplit *bool `json:"unfreeze_unsplit"`
	}
	if err := json.Unmarshal(r.body, &req); err != nil {
		return paramError("请求体不是合法的JSON: " + err.Error())
	}
	switch {
	case req.TransactionID == "" || req.OutOrderNo == "" || len(req.Receivers) == 0 || req.UnfreezeUnsplit == nil:
		return paramError("缺少必填参数 (transaction_id, out_order_no, receivers, unfreeze_unsplit)")
	case !sharingNoPattern.MatchString(req.OutOrderNo):
		return paramError("out_order_no 只能是数字、大小写字母_-|*@")
	case len(req.Receivers) > 50:
		return paramError("最多可有50个分账接收方")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.sharings[req.OutOrderNo]; ok {
		return http.StatusOK, s.sharingView(p)
	}
	t := s.tradeByTransactionIDLocked(req.TransactionID)
	if t == nil || !t.paid() {
		return fail(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "订单不存在或未支付")
	}
	if !t.profitSharing {
		return fail(http.StatusBadRequest, "INVALID_REQUEST", "订单下单时未指定分账 (settle_info.profit_sharing)")
	}
	p := &sharing{outOrderNo: req.OutOrderNo, orderID: s.nextIDLocked("3008450740201411110007820472", 4), transactionID: req.TransactionID,
		state: "PROCESSING", at: s.clock.Now()}
	var total int64
	for _, rc := range req.Receivers {
		switch {
		case rc.Amount <= 0 || rc.Description == "":
			return paramError("分账金额必须大于0，分账描述必填")
		case (req.AppID == "" && rc.Type == "PERSONAL_OPENID"):
			return paramError("接收方类型包含PERSONAL_OPENID时appid必填")
		case !s.sharingReceivers[receiverKey(rc.Type, rc.Account)]:
			return fail(http.StatusBadRequest, "RECEIVER_INVALID", "分账接收方未添加")
		}
		total += rc.Amount
		p.receivers = append(p.receivers, sharingLine{Type: rc.Type, Account: rc.Account, Description: rc.Description, Amount: rc.Amount, Result: "PENDING"})
	}
	if total > t.Total-t.Refunded-s.sharedLocked(req.TransactionID) {
		return fail(http.StatusBadRequest, "NOT_ENOUGH", "分账金额不足")
	}
	if s.sharings == nil {
		s.sharings = map[string]*sharing{}
	}
	s.sharings[p.outOrderNo] = p
	return http.StatusOK, s.sharingView(p)
}

// sharedLocked sums the shares of a trade's sharings.
func (s *Sim) sharedLocked(transactionID string) int64 {
	var n int64
	for _, p := range s.sharings {
		if p.transactionID != transactionID {
			continue
		}
		for _, rc := range p.receivers {
			if rc.Result != "CLOSED" {
				n += rc.Amount
			}
		}
	}
	return n
}

func (s *Sim) tradeByTransactionIDLocked(id string) *trade {
	for _, t := range s.trades {
		if t.TransactionID != "" && t.TransactionID == id {
			return t
		}
	}
	return nil
}

func (s *Sim) querySharing(r *v3Request) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.sharings[r.PathValue("no")]
	if p == nil || p.transactionID != r.URL.Query().Get("transaction_id") {
		return fail(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "记录不存在")
	}
	out := s.sharingView(p)
	if p.state == "PROCESSING" { // finishes once asked
		p.state = "FINISHED"
		for i := range p.receivers {
			if p.receivers[i].Account == ReceiverAbnormal {
				p.receivers[i].Result, p.receivers[i].FailReason = "CLOSED", "ACCOUNT_ABNORMAL"
			} else {
				p.receivers[i].Result = "SUCCESS"
			}
		}
	}
	return http.StatusOK, out
}

func (s *Sim) unfreezeSharing(r *v3Request) (int, any) {
	var req struct {
		TransactionID string `json:"transaction_id"`
		OutOrderNo    string `json:"out_order_no"`
		Description   string `json:"description"`
	}
	if err := json.Unmarshal(r.body, &req); err != nil {
		return paramError("请求体不是合法的JSON: " + err.Error())
	}
	if req.TransactionID == "" || req.OutOrderNo == "" || req.Description == "" {
		return paramError("缺少必填参数 (transaction_id, out_order_no, description)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.sharings[req.OutOrderNo]; ok {
		return http.StatusOK, s.sharingView(p)
	}
	if t := s.tradeByTransactionIDLocked(req.TransactionID); t == nil || !t.paid() {
		return fail(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "订单不存在或未支付")
	}
	p := &sharing{outOrderNo: req.OutOrderNo, orderID: s.nextIDLocked("3008450740201411110007820472", 4), transactionID: req.TransactionID,
		state: "FINISHED", unfreeze: true, at: s.clock.Now()}
	if s.sharings == nil {
		s.sharings = map[string]*sharing{}
	}
	s.sharings[p.outOrderNo] = p
	return http.StatusOK, s.sharingView(p)
}

func (s *Sim) sharingView(p *sharing) map[string]any {
	receivers := []map[string]any{}
	for _, rc := range p.receivers {
		v := map[string]any{"amount": rc.Amount, "description": rc.Description, "type": rc.Type, "account": rc.Account,
			"result": rc.Result, "fail_reason": rc.FailReason, "detail_id": p.orderID + rc.Account,
			"create_time": p.at.In(cst).Format(time.RFC3339), "finish_time": s.clock.Now().In(cst).Format(time.RFC3339)}
		receivers = append(receivers, v)
	}
	return map[string]any{"transaction_id": p.transactionID, "out_order_no": p.outOrderNo, "order_id": p.orderID,
		"state": p.state, "receivers": receivers}
}

// Unfrozen returns the transaction ids of the trades unfrozen, in no
// particular order (tests check a finish reached WeChat).
func (s *Sim) Unfrozen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, p := range s.sharings {
		if p.unfreeze {
			out = append(out, p.transactionID)
		}
	}
	return out
}

// Shared returns what each receiver account got from finished sharings,
// by account (tests check nothing was paid twice or lost).
func (s *Sim) Shared() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int64{}
	for _, p := range s.sharings {
		for _, rc := range p.receivers {
			if rc.Result == "SUCCESS" {
				out[rc.Account] += rc.Amount
			}
		}
	}
	return out
}

// Returns (分账回退): POST /v3/profitsharing/return-orders and GET
// /v3/profitsharing/return-orders/{out_return_no}?out_order_no=…. A return
// is made once per out_return_no (a repeat answers the first), only of
// what a sharing paid a MERCHANT_ID receiver (return_mchid) and not
// returned yet (400 INVALID_REQUEST otherwise); it is processed at once,
// as WeChat's documents say: SUCCESS, or FAILED with fail_reason
// ACCOUNT_ABNORMAL for the account ReturnAbnormal.

// ReturnAbnormal is a merchant receiver whose returns WeChat fails.
const ReturnAbnormal = "1900009999"

type sharingReturn struct {
	outOrderNo, outReturnNo, returnID, returnMchID, result, failReason string
	amount                                                             int64
}

func (s *Sim) returnView(rt *sharingReturn) map[string]any {
	out := map[string]any{"order_id": s.sharings[rt.outOrderNo].orderID, "out_order_no": rt.outOrderNo, "out_return_no": rt.outReturnNo,
		"return_id": rt.returnID, "return_mchid": rt.returnMchID, "amount": rt.amount, "result": rt.result}
	if rt.failReason != "" {
		out["fail_reason"] = rt.failReason
	}
	return out
}

func (s *Sim) createReturn(r *v3Request) (int, any) {
	var req struct {
		OutOrderNo  string `json:"out_order_no"`
		OutReturnNo string `json:"out_return_no"`
		ReturnMchID string `json:"return_mchid"`
		Amount      int64  `json:"amount"`
		Description string `json:"description"`
	}
	if err := json.Unmarshal(r.body, &req); err != nil {
		return paramError("请求体不是合法的JSON: " + err.Error())
	}
	switch {
	case req.OutOrderNo == "" || req.OutReturnNo == "" || req.ReturnMchID == "" || req.Amount <= 0 || req.Description == "":
		return paramError("缺少必填参数 (out_order_no, out_return_no, return_mchid, amount, description)")
	case !sharingNoPattern.MatchString(req.OutReturnNo):
		return paramError("out_return_no 只能是数字、大小写字母_-|*@")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rt, ok := s.returns[req.OutReturnNo]; ok {
		return http.StatusOK, s.returnView(rt)
	}
	p := s.sharings[req.OutOrderNo]
	if p == nil {
		return fail(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "分账单不存在")
	}
	var paid int64
	for _, rc := range p.receivers {
		if rc.Type == "MERCHANT_ID" && rc.Account == req.ReturnMchID && rc.Result == "SUCCESS" {
			paid += rc.Amount
		}
	}
	for _, rt := range s.returns {
		if rt.outOrderNo == req.OutOrderNo && rt.returnMchID == req.ReturnMchID && rt.result != "FAILED" {
			paid -= rt.amount
		}
	}
	if req.Amount > paid {
		return fail(http.StatusBadRequest, "INVALID_REQUEST", "回退金额超过该接收方可回退金额（只能对成功分给商户接收方的金额进行回退）")
	}
	rt := &sharingReturn{outOrderNo: req.OutOrderNo, outReturnNo: req.OutReturnNo, returnID: s.nextIDLocked("3008450740201411110007820999", 4),
		returnMchID: req.ReturnMchID, amount: req.Amount, result: "SUCCESS"}
	if req.ReturnMchID == ReturnAbnormal {
		rt.result, rt.failReason = "FAILED", "ACCOUNT_ABNORMAL"
	}
	if s.returns == nil {
		s.returns = map[string]*sharingReturn{}
	}
	s.returns[rt.outReturnNo] = rt
	return http.StatusOK, s.returnView(rt)
}

func (s *Sim) queryReturn(r *v3Request) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := s.returns[r.PathValue("no")]
	if rt == nil || rt.outOrderNo != r.URL.Query().Get("out_order_no") {
		return fail(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "记录不存在")
	}
	return http.StatusOK, s.returnView(rt)
}

// Returned sums the succeeded returns per merchant receiver.
func (s *Sim) Returned() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int64{}
	for _, rt := range s.returns {
		if rt.result == "SUCCESS" {
			out[rt.returnMchID] += rt.amount
		}
	}
	return out
}
