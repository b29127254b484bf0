package unionpay

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/sim"
)

// ACP endpoints.
const (
	pathBackTrans  = "/gateway/api/backTransReq.do"
	pathFrontTrans = "/gateway/api/frontTransReq.do"
	pathQuery      = "/gateway/api/queryTrans.do"
	pathFile       = "/gateway/api/fileTransfer.do"
)

var cst = time.FixedZone("CST", 8*3600)

// Response codes and messages, from ACP's appendix.
const (
	codeOK          = "00"
	codeAccepted    = "05"
	codeBusy        = "06"
	codeFormat      = "10"
	codeSignature   = "11"
	codeDuplicate   = "12"
	codeMissing     = "13"
	codeDeclined    = "30"
	codeNoPerm      = "32"
	codeNotFound    = "34"
	codeOrigState   = "35"
	codeMismatch    = "36"
	codeRevoked     = "45"
	codeNoFunds     = "64"
	codeTimeout     = "69"
	codeNoFile      = "98"
	msgOK           = "成功[0000000]"
	msgAccepted     = "交易已受理，请稍后查询交易结果"
	msgBusy         = "系统繁忙，请稍后再试"
	msgFormat       = "报文格式错误"
	msgSignature    = "验证签名失败"
	msgDuplicate    = "重复交易"
	msgMissing      = "报文交易要素缺失"
	msgDeclined     = "交易未通过，请尝试使用其他银联卡支付或联系95516"
	msgNoPerm       = "无此交易权限"
	msgNotFound     = "查无此交易"
	msgOrigState    = "原交易不存在或状态不正确"
	msgMismatch     = "与原交易信息不符"
	msgRevoked      = "原交易已被成功退货或已被成功撤销"
	msgNoFunds      = "卡上的余额不足"
	msgTimeoutInput = "您的输入超时，交易失败"
	msgNoFile       = "文件不存在"
)

// Trade states.
const (
	stateWaiting  = "waiting"  // the payer has not paid (or the refund not settled)
	statePaid     = "paid"     // paid; a refund: settled
	stateFailed   = "failed"   // the payment failed for good
	stateReversed = "reversed" // paid, then reversed (冲正): the money went back
	stateClosed   = "closed"   // reversed before anyone paid
)

// trade is a purchase or a refund, keyed by its orderId.
type trade struct {
	refund      bool
	orderID     string
	txnTime     string
	txnSubType  string
	bizType     string
	channelType string
	amount      int64
	backURL     string
	qrCode      string
	queryID     string
	traceNo     string
	state       string
	failCode    string
	failMsg     string
	created     time.Time
	paidAt      time.Time // a refund: settled at
	expires     time.Time
	refunded    int64  // refunds accepted against a purchase
	orig        *trade // a refund's purchase
	reqReserved string
	heldNotify  map[string]string // a payment notification held back (out_of_order_notify)
	fingerprint string            // the request's parameters, to tell a repeat from a duplicate
}

// apiError is an answer with a respCode other than 00.
type apiError struct{ code, msg string }

func (e *apiError) Error() string { return e.code + " " + e.msg }

func fail(code, msg string) error { return &apiError{code, msg} }

var (
	orderIDPattern = regexp.MustCompile(`^[0-9A-Za-z]{8,40}$`)
	amountPattern  = regexp.MustCompile(`^[1-9][0-9]{0,11}$`)
	payerCode      = regexp.MustCompile(`^62[0-9]{17}$`)
)

// readFields reads a request's form (the body, and for GET the query).
func readFields(r *http.Request) (map[string]string, error) {
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	fields := map[string]string{}
	for k, vs := range r.Form {
		if len(vs) > 0 {
			fields[k] = vs[0]
		}
	}
	return fields, nil
}

// check verifies the common fields and the signature.
func (s *Sim) check(f map[string]string) error {
	for _, k := range []string{"version", "encoding", "signMethod", "txnType", "txnSubType", "bizType", "accessType", "merId", "certId", "signature"} {
		if f[k] == "" {
			return fail(codeMissing, msgMissing+"["+k+"]")
		}
	}
	if f["version"] != "5.1.0" || f["signMethod"] != "01" {
		return fail(codeFormat, msgFormat+"[version/signMethod]")
	}
	if f["merId"] != MerID || f["certId"] != s.pki.merchantCertID || !verify(f, &s.pki.merchantKey.PublicKey) {
		return fail(codeSignature, msgSignature)
	}
	return nil
}

