package profitsharing

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/store"
)

// Returns a refund takes by itself (分账回退 on refund), as Stripe's
// reverse_transfer on a Connect refund: when a refund of a shared order
// costs more than the order's held money not reserved by other refunds,
// the refund's own transaction takes the difference back from the
// receivers of the order's succeeded sharings, in proportion to what each
// received, and then reserves its cost as any refund does.

// ErrReturnableShort is the error of a refund whose cost the order's held
// money and every share still to return together do not cover (the rest
// was released to the merchant, or returned already).
func ErrReturnableShort(cost, held, returnable int64, currency string) *errs.Error {
	return errs.Conflict("refund_exceeds_returnable", fmt.Sprintf(
		"The refund takes %s %s from the order's held money, which has %s %s; the receivers' shares have %s %s left to return.",
		money.Format(cost, currency), currency, money.Format(held, currency), currency, money.Format(returnable, currency), currency))
}

// ErrReceiverShort is the error of a refund that needs more of a merchant
// receiver's share back than the receiver's available balance has: the
// whole refund is refused and nothing changes.
func ErrReceiverShort(receiverID, merchantID string, available, amount int64, currency string) *errs.Error {
	return errs.Conflict("receiver_balance_insufficient", fmt.Sprintf(
		"The refund takes %s %s back from receiver %s (merchant %s), whose available balance is %s %s.",
		money.Format(amount, currency), currency, receiverID, merchantID, money.Format(available, currency), currency))
}

// ErrChannelReturn is the error of a refund that needs a share back from
// an account holder whose channel cannot return it (a WeChat Pay
// PERSONAL_OPENID share can never be returned; see doc.go's Limits).
func ErrChannelReturn(receiverID, typ string, amount int64, currency string) *errs.Error {
	return errs.Conflict("channel_return_not_supported", fmt.Sprintf(
		"The refund needs %s %s back from receiver %s, an account holder at a channel (%s), whose share cannot be returned by a refund; refund less, or with reverse_shares: false after the money is back.",
		money.Format(amount, currency), currency, receiverID, typ))
}

// RefundReturn is one share a refund request names to take back
// (profit_sharing_returns), instead of the proportional split.
type RefundReturn struct {
	ProfitSharing string `json:"profit_sharing"`
	Receiver      string `json:"receiver"`
	Amount        int64  `json:"amount"`
}

// returnsInvalid is the error of an entry of profit_sharing_returns: one
// code for all (profit_sharing_returns_invalid), param naming the entry.
func returnsInvalid(param, msg string) *errs.Error {
	e := errs.Invalid("profit_sharing_returns_invalid", msg)
	e.Param = param
	return e
}

// ValidateRefundReturns checks a refund request's profit_sharing_returns.
func ValidateRefundReturns(rs []RefundReturn) error {
	if len(rs) > MaxReceivers {
		return returnsInvalid("profit_sharing_returns", fmt.Sprintf("profit_sharing_returns has at most %d entries.", MaxReceivers))
	}
	seen := map[[2]string]bool{}
	for i, r := range rs {
		param := fmt.Sprintf("profit_sharing_returns[%d]", i)
		switch {
		case r.ProfitSharing == "":
			return errs.Missing(param + ".profit_sharing")
		case r.Receiver == "":
			return errs.Missing(param + ".receiver")
		case !money.ValidAmount(r.Amount):
			return returnsInvalid(param+".amount", fmt.Sprintf("amount must be an integer of minor units from %d to %d.", money.MinAmount, money.MaxAmount))
		case seen[[2]string{r.ProfitSharing, r.Receiver}]:
			return returnsInvalid(param, "A share may appear once in profit_sharing_returns.")
		}
		seen[[2]string{r.ProfitSharing, r.Receiver}] = true
	}
	return nil
}

// ReturnedShare is one share a refund took back (or, Return.Status
// processing, asked the channel for).
type ReturnedShare struct {
	Return *store.ProfitSharingReturn
	Share  store.ProfitSharingShare
}

// ReturnableAtChannel says whether a channel account holder's share of
// receiver type typ can be returned at a channel that has
// channel.ProfitSharingReturner: WeChat Pay returns only what went to a
// MERCHANT_ID receiver; the sandbox returns all. (Alipay has no return
// call: its royalties come back inside alipay.trade.refund, the
// connector's channel.RefundShareReturner.)
func ReturnableAtChannel(typ string) bool {
	return typ == TypeWeChatMerchant || typ == TypeSandbox
}

