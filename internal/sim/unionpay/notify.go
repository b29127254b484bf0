package unionpay

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/paygate/paygate/internal/sim"
)

// notifyLocked posts the backUrl notification of a settled purchase or
// refund, honouring the notification faults. The caller holds s.mu.
func (s *Sim) notifyLocked(t *trade) {
	if t.backURL == "" {
		return
	}
	fault := s.faults.Take(sim.FaultDropNotify, sim.FaultDuplicateNotify, sim.FaultOutOfOrderNotify)
	if fault == sim.FaultDropNotify {
		return
	}
	f := s.notificationLocked(t)
	if err := s.signMessage(f, s.faults.Current() == sim.FaultBadSignature); err != nil {
		s.log.Error("unionpay sim: sign notification", "err", err)
		return
	}
	// Posted empty and left out of the signature, as UnionPay does: its
	// SDK's demo drops empty fields before it verifies a notification.
	for _, k := range blankNotifyFields {
		f[k] = ""
	}
	if fault == sim.FaultOutOfOrderNotify && !t.refund {
		t.heldNotify = f // sent after the trade's first refund notification
		return
	}
	first := s.deliverLocked(t.backURL, f, nil)
	if fault == sim.FaultDuplicateNotify {
		s.deliverLocked(t.backURL, f, first)
	}
	if t.refund && t.orig.heldNotify != nil {
		s.deliverLocked(t.orig.backURL, t.orig.heldNotify, first)
		t.orig.heldNotify = nil
	}
}

// blankNotifyFields are posted empty in every notification.
var blankNotifyFields = []string{"reserved"}

// notificationLocked is the form UnionPay posts for a settled trade.
func (s *Sim) notificationLocked(t *trade) map[string]string {
	at := t.paidAt.In(cst)
	f := map[string]string{
		"version":            "5.1.0",
		"encoding":           "UTF-8",
		"signMethod":         "01",
		"accessType":         "0",
		"merId":              MerID,
		"bizType":            t.bizType,
		"txnType":            "01",
		"txnSubType":         t.txnSubType,
		"orderId":            t.orderID,
		"txnTime":            t.txnTime,
		"txnAmt":             strconv.FormatInt(t.amount, 10),
		"currencyCode":       "156",
		"queryId":            t.queryID,
		"traceNo":            t.traceNo,
		"traceTime":          at.Format("0102150405"),
		"settleDate":         at.Format("0102"),
		"settleAmt":          strconv.FormatInt(t.amount, 10),
		"settleCurrencyCode": "156",
		"respCode":           codeOK,
		"respMsg":            msgOK,
	}
	if t.channelType != "" {
		f["channelType"] = t.channelType
	}
	if t.refund {
		f["txnType"] = "04"
		f["origQryId"] = t.orig.queryID
		if t.reqReserved != "" {
			f["reqReserved"] = t.reqReserved
		}
	}
	return f
}

// deliverLocked posts f to target in the background until it answers 200,
// waiting the retry schedule between tries; it starts once after (if not
// nil) is closed. The returned channel closes after the first try. The
// caller holds s.mu.
func (s *Sim) deliverLocked(target string, f map[string]string, after <-chan struct{}) <-chan struct{} {
	firstDone := make(chan struct{})
	if s.closed {
		close(firstDone)
		return firstDone
	}
	form := url.Values{}
	for k, v := range f {
		form.Set(k, v)
	}
	body := form.Encode()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-s.done:
				cancel()
			case <-ctx.Done():
			}
		}()
		if after != nil {
			select {
			case <-after:
			case <-ctx.Done():
				close(firstDone)
				return
			}
		}
		sim.Retry(ctx.Done(), retrySchedule, s.opts.RetryScale, func(attempt int) bool {
			ok := s.post(ctx, target, body)
			if attempt == 0 {
				close(firstDone)
			}
			return ok
		})
	}()
	return firstDone
}

// post sends one notification; true when the merchant answered 200.
func (s *Sim) post(ctx context.Context, target, body string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		s.log.Error("unionpay sim: notification request", "url", target, "err", err)
		return false
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
	resp, err := s.client.Do(req)
	if err != nil {
		s.log.Info("unionpay sim: notification failed", "url", target, "err", err)
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
