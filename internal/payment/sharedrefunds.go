package payment

import (
	"context"
	"errors"
	"fmt"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/profitsharing"
	"github.com/paygate/paygate/internal/settlement"
	"github.com/paygate/paygate/internal/store"
)

// Refunds of orders paid with profit sharing (internal/profitsharing).
//
// Such an order's money is held in the merchant's profit_sharing account
// until it is shared or released, so its refunds take their cost (the
// amount less the fee returned under the refund fee policy) from the
// order's held money, never from pending. When what is held and not
// reserved by other pending refunds is less than the cost, the refund
// takes the difference back from the receivers of the order's sharings
// in its own transaction (profitsharing.ReturnForRefund: in proportion to
// what each received, out of merchant receivers' available balances), as
// Stripe's reverse_transfer does on a Connect refund; 409
// receiver_balance_insufficient when a receiver has spent its share,
// refund_exceeds_returnable when the shares left do not cover it either,
// channel_return_not_supported when an account holder at a channel would
// have to give money back. With reverse_shares: false it is refused with
// 409 profit_sharing_return_required instead, and the merchant asks for
// the shares it chooses (POST /v1/profit-sharing/returns). The returns and
// the cost's reservation commit together, under the order's sharing lock
// that sharings take too, so a refund and a sharing can never both spend
// the same money and concurrent refunds never take back more than was
// shared. A refund that then fails at the channel leaves the returned
// money held on the order (to share again or release), as a return asked
// for by itself would.

// ErrSharingRefundExceeds is the error of a refund of a profit sharing
// order whose held money does not cover it.
func ErrSharingRefundExceeds(available, cost int64, currency string) *errs.Error {
	return errs.Conflict("profit_sharing_return_required", fmt.Sprintf(
		"The refund takes %s %s from the order's held money, which has %s %s left after sharing: return receivers' shares first (POST /v1/profit-sharing/returns), or let the refund take them back (reverse_shares).",
		money.Format(cost, currency), currency, money.Format(available, currency), currency))
}

// refundCost is what a refund of amount takes from the merchant under the
// refund fee policy: amount less the fee share it returns.
func (s *Service) refundCost(ctx context.Context, o *store.Order, amount int64) (int64, error) {
	if s.RefundFeePolicy != settlement.RefundFeeProRata {
		return amount, nil
	}
	fee, err := s.paymentFee(ctx, o.ID, o.Livemode)
	if err != nil {
		return 0, err
	}
	share, err := settlement.RefundFeeShare(s.RefundFeePolicy, fee, o.Amount, amount)
	if err != nil {
		return 0, err
	}
	return amount - share, nil
}

// createSharedRefund is Store.RefundCreate for an order paid with profit
// sharing: it also reserves the refund's cost on the order's held money,
// taking receivers' shares back first when reverse allows and it must.
//
// A share of an account holder at the order's channel is asked of the
// channel (channel.ProfitSharingReturner) after the commit: atChannel
// says so, and the refund's reservation then lacks what those returns
// bring until they succeed (channelReturns). At a channel that takes
// shares back only inside the refund (channel.RefundShareReturner:
// Alipay) the returns are created processing the same way, the
// reservation lacks them the same way, but they go with the refund
// (refundShareReturns) and end with it (finishSharedRefund).
func (s *Service) createSharedRefund(ctx context.Context, o *store.Order, r *store.Refund, reverse bool, explicit []profitsharing.RefundReturn) (atChannel bool, err error) {
	cost, err := s.refundCost(ctx, o, r.Amount)
	if err != nil {
		return false, err
	}
	// Which account holders' shares the order's channel takes back: by a
	// return call before the refund, or inside the refund itself.
	var atChannelOK func(typ string) bool
	inRefund := false
	if conn, err := s.connector(ctx, o); err == nil {
		switch c := channel.Unwrap(conn).(type) {
		case channel.ProfitSharingReturner:
			atChannelOK = profitsharing.ReturnableAtChannel
		case channel.RefundShareReturner:
			atChannelOK, inRefund = c.ReturnsSharesInRefund, true
		}
	}
	returned := false
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		returned, atChannel = false, false
		pending := int64(0)
		st, err := tx.ProfitSharingOrderLock(ctx, o.ID)
		if errors.Is(err, store.ErrNotFound) { // not paid (yet)
			return fmt.Errorf("order %s: %w", o.ID, store.ErrStale)
		} else if err != nil {
			return err
		}
		// The refund's own checks come first, so that a repeated request
		// finds its refund and an oversized one says so.
		if err := tx.RefundCreateInTx(ctx, r); err != nil {
			return err
		}
		if available := st.Held - st.Reserved; cost > available {
			if !reverse {
				return ErrSharingRefundExceeds(available, cost, o.Currency)
			}
			returns, p, err := profitsharing.ReturnForRefund(ctx, tx, st, r, cost, cost-available, explicit, atChannelOK, r.CreatedAt)
			if err != nil {
				return err
			}
			// Returns sent with the refund need no asking first.
			returned, atChannel, pending = len(returns) > 0, p > 0 && !inRefund, p
		}
		if err := tx.ProfitSharingRefundHold(ctx, r.ID, o.ID, cost-pending); err != nil {
			return err
		}
		st.Reserved += cost - pending
		st.UpdatedAt = r.CreatedAt
		return tx.ProfitSharingOrderPut(ctx, st)
	})
	if err == nil && returned {
		s.notify() // the returns' events
	}
	return atChannel, err
}