// ReturnForRefund takes need back from the receivers of the order's
// succeeded sharings for refund r, inside tx, whose caller holds the
// order's sharing lock (st, which it updates: the returned money is held
// again, for the refund to reserve). Each share gives back its part of
// need in proportion to its amount (Apportion), never more than it has
// left after earlier returns. A merchant receiver's part leaves its
// available balance under the balance lock transfers take, receivers in
// the order of their accounts so that two refunds never wait for each
// other; one whose balance is short fails the whole refund
// (ErrReceiverShort). Every return has its ledger entry and its
// profit_sharing.returned event, added to tx.
//
// A channel account holder's part is asked of the channel when
// atChannelOK (nil when the order's channel returns nothing) says the
// channel takes that receiver type's shares back: its return is created
// processing with nothing moved, and the caller asks the channel after
// the commit (channel.ProfitSharingReturner; FinishChannelReturn records
// the answer) or sends it with the refund (channel.RefundShareReturner;
// FinishRefundReturns records the refund's outcome); otherwise the refund
// is refused (ErrChannelReturn). atChannel is what such returns will
// bring.
//
// explicit, when not empty, are the returns the request named instead:
// each must be a share of the order's succeeded sharings with that much
// left (409 return_exceeds_share), and together they must bring at least
// need (409 profit_sharing_return_required).
func ReturnForRefund(ctx context.Context, tx store.Tx, st *store.ProfitSharingOrder, r *store.Refund, cost, need int64, explicit []RefundReturn, atChannelOK func(typ string) bool, at time.Time) (out []ReturnedShare, atChannel int64, err error) {
	sharings, err := tx.ProfitSharingsSucceeded(ctx, st.OrderID)
	if err != nil {
		return nil, 0, err
	}
	type line struct {
		sharing *store.ProfitSharing
		share   store.ProfitSharingShare
	}
	var lines []line
	var weights, caps []int64
	var returnable int64
	for _, p := range sharings {
		for _, sh := range p.Receivers {
			returned, err := tx.ProfitSharingReturned(ctx, p.ID, sh.Receiver)
			if err != nil {
				return nil, 0, err
			}
			left := max(sh.Amount-returned, 0)
			lines = append(lines, line{p, sh})
			weights, caps = append(weights, sh.Amount), append(caps, left)
			returnable += left
		}
	}
	var parts []int64
	if len(explicit) > 0 {
		if parts, err = explicitParts(explicit, need, st.Currency, func(i int) (string, string, int64) {
			return lines[i].sharing.ID, lines[i].share.Receiver, caps[i]
		}, len(lines)); err != nil {
			return nil, 0, err
		}
	} else {
		var ok bool
		if parts, ok = Apportion(need, weights, caps); !ok {
			return nil, 0, ErrReturnableShort(cost, st.Held-st.Reserved, returnable, st.Currency)
		}
	}
	var pending []ReturnedShare
	for i, l := range lines {
		if parts[i] == 0 {
			continue
		}
		ret := &store.ProfitSharingReturn{ID: id.New(id.ProfitSharingReturn, at), MerchantID: st.MerchantID, AppID: l.sharing.AppID,
			Livemode: st.Livemode, ProfitSharingID: l.sharing.ID, OrderID: st.OrderID, ReceiverID: l.share.Receiver, Amount: parts[i],
			Currency: st.Currency, Description: "refund " + r.ID, CreatedAt: at, RefundID: r.ID, Status: store.ProfitSharingSucceeded}
		ret.OutReturnNo = ret.ID // unique, and never one of the merchant's own numbers
		if l.share.Type != TypeMerchant {
			if atChannelOK == nil || !atChannelOK(l.share.Type) {
				return nil, 0, ErrChannelReturn(l.share.Receiver, l.share.Type, parts[i], st.Currency)
			}
			ret.Status, ret.ChannelAccountID = store.ProfitSharingProcessing, l.sharing.ChannelAccountID
			pending = append(pending, ReturnedShare{Return: ret, Share: l.share})
			atChannel += parts[i]
			continue
		}
		out = append(out, ReturnedShare{Return: ret, Share: l.share})
	}
	for _, p := range pending {
		if err := tx.ProfitSharingReturnCreate(ctx, p.Return); err != nil {
			return nil, 0, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Share.Account < out[j].Share.Account })
	to := ledger.MerchantSharing(st.MerchantID, st.Livemode)
	var entries []ledger.Entry
	var events []*store.Event
	for _, rs := range out {
		ret := rs.Return
		from := ledger.MerchantAvailable(rs.Share.Account, st.Livemode)
		available, _, err := tx.BalanceForDebit(ctx, from, st.Currency)
		if err != nil {
			return nil, 0, err
		}
		if available < ret.Amount {
			return nil, 0, ErrReceiverShort(ret.ReceiverID, rs.Share.Account, available, ret.Amount, st.Currency)
		}
		if err := tx.ProfitSharingReturnCreate(ctx, ret); err != nil {
			return nil, 0, err
		}
		st.Held += ret.Amount
		st.Shared -= ret.Amount
		entries = append(entries, ledger.Entry{ID: id.New(id.Entry, at), Kind: ledger.KindProfitSharingReturn, RefID: ret.ID, CreatedAt: at,
			Lines: []ledger.Line{{Account: from, Currency: st.Currency, Amount: -ret.Amount}, {Account: to, Currency: st.Currency, Amount: ret.Amount}}})
		ev, err := returnEvent(ret, at)
		if err != nil {
			return nil, 0, err
		}
		events = append(events, ev)
	}
	if len(entries) > 0 {
		if err := tx.LedgerPost(ctx, at, entries...); err != nil {
			return nil, 0, err
		}
		if err := tx.EventAdd(ctx, at, events...); err != nil {
			return nil, 0, err
		}
	}
	st.UpdatedAt = at
	return append(out, pending...), atChannel, nil
}

