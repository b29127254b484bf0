package ledger

import (
	"errors"
	"testing"
	"time"
)

func TestPaymentAndRefundBalance(t *testing.T) {
	now := time.Now()
	p := Payment("jnl_1", "ord_1", "mch_1", "sandbox", false, "CNY", 10000, 60, now)
	if err := p.Validate(); err != nil {
		t.Fatalf("payment entry: %v", err)
	}
	if got := p.Lines[1].Amount; got != 9940 {
		t.Fatalf("merchant gets %d, want 9940", got)
	}
	r := Refund("jnl_2", "rfd_1", "mch_1", "sandbox", false, "CNY", 2500, now)
	if err := r.Validate(); err != nil {
		t.Fatalf("refund entry: %v", err)
	}
	rev := p.Reverse("jnl_3", "reversal", "ord_1", now)
	if err := rev.Validate(); err != nil {
		t.Fatalf("reversal: %v", err)
	}
	for i := range p.Lines {
		if p.Lines[i].Amount+rev.Lines[i].Amount != 0 {
			t.Fatalf("reversal line %d does not cancel", i)
		}
	}
	if zeroFee := Payment("j", "o", "m", "c", true, "JPY", 5, 0, now); len(zeroFee.Lines) != 2 || zeroFee.Validate() != nil {
		t.Fatalf("zero-fee payment: %+v", zeroFee)
	}
}

func TestValidateRejects(t *testing.T) {
	unbalanced := Entry{ID: "j", Lines: []Line{{"a", "CNY", 5}, {"b", "CNY", -4}}}
	if err := unbalanced.Validate(); !errors.Is(err, ErrUnbalanced) {
		t.Fatalf("unbalanced: err = %v", err)
	}
	mixed := Entry{ID: "j", Lines: []Line{{"a", "CNY", 5}, {"b", "USD", -5}}}
	if err := mixed.Validate(); !errors.Is(err, ErrUnbalanced) {
		t.Fatalf("cross-currency: err = %v", err)
	}
	if err := (Entry{ID: "j", Lines: []Line{{"a", "CNY", 0}, {"b", "CNY", 0}}}).Validate(); err == nil {
		t.Fatal("zero lines accepted")
	}
	if err := (Entry{ID: "j"}).Validate(); err == nil {
		t.Fatal("empty entry accepted")
	}
}

func TestAccountsSeparateModes(t *testing.T) {
	if MerchantPending("m", true) == MerchantPending("m", false) || PlatformFees(true) == PlatformFees(false) {
		t.Fatal("live and test accounts coincide")
	}
}

func TestRefundWithFeeReturnsTheShare(t *testing.T) {
	now := time.Now()
	r := RefundWithFee("jnl_1", "rfd_1", "mch_1", "cha_1", false, "CNY", 2500, 15, now)
	if err := r.Validate(); err != nil {
		t.Fatalf("refund entry: %v", err)
	}
	want := map[string]int64{"mch_1:test:pending": -2485, "channel:cha_1:test:receivable": 2500, "platform:test:fees": -15}
	if len(r.Lines) != len(want) {
		t.Fatalf("lines = %+v, want %v", r.Lines, want)
	}
	for _, l := range r.Lines {
		if want[l.Account] != l.Amount {
			t.Errorf("line %s = %d, want %d", l.Account, l.Amount, want[l.Account])
		}
	}
	if kept := Refund("jnl_2", "rfd_1", "mch_1", "cha_1", false, "CNY", 2500, now); len(kept.Lines) != 2 {
		t.Fatalf("a refund that keeps the fee has %d lines, want 2", len(kept.Lines))
	}
}

func TestSettlementAndPayoutEntries(t *testing.T) {
	now := time.Now()
	// A batch nets 900 of transactions, holds 90 in reserve and releases 40.
	s := Settlement("jnl_1", "stl_1", "mch_1", true, "CNY", SettlementMoves{FromPending: 900, ToReserve: 50, ToAvailable: 850}, now)
	if err := s.Validate(); err != nil {
		t.Fatalf("settlement entry: %v", err)
	}
	if s.Kind != KindSettlement || s.RefID != "stl_1" || len(s.Lines) != 3 {
		t.Fatalf("settlement entry = %+v", s)
	}
	// A batch that only gives back a released reserve to pending.
	back := Settlement("jnl_2", "stl_2", "mch_1", true, "CNY", SettlementMoves{FromPending: -40, ToReserve: -40}, now)
	if err := back.Validate(); err != nil || len(back.Lines) != 2 {
		t.Fatalf("release into pending: %+v, %v", back, err)
	}
	if empty := Settlement("jnl_3", "stl_3", "mch_1", true, "CNY", SettlementMoves{}, now); len(empty.Lines) != 0 {
		t.Fatalf("a batch that moves nothing has lines: %+v", empty)
	}
	for _, e := range []Entry{
		PayoutStart("jnl_4", "stl_1", "mch_1", true, "CNY", 850, now),
		PayoutPaid("jnl_5", "stl_1", "mch_1", true, "CNY", 850, now),
	} {
		if err := e.Validate(); err != nil {
			t.Fatalf("%s entry: %v", e.Kind, err)
		}
	}
	if got := PayoutPaid("j", "stl_1", "mch_1", true, "CNY", 850, now).Lines[1].Account; got != PaidOut(true) || got != "external:live:paid_out" {
		t.Fatalf("paid out to %q", got)
	}
}
