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
