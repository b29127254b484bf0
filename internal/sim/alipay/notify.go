package alipay

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/sim"
)

// retrySchedule is Alipay's: after the first post, 4m, 10m, 10m, 1h, 2h,
// 6h and 15h (about 25 hours in all).
var retrySchedule = []time.Duration{
	4 * time.Minute, 10 * time.Minute, 10 * time.Minute,
	time.Hour, 2 * time.Hour, 6 * time.Hour, 15 * time.Hour,
}

// notification is one callback, re-signed (with a fresh notify_time) at
// each attempt; notify_id stays the same across retries.
type notification struct {
	url        string
	outTradeNo string
	params     map[string]string
	badSign    bool
	payment    bool
}

// notify queues the callback for the trade's current state (and, for a
// refund, r). The caller holds s.mu.
func (s *Sim) notify(t *trade, r *refund) {
	if t.notifyURL == "" || s.closed() {
		return
	}
	if s.takeFault(sim.FaultDropNotify) {
		return
	}
	p := map[string]string{
		"notify_type": "trade_status_sync", "notify_id": randomHex(16),
		"app_id": AppID, "charset": "utf-8", "version": "1.0", "sign_type": "RSA2",
		"trade_no": t.tradeNo, "out_trade_no": t.outTradeNo,
		"buyer_id": t.buyerID, "buyer_logon_id": "159****5620",
		"seller_id": SellerID, "seller_email": "merchant@example.com",
		"trade_status": t.status, "total_amount": yuan(t.total), "subject": t.subject,
		"gmt_create": t.createdAt.In(cst).Format(timeLayout),
	}
	if !t.paidAt.IsZero() {
		p["receipt_amount"], p["invoice_amount"], p["buyer_pay_amount"] = yuan(t.total), yuan(t.total), yuan(t.total)
		p["point_amount"] = "0.00"
		p["gmt_payment"] = t.paidAt.In(cst).Format(timeLayout)
		p["fund_bill_list"] = `[{"amount":"` + yuan(t.total) + `","fundChannel":"ALIPAYACCOUNT"}]`
		t.terms.putPay(t.total, func(k, v string) { p[k] = v })
	}
	if t.status == tradeClosed {
		p["gmt_close"] = t.closedAt.In(cst).Format(timeLayout)
	}
	if r != nil {
		p["refund_fee"] = yuan(t.refunded) // the trade's cumulative refunds
		p["gmt_refund"] = r.at.In(cst).Format(timeLayout + ".000")
		p["out_biz_no"] = r.outRequestNo
	}
	n := &notification{url: t.notifyURL, outTradeNo: t.outTradeNo, params: p, payment: r == nil && t.status == tradeSuccess}
	n.badSign = s.takeFault(sim.FaultBadSignature)
	dup := s.takeFault(sim.FaultDuplicateNotify)

	if n.payment && s.takeFault(sim.FaultOutOfOrderNotify) {
		s.held[t.outTradeNo] = append(s.held[t.outTradeNo], n)
		s.wg.Add(1)
		go s.releaseLater(n)
		return
	}
	held := s.held[t.outTradeNo]
	delete(s.held, t.outTradeNo)
	s.wg.Add(1)
	go s.deliver(n, held)
	if dup {
		s.wg.Add(1)
		go s.deliver(n, nil)
	}
}

// closed reports whether Close was called. The caller holds s.mu.
func (s *Sim) closed() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// releaseLater sends a held payment callback if no later callback of its
// trade has released it by the time of Alipay's fourth retry.
func (s *Sim) releaseLater(n *notification) {
	defer s.wg.Done()
	select {
	case <-s.stop:
		return
	case <-time.After(s.opts.Scaled(time.Hour)):
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	held := s.held[n.outTradeNo]
	i := slices.Index(held, n)
	if i < 0 || s.closed() {
		return
	}
	s.held[n.outTradeNo] = slices.Delete(held, i, i+1)
	s.wg.Add(1)
	go s.deliver(n, nil)
}

// deliver posts n until the answer is "success" or the schedule runs out;
// after the first attempt it starts the callbacks in then (held ones that
// must arrive after n).
func (s *Sim) deliver(n *notification, then []*notification) {
	defer s.wg.Done()
	sim.Retry(s.stop, retrySchedule, s.opts.RetryScale, func(i int) bool {
		ok := s.post(n)
		if i == 0 {
			for _, h := range then {
				s.mu.Lock()
				if !s.closed() {
					s.wg.Add(1)
					go s.deliver(h, nil)
				}
				s.mu.Unlock()
			}
		}
		return ok
	})
}

// post makes one attempt and reports whether the merchant answered "success".
func (s *Sim) post(n *notification) bool {
	p := maps.Clone(n.params)
	p["notify_time"] = s.clock.Now().In(cst).Format(timeLayout)
	key := alipayKey
	if n.badSign {
		key = wrongKey
	}
	sign, err := signRSA2(key, content(p, "sign", "sign_type"))
	if err != nil {
		return false
	}
	p["sign"] = sign
	form := url.Values{}
	for k, v := range p {
		if v != "" {
			form.Set(k, v)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, strings.NewReader(form.Encode()))
	if err != nil {
		s.log.Warn("alipay sim: callback URL", "url", n.url, "err", err)
		return false
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	resp, err := s.http.Do(req)
	if err != nil {
		s.log.Info("alipay sim: callback failed", "out_trade_no", n.outTradeNo, "err", err)
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	ok := resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "success"
	s.log.Info("alipay sim: callback", "out_trade_no", n.outTradeNo, "status", resp.StatusCode, "acknowledged", ok)
	return ok
}
