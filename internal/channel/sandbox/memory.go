package sandbox

// The sandbox's memory is bounded.
//
// A gateway runs test-mode payments through the sandbox for as long as it
// runs, so what the sandbox remembers of each trade (its status, amount,
// payment time, instalments, order, refunds) must not grow with them. The
// soak found it (paygate bench soak --heap-profiles): with every trade
// kept, the sandbox's maps were the live heap's steady growth, some 300 to
// 500 bytes a trade. The sandbox keeps the MaxTrades most recent trades and
// MaxRefunds most recent refunds (about 25 MB) and forgets older ones
// first, which is what a restart does to all of them: a forgotten trade is
// answered from the scenario its number encodes (paid, or waiting for the
// payer), a refund of it is no longer checked against what was refunded
// before (the gateway checks that itself), and a forgotten refund is
// ErrTradeNotFound to RefundQuery (the gateway sends
// it again under the same id).

// Default bounds. Measured: 100,000 trades held about 47 MB of heap once
// the maps had churned (500,000 trades through them), and no more after.
const (
	MaxTrades  = 50_000
	MaxRefunds = 20_000
)

// fifo is a queue of keys in the order they were remembered.
type fifo struct {
	keys []string
	head int
}

func (q *fifo) push(k string) { q.keys = append(q.keys, k) }

func (q *fifo) len() int { return len(q.keys) - q.head }

// pop removes and returns the oldest key; the slice is compacted once half
// of it is spent, so the queue's memory follows its length.
func (q *fifo) pop() string {
	k := q.keys[q.head]
	q.keys[q.head] = ""
	q.head++
	if q.head >= 1024 && q.head*2 >= len(q.keys) {
		q.keys = append([]string(nil), q.keys[q.head:]...)
		q.head = 0
	}
	return k
}

// rememberTrade records that trade no of order was made, and forgets the
// oldest trades beyond the bound. s.mu is held.
func (s *Sandbox) rememberTrade(no, orderID string) {
	if _, known := s.trades[no]; known {
		return
	}
	s.tradeOrder.push(no + "\x00" + orderID)
	for s.tradeOrder.len() > s.maxTrades() {
		old, order, _ := cut(s.tradeOrder.pop())
		delete(s.trades, old)
		delete(s.amounts, old)
		delete(s.paidAt, old)
		delete(s.installments, old)
		delete(s.refunded, old)
		if s.byOrder[order] == old {
			delete(s.byOrder, order)
		}
	}
}

// rememberRefund records refund id, forgetting the oldest beyond the bound.
// s.mu is held.
func (s *Sandbox) rememberRefund(id string) {
	s.refundOrder.push(id)
	for s.refundOrder.len() > s.maxRefunds() {
		delete(s.refunds, s.refundOrder.pop())
	}
}

func (s *Sandbox) maxTrades() int {
	if s.MaxTrades > 0 {
		return s.MaxTrades
	}
	return MaxTrades
}

func (s *Sandbox) maxRefunds() int {
	if s.MaxRefunds > 0 {
		return s.MaxRefunds
	}
	return MaxRefunds
}

// Remembered is how many trades and refunds the sandbox keeps now.
func (s *Sandbox) Remembered() (trades, refunds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.trades), len(s.refunds)
}

func cut(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
