package settlement

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/store"
)

// Statement types.
const (
	StatementTrades      = "trades"
	StatementRefunds     = "refunds"
	StatementSettlements = "settlements"
)

// Statement is one day's statement of a merchant in one mode, ready to be
// written: every payment (trades) or refund that succeeded that day in
// the merchant's time zone, or every line of that day's settlements. It
// is CSV (RFC 4180): a header row, one row per transaction or line, and
// last a total row per currency (per settlement for settlements) whose id
// column holds how many rows it sums and whose amount columns their sums.
// Amounts are integers in minor units, signed as they move the merchant's
// money; times are RFC 3339 in the merchant's time zone.
type Statement struct {
	Type     string
	Day      string
	scope    store.Scope
	merchant *store.Merchant
	loc      *time.Location
	from     time.Time
	until    time.Time
	store    store.Store
}

// Statement checks a request for a statement: 400 date_invalid for a day
// not written YYYY-MM-DD, type_invalid for a type other than trades,
// refunds or settlements ("" is trades).
func (s *Service) Statement(ctx context.Context, sc store.Scope, day, typ string) (*Statement, error) {
	d, err := ParseDay(day)
	if err != nil {
		return nil, errs.InvalidParam("date", "The date must be a day written YYYY-MM-DD.")
	}
	switch typ {
	case "":
		typ = StatementTrades
	case StatementTrades, StatementRefunds, StatementSettlements:
	default:
		return nil, errs.InvalidParam("type", "type must be trades, refunds or settlements.")
	}
	m, err := s.merchant(ctx, sc.MerchantID)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(m.Timezone)
	if err != nil {
		return nil, fmt.Errorf("merchant %s: time zone: %w", m.ID, err)
	}
	return &Statement{Type: typ, Day: day, scope: sc, merchant: m, loc: loc,
		from: startOf(d, loc), until: startOf(addDays(d, 1), loc), store: s.Store}, nil
}

// Filename is the statement's name for a download.
func (st *Statement) Filename() string {
	mode := "test"
	if st.scope.Livemode {
		mode = "live"
	}
	return fmt.Sprintf("paygate-%s-%s-%s.csv", st.Type, mode, st.Day)
}