// need checks that every named field is present, then that it is well formed.
func need(f map[string]string, names ...string) error {
	for _, k := range names {
		if f[k] == "" {
			return fail(codeMissing, msgMissing+"["+k+"]")
		}
	}
	if v, ok := f["orderId"]; ok && !orderIDPattern.MatchString(v) {
		return fail(codeFormat, msgFormat+"[orderId]")
	}
	if v, ok := f["txnTime"]; ok {
		if _, err := time.ParseInLocation("20060102150405", v, cst); err != nil {
			return fail(codeFormat, msgFormat+"[txnTime]")
		}
	}
	if v, ok := f["txnAmt"]; ok && !amountPattern.MatchString(v) {
		return fail(codeFormat, msgFormat+"[txnAmt]")
	}
	if v, ok := f["currencyCode"]; ok && v != "156" {
		return fail(codeFormat, msgFormat+"[currencyCode]")
	}
	return nil
}

// serveAPI answers backTransReq, queryTrans and fileTransfer.
func (s *Sim) serveAPI(w http.ResponseWriter, r *http.Request) {
	fault := s.faults.Take(sim.Fault5xx, sim.FaultTimeout, sim.FaultBadSignature)
	if fault == sim.Fault5xx {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "respCode=%s&respMsg=%s", codeBusy, msgBusy)
		return
	}
	f, err := readFields(r)
	var answer map[string]string
	if err != nil {
		answer = errorAnswer(nil, fail(codeFormat, msgFormat))
	} else if err := s.check(f); err != nil {
		answer = errorAnswer(f, err)
	} else {
		answer, err = s.dispatch(r.URL.Path, f)
		if err != nil {
			answer = errorAnswer(f, err)
		}
	}
	if fault == sim.FaultTimeout {
		// It acted; the answer comes only after the client has given up.
		select {
		case <-r.Context().Done():
		case <-time.After(s.opts.Hang):
		case <-s.done:
		}
	}
	s.writeAnswer(w, answer, fault == sim.FaultBadSignature)
}

// dispatch routes a checked request by endpoint and transaction type.
func (s *Sim) dispatch(path string, f map[string]string) (map[string]string, error) {
	switch {
	case path == pathQuery && f["txnType"] == "00":
		return s.query(f)
	case path == pathFile && f["txnType"] == "76":
		return s.fileTransfer(f)
	case path != pathBackTrans:
		return nil, fail(codeFormat, msgFormat+"[txnType]")
	}
	switch f["txnType"] + "/" + f["txnSubType"] {
	case "01/07":
		return s.applyQRCode(f)
	case "01/06":
		return s.chargePayerCode(f)
	case "04/00":
		return s.refund(f)
	case "99/01":
		return s.reverse(f)
	}
	return nil, fail(codeNoPerm, msgNoPerm)
}

// echo copies the request's identifying fields into an answer.
func echo(f map[string]string) map[string]string {
	a := map[string]string{"version": "5.1.0", "encoding": "UTF-8", "signMethod": "01", "accessType": "0", "merId": MerID}
	for _, k := range []string{"txnType", "txnSubType", "bizType", "orderId", "txnTime", "txnAmt", "currencyCode", "origQryId", "reqReserved", "settleDate", "fileType"} {
		if v, ok := f[k]; ok {
			a[k] = v
		}
	}
	return a
}

func errorAnswer(f map[string]string, err error) map[string]string {
	a := echo(f)
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{"99", "通用错误"}
	}
	a["respCode"], a["respMsg"] = ae.code, ae.msg
	return a
}

func okAnswer(f map[string]string) map[string]string {
	a := echo(f)
	a["respCode"], a["respMsg"] = codeOK, msgOK
	return a
}

// writeAnswer signs an answer (with a stranger's key when told to) and
// writes it raw, as UnionPay does: "k=v&…" sorted, values not URL-encoded.
func (s *Sim) writeAnswer(w http.ResponseWriter, a map[string]string, badSignature bool) {
	if err := s.signMessage(a, badSignature); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k + "=" + a[k])
	}
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.Write([]byte(b.String()))
}

// signMessage adds signPubKeyCert (the test environment's form when the
// simulator plays that environment) and the signature.
func (s *Sim) signMessage(a map[string]string, badSignature bool) error {
	a["signPubKeyCert"] = s.pki.upCertPEM
	if s.testEnv.Load() {
		a["signPubKeyCert"] = s.pki.upTestCertPEM
	}
	key := s.pki.upKey
	if badSignature {
		key = s.pki.wrongKey
	}
	return sign(a, key)
}

// nextIDsLocked makes a 21-digit queryId and a 6-digit traceNo.
func (s *Sim) nextIDsLocked() (queryID, traceNo string) {
	s.seq++
	now := s.clock.Now().In(cst)
	return fmt.Sprintf("%s%011d", now.Format("0102150405"), s.seq), fmt.Sprintf("%06d", s.seq%1000000)
}