// channelReturns asks the order's channel for the shares a pending refund
// takes back from account holders there (its processing returns) —
// again when a query finds the channel never got one — and records the
// answers (profitsharing.FinishChannelReturn). done is false while one is
// still unknown: the refund stays pending and the Worker asks again. When
// all are final and one failed, the refund fails (profit_sharing_return_failed) and its
// reservation is released; the shares that did come back stay held on
// the order. When all succeeded the refund is sent to the channel.
func (s *Service) channelReturns(ctx context.Context, o *store.Order, r *store.Refund, query bool) (out *store.Refund, done bool, err error) {
	rets, err := s.Store.ProfitSharingReturnsOfRefund(ctx, r.ID)
	if err != nil {
		return nil, false, err
	}
	var processing, failed []*store.ProfitSharingReturn
	for _, ret := range rets {
		switch ret.Status {
		case store.ProfitSharingProcessing:
			processing = append(processing, ret)
		case store.ProfitSharingFailed:
			failed = append(failed, ret)
		}
	}
	if len(processing) > 0 {
		conn, err := s.connector(ctx, o)
		if err != nil {
			return nil, false, err
		}
		returner, ok := channel.Unwrap(conn).(channel.ProfitSharingReturner)
		if _, inRefund := channel.Unwrap(conn).(channel.RefundShareReturner); !ok && inRefund {
			return r, true, nil // they go with the refund itself (refundShareReturns)
		}
		if !ok {
			return nil, false, fmt.Errorf("refund %s: channel account %s takes no profit sharing returns: %w", r.ID, o.ChannelAccountID, channel.ErrNotSupported)
		}
		psh := map[string]*store.ProfitSharing{}
		for _, ret := range processing {
			if psh[ret.ProfitSharingID] == nil {
				if psh[ret.ProfitSharingID], err = s.Store.ProfitSharingGet(ctx, ret.ProfitSharingID); err != nil {
					return nil, false, err
				}
			}
			req := channel.ProfitSharingReturnRequest{ReturnID: ret.ID, SharingID: ret.ProfitSharingID, Amount: ret.Amount, Currency: ret.Currency,
				Description: "refund", Livemode: ret.Livemode}
			for _, sh := range psh[ret.ProfitSharingID].Receivers {
				if sh.Receiver == ret.ReceiverID {
					req.Receiver = channel.ProfitSharingReceiver{Type: sh.Type, Account: sh.Account, Name: sh.Name, Amount: sh.Amount}
				}
			}
			cctx, cancel := s.channelCtx(ctx)
			var resp *channel.ProfitSharingReturnResponse
			if query {
				resp, err = returner.QueryProfitSharingReturn(cctx, req)
			}
			if !query || errors.Is(err, channel.ErrTradeNotFound) {
				resp, err = returner.ReturnProfitSharing(cctx, req)
			}
			cancel()
			var decline *channel.DeclineError
			switch {
			case err == nil && resp.Status == channel.ProfitSharingProcessing:
				continue
			case err == nil:
				ok := resp.Status == channel.ProfitSharingSuccess
				_, err = profitsharing.FinishChannelReturn(ctx, s.Store, ret, ok, resp.ChannelReturnNo, resp.FailureCode, resp.FailureMessage, s.now())
			case errors.As(err, &decline), (errors.Is(err, channel.ErrInvalidRequest) || errors.Is(err, channel.ErrNotSupported)) && !errors.Is(err, channel.ErrUnknownOutcome):
				_, err = profitsharing.FinishChannelReturn(ctx, s.Store, ret, false, "", "channel_refused", err.Error(), s.now())
			default:
				s.log().Warn("profit sharing return outcome unknown; the refund waits", "refund", r.ID, "return", ret.ID, "err", err)
				continue
			}
			if errors.Is(err, store.ErrStale) {
				continue // recorded by someone else; read again below
			} else if err != nil {
				return nil, false, err
			}
			s.notify()
		}
		if rets, err = s.Store.ProfitSharingReturnsOfRefund(ctx, r.ID); err != nil {
			return nil, false, err
		}
		processing, failed = nil, nil
		for _, ret := range rets {
			switch ret.Status {
			case store.ProfitSharingProcessing:
				processing = append(processing, ret)
			case store.ProfitSharingFailed:
				failed = append(failed, ret)
			}
		}
	}
	switch {
	case len(processing) > 0: // the refund ends only once every return has
		return r, false, nil
	case len(failed) > 0:
		out, err := s.finishRefund(ctx, r, store.RefundFailed, "", "profit_sharing_return_failed")
		return out, true, err
	}
	return r, true, nil
}