// Write writes the statement to w as it reads it from the database: no
// row is held but the current one and the totals.
func (st *Statement) Write(ctx context.Context, w io.Writer) error {
	cw := csv.NewWriter(w)
	var err error
	switch st.Type {
	case StatementTrades:
		err = st.writeTrades(ctx, cw)
	case StatementRefunds:
		err = st.writeRefunds(ctx, cw)
	default:
		err = st.writeSettlements(ctx, cw)
	}
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

func (st *Statement) query() store.StatementQuery {
	return store.StatementQuery{MerchantID: st.scope.MerchantID, Livemode: st.scope.Livemode, From: st.from, Until: st.until,
		PendingAccount: ledger.MerchantPending(st.scope.MerchantID, st.scope.Livemode)}
}

func (st *Statement) time(t time.Time) string { return t.In(st.loc).Format(time.RFC3339) }

// totals sums a statement's amount columns per currency.
type totals struct {
	order []string
	by    map[string]*total
}

type total struct {
	count int
	sums  []int64
}

func (t *totals) add(currency string, amounts ...int64) {
	if t.by == nil {
		t.by = map[string]*total{}
	}
	x, ok := t.by[currency]
	if !ok {
		x = &total{sums: make([]int64, len(amounts))}
		t.by[currency] = x
		t.order = append(t.order, currency)
	}
	x.count++
	for i, a := range amounts {
		x.sums[i] += a
	}
}

// each calls fn with every currency's total, in currency order; with none,
// once with the fallback currency and zeros.
func (t *totals) each(fallback string, columns int, fn func(currency string, x *total) error) error {
	if len(t.order) == 0 {
		return fn(fallback, &total{sums: make([]int64, columns)})
	}
	slices.Sort(t.order)
	for _, c := range t.order {
		if err := fn(c, t.by[c]); err != nil {
			return err
		}
	}
	return nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// presented is a trade's presentment amount column: empty unless it was
// paid at an FX quote.
func presented(tr *store.StatementTrade) string {
	if tr.FXQuote == "" {
		return ""
	}
	return itoa(tr.PresentmentAmount)
}

func (st *Statement) writeTrades(ctx context.Context, cw *csv.Writer) error {
	if err := cw.Write([]string{"type", "time", "order_id", "out_trade_no", "app_id", "method", "channel", "currency",
		"amount", "fee", "net", "amount_refunded", "settlement_id", "presentment_currency", "presentment_amount", "fx_quote", "fx_rate"}); err != nil {
		return err
	}
	var t totals
	err := st.store.StatementTrades(ctx, st.query(), func(tr *store.StatementTrade) error {
		fee := tr.Amount - tr.Net
		t.add(tr.Currency, tr.Amount, fee, tr.Net, tr.AmountRefunded)
		return cw.Write([]string{"trade", st.time(tr.PaidAt), tr.OrderID, tr.OutTradeNo, tr.AppID, tr.Method, tr.Channel,
			tr.Currency, itoa(tr.Amount), itoa(fee), itoa(tr.Net), itoa(tr.AmountRefunded), tr.SettlementID,
			tr.PresentmentCurrency, presented(tr), tr.FXQuote, tr.FXRate})
	})
	if err != nil {
		return err
	}
	return t.each(st.merchant.SettlementCurrency, 4, func(cur string, x *total) error {
		return cw.Write([]string{"total", "", strconv.Itoa(x.count), "", "", "", "", cur,
			itoa(x.sums[0]), itoa(x.sums[1]), itoa(x.sums[2]), itoa(x.sums[3]), "", "", "", "", ""})
	})
}

func (st *Statement) writeRefunds(ctx context.Context, cw *csv.Writer) error {
	if err := cw.Write([]string{"type", "time", "refund_id", "out_refund_no", "order_id", "app_id", "currency",
		"amount", "fee_returned", "net", "settlement_id"}); err != nil {
		return err
	}
	var t totals
	err := st.store.StatementRefunds(ctx, st.query(), func(rf *store.StatementRefund) error {
		returned := rf.Amount + rf.Net // net is -(amount - fee returned)
		t.add(rf.Currency, rf.Amount, returned, rf.Net)
		return cw.Write([]string{"refund", st.time(rf.SucceededAt), rf.RefundID, rf.OutRefundNo, rf.OrderID, rf.AppID,
			rf.Currency, itoa(rf.Amount), itoa(returned), itoa(rf.Net), rf.SettlementID})
	})
	if err != nil {
		return err
	}
	return t.each(st.merchant.SettlementCurrency, 3, func(cur string, x *total) error {
		return cw.Write([]string{"total", "", strconv.Itoa(x.count), "", "", "", cur,
			itoa(x.sums[0]), itoa(x.sums[1]), itoa(x.sums[2]), ""})
	})
}

// writeSettlements writes the lines of the day's settlements (one per
// currency), each settlement's lines followed by its total row: its net
// column is the settlement's net.
func (st *Statement) writeSettlements(ctx context.Context, cw *csv.Writer) error {
	if err := cw.Write([]string{"type", "time", "ref_id", "out_no", "settlement_id", "settle_date", "status", "currency",
		"amount", "fee", "net"}); err != nil {
		return err
	}
	live := st.scope.Livemode
	var batches []*store.Settlement
	after := ""
	for { // a merchant has one batch per currency a day: a page or two
		page, more, err := st.store.SettlementList(ctx, store.SettlementFilter{MerchantID: st.scope.MerchantID, Livemode: &live,
			Day: st.Day, ListParams: store.ListParams{Limit: 100, StartingAfter: after}})
		if err != nil {
			return err
		}
		batches = append(batches, page...)
		if !more || len(page) == 0 {
			break
		}
		after = page[len(page)-1].ID
	}
	slices.SortFunc(batches, func(a, b *store.Settlement) int { return strings.Compare(a.Currency, b.Currency) })
	if len(batches) == 0 {
		return cw.Write([]string{"total", "", "0", "", "", "", "", st.merchant.SettlementCurrency, "0", "0", "0"})
	}
	for _, b := range batches {
		var t totals
		err := st.store.SettlementLinesEach(ctx, b.ID, func(l *store.SettlementLine) error {
			t.add(b.Currency, l.Amount, l.Fee, l.Net)
			return cw.Write([]string{l.Kind, st.time(l.OccurredAt), l.RefID, l.OutNo, b.ID, b.SettleDate, b.Status,
				l.Currency, itoa(l.Amount), itoa(l.Fee), itoa(l.Net)})
		})
		if err != nil {
			return err
		}
		if err := t.each(b.Currency, 3, func(cur string, x *total) error {
			return cw.Write([]string{"total", "", strconv.Itoa(x.count), "", b.ID, b.SettleDate, b.Status, cur,
				itoa(x.sums[0]), itoa(x.sums[1]), itoa(x.sums[2])})
		}); err != nil {
			return err
		}
		if f := b.FX; f != nil {
			// The batch's net, converted at the day's rate (fx.go): ref_id
			// is the rate used and out_no the mid rate; amount is the net
			// at the mid rate, fee the platform's markup, net what was paid
			// into the available balance (and is paid out).
			if err := cw.Write([]string{"fx_conversion", st.time(b.CreatedAt), f.RateID, f.Rate, b.ID, b.SettleDate, b.Status,
				f.Currency, itoa(f.Net + f.Markup), itoa(f.Markup), itoa(f.Net)}); err != nil {
				return err
			}
		}
	}
	return nil
}