func fingerprint(f map[string]string, names ...string) string {
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k + "=" + f[k] + "&")
	}
	return b.String()
}

// newPurchaseLocked records a purchase, or finds the same one sent again.
// It reports whether the trade already existed.
func (s *Sim) newPurchaseLocked(f map[string]string) (*trade, bool, error) {
	fp := fingerprint(f, "txnType", "txnSubType", "txnTime", "txnAmt", "qrNo")
	if t, ok := s.trades[f["orderId"]]; ok {
		if t.fingerprint != fp {
			return nil, false, fail(codeDuplicate, msgDuplicate)
		}
		return t, true, nil
	}
	amount, _ := strconv.ParseInt(f["txnAmt"], 10, 64)
	t := &trade{
		orderID: f["orderId"], txnTime: f["txnTime"], txnSubType: f["txnSubType"], bizType: f["bizType"],
		channelType: f["channelType"], amount: amount, backURL: f["backUrl"], state: stateWaiting,
		created: s.clock.Now(), fingerprint: fp,
	}
	if v := f["payTimeout"]; v != "" {
		exp, err := time.ParseInLocation("20060102150405", v, cst)
		if err != nil {
			return nil, false, fail(codeFormat, msgFormat+"[payTimeout]")
		}
		t.expires = exp
	}
	s.trades[t.orderID] = t
	return t, false, nil
}

