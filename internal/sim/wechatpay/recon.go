package wechatpay

import "fmt"

// AlterBillAmount makes the trade bill list the payment of outTradeNo for
// amount (fen) instead of what was paid: a bill line the channel changed,
// for tests of reconciliation.
func (s *Sim) AlterBillAmount(outTradeNo string, amount int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.billAmounts == nil {
		s.billAmounts = map[string]int64{}
	}
	s.billAmounts[outTradeNo] = amount
}

// TradeAtChannelOnly records a NATIVE trade of amount paid now, with this
// out_trade_no, that no request made: it is in the day's bill and answers
// queries, and the gateway never heard of it.
func (s *Sim) TradeAtChannelOnly(outTradeNo string, amount int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.trades[outTradeNo]; ok {
		return fmt.Errorf("wechatpay sim: trade %s exists", outTradeNo)
	}
	now := s.clock.Now()
	t := &trade{OutTradeNo: outTradeNo, TradeType: "NATIVE", Total: amount, Description: "Made at the channel", CreatedAt: now, PaidAt: now}
	t.TransactionID = s.nextIDLocked("4200", 16)
	t.setState(stateSuccess)
	s.trades[outTradeNo] = t
	return nil
}
