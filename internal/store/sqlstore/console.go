package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/paygate/paygate/internal/store"
)

const consoleUserColumns = `id, kind, merchant_id, email, name, role, password_hash, totp_sealed, invite_hash,
	invite_expires_at, disabled, created_at, updated_at`

const consoleSessionColumns = `id, user_id, csrf, livemode, created_at, seen_at, expires_at, revoked_at`

// ConsoleUserCreate inserts u; ErrConflict when its email (or id) is taken.
func (s *Store) ConsoleUserCreate(ctx context.Context, u *store.ConsoleUser) error {
	return s.inStmt(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `INSERT INTO console_users (`+consoleUserColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Kind, u.MerchantID, u.Email, u.Name, u.Role, u.PasswordHash, u.TOTPSealed, nullString(u.InviteHash),
			nullMicros(u.InviteExpiresAt), u.Disabled, micros(u.CreatedAt), micros(u.UpdatedAt)); err != nil {
			return fmt.Errorf("create console user %s: %w", u.Email, err)
		}
		return nil
	})
}

func (s *Store) consoleUserBy(ctx context.Context, col, v string) (*store.ConsoleUser, error) {
	u, err := queryOne(ctx, s.reader(), scanConsoleUser, `SELECT `+consoleUserColumns+` FROM console_users WHERE `+col+` = ?`, v)
	if err != nil {
		return nil, fmt.Errorf("console user by %s: %w", col, err)
	}
	return u, nil
}

func (s *Store) ConsoleUserGet(ctx context.Context, id string) (*store.ConsoleUser, error) {
	return s.consoleUserBy(ctx, "id", id)
}

func (s *Store) ConsoleUserByEmail(ctx context.Context, email string) (*store.ConsoleUser, error) {
	return s.consoleUserBy(ctx, "email", email)
}

func (s *Store) ConsoleUserByInvite(ctx context.Context, inviteHash string) (*store.ConsoleUser, error) {
	return s.consoleUserBy(ctx, "invite_hash", inviteHash)
}

// ConsoleUserList lists users of kind (of one merchant when merchantID is set).
func (s *Store) ConsoleUserList(ctx context.Context, kind, merchantID string) ([]*store.ConsoleUser, error) {
	var f filter
	f.and("kind = ?", kind)
	if merchantID != "" {
		f.and("merchant_id = ?", merchantID)
	}
	return queryAll(ctx, s.reader(), scanConsoleUser, `SELECT `+consoleUserColumns+` FROM console_users`+f.where()+` ORDER BY id DESC LIMIT 500`, f.args...)
}

// ConsoleUserUpdate stores u's mutable fields; ErrNotFound for no such user.
func (s *Store) ConsoleUserUpdate(ctx context.Context, u *store.ConsoleUser) error {
	return s.inStmt(ctx, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE console_users SET name = ?, role = ?, password_hash = ?, totp_sealed = ?, invite_hash = ?,
			invite_expires_at = ?, disabled = ?, updated_at = ? WHERE id = ?`,
			u.Name, u.Role, u.PasswordHash, u.TOTPSealed, nullString(u.InviteHash), nullMicros(u.InviteExpiresAt), u.Disabled,
			micros(u.UpdatedAt), u.ID)
		return updated(res, err, "update console user "+u.ID)
	})
}

func (s *Store) ConsoleSessionCreate(ctx context.Context, cs *store.ConsoleSession) error {
	return s.inStmt(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `INSERT INTO console_sessions (`+consoleSessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			cs.ID, cs.UserID, cs.CSRF, cs.Livemode, micros(cs.CreatedAt), micros(cs.SeenAt), micros(cs.ExpiresAt),
			nullMicros(cs.RevokedAt)); err != nil {
			return fmt.Errorf("create console session: %w", err)
		}
		return nil
	})
}

func (s *Store) ConsoleSessionGet(ctx context.Context, id string) (*store.ConsoleSession, error) {
	cs, err := queryOne(ctx, s.reader(), scanConsoleSession, `SELECT `+consoleSessionColumns+` FROM console_sessions WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("console session: %w", err)
	}
	return cs, nil
}

// ConsoleSessionTouch moves a live session's times; ErrNotFound when it is
// revoked or gone.
func (s *Store) ConsoleSessionTouch(ctx context.Context, id string, seen, expires time.Time) error {
	return s.inStmt(ctx, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE console_sessions SET seen_at = ?, expires_at = ? WHERE id = ? AND revoked_at IS NULL`,
			micros(seen), micros(expires), id)
		return updated(res, err, "touch console session")
	})
}

func (s *Store) ConsoleSessionSetMode(ctx context.Context, id string, livemode bool) error {
	return s.inStmt(ctx, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE console_sessions SET livemode = ? WHERE id = ? AND revoked_at IS NULL`, livemode, id)
		return updated(res, err, "console session mode")
	})
}

