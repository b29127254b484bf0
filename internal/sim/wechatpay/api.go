package wechatpay

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/sim"
)

// Trade states.
const (
	stateNotPay     = "NOTPAY"
	stateUserPaying = "USERPAYING"
	stateSuccess    = "SUCCESS"
	stateRefund     = "REFUND"
	stateClosed     = "CLOSED"
	stateRevoked    = "REVOKED"
	statePayError   = "PAYERROR"
	stateAccept     = "ACCEPT" // a PAP deduction accepted, not settled yet
)

var stateDescs = map[string]string{
	stateNotPay:     "订单未支付",
	stateUserPaying: "用户支付中(付款码支付)",
	stateSuccess:    "支付成功",
	stateRefund:     "转入退款",
	stateClosed:     "已关闭",
	stateRevoked:    "已撤销(付款码支付)",
	statePayError:   "支付失败(其他原因,如银行返回失败)",
	stateAccept:     "已接收,等待扣款",
}

// defaultExpiry is how long an unpaid trade without time_expire stays open.
const defaultExpiry = 2 * time.Hour

// trade is a simulated WeChat Pay trade.
type trade struct {
	OutTradeNo, TransactionID, TradeType, State, StateDesc string
	Description, Attach, NotifyURL, OpenID, AuthCode       string
	Total                                                  int64
	PrepayID, CodeURL, H5URL                               string
	fingerprint                                            string // the create's parameters, for repeats
	CreatedAt, PaidAt, ExpireAt                            time.Time
	Refunded                                               int64
	recall                                                 bool         // the next reverse answers SYSTEMERROR, recall=Y
	contractID, errCode, v2SignType                        string       // PAP deductions
	profitSharing                                          bool         // settle_info.profit_sharing: the money is frozen for sharing
	global                                                 *globalTerms // a cross-border trade (global.go); nil: domestic
}

func (t *trade) paid() bool { return t.State == stateSuccess || t.State == stateRefund }

func (t *trade) setState(st string) { t.State, t.StateDesc = st, stateDescs[st] }

// tradeLocked finds a trade, closing it first if it expired unpaid.
func (s *Sim) tradeLocked(no string) *trade {
	t := s.trades[no]
	if t != nil && t.State == stateNotPay && !t.ExpireAt.IsZero() && s.clock.Now().After(t.ExpireAt) {
		t.setState(stateClosed)
	}
	return t
}

// nextID numbers transactions and refunds.
func (s *Sim) nextIDLocked(prefix string, width int) string {
	s.seq++
	return fmt.Sprintf("%s%s%0*d", prefix, s.clock.Now().In(cst).Format("20060102"), width, s.seq)
}

// v3Request is a v3 call whose signature checked out.
type v3Request struct {
	*http.Request
	body []byte
}

// v3 wraps a v3 handler: faults, the Authorization check, the signed answer.
func (s *Sim) v3(h func(*v3Request) (int, any)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r)
		if err != nil {
			s.writeSigned(w, false, http.StatusBadRequest, errorBody{"PARAM_ERROR", "请求体读取失败"})
			return
		}
		if msg := s.checkAuth(r, body); msg != "" {
			s.writeSigned(w, false, http.StatusUnauthorized, errorBody{"SIGN_ERROR", msg})
			return
		}
		fault := s.faults.Take(sim.Fault5xx, sim.FaultTimeout, sim.FaultBadSignature)
		if fault == sim.Fault5xx {
			s.writeSigned(w, false, http.StatusInternalServerError, errorBody{"SYSTEM_ERROR", "系统错误"})
			return
		}
		status, out := h(&v3Request{r, body})
		if fault == sim.FaultTimeout {
			s.hang(r)
		}
		s.writeSigned(w, fault == sim.FaultBadSignature, status, out)
	})
}

func fail(status int, code, msg string) (int, any) { return status, errorBody{code, msg} }

func paramError(msg string) (int, any) { return fail(http.StatusBadRequest, "PARAM_ERROR", msg) }