// FinishChannelReturn records a channel's final answer about a processing
// return of a refund, in one transaction under the order's sharing lock:
// succeeded, the share is back in the trade (the channel owes the
// platform that much more: its receivable), held on the order and
// reserved for the refund while the refund is pending (left held when the
// refund ended meanwhile, or released to the merchant when the order is
// finished), with its entry and profit_sharing.returned
// event; failed, nothing moved and the return says why. ErrStale when the
// return was not processing any more.
func FinishChannelReturn(ctx context.Context, st store.Store, ret *store.ProfitSharingReturn, succeeded bool, channelNo, code, msg string, at time.Time) (*store.ProfitSharingReturn, error) {
	var out *store.ProfitSharingReturn
	err := st.InTx(ctx, func(tx store.Tx) error {
		o, err := tx.ProfitSharingOrderLock(ctx, ret.OrderID)
		if err != nil {
			return err
		}
		to := store.ProfitSharingFailed
		if succeeded {
			to, code, msg = store.ProfitSharingSucceeded, "", ""
		}
		if out, err = tx.ProfitSharingReturnTransition(ctx, ret.ID, to, channelNo, code, msg); err != nil {
			return err
		}
		if !succeeded {
			return nil
		}
		o.Held += out.Amount
		o.Shared -= out.Amount
		entries := []ledger.Entry{{ID: id.New(id.Entry, at), Kind: ledger.KindProfitSharingReturn, RefID: out.ID, CreatedAt: at,
			Lines: []ledger.Line{
				{Account: ledger.ChannelReceivable(out.ChannelAccountID, out.Livemode), Currency: out.Currency, Amount: -out.Amount},
				{Account: ledger.MerchantSharing(out.MerchantID, out.Livemode), Currency: out.Currency, Amount: out.Amount}}}}
		if err := tx.ProfitSharingRefundHoldAdd(ctx, out.RefundID, out.Amount); err == nil {
			o.Reserved += out.Amount
		} else if !errors.Is(err, store.ErrStale) {
			return err
		} else if o.FinishedAt != nil {
			// The refund ended meanwhile and the order is finished: the
			// money goes to the merchant, as any rest of a finished order.
			o.Held -= out.Amount
			o.Released += out.Amount
			entries = append(entries, ledger.SharingRelease(id.New(id.Entry, at), out.ID, o.MerchantID, o.Livemode, o.Currency, out.Amount, at))
		}
		o.UpdatedAt = at
		if err := tx.ProfitSharingOrderPut(ctx, o); err != nil {
			return err
		}
		if err := tx.LedgerPost(ctx, at, entries...); err != nil {
			return err
		}
		ev, err := returnEvent(out, at)
		if err != nil {
			return err
		}
		return tx.EventAdd(ctx, at, ev)
	})
	return out, err
}

