package wechatpay

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/paygate/paygate/internal/sim"
)

// retrySchedule is WeChat's wait before each retry of a notification that
// was not acknowledged with a 2xx.
var retrySchedule = []time.Duration{
	15 * time.Second, 15 * time.Second, 30 * time.Second, 3 * time.Minute, 10 * time.Minute,
	20 * time.Minute, 30 * time.Minute, 30 * time.Minute, 30 * time.Minute, 60 * time.Minute,
	3 * time.Hour, 3 * time.Hour, 3 * time.Hour, 6 * time.Hour, 6 * time.Hour,
}

// holdMax is how long out_of_order_notify holds a payment notification
// when no later notification of its trade comes (× RetryScale).
const holdMax = 60 * time.Second

// notification is one callback to deliver. Its body is fixed; each
// attempt is signed afresh.
type notification struct {
	url        string
	body       []byte
	outTradeNo string
	payment    bool
	badSig     bool
	// v2 notifications (papay) are XML whose body carries its own sign,
	// retried on schedule.
	v2       bool
	schedule []time.Duration
}

// envelope is a notification's JSON.
type envelope struct {
	ID           string           `json:"id"`
	CreateTime   string           `json:"create_time"`
	ResourceType string           `json:"resource_type"`
	EventType    string           `json:"event_type"`
	Summary      string           `json:"summary"`
	Resource     resourceEnvelope `json:"resource"`
}

type resourceEnvelope struct {
	OriginalType   string `json:"original_type"`
	Algorithm      string `json:"algorithm"`
	Ciphertext     string `json:"ciphertext"`
	AssociatedData string `json:"associated_data"`
	Nonce          string `json:"nonce"`
}

func (s *Sim) newNotificationLocked(url, eventType, summary, originalType string, resource any) *notification {
	plain, _ := json.Marshal(resource)
	ciphertext, nonce := encrypt(plain, originalType)
	id := randomHex(4) + "-" + randomHex(2) + "-" + randomHex(2) + "-" + randomHex(2) + "-" + randomHex(6)
	body, _ := json.Marshal(envelope{
		ID: id, CreateTime: s.clock.Now().In(cst).Format(time.RFC3339), ResourceType: "encrypt-resource",
		EventType: eventType, Summary: summary,
		Resource: resourceEnvelope{
			OriginalType: originalType, Algorithm: "AEAD_AES_256_GCM", Ciphertext: ciphertext,
			AssociatedData: originalType, Nonce: nonce,
		},
	})
	return &notification{url: url, body: body}
}

// paymentNotificationLocked is TRANSACTION.SUCCESS for a paid trade; nil
// when the trade has no notify_url (v2 micropay).
func (s *Sim) paymentNotificationLocked(t *trade) *notification {
	if t.NotifyURL == "" {
		return nil
	}
	n := s.newNotificationLocked(t.NotifyURL, "TRANSACTION.SUCCESS", "支付成功", "transaction", t.anyView())
	n.outTradeNo, n.payment = t.OutTradeNo, true
	return n
}

// refundNotificationLocked is REFUND.<status> for a settled refund; nil
// when the refund has no notify_url.
func (s *Sim) refundNotificationLocked(rf *refund) *notification {
	if rf.NotifyURL == "" {
		return nil
	}
	summary := map[string]string{"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}[rf.Status]
	amount := map[string]any{"total": rf.trade.Total, "refund": rf.Amount, "payer_total": rf.trade.Total, "payer_refund": rf.Amount}
	if g := rf.trade.global; g != nil {
		amount = map[string]any{"total": rf.trade.Total, "refund": rf.Amount, "currency": g.Currency,
			"payer_total": g.PayerTotal, "payer_refund": rf.payerRefund, "payer_currency": "CNY"}
	}
	resource := map[string]any{
		"mchid": MchID, "out_trade_no": rf.trade.OutTradeNo, "transaction_id": rf.trade.TransactionID,
		"out_refund_no": rf.OutRefundNo, "refund_id": rf.RefundID, "refund_status": rf.Status,
		"user_received_account": "支付用户零钱",
		"amount":                amount,
	}
	if !rf.SuccessAt.IsZero() {
		resource["success_time"] = rf.SuccessAt.In(cst).Format(time.RFC3339)
	}
	n := s.newNotificationLocked(rf.NotifyURL, "REFUND."+rf.Status, summary, "refund", resource)
	n.outTradeNo = rf.trade.OutTradeNo
	return n
}

// notify sends n, applying the notification faults: drop, duplicate,
// out-of-order (a payment notification waits for its trade's next one)
// and bad_signature.
func (s *Sim) notify(n *notification) {
	if n == nil {
		return
	}
	s.mu.Lock()
	f := s.faults.Take(sim.FaultDropNotify, sim.FaultDuplicateNotify, sim.FaultOutOfOrderNotify, sim.FaultBadSignature)
	n.badSig = f == sim.FaultBadSignature
	if f == sim.FaultOutOfOrderNotify && n.payment {
		s.held[n.outTradeNo] = n
		s.mu.Unlock()
		s.later(s.opts.Scaled(holdMax), func() {
			if s.unhold(n) {
				s.deliver(n, nil)
			}
		})
		return
	}
	held := s.held[n.outTradeNo]
	delete(s.held, n.outTradeNo)
	s.mu.Unlock()
	switch f {
	case sim.FaultDropNotify:
		s.log.Info("wechatpay sim: notification dropped", "trade", n.outTradeNo)
		if held != nil {
			s.deliver(held, nil)
		}
	case sim.FaultDuplicateNotify:
		s.deliver(n, nil)
		s.deliver(n, held)
	default:
		s.deliver(n, held)
	}
}

// unhold takes n out of the held notifications; false if another took it.
func (s *Sim) unhold(n *notification) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held[n.outTradeNo] != n {
		return false
	}
	delete(s.held, n.outTradeNo)
	return true
}

// deliver posts n until a 2xx, on the retry schedule; then (after its
// first attempt) starts next, so next arrives after n.
func (s *Sim) deliver(n, next *notification) {
	if !s.background() {
		return
	}
	go func() {
		defer s.wg.Done()
		schedule, post := retrySchedule, s.post
		if n.v2 {
			schedule, post = n.schedule, s.postV2
		}
		acked := sim.Retry(s.ctx.Done(), schedule, s.opts.RetryScale, func(attempt int) bool {
			ok := post(n)
			if attempt == 0 && next != nil {
				s.deliver(next, nil)
			}
			return ok
		})
		if !acked && s.ctx.Err() == nil {
			s.log.Warn("wechatpay sim: notification abandoned", "trade", n.outTradeNo)
		}
	}()
}

// post makes one delivery attempt; true when acknowledged with a 2xx.
func (s *Sim) post(n *notification) bool {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, n.url, bytes.NewReader(n.body))
	if err != nil {
		s.log.Warn("wechatpay sim: notify_url", "url", n.url, "err", err)
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Mozilla/4.0")
	s.signHeaders(req.Header, n.badSig, n.body)
	resp, err := s.http.Do(req)
	if err != nil {
		s.log.Info("wechatpay sim: notification failed", "url", n.url, "err", err)
		return false
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return resp.StatusCode/100 == 2
}