var outTradeNoPattern = regexp.MustCompile(`^[0-9A-Za-z_\-|*]{6,32}$`)

type amountIn struct {
	Total    int64  `json:"total"`
	Currency string `json:"currency"`
}

// create serves POST /v3/pay/transactions/{native,jsapi,app,h5}.
func (s *Sim) create(r *v3Request, kind string) (int, any) {
	var req struct {
		AppID       string    `json:"appid"`
		MchID       string    `json:"mchid"`
		Description string    `json:"description"`
		OutTradeNo  string    `json:"out_trade_no"`
		TimeExpire  string    `json:"time_expire"`
		Attach      string    `json:"attach"`
		NotifyURL   string    `json:"notify_url"`
		Amount      *amountIn `json:"amount"`
		Payer       *struct {
			OpenID string `json:"openid"`
		} `json:"payer"`
		SceneInfo *struct {
			PayerClientIP string `json:"payer_client_ip"`
			H5Info        *struct {
				Type string `json:"type"`
			} `json:"h5_info"`
		} `json:"scene_info"`
		SettleInfo *struct {
			ProfitSharing bool `json:"profit_sharing"`
		} `json:"settle_info"`
		TradeType            string `json:"trade_type"`
		MerchantCategoryCode string `json:"merchant_category_code"`
	}
	if err := json.Unmarshal(r.body, &req); err != nil {
		return paramError("请求体不是合法的JSON: " + err.Error())
	}
	global := strings.HasPrefix(r.URL.Path, "/v3/global/")
	var terms *globalTerms
	if global && req.Amount != nil {
		var st int
		var body any
		if terms, st, body = s.globalCreateTerms(kind, req.TradeType, req.MerchantCategoryCode, req.Amount.Currency, req.SettleInfo != nil); terms == nil {
			return st, body
		}
	}
	switch {
	case req.AppID == "" || req.MchID == "" || req.Description == "" || req.OutTradeNo == "" || req.NotifyURL == "" || req.Amount == nil:
		return paramError("缺少必填参数 (appid, mchid, description, out_trade_no, notify_url, amount)")
	case req.MchID != MchID:
		return fail(http.StatusBadRequest, "MCH_NOT_EXISTS", "商户号不存在")
	case req.AppID != AppID:
		return fail(http.StatusBadRequest, "APPID_MCHID_NOT_MATCH", "AppID和mch_id不匹配")
	case !outTradeNoPattern.MatchString(req.OutTradeNo):
		return paramError("out_trade_no 格式错误")
	case req.Amount.Total <= 0:
		return paramError("amount.total 必须大于0")
	case !global && req.Amount.Currency != "" && req.Amount.Currency != "CNY":
		return paramError("amount.currency 仅支持 CNY")
	case len(req.Description) > 127 || len(req.Attach) > 128:
		return paramError("description 或 attach 过长")
	case kind == "jsapi" && (req.Payer == nil || req.Payer.OpenID == ""):
		return paramError("JSAPI下单缺少 payer.openid")
	case kind == "h5" && (req.SceneInfo == nil || req.SceneInfo.PayerClientIP == "" || req.SceneInfo.H5Info == nil || req.SceneInfo.H5Info.Type == ""):
		return paramError("H5下单缺少 scene_info.payer_client_ip 或 scene_info.h5_info.type")
	case req.SceneInfo != nil && req.SceneInfo.PayerClientIP == "":
		return paramError("scene_info.payer_client_ip 必填")
	}
	now := s.clock.Now()
	expire := now.Add(defaultExpiry)
	if req.TimeExpire != "" {
		var err error
		if expire, err = time.Parse(time.RFC3339, req.TimeExpire); err != nil {
			return paramError("time_expire 格式错误 (RFC 3339)")
		}
	}
	openID := ""
	if req.Payer != nil {
		openID = req.Payer.OpenID
	}
	fp := fmt.Sprintf("%s|%s|%d|%s|%s|%s|%s", kind, req.Description, req.Amount.Total, req.NotifyURL, openID, req.Attach, req.Amount.Currency)

	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tradeLocked(req.OutTradeNo)
	switch {
	case t == nil:
		t = &trade{
			OutTradeNo: req.OutTradeNo, TradeType: tradeTypes[kind], Description: req.Description, Attach: req.Attach,
			NotifyURL: req.NotifyURL, OpenID: openID, Total: req.Amount.Total, fingerprint: fp,
			CreatedAt: now, ExpireAt: expire, profitSharing: req.SettleInfo != nil && req.SettleInfo.ProfitSharing,
			global: terms,
		}
		t.setState(stateNotPay)
		t.PrepayID = "wx" + now.In(cst).Format("02150405") + randomHex(12)
		switch kind {
		case "native":
			t.CodeURL = "weixin://wxpay/bizpayurl?pr=" + randomHex(4)
		case "h5":
			t.H5URL = "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=" + t.PrepayID + "&package=" + randomHex(5)
		}
		s.trades[t.OutTradeNo] = t
	case (t.global != nil) != global:
		return fail(http.StatusForbidden, "OUT_TRADE_NO_USED", "商户订单号重复")
	case t.paid():
		return fail(http.StatusBadRequest, "ORDERPAID", "该订单已支付")
	case t.State == stateClosed || t.State == stateRevoked:
		return fail(http.StatusBadRequest, "ORDER_CLOSED", "订单已关闭")
	case t.fingerprint != fp:
		return fail(http.StatusForbidden, "OUT_TRADE_NO_USED", "商户订单号重复")
	}
	switch kind {
	case "native":
		return http.StatusOK, map[string]string{"code_url": t.CodeURL}
	case "h5":
		return http.StatusOK, map[string]string{"h5_url": t.H5URL}
	}
	return http.StatusOK, map[string]string{"prepay_id": t.PrepayID}
}