// FinishRefundReturns records the outcome of a refund that carried its
// returns to the channel (channel.RefundShareReturner: Alipay takes the
// royalties back inside alipay.trade.refund), inside tx, the refund's own
// finishing transaction, whose caller holds the order's sharing lock (st,
// which it updates). rets are the refund's returns; the processing ones
// end with the refund: succeeded, each share is back in the trade (the
// channel owes the platform that much more: its receivable) and held on
// the order, with its entry and profit_sharing.returned event, and
// brought is their sum, which the refund then takes with its reserved
// cost; failed, nothing moved and each return fails with the refund's
// failure code. ErrStale from a return no longer processing is skipped:
// such a return was recorded already.
func FinishRefundReturns(ctx context.Context, tx store.Tx, st *store.ProfitSharingOrder, rets []*store.ProfitSharingReturn, succeeded bool, channelNo, code, msg string, at time.Time) (brought int64, err error) {
	var entries []ledger.Entry
	var events []*store.Event
	for _, ret := range rets {
		if ret.Status != store.ProfitSharingProcessing {
			continue
		}
		to, c, m := store.ProfitSharingFailed, code, msg
		if succeeded {
			to, c, m = store.ProfitSharingSucceeded, "", ""
		}
		out, err := tx.ProfitSharingReturnTransition(ctx, ret.ID, to, channelNo, c, m)
		if errors.Is(err, store.ErrStale) {
			continue
		} else if err != nil {
			return 0, err
		}
		if !succeeded {
			continue
		}
		st.Held += out.Amount
		st.Shared -= out.Amount
		brought += out.Amount
		entries = append(entries, ledger.Entry{ID: id.New(id.Entry, at), Kind: ledger.KindProfitSharingReturn, RefID: out.ID, CreatedAt: at,
			Lines: []ledger.Line{
				{Account: ledger.ChannelReceivable(out.ChannelAccountID, out.Livemode), Currency: out.Currency, Amount: -out.Amount},
				{Account: ledger.MerchantSharing(out.MerchantID, out.Livemode), Currency: out.Currency, Amount: out.Amount}}})
		ev, err := returnEvent(out, at)
		if err != nil {
			return 0, err
		}
		events = append(events, ev)
	}
	if len(entries) > 0 {
		if err := tx.LedgerPost(ctx, at, entries...); err != nil {
			return 0, err
		}
		if err := tx.EventAdd(ctx, at, events...); err != nil {
			return 0, err
		}
	}
	return brought, nil
}

// explicitParts places a request's named returns on the order's shares
// (line i is sharing, receiver with left to return).
func explicitParts(explicit []RefundReturn, need int64, currency string, line func(i int) (sharing, receiver string, left int64), n int) ([]int64, error) {
	parts := make([]int64, n)
	var total int64
	for k, x := range explicit {
		found := false
		for i := range n {
			sharing, receiver, left := line(i)
			if sharing != x.ProfitSharing || receiver != x.Receiver {
				continue
			}
			if x.Amount > left {
				e := errs.Conflict("return_exceeds_share", fmt.Sprintf("The receiver's share has %s %s left to return.", money.Format(left, currency), currency))
				e.Param = fmt.Sprintf("profit_sharing_returns[%d].amount", k)
				return nil, e
			}
			parts[i], found = x.Amount, true
			total += x.Amount
		}
		if !found {
			return nil, returnsInvalid(fmt.Sprintf("profit_sharing_returns[%d]", k), "No succeeded profit sharing of this order has a share of this receiver.")
		}
	}
	if total < need {
		return nil, errs.Conflict("profit_sharing_return_required", fmt.Sprintf(
			"profit_sharing_returns bring %s %s; the refund needs %s %s more than the order's held money.",
			money.Format(total, currency), currency, money.Format(need, currency), currency))
	}
	return parts, nil
}

// Apportion splits need into parts in proportion to weights: each part is
// need × weight ÷ Σweights rounded half to even at the minor unit and at
// most its cap; what rounding and the caps leave over (or the rounding
// takes too much) goes to (or comes from) the largest weights first,
// within their caps. The parts sum to need exactly. ok is false when the
// caps sum to less than need (or need is negative). Caps are meant to be
// at most their weights (what a receiver got less what it returned).
func Apportion(need int64, weights, caps []int64) (parts []int64, ok bool) {
	if need < 0 || len(weights) != len(caps) {
		return nil, false
	}
	var total, room int64
	for i := range weights {
		total += weights[i]
		room += max(caps[i], 0)
	}
	if need > room {
		return nil, false
	}
	parts = make([]int64, len(weights))
	if need == 0 {
		return parts, true
	}
	var sum int64
	for i, w := range weights {
		if total > 0 && w > 0 {
			parts[i] = min(mulDivHalfEven(need, w, total), max(caps[i], 0))
		}
		sum += parts[i]
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return weights[order[a]] > weights[order[b]] })
	for _, i := range order {
		d := need - sum
		if d == 0 {
			break
		}
		step := min(d, max(caps[i], 0)-parts[i]) // d > 0: give within the cap
		if d < 0 {
			step = -min(-d, parts[i]) // d < 0: take back what was given
		}
		parts[i] += step
		sum += step
	}
	return parts, sum == need
}

// mulDivHalfEven is a × b ÷ c rounded half to even, without overflow.
func mulDivHalfEven(a, b, c int64) int64 {
	q, r := new(big.Int).QuoRem(new(big.Int).Mul(big.NewInt(a), big.NewInt(b)), big.NewInt(c), new(big.Int))
	twice := new(big.Int).Lsh(r, 1)
	if cmp := twice.Cmp(big.NewInt(c)); cmp > 0 || (cmp == 0 && q.Bit(0) == 1) {
		q.Add(q, big.NewInt(1))
	}
	return q.Int64()
}
