package settlement

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/store"
)

// MaxBankReference bounds a bank reference's length, in characters.
const MaxBankReference = 128

// StartPayout starts paying a pending settlement out: its net moves from
// the merchant's available account to payout, and it is in_transit until
// Pay confirms it. Starting a payout already in transit returns it as it is.
func (s *Service) StartPayout(ctx context.Context, settlementID string) (*store.Settlement, error) {
	if !id.Valid(id.Settlement, settlementID) {
		return nil, ErrSettlementNotFound
	}
	return s.retry(ctx, func(tx store.Tx, now time.Time) (*store.Settlement, error) {
		st, err := tx.SettlementGet(ctx, settlementID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrSettlementNotFound
		} else if err != nil {
			return nil, err
		}
		switch st.Status {
		case store.SettlementInTransit:
			return st, nil
		case store.SettlementPaid:
			return nil, errs.Conflict("settlement_already_paid", "This settlement is paid already.")
		case store.SettlementCarriedForward:
			return nil, ErrNotPayable
		}
		return s.startPayout(ctx, tx, st, now)
	})
}

// startPayout moves st from pending to in_transit with its payout entry.
func (s *Service) startPayout(ctx context.Context, tx store.Tx, st *store.Settlement, now time.Time) (*store.Settlement, error) {
	// Transfers (internal/transfer) spend the same available balance:
	// check it under the lock they take, so neither overdraws it.
	// A converted batch pays out its converted net (fx.go).
	amount, currency := st.PayoutIn()
	available, _, err := tx.BalanceForDebit(ctx, ledger.MerchantAvailable(st.MerchantID, st.Livemode), currency)
	if err != nil {
		return nil, err
	}
	if available < amount {
		return nil, ErrInsufficientAvailable
	}
	after, err := tx.SettlementTransition(ctx, store.SettlementTransition{
		SettlementID: st.ID, From: []string{store.SettlementPending}, To: store.SettlementInTransit, At: now,
	})
	if err != nil {
		return nil, err
	}
	e := ledger.PayoutStart(id.New(id.Entry, now), st.ID, st.MerchantID, st.Livemode, currency, amount, now)
	return after, tx.LedgerPost(ctx, now, e)
}

// Pay records that a settlement's payout reached the merchant's bank, with
// the bank's reference: its net leaves the merchant's payout account for
// ledger.PaidOut (starting the payout first when it is still pending), it
// becomes paid, and a settlement.paid event is written, all in one
// transaction. Paying a paid settlement again with the same reference
// returns it as it is; with another, 409 settlement_already_paid.
func (s *Service) Pay(ctx context.Context, settlementID, bankReference string) (*store.Settlement, error) {
	if !id.Valid(id.Settlement, settlementID) {
		return nil, ErrSettlementNotFound
	}
	ref := strings.TrimSpace(bankReference)
	switch {
	case ref == "":
		return nil, errs.Missing("bank_reference")
	case utf8.RuneCountInString(ref) > MaxBankReference || strings.IndexFunc(ref, unicode.IsControl) >= 0:
		return nil, errs.InvalidParam("bank_reference", fmt.Sprintf("bank_reference must be 1 to %d printable characters.", MaxBankReference))
	}
	st, err := s.retry(ctx, func(tx store.Tx, now time.Time) (*store.Settlement, error) {
		st, err := tx.SettlementGet(ctx, settlementID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrSettlementNotFound
		} else if err != nil {
			return nil, err
		}
		switch st.Status {
		case store.SettlementPaid:
			if st.BankReference == ref {
				return st, nil
			}
			return nil, ErrAlreadyPaid
		case store.SettlementCarriedForward:
			return nil, ErrNotPayable
		case store.SettlementPending:
			if st, err = s.startPayout(ctx, tx, st, now); err != nil {
				return nil, err
			}
		}
		after, err := tx.SettlementTransition(ctx, store.SettlementTransition{
			SettlementID: st.ID, From: []string{store.SettlementInTransit}, To: store.SettlementPaid, At: now, BankReference: ref,
		})
		if err != nil {
			return nil, err
		}
		amount, currency := st.PayoutIn()
		e := ledger.PayoutPaid(id.New(id.Entry, now), st.ID, st.MerchantID, st.Livemode, currency, amount, now)
		if err := tx.LedgerPost(ctx, now, e); err != nil {
			return nil, err
		}
		ev, err := paidEvent(after, now)
		if err != nil {
			return nil, err
		}
		return after, tx.EventAdd(ctx, now, ev)
	})
	if err == nil && st.PaidAt != nil {
		s.notify()
	}
	return st, err
}

// paidEvent is the settlement.paid event of st: the merchant's, in st's
// mode, for every app of the merchant (AppID "").
func paidEvent(st *store.Settlement, at time.Time) (*store.Event, error) {
	data, err := json.Marshal(map[string]any{"object": Object(st, false)})
	if err != nil {
		return nil, err
	}
	return &store.Event{
		ID: id.New(id.Event, at), Type: notify.SettlementPaid, MerchantID: st.MerchantID, Livemode: st.Livemode,
		ObjectType: "settlement", ObjectID: st.ID, Data: data, CreatedAt: at,
	}, nil
}

// retry runs fn in a transaction, again (up to three times) when a racing
// change made its compare-and-set miss.
func (s *Service) retry(ctx context.Context, fn func(tx store.Tx, now time.Time) (*store.Settlement, error)) (*store.Settlement, error) {
	for attempt := 0; ; attempt++ {
		var out *store.Settlement
		err := s.Store.InTx(ctx, func(tx store.Tx) error {
			var err error
			out, err = fn(tx, s.now())
			return err
		})
		if errors.Is(err, store.ErrStale) || errors.Is(err, store.ErrConflict) {
			if attempt < 2 {
				continue
			}
			return nil, ErrChanged.Wrap(err)
		}
		return out, err
	}
}