var tradeTypes = map[string]string{"native": "NATIVE", "jsapi": "JSAPI", "app": "APP", "h5": "MWEB"}

// transactionView is a trade as queried and notified.
type transactionView struct {
	AppID          string     `json:"appid"`
	MchID          string     `json:"mchid"`
	OutTradeNo     string     `json:"out_trade_no"`
	TransactionID  string     `json:"transaction_id,omitempty"`
	TradeType      string     `json:"trade_type,omitempty"`
	TradeState     string     `json:"trade_state"`
	TradeStateDesc string     `json:"trade_state_desc"`
	BankType       string     `json:"bank_type,omitempty"`
	Attach         string     `json:"attach"`
	SuccessTime    string     `json:"success_time,omitempty"`
	Payer          *payerView `json:"payer,omitempty"`
	Amount         amountView `json:"amount"`
}

type payerView struct {
	OpenID string `json:"openid"`
}

type amountView struct {
	Total         int64  `json:"total"`
	PayerTotal    int64  `json:"payer_total,omitempty"`
	Currency      string `json:"currency"`
	PayerCurrency string `json:"payer_currency"`
}

func (t *trade) view() transactionView {
	v := transactionView{
		AppID: AppID, MchID: MchID, OutTradeNo: t.OutTradeNo, TransactionID: t.TransactionID, TradeType: t.TradeType,
		TradeState: t.State, TradeStateDesc: t.StateDesc, Attach: t.Attach,
		Amount: amountView{Total: t.Total, Currency: "CNY", PayerCurrency: "CNY"},
	}
	if !t.PaidAt.IsZero() {
		v.BankType, v.SuccessTime = "OTHERS", t.PaidAt.In(cst).Format(time.RFC3339)
		v.Payer, v.Amount.PayerTotal = &payerView{OpenID: t.OpenID}, t.Total
	}
	return v
}

// checkMchIDQuery checks the mchid query parameter of v3 GETs.
func checkMchIDQuery(r *v3Request) (int, any, bool) {
	switch m := r.URL.Query().Get("mchid"); {
	case m == "":
		st, b := paramError("缺少 mchid")
		return st, b, false
	case m != MchID:
		st, b := fail(http.StatusBadRequest, "MCH_NOT_EXISTS", "商户号不存在")
		return st, b, false
	}
	return 0, nil, true
}