// refundShareReturns are the shares a refund takes back inside itself at
// a channel.RefundShareReturner (Alipay's refund_royalty_parameters): its
// returns still processing, with the receivers' channel accounts. None
// for a refund at any other channel.
func (s *Service) refundShareReturns(ctx context.Context, o *store.Order, conn channel.Connector, r *store.Refund) ([]channel.ShareReturn, error) {
	if !o.ProfitSharing {
		return nil, nil
	}
	if _, ok := channel.Unwrap(conn).(channel.RefundShareReturner); !ok {
		return nil, nil
	}
	rets, err := s.Store.ProfitSharingReturnsOfRefund(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	var out []channel.ShareReturn
	psh := map[string]*store.ProfitSharing{}
	for _, ret := range rets {
		if ret.Status != store.ProfitSharingProcessing {
			continue
		}
		if psh[ret.ProfitSharingID] == nil {
			if psh[ret.ProfitSharingID], err = s.Store.ProfitSharingGet(ctx, ret.ProfitSharingID); err != nil {
				return nil, err
			}
		}
		for _, sh := range psh[ret.ProfitSharingID].Receivers {
			if sh.Receiver == ret.ReceiverID {
				out = append(out, channel.ShareReturn{Receiver: channel.ProfitSharingReceiver{Type: sh.Type, Account: sh.Account, Name: sh.Name, Amount: sh.Amount}, Amount: ret.Amount})
			}
		}
	}
	return out, nil
}

// finishSharedRefund is finishRefund for an order paid with profit
// sharing: a refund that succeeded takes its reserved cost from the held
// money (ledger.RefundHeld); one that failed gives its reservation back,
// and when the order is finished already, releases it to the merchant.
// Returns the refund carried to its channel (refundShareReturns) end with
// it in the same transaction (profitsharing.FinishRefundReturns):
// succeeded, their shares are back and the refund takes them too; failed,
// nothing moved.
func (s *Service) finishSharedRefund(ctx context.Context, r *store.Refund, to store.RefundStatus, channelRefundNo, failureCode, failureMsg string) (*store.Refund, error) {
	at := s.now()
	var out *store.Refund
	// A refund's returns are all created with it; those still processing
	// now went with it to the channel (the others are asked for and ended
	// before the refund is sent). Each transition below checks again.
	rets, err := s.Store.ProfitSharingReturnsOfRefund(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		st, err := tx.ProfitSharingOrderLock(ctx, r.OrderID)
		if err != nil {
			return err
		}
		out, err = tx.RefundTransition(ctx, store.RefundTransition{
			RefundID: r.ID, From: []store.RefundStatus{store.RefundPending}, To: to, At: at,
			ChannelRefundNo: channelRefundNo, FailureCode: failureCode, FailureMessage: failureMsg,
		})
		if err != nil {
			return err
		}
		cost, err := tx.ProfitSharingRefundRelease(ctx, r.ID)
		if err != nil {
			return err
		}
		st.Reserved -= cost
		brought, err := profitsharing.FinishRefundReturns(ctx, tx, st, rets, to == store.RefundSucceeded, channelRefundNo, failureCode, failureMsg, at)
		if err != nil {
			return err
		}
		cost += brought // what came back inside the refund, which takes it
		typ := notify.RefundFailed
		var entries []ledger.Entry
		if to == store.RefundSucceeded {
			typ = notify.RefundSucceeded
			o, err := tx.OrderGet(ctx, r.OrderID)
			if err != nil {
				return err
			}
			st.Held -= cost
			entries = append(entries, ledger.RefundHeld(id.New(id.Entry, at), out.ID, out.MerchantID, receivable(o), out.Livemode, out.Currency, out.Amount, cost, at))
		} else if st.FinishedAt != nil && st.Held > st.Reserved {
			// The order was finished while the refund was pending: what
			// the refund no longer needs goes to the merchant.
			rest := st.Held - st.Reserved
			st.Held -= rest
			st.Released += rest
			entries = append(entries, ledger.SharingRelease(id.New(id.Entry, at), out.ID, out.MerchantID, out.Livemode, out.Currency, rest, at))
		}
		st.UpdatedAt = at
		if err := tx.ProfitSharingOrderPut(ctx, st); err != nil {
			return err
		}
		if len(entries) > 0 {
			if err := tx.LedgerPost(ctx, at, entries...); err != nil {
				return err
			}
		}
		ev, err := event(typ, at, Scope{MerchantID: out.MerchantID, AppID: out.AppID, Livemode: out.Livemode}, "refund", out.ID, out.NotifyURL, RefundObject(out))
		if err != nil {
			return err
		}
		return tx.EventAdd(ctx, at, ev)
	})
	if errors.Is(err, store.ErrStale) { // someone else finished it first
		return s.Store.RefundGet(ctx, r.ID)
	}
	if err == nil {
		s.notify()
	}
	return out, err
}
