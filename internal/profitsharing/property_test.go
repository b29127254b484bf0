package profitsharing_test

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/paygate/paygate/internal/channel/sandbox"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/payment"
	"github.com/paygate/paygate/internal/profitsharing"
	"github.com/paygate/paygate/internal/store"
)

// TestSharingNeverCreatesOrLosesMoney is a property test on SQLite and
// PostgreSQL: an order paid with profit sharing (random amount and fee)
// goes through a random sequence of sharings (to a merchant, and to
// sandbox account holders who are paid, refuse or lose the answer, with
// amounts that may be too large), refunds (taking shares back or not),
// returns, worker runs and a
// finish. After every step the order's money is all accounted for — net
// = held + shared + released + refunded — nothing it holds is negative,
// the merchant's profit_sharing account holds exactly what the order
// says, the receiver merchant has exactly its shares less its returns;
// and at the end ledger verify is clean.
func TestSharingNeverCreatesOrLosesMoney(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		n := 0
		rapid.Check(t, func(rt *rapid.T) {
			n++
			m, sc, _ := e.Merchant(t, fmt.Sprintf("Shop %d", n), rapid.IntRange(0, 200).Draw(rt, "fee_bps"))
			partner, _, _ := e.Merchant(t, fmt.Sprintf("Seller %d", n), 0)
			seller := e.receiver(sc, profitsharing.TypeMerchant, partner.ID)
			holders := []*store.ProfitSharingReceiver{
				e.receiver(sc, profitsharing.TypeSandbox, "buyer-1"),
				e.receiver(sc, profitsharing.TypeSandbox, sandbox.ReceiverInvalid),
				e.receiver(sc, profitsharing.TypeSandbox, sandbox.ReceiverTimeout),
			}
			amount := rapid.Int64Range(100, 1_000_000).Draw(rt, "amount")
			o, _, err := e.Payments.CreateOrder(ctx, sc, payment.CreateOrderParams{OutTradeNo: "O", Amount: amount, Currency: "CNY", Subject: "Goods", Method: "sandbox", ProfitSharing: true})
			if err != nil {
				rt.Fatal(err)
			}
			if _, err := e.Payments.TestPay(ctx, sc, o.ID, true); err != nil {
				rt.Fatal(err)
			}
			var sharings []*store.ProfitSharing
			var refunded, toSeller int64
			step := 0
			for range rapid.IntRange(1, 12).Draw(rt, "steps") {
				step++
				st, err := e.Store.ProfitSharingOrderGet(ctx, o.ID)
				if err != nil {
					rt.Fatal(err)
				}
				room := max(st.Held-st.Reserved, 0) + 10 // sometimes more than there is
				switch rapid.IntRange(0, 5).Draw(rt, "op") {
				case 0, 1: // share with the merchant or an account holder
					rcv := seller
					if rapid.Bool().Draw(rt, "at channel") {
						rcv = rapid.SampledFrom(holders).Draw(rt, "holder")
					}
					a := rapid.Int64Range(1, room).Draw(rt, "share")
					psh, _, err := e.svc.Create(ctx, sc, profitsharing.CreateParams{OrderID: o.ID, OutOrderNo: fmt.Sprintf("S%d", step),
						Receivers: []profitsharing.ShareParams{share(rcv.ID, a)}})
					switch code := errs.Code(err); {
					case err == nil:
						sharings = append(sharings, psh)
						if rcv == seller {
							toSeller += a
						}
					case code == "profit_sharing_exceeds_available" || code == "profit_sharing_finished":
					default:
						rt.Fatalf("share: %v", err)
					}
				case 2: // refund
					// With reverse_shares, a refund may take shares back
					// and so be larger than the held money.
					reverse := rapid.Bool().Draw(rt, "reverse shares")
					if reverse {
						room += st.Shared
					}
					a := rapid.Int64Range(1, room).Draw(rt, "refund")
					r, _, err := e.Payments.CreateRefund(ctx, sc, payment.CreateRefundParams{OrderID: o.ID, OutRefundNo: fmt.Sprintf("R%d", step), Amount: a, ReverseShares: &reverse})
					switch code := errs.Code(err); {
					case err == nil && r.Status == store.RefundSucceeded:
						refunded += a
						rets, err := e.Store.ProfitSharingReturnsOfRefund(ctx, r.ID)
						if err != nil {
							rt.Fatal(err)
						}
						for _, ret := range rets {
							if ret.ReceiverID == seller.ID {
								toSeller -= ret.Amount
							}
						}
					case code == "profit_sharing_return_required" || code == "refund_exceeds_amount" || code == "refund_exceeds_returnable" ||
						code == "channel_return_not_supported" || code == "receiver_balance_insufficient":
					default:
						rt.Fatalf("refund: %v %+v", err, r)
					}
				case 3: // the seller returns part of a share
					if len(sharings) == 0 {
						continue
					}
					psh := rapid.SampledFrom(sharings).Draw(rt, "returned sharing")
					a := rapid.Int64Range(1, psh.Amount+5).Draw(rt, "return")
					_, _, err := e.svc.CreateReturn(ctx, sc, profitsharing.ReturnParams{ProfitSharing: psh.ID, OutReturnNo: fmt.Sprintf("T%d", step), Receiver: psh.Receivers[0].Receiver, Amount: a})
					switch code := errs.Code(err); {
					case err == nil:
						toSeller -= a
					case code == "return_exceeds_share" || code == "return_not_supported" || code == "profit_sharing_not_succeeded" || code == "receiver_invalid":
					default:
						rt.Fatalf("return: %v", err)
					}
				case 4: // the worker runs
					e.Clock.Advance(time.Hour)
					if _, err := e.svc.ResolveDue(ctx, e.Clock.Now(), 100); err != nil {
						rt.Fatal(err)
					}
				case 5: // finish
					_, _, err := e.svc.Create(ctx, sc, profitsharing.CreateParams{OrderID: o.ID, OutOrderNo: fmt.Sprintf("F%d", step), Finish: true})
					if err != nil && errs.Code(err) != "profit_sharing_finished" {
						rt.Fatalf("finish: %v", err)
					}
				}
				st, err = e.Store.ProfitSharingOrderGet(ctx, o.ID)
				if err != nil {
					rt.Fatal(err)
				}
				if st.Net != st.Held+st.Shared+st.Released+refunded || st.Held < 0 || st.Reserved < 0 || st.Held < st.Reserved || st.Shared < 0 {
					rt.Fatalf("step %d: the order's money does not add up: %+v, refunded %d", step, st, refunded)
				}
				if got := e.balance(ledger.MerchantSharing(m.ID, false)); got != st.Held {
					rt.Fatalf("step %d: profit_sharing account %d, order holds %d", step, got, st.Held)
				}
				if got := e.balance(ledger.MerchantAvailable(partner.ID, false)); got != toSeller {
					rt.Fatalf("step %d: seller has %d, want %d", step, got, toSeller)
				}
			}
			e.verify()
		})
	})
}
