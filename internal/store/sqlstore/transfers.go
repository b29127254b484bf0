package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/store"
)

// Transfers: merchants' payouts to payees at a channel (internal/transfer).

const transferColumns = `id, merchant_id, app_id, livemode, out_transfer_no, amount, currency, status,
	destination_method, destination_account, destination_name, description, channel, channel_account_id,
	channel_transfer_no, failure_code, failure_message, request_hash, query_attempts, next_query_at,
	created_at, updated_at, finished_at, fx_quote_id, source_amount, source_currency`

func scanTransfer(r rowScanner) (*store.Transfer, error) {
	var t store.Transfer
	var next, created, updated int64
	var finished sql.NullInt64
	if err := r.Scan(&t.ID, &t.MerchantID, &t.AppID, &t.Livemode, &t.OutTransferNo, &t.Amount, &t.Currency, &t.Status,
		&t.DestinationMethod, &t.DestinationAccount, &t.DestinationName, &t.Description, &t.Channel, &t.ChannelAccountID,
		&t.ChannelTransferNo, &t.FailureCode, &t.FailureMessage, &t.RequestHash, &t.QueryAttempts, &next,
		&created, &updated, &finished, &t.FXQuoteID, &t.SourceAmount, &t.SourceCurrency); err != nil {
		return nil, err
	}
	t.NextQueryAt, t.CreatedAt, t.UpdatedAt, t.FinishedAt = fromMicros(next), fromMicros(created), fromMicros(updated), fromNullMicros(finished)
	return &t, nil
}

func (q txQueries) TransferCreate(ctx context.Context, t *store.Transfer) error {
	if _, err := q.c.exec(ctx, `INSERT INTO transfers (`+transferColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.MerchantID, t.AppID, t.Livemode, t.OutTransferNo, t.Amount, t.Currency, t.Status,
		t.DestinationMethod, t.DestinationAccount, t.DestinationName, t.Description, t.Channel, t.ChannelAccountID,
		t.ChannelTransferNo, t.FailureCode, t.FailureMessage, t.RequestHash, t.QueryAttempts, micros(t.NextQueryAt),
		micros(t.CreatedAt), micros(t.UpdatedAt), nullMicros(t.FinishedAt), t.FXQuoteID, t.SourceAmount, t.SourceCurrency); err != nil {
		return fmt.Errorf("create transfer %s: %w", t.ID, err)
	}
	return nil
}

func (q txQueries) TransferGet(ctx context.Context, id string) (*store.Transfer, error) {
	return transferGet(ctx, q.c, id)
}