// queryByOutTradeNo serves GET /v3/pay/transactions/out-trade-no/{no}?mchid=.
func (s *Sim) queryByOutTradeNo(r *v3Request) (int, any) {
	if st, b, ok := checkMchIDQuery(r); !ok {
		return st, b
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tradeLocked(r.PathValue("no"))
	if t == nil || !sameAPI(r, t) {
		return fail(http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
	}
	return http.StatusOK, t.anyView()
}

// queryByTransactionID serves GET /v3/pay/transactions/id/{id}?mchid=.
func (s *Sim) queryByTransactionID(r *v3Request) (int, any) {
	if st, b, ok := checkMchIDQuery(r); !ok {
		return st, b
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.trades {
		if t.TransactionID != "" && t.TransactionID == r.PathValue("id") && sameAPI(r, t) {
			return http.StatusOK, t.anyView()
		}
	}
	return fail(http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
}

// close serves POST /v3/pay/transactions/out-trade-no/{no}/close.
func (s *Sim) close(r *v3Request) (int, any) {
	var req struct {
		MchID string `json:"mchid"`
	}
	if err := json.Unmarshal(r.body, &req); err != nil || req.MchID == "" {
		return paramError("缺少 mchid")
	}
	if req.MchID != MchID {
		return fail(http.StatusBadRequest, "MCH_NOT_EXISTS", "商户号不存在")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tradeLocked(r.PathValue("no"))
	switch {
	case t == nil || !sameAPI(r, t):
		return fail(http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
	case t.paid():
		return fail(http.StatusBadRequest, "ORDERPAID", "订单已支付")
	case t.State == stateUserPaying:
		return fail(http.StatusAccepted, "USER_PAYING", "用户支付中,需要输入密码")
	case t.State == stateNotPay || t.State == statePayError:
		t.setState(stateClosed)
	}
	return http.StatusNoContent, nil
}

// PayerPays makes the payer pay a trade that waits (NOTPAY, USERPAYING);
// its notify_url, if any, is told. A paid trade is ErrAlreadyPaid.
func (s *Sim) PayerPays(outTradeNo string) error {
	return s.payerActs(outTradeNo, true)
}

// PayerFails makes a waiting trade's payment fail: it ends PAYERROR.
func (s *Sim) PayerFails(outTradeNo string) error {
	return s.payerActs(outTradeNo, false)
}

func (s *Sim) payerActs(outTradeNo string, pays bool) error {
	s.mu.Lock()
	t := s.tradeLocked(outTradeNo)
	switch {
	case t == nil:
		s.mu.Unlock()
		return fmt.Errorf("wechatpay sim: trade %s: %w", outTradeNo, channel.ErrTradeNotFound)
	case t.paid():
		s.mu.Unlock()
		return fmt.Errorf("wechatpay sim: trade %s: %w", outTradeNo, channel.ErrAlreadyPaid)
	case t.State != stateNotPay && t.State != stateUserPaying:
		s.mu.Unlock()
		return fmt.Errorf("wechatpay sim: trade %s is %s: %w", outTradeNo, t.State, channel.ErrInvalidRequest)
	}
	if !pays {
		t.setState(statePayError)
		s.mu.Unlock()
		return nil
	}
	s.payLocked(t)
	n := s.paymentNotificationLocked(t)
	s.mu.Unlock()
	s.notify(n)
	return nil
}

// payLocked marks t paid now.
func (s *Sim) payLocked(t *trade) {
	t.setState(stateSuccess)
	t.TransactionID = s.nextIDLocked("4200", 16)
	t.PaidAt = s.clock.Now()
	if t.global != nil {
		t.global.PayerTotal = convert(t.Total, t.global.Currency, t.global.Rate)
	}
	if t.OpenID == "" {
		t.OpenID = "oUpF8uMuAJO_M2pxb1Q9zN" + randomHex(3)
	}
}
