package wechatpay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/paygate/paygate/internal/channel"
)

// notice is a notification's envelope.
type notice struct {
	ID           string   `json:"id"`
	CreateTime   string   `json:"create_time"`
	EventType    string   `json:"event_type"`
	ResourceType string   `json:"resource_type"`
	Summary      string   `json:"summary"`
	Resource     resource `json:"resource"`
}

// resource is an encrypted notification resource.
type resource struct {
	Algorithm      string `json:"algorithm"`
	Ciphertext     string `json:"ciphertext"`
	AssociatedData string `json:"associated_data"`
	OriginalType   string `json:"original_type"`
	Nonce          string `json:"nonce"`
}

// refundNotice is the decrypted resource of a REFUND.* notification.
type refundNotice struct {
	MchID         string `json:"mchid"`
	OutTradeNo    string `json:"out_trade_no"`
	TransactionID string `json:"transaction_id"`
	OutRefundNo   string `json:"out_refund_no"`
	RefundID      string `json:"refund_id"`
	RefundStatus  string `json:"refund_status"`
	Amount        struct {
		Total  int64 `json:"total"`
		Refund int64 `json:"refund"`
	} `json:"amount"`
}

// readNotice decodes a callback's envelope or decrypted resource with
// exact member names, no name twice and valid UTF-8 only (the JSON v2
// rules): a body must not read one way to another JSON reader and another
// way here. Members it does not know are ignored, since WeChat adds them.
func readNotice(data []byte, v any) error {
	return jsonv2.Unmarshal(data, v)
}

// ownedResource is a decrypted resource: a trade or a refund, domestic or
// global, of one merchant.
type ownedResource interface{ merchant() string }

func (t *transaction) merchant() string        { return t.MchID }
func (t *globalTransaction) merchant() string  { return t.MchID }
func (n *refundNotice) merchant() string       { return n.MchID }
func (n *globalRefundNotice) merchant() string { return n.MchID }

// readOwn reads a decrypted resource into v (what names it in errors); one
// that does not read, or is for another merchant, is ErrBadSignature.
func (c *Connector) readOwn(id, what string, plain []byte, v ownedResource) error {
	if err := readNotice(plain, v); err != nil {
		return fmt.Errorf("wechatpay notify %s: %s: %w: %w", id, what, channel.ErrBadSignature, err)
	}
	if m := v.merchant(); m != c.mchID {
		return fmt.Errorf("wechatpay notify %s: for merchant %q: %w", id, m, channel.ErrBadSignature)
	}
	return nil
}

// Notify verifies a WeChat Pay callback (the Wechatpay-* headers with the
// platform key, the timestamp within five minutes, SIGNTEST probes
// refused), decrypts its resource with the APIv3 key and reads
// TRANSACTION.SUCCESS as a payment and REFUND.SUCCESS / ABNORMAL / CLOSED
// as a refund. Whatever cannot be verified or decrypted is ErrBadSignature.
func (c *Connector) Notify(ctx context.Context, r channel.NotifyRequest) (*channel.Notification, error) {
	if err := c.verifySigned(r.Header, r.Body); err != nil {
		return nil, fmt.Errorf("wechatpay notify: %w", err)
	}
	var n notice
	if err := readNotice(r.Body, &n); err != nil {
		return nil, fmt.Errorf("wechatpay notify: body: %w: %w", channel.ErrBadSignature, err)
	}
	if n.Resource.Algorithm != "AEAD_AES_256_GCM" {
		return nil, fmt.Errorf("wechatpay notify %s: algorithm %q: %w", n.ID, n.Resource.Algorithm, channel.ErrBadSignature)
	}
	plain, err := DecryptAEADAES256GCM(c.apiV3Key, n.Resource.Nonce, n.Resource.AssociatedData, n.Resource.Ciphertext)
	if err != nil {
		return nil, fmt.Errorf("wechatpay notify %s: %w: %w", n.ID, channel.ErrBadSignature, err)
	}
	switch n.EventType {
	case "TRANSACTION.SUCCESS":
		if c.global {
			return c.globalPaymentNotification(n.ID, plain)
		}
		return c.paymentNotification(n.ID, plain)
	case "REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED":
		if c.global {
			return c.globalRefundNotification(n.ID, plain)
		}
		return c.refundNotification(n.ID, plain)
	}
	return nil, fmt.Errorf("wechatpay notify %s: event %q: %w", n.ID, n.EventType, channel.ErrNotSupported)
}

func (c *Connector) paymentNotification(id string, plain []byte) (*channel.Notification, error) {
	return readPayment(c, id, plain, func(t *transaction) string { return t.OutTradeNo }, queryResponse)
}

// readPayment reads a TRANSACTION.SUCCESS resource of type T (a domestic
// or a global trade) as a query answer is read.
func readPayment[T any, PT interface {
	*T
	ownedResource
}](c *Connector, id string, plain []byte, outTradeNo func(PT) string, read func(T) (*channel.QueryResponse, error)) (*channel.Notification, error) {
	var t T
	if err := c.readOwn(id, "transaction", plain, PT(&t)); err != nil {
		return nil, err
	}
	q, err := read(t)
	if err != nil {
		return nil, fmt.Errorf("wechatpay notify %s: %w", id, err)
	}
	return &channel.Notification{
		Kind: channel.NotifyPayment, EventID: id, OrderID: outTradeNo(&t), ChannelTradeNo: q.ChannelTradeNo,
		Status: q.Status, Amount: q.Amount, Currency: q.Currency, PaidAt: q.PaidAt,
		PayerAmount: q.PayerAmount, PayerCurrency: q.PayerCurrency, ExchangeRate: q.ExchangeRate,
	}, nil
}

func (c *Connector) refundNotification(id string, plain []byte) (*channel.Notification, error) {
	var rn refundNotice
	if err := c.readOwn(id, "refund", plain, &rn); err != nil {
		return nil, err
	}
	st, _, err := refundStatus(rn.RefundStatus)
	if err != nil {
		return nil, fmt.Errorf("wechatpay notify %s: %w", id, err)
	}
	if rn.Amount.Total < 0 || rn.Amount.Refund < 0 {
		// Found by FuzzNotify: a negative amount was read as it was.
		return nil, fmt.Errorf("wechatpay notify %s: negative amount (total %d, refund %d): %w", id, rn.Amount.Total, rn.Amount.Refund, channel.ErrInvalidRequest)
	}
	return &channel.Notification{
		Kind: channel.NotifyRefund, EventID: id, OrderID: rn.OutTradeNo, ChannelTradeNo: rn.TransactionID,
		Amount: rn.Amount.Total, Currency: "CNY", RefundID: rn.OutRefundNo, ChannelRefundNo: rn.RefundID,
		RefundStatus: st, RefundAmount: rn.Amount.Refund,
	}, nil
}

// NotifyReply is 204 without a body for an accepted callback, and 500
// with {"code":"FAIL","message":…} for a refused one, so WeChat retries.
func (c *Connector) NotifyReply(err error) channel.NotifyReply {
	if err == nil {
		return channel.NotifyReply{Status: http.StatusNoContent}
	}
	msg := "处理失败"
	if errors.Is(err, channel.ErrBadSignature) {
		msg = "验签失败"
	}
	body, _ := json.Marshal(map[string]string{"code": "FAIL", "message": msg})
	return channel.NotifyReply{Status: http.StatusInternalServerError, ContentType: "application/json", Body: body}
}
