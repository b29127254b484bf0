package profitsharing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/store"
)

// Errors of returns.
var (
	ErrDuplicateReturn    = errs.Conflict("duplicate_out_return_no", "A profit sharing return with this out_return_no exists with other parameters.")
	ErrReturnNotSucceeded = errs.Conflict("profit_sharing_not_succeeded", "Only a succeeded profit sharing's shares can be returned.")
	ErrNotInSharing       = errs.InvalidParam("receiver", "The receiver has no share in this profit sharing.")
	ErrReturnNotSupported = errs.Invalid("return_not_supported", "Only shares of merchant receivers can be returned here; a channel account holder returns its share at the channel.")
)

// ReturnParams are a return's parameters.
type ReturnParams struct {
	ProfitSharing string
	OutReturnNo   string
	Receiver      string
	Amount        int64
	Description   string
}

func (p *ReturnParams) validate() error {
	switch {
	case p.ProfitSharing == "":
		return errs.Missing("profit_sharing")
	case p.OutReturnNo == "":
		return errs.Missing("out_return_no")
	case !merchantNo.MatchString(p.OutReturnNo):
		return errs.InvalidParam("out_return_no", "out_return_no must be 1 to 64 characters of A-Z, a-z, 0-9 and _-|*.")
	case p.Receiver == "":
		return errs.Missing("receiver")
	case !money.ValidAmount(p.Amount):
		return errs.InvalidParam("amount", fmt.Sprintf("amount must be an integer of minor units from %d to %d.", money.MinAmount, money.MaxAmount))
	case !printable(p.Description, MaxDescription):
		return errs.InvalidParam("description", fmt.Sprintf("description must be at most %d printable characters.", MaxDescription))
	}
	return nil
}

// CreateReturn takes (part of) a merchant receiver's share of a succeeded
// sharing back (分账回退): out of the receiver's available balance (checked
// under its balance lock, as transfers are), into the order's held money,
// or the merchant's available balance when the order is finished. It is
// how a merchant makes room for a refund of a shared order. created is
// false when the out_return_no existed with the same parameters.
func (s *Service) CreateReturn(ctx context.Context, sc store.Scope, p ReturnParams) (*store.ProfitSharingReturn, bool, error) {
	if err := p.validate(); err != nil {
		return nil, false, err
	}
	h := hash(p)
	if existing, err := s.Store.ProfitSharingReturnGetByOutReturnNo(ctx, sc.AppID, p.OutReturnNo); err == nil {
		if existing.RequestHash != h {
			return nil, false, ErrDuplicateReturn
		}
		return existing, false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, false, err
	}
	psh, err := s.Get(ctx, sc, p.ProfitSharing)
	if err != nil {
		return nil, false, err
	}
	if psh.Status != store.ProfitSharingSucceeded {
		return nil, false, ErrReturnNotSucceeded
	}
	var share *store.ProfitSharingShare
	for i := range psh.Receivers {
		if psh.Receivers[i].Receiver == p.Receiver {
			share = &psh.Receivers[i]
		}
	}
	switch {
	case share == nil:
		return nil, false, ErrNotInSharing
	case share.Type != TypeMerchant:
		return nil, false, ErrReturnNotSupported
	}
	now := s.now()
	r := &store.ProfitSharingReturn{ID: id.New(id.ProfitSharingReturn, now), MerchantID: sc.MerchantID, AppID: sc.AppID, Livemode: sc.Livemode,
		ProfitSharingID: psh.ID, OrderID: psh.OrderID, OutReturnNo: p.OutReturnNo, ReceiverID: p.Receiver, Amount: p.Amount,
		Currency: psh.Currency, Description: p.Description, RequestHash: h, CreatedAt: now}
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		st, err := tx.ProfitSharingOrderLock(ctx, psh.OrderID)
		if err != nil {
			return err
		}
		returned, err := tx.ProfitSharingReturned(ctx, psh.ID, p.Receiver)
		if err != nil {
			return err
		}
		if left := share.Amount - returned; p.Amount > left {
			return errs.Conflict("return_exceeds_share", fmt.Sprintf("The receiver's share has %s %s left to return.", money.Format(left, r.Currency), r.Currency))
		}
		from := ledger.MerchantAvailable(share.Account, sc.Livemode)
		available, _, err := tx.BalanceForDebit(ctx, from, r.Currency)
		if err != nil {
			return err
		}
		if available < p.Amount {
			return errs.Conflict("receiver_balance_insufficient", fmt.Sprintf("The receiver's available balance is %s %s, less than the return.", money.Format(available, r.Currency), r.Currency))
		}
		if err := tx.ProfitSharingReturnCreate(ctx, r); err != nil {
			return err
		}
		to := ledger.MerchantSharing(sc.MerchantID, sc.Livemode)
		if st.FinishedAt != nil {
			to = ledger.MerchantAvailable(sc.MerchantID, sc.Livemode)
			st.Released += p.Amount
		} else {
			st.Held += p.Amount
		}
		st.Shared -= p.Amount
		st.UpdatedAt = now
		if err := tx.ProfitSharingOrderPut(ctx, st); err != nil {
			return err
		}
		if err := tx.LedgerPost(ctx, now, ledger.Entry{ID: id.New(id.Entry, now), Kind: ledger.KindProfitSharingReturn, RefID: r.ID, CreatedAt: now,
			Lines: []ledger.Line{{Account: from, Currency: r.Currency, Amount: -p.Amount}, {Account: to, Currency: r.Currency, Amount: p.Amount}}}); err != nil {
			return err
		}
		ev, err := returnEvent(r, now)
		if err != nil {
			return err
		}
		return tx.EventAdd(ctx, now, ev)
	})
	if errors.Is(err, store.ErrConflict) { // a concurrent create with this out_return_no won
		existing, gerr := s.Store.ProfitSharingReturnGetByOutReturnNo(ctx, sc.AppID, p.OutReturnNo)
		if gerr != nil {
			return nil, false, gerr
		}
		if existing.RequestHash != h {
			return nil, false, ErrDuplicateReturn
		}
		return existing, false, nil
	} else if err != nil {
		return nil, false, err
	}
	s.notify()
	return r, true, nil
}

// returnEvent is a return's profit_sharing.returned event.
func returnEvent(r *store.ProfitSharingReturn, at time.Time) (*store.Event, error) {
	return newEvent(notify.ProfitSharingReturned, r.MerchantID, r.AppID, r.Livemode, "profit_sharing_return", r.ID, ReturnObject(r), at)
}