func (s *Store) ConsoleSessionRevoke(ctx context.Context, id string, at time.Time) error {
	return s.inStmt(ctx, func(c conn) error {
		_, err := c.exec(ctx, `UPDATE console_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, micros(at), id)
		return err
	})
}

func (s *Store) ConsoleSessionRevokeUser(ctx context.Context, userID string, at time.Time) (int, error) {
	var n int64
	err := s.inStmt(ctx, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE console_sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, micros(at), userID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// idFloor is the smallest id of prefix made at or after t: ids begin with
// their millisecond (ULID) and are never older than the time they were
// made with (internal/id), so created_at >= t implies id >= idFloor(t), and
// a date filter can walk the primary key instead of the whole table.
func idFloor(prefix string, t time.Time) string {
	var u ulid.ULID
	if t.Before(time.UnixMilli(0)) || u.SetTime(ulid.Timestamp(t)) != nil {
		return prefix
	}
	return prefix + strings.ToLower(u.String())
}

// consoleLimit bounds a console page (the export reads in pages too).
func consoleLimit(n int) int {
	switch {
	case n <= 0:
		return 50
	case n > 5000:
		return 5000
	}
	return n
}

// keysetPage runs selectFrom with f in sort's order (store.ConsoleSorts),
// the page after the cursor before or the page before the cursor after:
// keyset paging on (amount, id) or id, which the indexes of migrations
// 0001, 0016 and 0019 serve in either direction.
func keysetPage[T any](ctx context.Context, c conn, selectFrom string, f filter, sort, before, after string, limit int, scan func(rowScanner) (T, error)) ([]T, bool, error) {
	limit = consoleLimit(limit)
	byAmount := store.ConsoleSortByAmount(sort)
	desc := sort != store.SortOldest && sort != store.SortAmountAsc
	cursor, back := before, false
	if after != "" {
		cursor, back = after, true
	}
	if back {
		desc = !desc // read away from the cursor, then turn the page round
	}
	op, dir := ">", "ASC"
	if desc {
		op, dir = "<", "DESC"
	}
	if cursor != "" {
		amount, id, ok := store.ParseConsoleCursor(sort, cursor)
		if !ok {
			return nil, false, fmt.Errorf("list cursor %q is not one of sort %q", cursor, sort)
		}
		if byAmount {
			f.and("(amount, id) "+op+" (?, ?)", amount, id)
		} else {
			f.and("id "+op+" ?", id)
		}
	}
	order := " ORDER BY id " + dir
	if byAmount {
		order = " ORDER BY amount " + dir + ", id " + dir
	}
	items, err := queryAll(ctx, c, scan, selectFrom+f.where()+order+" LIMIT ?", append(f.args, limit+1)...)
	if err != nil {
		return nil, false, err
	}
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	if back {
		slices.Reverse(items)
	}
	return items, more, nil
}

// ConsoleOrders lists orders by the console's filters.
func (s *Store) ConsoleOrders(ctx context.Context, cf store.ConsoleOrderFilter) ([]*store.Order, bool, error) {
	var f filter
	if cf.MerchantID != "" {
		f.and("merchant_id = ?", cf.MerchantID)
	}
	f.and("livemode = ?", cf.Livemode)
	if cf.Status != "" {
		f.and("status = ?", cf.Status)
	}
	if cf.Method != "" {
		f.and("method = ?", cf.Method)
	}
	if cf.ChannelAccountID != "" {
		f.and("channel_account_id = ?", cf.ChannelAccountID)
	}
	amountRange(&f, cf.AmountMin, cf.AmountMax)
	createdRange(&f, "ord_", cf.CreatedGTE, cf.CreatedLT)
	items, more, err := keysetPage(ctx, s.reader(), `SELECT `+orderColumns+` FROM orders`, f, cf.Sort, cf.Before, cf.After, cf.Limit, scanOrder)
	if err != nil {
		return nil, false, fmt.Errorf("console orders: %w", err)
	}
	return items, more, nil
}

// ConsoleRefunds lists refunds by the console's filters.
func (s *Store) ConsoleRefunds(ctx context.Context, cf store.ConsoleRefundFilter) ([]*store.Refund, bool, error) {
	var f filter
	if cf.MerchantID != "" {
		f.and("merchant_id = ?", cf.MerchantID)
	}
	f.and("livemode = ?", cf.Livemode)
	if cf.Status != "" {
		f.and("status = ?", cf.Status)
	}
	if cf.OrderID != "" {
		f.and("order_id = ?", cf.OrderID)
	}
	amountRange(&f, cf.AmountMin, cf.AmountMax)
	createdRange(&f, "rfd_", cf.CreatedGTE, cf.CreatedLT)
	items, more, err := keysetPage(ctx, s.reader(), `SELECT `+refundColumns+` FROM refunds`, f, cf.Sort, cf.Before, cf.After, cf.Limit, scanRefund)
	if err != nil {
		return nil, false, fmt.Errorf("console refunds: %w", err)
	}
	return items, more, nil
}

func amountRange(f *filter, min, max int64) {
	if min > 0 {
		f.and("amount >= ?", min)
	}
	if max > 0 {
		f.and("amount <= ?", max)
	}
}

func createdRange(f *filter, prefix string, gte, lt *time.Time) {
	if gte != nil {
		f.and("id >= ?", idFloor(prefix, *gte))
		f.and("created_at >= ?", micros(*gte))
	}
	if lt != nil {
		f.and("created_at < ?", micros(*lt))
	}
}

// ConsoleFindOrders finds orders by a merchant's or channel's reference or payer.
func (s *Store) ConsoleFindOrders(ctx context.Context, merchantID, field, value string) ([]*store.Order, error) {
	var f filter
	switch field {
	case "out_trade_no":
		f.and("out_trade_no = ?", value)
	case "channel_trade_no":
		f.and("channel_trade_no <> ''")
		f.and("channel_trade_no = ?", value)
	case "payer_id":
		// The expression is the index's, spelled as the migration spells it.
		if s.dialect.NumberedPlaceholders {
			f.and("(payer::jsonb ->> 'id') = ?", value)
		} else {
			f.and("json_extract(payer, '$.id') = ?", value)
		}
	default:
		return nil, fmt.Errorf("console find orders: unknown field %q", field)
	}
	if merchantID != "" {
		f.and("merchant_id = ?", merchantID)
	}
	return queryAll(ctx, s.reader(), scanOrder, `SELECT `+orderColumns+` FROM orders`+f.where()+` ORDER BY id DESC LIMIT 50`, f.args...)
}

// ConsoleFindRefunds finds refunds by the merchant's or the channel's number.
func (s *Store) ConsoleFindRefunds(ctx context.Context, merchantID, field, value string) ([]*store.Refund, error) {
	var f filter
	switch field {
	case "out_refund_no":
		f.and("out_refund_no = ?", value)
	case "channel_refund_no":
		f.and("channel_refund_no <> ''")
		f.and("channel_refund_no = ?", value)
	default:
		return nil, fmt.Errorf("console find refunds: unknown field %q", field)
	}
	if merchantID != "" {
		f.and("merchant_id = ?", merchantID)
	}
	return queryAll(ctx, s.reader(), scanRefund, `SELECT `+refundColumns+` FROM refunds`+f.where()+` ORDER BY id DESC LIMIT 50`, f.args...)
}

// ConsoleFailedDeliveries lists recent failed deliveries.
func (s *Store) ConsoleFailedDeliveries(ctx context.Context, merchantID string, livemode bool, since time.Time, limit int) ([]*store.Delivery, error) {
	var f filter
	f.and("status = 'failed'") // a literal, so the partial index applies
	f.and("updated_at >= ?", micros(since))
	f.and("livemode = ?", livemode)
	if merchantID != "" {
		f.and("merchant_id = ?", merchantID)
	}
	return queryAll(ctx, s.reader(), scanDelivery, `SELECT `+deliveryColumns+` FROM deliveries`+f.where()+` ORDER BY updated_at DESC LIMIT ?`,
		append(f.args, consoleLimit(limit))...)
}

// ConsoleStats sums orders by UTC day, method, channel account and currency.
func (s *Store) ConsoleStats(ctx context.Context, merchantID string, livemode bool, from, to time.Time) ([]store.ConsoleStat, error) {
	var f filter
	createdRange(&f, "ord_", &from, &to)
	f.and("livemode = ?", livemode)
	if merchantID != "" {
		f.and("merchant_id = ?", merchantID)
	}
	const day = int64(24 * time.Hour / time.Microsecond)
	q := fmt.Sprintf(`SELECT created_at / %d AS d, method, channel_account_id, currency, COUNT(*),
		SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END), SUM(CASE WHEN status = 'succeeded' THEN amount ELSE 0 END)
		FROM orders%s GROUP BY created_at / %d, method, channel_account_id, currency ORDER BY d`, day, f.where(), day)
	return queryAll(ctx, s.reader(), func(r rowScanner) (store.ConsoleStat, error) {
		var st store.ConsoleStat
		var d int64
		err := r.Scan(&d, &st.Method, &st.ChannelAccountID, &st.Currency, &st.Orders, &st.Succeeded, &st.Amount)
		st.Day = time.UnixMicro(d * day).UTC()
		return st, err
	}, q, f.args...)
}

const dayMicros = int64(24 * time.Hour / time.Microsecond)

func unixDay(t time.Time) int64 { return t.UnixMicro() / dayMicros }

// ConsoleRollupDay sums the orders of one UTC day into console_daily_stats.
// The sums are read first, on the read pool, so the write transaction
// holds only their few rows: on SQLite a long INSERT … SELECT would keep
// every payment waiting for the writer.
func (s *Store) ConsoleRollupDay(ctx context.Context, day, at time.Time) error {
	d := unixDay(day)
	from, to := time.UnixMicro(d*dayMicros).UTC(), time.UnixMicro((d+1)*dayMicros).UTC()
	type sum struct {
		merchant, method, channel, currency string
		live                                bool
		orders, succeeded, amount           int64
	}
	sums, err := queryAll(ctx, s.reader(), func(r rowScanner) (sum, error) {
		var x sum
		err := r.Scan(&x.merchant, &x.live, &x.method, &x.channel, &x.currency, &x.orders, &x.succeeded, &x.amount)
		return x, err
	}, `SELECT merchant_id, livemode, method, channel_account_id, currency, COUNT(*),
		SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END), SUM(CASE WHEN status = 'succeeded' THEN amount ELSE 0 END)
		FROM orders WHERE id >= ? AND created_at >= ? AND created_at < ?
		GROUP BY merchant_id, livemode, method, channel_account_id, currency`, idFloor("ord_", from), micros(from), micros(to))
	if err != nil {
		return fmt.Errorf("roll up %s: %w", from.Format(time.DateOnly), err)
	}
	return s.inTx(ctx, func(tx *tx) error {
		// Two nodes (or the job and an operator) may roll the same day at
		// once: the day's rewrite takes a lock, or both would delete nothing
		// and insert the same keys (PostgreSQL).
		if err := lockKeys(ctx, tx.conn, []string{"console-rollup:" + from.Format(time.DateOnly)}); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM console_daily_stats WHERE day = ?`, d); err != nil {
			return fmt.Errorf("roll up %s: %w", from.Format(time.DateOnly), err)
		}
		for _, x := range sums {
			if _, err := tx.exec(ctx, `INSERT INTO console_daily_stats (day, merchant_id, livemode, method, channel_account_id, currency,
				orders, succeeded, amount) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				d, x.merchant, x.live, x.method, x.channel, x.currency, x.orders, x.succeeded, x.amount); err != nil {
				return fmt.Errorf("roll up %s: %w", from.Format(time.DateOnly), err)
			}
		}
		if _, err := tx.exec(ctx, `DELETE FROM console_rollup_days WHERE day = ?`, d); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `INSERT INTO console_rollup_days (day, rolled_at) VALUES (?, ?)`, d, micros(at))
		return err
	})
}

// ConsoleRolledDays lists the rolled-up days in [from, to).
func (s *Store) ConsoleRolledDays(ctx context.Context, from, to time.Time) ([]time.Time, error) {
	return queryAll(ctx, s.reader(), func(r rowScanner) (time.Time, error) {
		var d int64
		err := r.Scan(&d)
		return time.UnixMicro(d * dayMicros).UTC(), err
	}, `SELECT day FROM console_rollup_days WHERE day >= ? AND day < ? ORDER BY day`, unixDay(from), unixDay(to))
}

// ConsoleRolledStats reads the rolled-up sums, added up over merchants
// when merchantID is "".
func (s *Store) ConsoleRolledStats(ctx context.Context, merchantID string, livemode bool, from, to time.Time) ([]store.ConsoleStat, error) {
	var f filter
	f.and("livemode = ?", livemode)
	f.and("day >= ?", unixDay(from))
	f.and("day < ?", unixDay(to))
	if merchantID != "" {
		f.and("merchant_id = ?", merchantID)
	}
	return queryAll(ctx, s.reader(), func(r rowScanner) (store.ConsoleStat, error) {
		var st store.ConsoleStat
		var d int64
		err := r.Scan(&d, &st.Method, &st.ChannelAccountID, &st.Currency, &st.Orders, &st.Succeeded, &st.Amount)
		st.Day = time.UnixMicro(d * dayMicros).UTC()
		return st, err
	}, `SELECT day, method, channel_account_id, currency, SUM(orders), SUM(succeeded), SUM(amount)
		FROM console_daily_stats`+f.where()+` GROUP BY day, method, channel_account_id, currency ORDER BY day`, f.args...)
}

// ConsoleDayCounts counts refunds or deliveries by UTC day and status.
func (s *Store) ConsoleDayCounts(ctx context.Context, what, merchantID string, livemode bool, from, to time.Time) ([]store.ConsoleDayCount, error) {
	table, prefix, cols := "refunds", "rfd_", "currency, SUM(amount)"
	switch what {
	case "refunds":
	case "deliveries":
		table, prefix, cols = "deliveries", "dlv_", "'', 0"
	default:
		return nil, fmt.Errorf("console day counts: unknown %q", what)
	}
	var f filter
	createdRange(&f, prefix, &from, &to)
	f.and("livemode = ?", livemode)
	if merchantID != "" {
		f.and("merchant_id = ?", merchantID)
	}
	const day = int64(24 * time.Hour / time.Microsecond)
	group := fmt.Sprintf("created_at / %d, status", day)
	if what == "refunds" {
		group += ", currency"
	}
	q := fmt.Sprintf(`SELECT created_at / %d AS d, status, %s, COUNT(*) FROM %s%s GROUP BY %s ORDER BY d`, day, cols, table, f.where(), group)
	return queryAll(ctx, s.reader(), func(r rowScanner) (store.ConsoleDayCount, error) {
		var c store.ConsoleDayCount
		var d int64
		err := r.Scan(&d, &c.Status, &c.Currency, &c.Amount, &c.Count)
		c.Day = time.UnixMicro(d * day).UTC()
		return c, err
	}, q, f.args...)
}

// ConsoleEndpointHealth sums recent attempts per endpoint (the index
// delivery_attempts_endpoint of migration 0019 reads only those).
func (s *Store) ConsoleEndpointHealth(ctx context.Context, endpointIDs []string, since time.Time) (map[string]store.EndpointHealth, error) {
	out := map[string]store.EndpointHealth{}
	if len(endpointIDs) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(endpointIDs)+1)
	for _, id := range endpointIDs {
		args = append(args, id)
	}
	args = append(args, micros(since))
	type row struct {
		id string
		h  store.EndpointHealth
	}
	rows, err := queryAll(ctx, s.reader(), func(r rowScanner) (row, error) {
		var x row
		var latency, last int64
		err := r.Scan(&x.id, &x.h.Attempts, &x.h.OK, &latency, &last)
		if x.h.Attempts > 0 {
			x.h.Latency = time.Duration(latency/x.h.Attempts) * time.Microsecond
		}
		x.h.Last = time.UnixMicro(last).UTC()
		return x, err
	}, `SELECT endpoint_id, COUNT(*), CAST(SUM(CASE WHEN status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS BIGINT),
		CAST(SUM(latency_us) AS BIGINT), MAX(attempted_at) FROM delivery_attempts
		WHERE endpoint_id IN (`+placeholders(len(endpointIDs))+`) AND attempted_at >= ? GROUP BY endpoint_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("console endpoint health: %w", err)
	}
	for _, x := range rows {
		out[x.id] = x.h
	}
	return out, nil
}

// ConsoleChannelHours sums orders by UTC hour and channel account; the
// date range walks the primary key (createdRange).
func (s *Store) ConsoleChannelHours(ctx context.Context, livemode bool, from, to time.Time) ([]store.ConsoleChannelHour, error) {
	var f filter
	createdRange(&f, "ord_", &from, &to)
	f.and("livemode = ?", livemode)
	f.and("channel_account_id <> ''")
	const hour = int64(time.Hour / time.Microsecond)
	q := fmt.Sprintf(`SELECT created_at / %d AS h, channel_account_id, COUNT(*),
		CAST(SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END) AS BIGINT),
		CAST(SUM(CASE WHEN status = 'succeeded' AND paid_at IS NOT NULL THEN paid_at - created_at ELSE 0 END) AS BIGINT)
		FROM orders%s GROUP BY created_at / %d, channel_account_id ORDER BY h`, hour, f.where(), hour)
	hours, err := queryAll(ctx, s.reader(), func(r rowScanner) (store.ConsoleChannelHour, error) {
		var c store.ConsoleChannelHour
		var h int64
		err := r.Scan(&h, &c.ChannelAccountID, &c.Orders, &c.Succeeded, &c.PayMicros)
		c.Hour = time.UnixMicro(h * hour).UTC()
		return c, err
	}, q, f.args...)
	if err != nil {
		return nil, fmt.Errorf("console channel hours: %w", err)
	}
	return hours, nil
}

func scanConsoleUser(r rowScanner) (*store.ConsoleUser, error) {
	var u store.ConsoleUser
	var invite sql.NullString
	var inviteExp sql.NullInt64
	var created, updated int64
	if err := r.Scan(&u.ID, &u.Kind, &u.MerchantID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.TOTPSealed, &invite,
		&inviteExp, &u.Disabled, &created, &updated); err != nil {
		return nil, err
	}
	u.InviteHash = invite.String
	u.InviteExpiresAt = fromNullMicros(inviteExp)
	u.CreatedAt, u.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &u, nil
}

func scanConsoleSession(r rowScanner) (*store.ConsoleSession, error) {
	var cs store.ConsoleSession
	var created, seen, expires int64
	var revoked sql.NullInt64
	if err := r.Scan(&cs.ID, &cs.UserID, &cs.CSRF, &cs.Livemode, &created, &seen, &expires, &revoked); err != nil {
		return nil, err
	}
	cs.CreatedAt, cs.SeenAt, cs.ExpiresAt = fromMicros(created), fromMicros(seen), fromMicros(expires)
	cs.RevokedAt = fromNullMicros(revoked)
	return &cs, nil
}

// updated turns an UPDATE that touched no row into ErrNotFound.
func updated(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return oneRow(res, what, store.ErrNotFound)
}