// applyQRCode (申请消费二维码) makes a QR code that waits for the payer.
func (s *Sim) applyQRCode(f map[string]string) (map[string]string, error) {
	if err := need(f, "orderId", "txnTime", "txnAmt", "currencyCode", "backUrl", "channelType"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, _, err := s.newPurchaseLocked(f)
	if err != nil {
		return nil, err
	}
	if t.qrCode == "" {
		s.seq++
		t.qrCode = fmt.Sprintf("https://qr.95516.com/00010000/62%020d", s.seq*7919+s.clock.Now().UnixNano()%100000000)
	}
	a := okAnswer(f)
	a["qrCode"] = t.qrCode
	return a, nil
}

// chargePayerCode (被扫) charges the payer's payment code; the answer only
// says "accepted", the result is queried or notified.
func (s *Sim) chargePayerCode(f map[string]string) (map[string]string, error) {
	if err := need(f, "orderId", "txnTime", "txnAmt", "currencyCode", "backUrl", "qrNo"); err != nil {
		return nil, err
	}
	if !payerCode.MatchString(f["qrNo"]) {
		return nil, fail(codeFormat, msgFormat+"[qrNo]")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, repeated, err := s.newPurchaseLocked(f)
	if err != nil {
		return nil, err
	}
	if !repeated {
		t.queryID, t.traceNo = s.nextIDsLocked()
		s.byQueryID[t.queryID] = t
		switch f["qrNo"] {
		case AuthCodeUserPaying:
		case AuthCodeDeclined:
			t.state, t.failCode, t.failMsg = stateFailed, codeNoFunds, msgNoFunds
		default:
			s.payLocked(t)
		}
	}
	a := okAnswer(f)
	a["queryId"] = t.queryID
	return a, nil
}

// payLocked marks a waiting purchase paid and notifies the merchant.
func (s *Sim) payLocked(t *trade) {
	if t.queryID == "" {
		t.queryID, t.traceNo = s.nextIDsLocked()
		s.byQueryID[t.queryID] = t
	}
	t.state = statePaid
	t.paidAt = s.clock.Now()
	s.notifyLocked(t)
}

// refund (退货) accepts a refund of a paid purchase; it settles later.
func (s *Sim) refund(f map[string]string) (map[string]string, error) {
	if err := need(f, "orderId", "txnTime", "txnAmt", "origQryId", "backUrl"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fp := fingerprint(f, "txnType", "txnTime", "txnAmt", "origQryId")
	if t, ok := s.trades[f["orderId"]]; ok {
		if t.fingerprint != fp {
			return nil, fail(codeDuplicate, msgDuplicate)
		}
		a := okAnswer(f)
		a["queryId"] = t.queryID
		return a, nil
	}
	orig, ok := s.byQueryID[f["origQryId"]]
	if !ok || orig.refund || orig.state != statePaid {
		return nil, fail(codeOrigState, msgOrigState)
	}
	amount, _ := strconv.ParseInt(f["txnAmt"], 10, 64)
	if amount > orig.amount-orig.refunded {
		return nil, fail(codeMismatch, msgMismatch)
	}
	t := &trade{
		refund: true, orderID: f["orderId"], txnTime: f["txnTime"], txnSubType: "00", bizType: f["bizType"],
		channelType: f["channelType"], amount: amount, backURL: f["backUrl"], state: stateWaiting,
		created: s.clock.Now(), orig: orig, reqReserved: f["reqReserved"], fingerprint: fp,
	}
	t.queryID, t.traceNo = s.nextIDsLocked()
	orig.refunded += amount
	s.trades[t.orderID] = t
	s.byQueryID[t.queryID] = t
	s.afterLocked(s.opts.Scaled(refundDelay), func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if t.state == stateWaiting {
			t.state = statePaid
			t.paidAt = s.clock.Now()
			s.notifyLocked(t)
		}
	})
	a := okAnswer(f)
	a["queryId"] = t.queryID
	return a, nil
}

// reverse (冲正) cancels a purchase by orderId and txnTime whatever its
// state: a paid one is given back, a waiting one can no longer be paid.
func (s *Sim) reverse(f map[string]string) (map[string]string, error) {
	if err := need(f, "orderId", "txnTime"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.trades[f["orderId"]]
	if !ok || t.refund || t.txnTime != f["txnTime"] {
		return nil, fail(codeNotFound, msgNotFound)
	}
	switch t.state {
	case statePaid:
		t.state = stateReversed
	case stateWaiting:
		t.state = stateClosed
	}
	return okAnswer(f), nil
}

// query (交易状态查询) answers with the state of the transaction orderId
// sent at txnTime.
func (s *Sim) query(f map[string]string) (map[string]string, error) {
	if err := need(f, "orderId", "txnTime"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.trades[f["orderId"]]
	if !ok || t.txnTime != f["txnTime"] {
		return nil, fail(codeNotFound, msgNotFound)
	}
	a := okAnswer(f)
	a["txnType"], a["txnSubType"] = "01", t.txnSubType
	if t.refund {
		a["txnType"], a["origQryId"] = "04", t.orig.queryID
	}
	a["bizType"] = t.bizType
	a["txnAmt"] = strconv.FormatInt(t.amount, 10)
	a["currencyCode"] = "156"
	if t.queryID != "" {
		a["queryId"], a["traceNo"] = t.queryID, t.traceNo
	}
	switch t.state {
	case stateWaiting:
		a["origRespCode"], a["origRespMsg"] = codeAccepted, msgAccepted
	case statePaid:
		a["origRespCode"], a["origRespMsg"] = codeOK, msgOK
		a["traceTime"] = t.paidAt.In(cst).Format("0102150405")
		a["settleDate"] = t.paidAt.In(cst).Format("0102")
		a["settleAmt"], a["settleCurrencyCode"] = a["txnAmt"], "156"
	case stateFailed:
		a["origRespCode"], a["origRespMsg"] = t.failCode, t.failMsg
	case stateReversed:
		a["origRespCode"], a["origRespMsg"] = codeRevoked, msgRevoked
	case stateClosed:
		a["origRespCode"], a["origRespMsg"] = codeTimeout, msgTimeoutInput
	}
	return a, nil
}

// PayerPays makes the payer pay the waiting purchase with this orderId.
func (s *Sim) PayerPays(outTradeNo string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.waitingLocked(outTradeNo)
	if err != nil {
		return err
	}
	s.payLocked(t)
	return nil
}

// PayerFails makes the waiting purchase with this orderId fail.
func (s *Sim) PayerFails(outTradeNo string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.waitingLocked(outTradeNo)
	if err != nil {
		return err
	}
	t.state, t.failCode, t.failMsg = stateFailed, codeDeclined, msgDeclined
	return nil
}

func (s *Sim) waitingLocked(orderID string) (*trade, error) {
	t, ok := s.trades[orderID]
	if !ok { // the gateway's own order id (ord_…), as the other simulators take it
		t, ok = s.trades[strings.Replace(orderID, "_", "", 1)]
	}
	switch {
	case !ok || t.refund:
		return nil, fmt.Errorf("unionpay sim: no purchase %q", orderID)
	case t.state != stateWaiting:
		return nil, fmt.Errorf("unionpay sim: purchase %q is %s", orderID, t.state)
	case !t.expires.IsZero() && s.clock.Now().After(t.expires):
		return nil, fmt.Errorf("unionpay sim: purchase %q expired at %s", orderID, t.expires.Format(time.DateTime))
	}
	return t, nil
}

// afterLocked runs fn after d unless the simulator closes first. The
// caller holds s.mu.
func (s *Sim) afterLocked(d time.Duration, fn func()) {
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-timer.C:
			fn()
		case <-s.done:
		}
	}()
}