func transferGet(ctx context.Context, c conn, id string) (*store.Transfer, error) {
	t, err := queryOne(ctx, c, scanTransfer, `SELECT `+transferColumns+` FROM transfers WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("transfer %s: %w", id, err)
	}
	return t, nil
}

func (q txQueries) TransferTransition(ctx context.Context, t store.TransferTransition) (*store.Transfer, error) {
	args := []any{t.To, micros(t.At), t.ChannelTransferNo, t.FailureCode, t.FailureMessage, t.QueryAttempts, micros(t.NextQueryAt)}
	finished := "finished_at"
	if t.To != store.TransferProcessing {
		finished = "?"
		args = append(args, micros(t.At))
	}
	args = append(args, t.TransferID, store.TransferProcessing)
	out, err := queryOne(ctx, q.c, scanTransfer, `UPDATE transfers SET status = ?, updated_at = ?,
		channel_transfer_no = COALESCE(NULLIF(?, ''), channel_transfer_no), failure_code = ?, failure_message = ?,
		query_attempts = ?, next_query_at = ?, finished_at = `+finished+`
		WHERE id = ? AND status = ? RETURNING `+transferColumns, args...)
	if err == nil {
		return out, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("transfer %s to %s: %w", t.TransferID, t.To, err)
	}
	cur, err := transferGet(ctx, q.c, t.TransferID)
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("transfer %s is %s, not processing: %w", t.TransferID, cur.Status, store.ErrStale)
}

func (q txQueries) BalanceForDebit(ctx context.Context, account, currency string) (int64, bool, error) {
	// lockKeys takes the dialect's transaction lock (none on SQLite, whose
	// write transactions are serial).
	if err := lockKeys(ctx, q.c, []string{"balance:" + account + ":" + currency}); err != nil {
		return 0, false, fmt.Errorf("lock the balance of %s: %w", account, err)
	}
	var amount int64
	var rows int
	if err := q.c.queryRow(ctx, `SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT), COUNT(*) FROM account_balances
		WHERE account = ? AND currency = ?`, account, currency).Scan(&amount, &rows); err != nil {
		return 0, false, fmt.Errorf("balance of %s in %s: %w", account, currency, err)
	}
	return amount, rows > 0, nil
}

// TransferGet returns a transfer.
func (s *Store) TransferGet(ctx context.Context, id string) (*store.Transfer, error) {
	return transferGet(ctx, s.reader(), id)
}

// TransferGetInScope returns the transfer if it is the scope's merchant's.
func (s *Store) TransferGetInScope(ctx context.Context, sc store.Scope, id string) (*store.Transfer, error) {
	t, err := queryOne(ctx, s.reader(), scanTransfer, `SELECT `+transferColumns+` FROM transfers
		WHERE id = ? AND merchant_id = ? AND livemode = ?`, id, sc.MerchantID, sc.Livemode)
	if err != nil {
		return nil, fmt.Errorf("transfer %s of %s: %w", id, sc.MerchantID, err)
	}
	return t, nil
}

// TransferGetByOutTransferNo returns the app's transfer with the merchant's number.
func (s *Store) TransferGetByOutTransferNo(ctx context.Context, appID, outTransferNo string) (*store.Transfer, error) {
	t, err := queryOne(ctx, s.reader(), scanTransfer, `SELECT `+transferColumns+` FROM transfers
		WHERE app_id = ? AND out_transfer_no = ?`, appID, outTransferNo)
	if err != nil {
		return nil, fmt.Errorf("transfer %s of %s: %w", outTransferNo, appID, err)
	}
	return t, nil
}

// TransferList pages through a merchant's transfers, newest first.
func (s *Store) TransferList(ctx context.Context, f store.TransferFilter) ([]*store.Transfer, bool, error) {
	var w filter
	w.and("merchant_id = ?", f.MerchantID)
	w.and("livemode = ?", f.Livemode)
	if f.Status != "" {
		w.and("status = ?", f.Status)
	}
	return listPage(ctx, s.reader(), `SELECT `+transferColumns+` FROM transfers`, w, f.ListParams, scanTransfer)
}

// TransfersDue lists processing transfers whose next query is due.
func (s *Store) TransfersDue(ctx context.Context, now time.Time, limit int) ([]*store.Transfer, error) {
	ts, err := queryAll(ctx, s.reader(), scanTransfer, `SELECT `+transferColumns+` FROM transfers
		WHERE status = '`+store.TransferProcessing+`' AND next_query_at <= ? ORDER BY next_query_at, id LIMIT ?`, micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("transfers due: %w", err)
	}
	return ts, nil
}

// verifyTransfers checks every transfer against its entries: one transfer
// entry each; a succeeded transfer has one transfer_paid entry and no
// transfer_failed, a failed one the reverse, a processing one neither; and
// no transfer entry references a transfer that does not exist.
func verifyTransfers(ctx context.Context, c conn, rep *store.VerifyReport) error {
	bad, err := queryAll(ctx, c, func(r rowScanner) (string, error) {
		var id, status string
		var started, paid, failed int
		err := r.Scan(&id, &status, &started, &paid, &failed)
		return fmt.Sprintf("transfer %s: %s with %d transfer, %d transfer_paid and %d transfer_failed entries", id, status, started, paid, failed), err
	}, `SELECT t.id, t.status,
			COUNT(CASE WHEN e.kind = ? THEN 1 END), COUNT(CASE WHEN e.kind = ? THEN 1 END), COUNT(CASE WHEN e.kind = ? THEN 1 END)
		FROM transfers t LEFT JOIN ledger_entries e ON e.ref_id = t.id
		GROUP BY t.id, t.status
		HAVING COUNT(CASE WHEN e.kind = ? THEN 1 END) <> 1
			OR COUNT(CASE WHEN e.kind = ? THEN 1 END) <> CASE WHEN t.status = ? THEN 1 ELSE 0 END
			OR COUNT(CASE WHEN e.kind = ? THEN 1 END) <> CASE WHEN t.status = ? THEN 1 ELSE 0 END
		ORDER BY t.id`,
		ledger.KindTransfer, ledger.KindTransferPaid, ledger.KindTransferFailed,
		ledger.KindTransfer, ledger.KindTransferPaid, store.TransferSucceeded, ledger.KindTransferFailed, store.TransferFailed)
	if err != nil {
		return fmt.Errorf("check transfers against their entries: %w", err)
	}
	orphans, err := queryAll(ctx, c, func(r rowScanner) (string, error) {
		var id, kind, ref string
		err := r.Scan(&id, &kind, &ref)
		return fmt.Sprintf("%s entry %s: transfer %s does not exist", kind, id, ref), err
	}, `SELECT e.id, e.kind, e.ref_id FROM ledger_entries e LEFT JOIN transfers t ON t.id = e.ref_id
		WHERE e.kind IN (?, ?, ?) AND t.id IS NULL ORDER BY e.id`,
		ledger.KindTransfer, ledger.KindTransferPaid, ledger.KindTransferFailed)
	if err != nil {
		return fmt.Errorf("find transfer entries without a transfer: %w", err)
	}
	rep.MissingEntries = append(rep.MissingEntries, bad...)
	rep.MissingEntries = append(rep.MissingEntries, orphans...)
	return nil
}
