package unionpay

import (
	"fmt"
	"strings"
)

// channelOrderID is the orderId UnionPay knows an order by: the gateway's
// id without its "_" (as the connector sends it), or orderID as it is.
func channelOrderID(orderID string) string { return strings.Replace(orderID, "_", "", 1) }

// AlterBillAmount makes the statement list the purchase of orderID (the
// gateway's id or UnionPay's orderId) for amount (fen) instead of what was
// paid: a bill line the channel changed, for tests of reconciliation.
func (s *Sim) AlterBillAmount(orderID string, amount int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.billAmounts == nil {
		s.billAmounts = map[string]int64{}
	}
	if _, ok := s.trades[orderID]; !ok {
		orderID = channelOrderID(orderID)
	}
	s.billAmounts[orderID] = amount
}

// TradeAtChannelOnly records a purchase of amount paid now under orderID
// (the gateway's form is mapped as the connector maps it) that no request
// made: it is in the day's statement and answers queries, and the gateway
// never heard of it.
func (s *Sim) TradeAtChannelOnly(orderID string, amount int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	no := channelOrderID(orderID)
	if _, ok := s.trades[no]; ok {
		return fmt.Errorf("unionpay sim: purchase %s exists", no)
	}
	now := s.clock.Now()
	t := &trade{orderID: no, txnTime: now.In(cst).Format("20060102150405"), txnSubType: "01", bizType: "000000", channelType: "08",
		amount: amount, state: statePaid, created: now, paidAt: now}
	t.queryID, t.traceNo = s.nextIDsLocked()
	s.byQueryID[t.queryID] = t
	s.trades[no] = t
	return nil
}
