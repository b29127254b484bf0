package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/store"
)

// Risk control's tables (migration 10). Every change of a rule, a list, an
// entry or a range table bumps risk_version in its transaction, so nodes
// know when to reload what they cache.

const riskRuleColumns = `id, name, description, owner, merchant_id, app_id, livemode, expression, template, params,
	action, mode, priority, applies_to, disabled, created_at, updated_at`

// bumpRiskVersion marks rules, lists or tables as changed.
func bumpRiskVersion(ctx context.Context, c conn) error {
	if _, err := c.exec(ctx, `UPDATE risk_version SET version = version + 1 WHERE id = 1`); err != nil {
		return fmt.Errorf("bump risk version: %w", err)
	}
	return nil
}

// RiskVersion returns the version of rules, lists and tables.
func (s *Store) RiskVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.reader().queryRow(ctx, `SELECT version FROM risk_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("risk version: %w", s.dialect.interpret(err))
	}
	return v, nil
}

func nullBool(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

// RiskRuleCreate inserts r.
func (s *Store) RiskRuleCreate(ctx context.Context, r *store.RiskRule) error {
	applies, err := stringsJSON(r.AppliesTo)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO risk_rules (`+riskRuleColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.Name, r.Description, r.Owner, r.MerchantID, r.AppID, nullBool(r.Livemode), r.Expression, r.Template,
			rawJSON(r.Params), r.Action, r.Mode, r.Priority, applies, r.Disabled, micros(r.CreatedAt), micros(r.UpdatedAt)); err != nil {
			return fmt.Errorf("create risk rule %s: %w", r.ID, err)
		}
		return bumpRiskVersion(ctx, tx.conn)
	})
}

// RiskRuleGet returns the rule with id.
func (s *Store) RiskRuleGet(ctx context.Context, id string) (*store.RiskRule, error) {
	r, err := queryOne(ctx, s.reader(), scanRiskRule, `SELECT `+riskRuleColumns+` FROM risk_rules WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("risk rule %s: %w", id, err)
	}
	return r, nil
}

// RiskRuleUpdate stores every mutable field of r.
func (s *Store) RiskRuleUpdate(ctx context.Context, r *store.RiskRule) error {
	applies, err := stringsJSON(r.AppliesTo)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *tx) error {
		res, err := tx.exec(ctx, `UPDATE risk_rules SET name = ?, description = ?, merchant_id = ?, app_id = ?, livemode = ?,
			expression = ?, template = ?, params = ?, action = ?, mode = ?, priority = ?, applies_to = ?, disabled = ?, updated_at = ?
			WHERE id = ?`,
			r.Name, r.Description, r.MerchantID, r.AppID, nullBool(r.Livemode), r.Expression, r.Template, rawJSON(r.Params),
			r.Action, r.Mode, r.Priority, applies, r.Disabled, micros(r.UpdatedAt), r.ID)
		if err != nil {
			return fmt.Errorf("update risk rule %s: %w", r.ID, err)
		}
		if n, err := affected(res); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("update risk rule %s: %w", r.ID, store.ErrNotFound)
		}
		return bumpRiskVersion(ctx, tx.conn)
	})
}

// RiskRuleDelete deletes the rule with id.
func (s *Store) RiskRuleDelete(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx *tx) error {
		res, err := tx.exec(ctx, `DELETE FROM risk_rules WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete risk rule %s: %w", id, err)
		}
		if n, err := affected(res); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("delete risk rule %s: %w", id, store.ErrNotFound)
		}
		return bumpRiskVersion(ctx, tx.conn)
	})
}

// RiskRuleList pages through rules, newest first.
func (s *Store) RiskRuleList(ctx context.Context, f store.RiskRuleFilter) ([]*store.RiskRule, bool, error) {
	var w filter
	if f.Owner != "" {
		w.and("owner = ?", f.Owner)
	}
	if f.MerchantID != "" {
		w.and("merchant_id = ?", f.MerchantID)
	}
	if f.Livemode != nil {
		w.and("(livemode IS NULL OR livemode = ?)", *f.Livemode)
	}
	rs, more, err := listPage(ctx, s.reader(), `SELECT `+riskRuleColumns+` FROM risk_rules`, w, f.ListParams, scanRiskRule)
	if err != nil {
		return nil, false, fmt.Errorf("list risk rules: %w", err)
	}
	return rs, more, nil
}

// RiskRulesAll returns every enabled rule.
func (s *Store) RiskRulesAll(ctx context.Context) ([]*store.RiskRule, error) {
	rs, err := queryAll(ctx, s.reader(), scanRiskRule, `SELECT `+riskRuleColumns+` FROM risk_rules WHERE NOT disabled ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("risk rules: %w", err)
	}
	return rs, nil
}

// RiskRuleCount counts the rules merchantID wrote.
func (s *Store) RiskRuleCount(ctx context.Context, merchantID string) (int, error) {
	var n int
	if err := s.reader().queryRow(ctx, `SELECT COUNT(*) FROM risk_rules WHERE owner = ? AND merchant_id = ?`,
		store.RiskOwnerMerchant, merchantID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count risk rules of %s: %w", merchantID, err)
	}
	return n, nil
}

func scanRiskRule(r rowScanner) (*store.RiskRule, error) {
	var rr store.RiskRule
	var live sql.NullBool
	var params sql.NullString
	var applies string
	var created, updated int64
	if err := r.Scan(&rr.ID, &rr.Name, &rr.Description, &rr.Owner, &rr.MerchantID, &rr.AppID, &live, &rr.Expression,
		&rr.Template, &params, &rr.Action, &rr.Mode, &rr.Priority, &applies, &rr.Disabled, &created, &updated); err != nil {
		return nil, err
	}
	if live.Valid {
		rr.Livemode = &live.Bool
	}
	rr.Params = fromRawJSON(params)
	var err error
	if rr.AppliesTo, err = fromStringsJSON(applies); err != nil {
		return nil, fmt.Errorf("risk rule %s: %w", rr.ID, err)
	}
	rr.CreatedAt, rr.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &rr, nil
}

const riskListColumns = `id, name, kind, description, created_at,
	(SELECT COUNT(*) FROM risk_list_entries e WHERE e.list_id = risk_lists.id)`

func scanRiskList(r rowScanner) (*store.RiskList, error) {
	var l store.RiskList
	var created int64
	if err := r.Scan(&l.ID, &l.Name, &l.Kind, &l.Description, &created, &l.Entries); err != nil {
		return nil, err
	}
	l.CreatedAt = fromMicros(created)
	return &l, nil
}

// RiskListCreate inserts l; ErrConflict when its name is taken.
func (s *Store) RiskListCreate(ctx context.Context, l *store.RiskList) error {
	return s.inTx(ctx, func(tx *tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO risk_lists (id, name, kind, description, created_at) VALUES (?, ?, ?, ?, ?)`,
			l.ID, l.Name, l.Kind, l.Description, micros(l.CreatedAt)); err != nil {
			return fmt.Errorf("create risk list %s: %w", l.Name, err)
		}
		return bumpRiskVersion(ctx, tx.conn)
	})
}

// RiskListGet returns the list with id.
func (s *Store) RiskListGet(ctx context.Context, id string) (*store.RiskList, error) {
	l, err := queryOne(ctx, s.reader(), scanRiskList, `SELECT `+riskListColumns+` FROM risk_lists WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("risk list %s: %w", id, err)
	}
	return l, nil
}

// RiskListGetByName returns the list called name.
func (s *Store) RiskListGetByName(ctx context.Context, name string) (*store.RiskList, error) {
	l, err := queryOne(ctx, s.reader(), scanRiskList, `SELECT `+riskListColumns+` FROM risk_lists WHERE name = ?`, name)
	if err != nil {
		return nil, fmt.Errorf("risk list %q: %w", name, err)
	}
	return l, nil
}

// RiskListList pages through lists, newest first.
func (s *Store) RiskListList(ctx context.Context, p store.ListParams) ([]*store.RiskList, bool, error) {
	ls, more, err := listPage(ctx, s.reader(), `SELECT `+riskListColumns+` FROM risk_lists`, filter{}, p, scanRiskList)
	if err != nil {
		return nil, false, fmt.Errorf("list risk lists: %w", err)
	}
	return ls, more, nil
}

// RiskListDelete deletes a list and its entries.
func (s *Store) RiskListDelete(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx *tx) error {
		if _, err := tx.exec(ctx, `DELETE FROM risk_list_entries WHERE list_id = ?`, id); err != nil {
			return fmt.Errorf("delete entries of risk list %s: %w", id, err)
		}
		res, err := tx.exec(ctx, `DELETE FROM risk_lists WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete risk list %s: %w", id, err)
		}
		if n, err := affected(res); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("delete risk list %s: %w", id, store.ErrNotFound)
		}
		return bumpRiskVersion(ctx, tx.conn)
	})
}

// riskChunk is how many rows one multi-row INSERT carries.
const riskChunk = 200

// RiskListEntriesPut adds entries, replacing those with the same value.
func (s *Store) RiskListEntriesPut(ctx context.Context, listID string, entries []*store.RiskListEntry) error {
	return s.inTx(ctx, func(tx *tx) error {
		for chunk := range slices.Chunk(entries, riskChunk) {
			args := make([]any, 0, 5*len(chunk))
			rows := make([]string, len(chunk))
			for i, e := range chunk {
				rows[i] = "(?, ?, ?, ?, ?)"
				args = append(args, listID, e.Value, cleanText(e.Reason), nullMicros(e.ExpiresAt), micros(e.CreatedAt))
			}
			if _, err := tx.exec(ctx, `INSERT INTO risk_list_entries (list_id, value, reason, expires_at, created_at) VALUES `+
				strings.Join(rows, ", ")+` ON CONFLICT (list_id, value) DO UPDATE SET reason = excluded.reason,
				expires_at = excluded.expires_at, created_at = excluded.created_at`, args...); err != nil {
				return fmt.Errorf("put entries of risk list %s: %w", listID, err)
			}
		}
		return bumpRiskVersion(ctx, tx.conn)
	})
}

// RiskListEntryDelete deletes one entry.
func (s *Store) RiskListEntryDelete(ctx context.Context, listID, value string) error {
	return s.inTx(ctx, func(tx *tx) error {
		res, err := tx.exec(ctx, `DELETE FROM risk_list_entries WHERE list_id = ? AND value = ?`, listID, value)
		if err != nil {
			return fmt.Errorf("delete entry of risk list %s: %w", listID, err)
		}
		if n, err := affected(res); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("delete entry of risk list %s: %w", listID, store.ErrNotFound)
		}
		return bumpRiskVersion(ctx, tx.conn)
	})
}

// RiskListEntries returns a list's entries, or every list's when listID is "".
func (s *Store) RiskListEntries(ctx context.Context, listID string) ([]*store.RiskListEntry, error) {
	q := `SELECT list_id, value, reason, expires_at, created_at FROM risk_list_entries`
	var args []any
	if listID != "" {
		q += ` WHERE list_id = ?`
		args = append(args, listID)
	}
	es, err := queryAll(ctx, s.reader(), func(r rowScanner) (*store.RiskListEntry, error) {
		var e store.RiskListEntry
		var exp sql.NullInt64
		var created int64
		if err := r.Scan(&e.ListID, &e.Value, &e.Reason, &exp, &created); err != nil {
			return nil, err
		}
		e.ExpiresAt, e.CreatedAt = fromNullMicros(exp), fromMicros(created)
		return &e, nil
	}, q+` ORDER BY list_id, value`, args...)
	if err != nil {
		return nil, fmt.Errorf("risk list entries: %w", err)
	}
	return es, nil
}

// RiskRangesReplace replaces the table of kind in one transaction.
func (s *Store) RiskRangesReplace(ctx context.Context, kind string, ranges []store.RiskRange) error {
	return s.inTx(ctx, func(tx *tx) error {
		if _, err := tx.exec(ctx, `DELETE FROM risk_ranges WHERE kind = ?`, kind); err != nil {
			return fmt.Errorf("replace %s ranges: %w", kind, err)
		}
		for chunk := range slices.Chunk(ranges, riskChunk) {
			args := make([]any, 0, 4*len(chunk))
			rows := make([]string, len(chunk))
			for i, r := range chunk {
				rows[i] = "(?, ?, ?, ?)"
				args = append(args, kind, r.Start, r.End, r.Country)
			}
			if _, err := tx.exec(ctx, `INSERT INTO risk_ranges (kind, start_key, end_key, country) VALUES `+strings.Join(rows, ", "), args...); err != nil {
				return fmt.Errorf("replace %s ranges: %w", kind, err)
			}
		}
		return bumpRiskVersion(ctx, tx.conn)
	})
}

// RiskRanges returns the table of kind by start.
func (s *Store) RiskRanges(ctx context.Context, kind string) ([]store.RiskRange, error) {
	rs, err := queryAll(ctx, s.reader(), func(r rowScanner) (store.RiskRange, error) {
		var rr store.RiskRange
		err := r.Scan(&rr.Start, &rr.End, &rr.Country)
		return rr, err
	}, `SELECT start_key, end_key, country FROM risk_ranges WHERE kind = ? ORDER BY start_key`, kind)
	if err != nil {
		return nil, fmt.Errorf("%s ranges: %w", kind, err)
	}
	return rs, nil
}

const riskAttemptColumns = `id, kind, merchant_id, app_id, livemode, order_id, out_trade_no, payer_id, ip, device_id, card_fp,
	country, amount, currency, decision, score, rules, context, created_at`

// merchantDayShards is how many rows share a merchant's total of a day.
const merchantDayShards = 64

// insertRiskAttempt records a and, unless it is a blocked one, adds its
// amount to the merchant's total of day (a payment's).
func insertRiskAttempt(ctx context.Context, c conn, a *store.RiskAttempt, day string) error {
	if err := c.later(ctx, "record risk attempt "+a.ID, `INSERT INTO risk_attempts (`+riskAttemptColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Kind, a.MerchantID, a.AppID, a.Livemode, a.OrderID, a.OutTradeNo, nullString(a.PayerID), nullString(a.IP),
		nullString(a.DeviceID), nullString(a.CardFP), nullString(a.Country), a.Amount, a.Currency, a.Decision, a.Score,
		string(orEmptyList(a.Rules)), string(orEmptyObject(a.Context)), micros(a.CreatedAt)); err != nil {
		return err
	}
	if a.Kind != store.RiskKindPayment || a.Decision == store.RiskBlock || day == "" {
		return nil
	}
	var w writes
	shard := rand.IntN(merchantDayShards)
	w.addUpsertRow("risk_merchant_days", fmt.Sprint(a.MerchantID, a.Livemode, day, a.Currency, shard),
		"add risk attempt "+a.ID+" to the day's total", `INSERT INTO risk_merchant_days (merchant_id, livemode, day, currency, shard, amount, count)
		VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT (merchant_id, livemode, day, currency, shard)
		DO UPDATE SET amount = risk_merchant_days.amount + excluded.amount, count = risk_merchant_days.count + 1`,
		a.MerchantID, a.Livemode, day, a.Currency, shard, a.Amount)
	return c.laterAll(ctx, &w)
}

func orEmptyList(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("[]")
	}
	return b
}

func orEmptyObject(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("{}")
	}
	return b
}

func scanRiskAttempt(r rowScanner) (*store.RiskAttempt, error) {
	var a store.RiskAttempt
	var payer, ip, device, card, country sql.NullString
	var rules, ctxJSON string
	var created int64
	if err := r.Scan(&a.ID, &a.Kind, &a.MerchantID, &a.AppID, &a.Livemode, &a.OrderID, &a.OutTradeNo, &payer, &ip, &device,
		&card, &country, &a.Amount, &a.Currency, &a.Decision, &a.Score, &rules, &ctxJSON, &created); err != nil {
		return nil, err
	}
	a.PayerID, a.IP, a.DeviceID, a.CardFP, a.Country = payer.String, ip.String, device.String, card.String, country.String
	a.Rules, a.Context = json.RawMessage(rules), json.RawMessage(ctxJSON)
	a.CreatedAt = fromMicros(created)
	return &a, nil
}

// RiskAttemptGet returns the attempt with id.
func (s *Store) RiskAttemptGet(ctx context.Context, id string) (*store.RiskAttempt, error) {
	a, err := queryOne(ctx, s.reader(), scanRiskAttempt, `SELECT `+riskAttemptColumns+` FROM risk_attempts WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("risk attempt %s: %w", id, err)
	}
	return a, nil
}

// RiskAttemptList pages through attempts, newest first.
func (s *Store) RiskAttemptList(ctx context.Context, f store.RiskAttemptFilter) ([]*store.RiskAttempt, bool, error) {
	var w filter
	if f.MerchantID != "" {
		w.and("merchant_id = ?", f.MerchantID)
	}
	if f.Decision != "" {
		w.and("decision = ?", f.Decision)
	}
	if f.OrderID != "" {
		w.and("order_id = ?", f.OrderID)
	}
	as, more, err := listPage(ctx, s.reader(), `SELECT `+riskAttemptColumns+` FROM risk_attempts`, w, f.ListParams, scanRiskAttempt)
	if err != nil {
		return nil, false, fmt.Errorf("list risk attempts: %w", err)
	}
	return as, more, nil
}

// RiskAttemptsSince returns up to limit payment attempts created at or after since, newest first.
func (s *Store) RiskAttemptsSince(ctx context.Context, since time.Time, limit int) ([]*store.RiskAttempt, error) {
	as, err := queryAll(ctx, s.reader(), scanRiskAttempt, `SELECT `+riskAttemptColumns+` FROM risk_attempts
		WHERE created_at >= ? AND kind = ? ORDER BY created_at DESC, id DESC LIMIT ?`, micros(since), store.RiskKindPayment, limit)
	if err != nil {
		return nil, fmt.Errorf("risk attempts since %s: %w", since, err)
	}
	return as, nil
}

// RiskReviewList pages through orders waiting for review, newest first.
func (s *Store) RiskReviewList(ctx context.Context, p store.ListParams) ([]*store.Order, bool, error) {
	var w filter
	w.and("status = ?", string(store.OrderRequiresReview))
	os, more, err := listPage(ctx, s.reader(), `SELECT `+orderColumns+` FROM orders`, w, p, scanOrder)
	if err != nil {
		return nil, false, fmt.Errorf("list orders in review: %w", err)
	}
	return os, more, nil
}

// RiskCount computes counters on the read pool.
func (s *Store) RiskCount(ctx context.Context, q store.RiskCounterQuery) (store.RiskCounts, error) {
	return riskCount(ctx, s.reader(), q)
}

// Windows of the counters.
const (
	window10m = 10 * time.Minute
	window1h  = time.Hour
	window24h = 24 * time.Hour
	// usualCountryWindow is how far back a payer's usual country looks.
	usualCountryWindow = 30 * 24 * time.Hour
	// failuresLookBack is how many of a payer's last attempts "failures in
	// a row" looks at.
	failuresLookBack = 50
)

// riskCount computes the counters q needs: one statement for the windows
// of every key and the merchant's day (a cross join of one-row
// aggregates, each over its own index), and one each for failures in a
// row and the usual country when asked for.
func riskCount(ctx context.Context, c conn, q store.RiskCounterQuery) (store.RiskCounts, error) {
	var out store.RiskCounts
	now := q.Now.UnixMicro()
	t10, t1h, t24 := now-window10m.Microseconds(), now-window1h.Microseconds(), now-window24h.Microseconds()
	// Attempts counted: of the mode, payments, in the window, before this one.
	// a is the table's alias with its dot, or "".
	boundOf := func(a string, args *[]any, since int64) string {
		cond := " AND " + a + "livemode = ? AND " + a + "kind = ? AND " + a + "created_at >= ?"
		*args = append(*args, q.Livemode, store.RiskKindPayment, since)
		// Live counts have no upper bound: every attempt recorded is before
		// this one (they are serialized), whatever another node's clock says.
		if q.Before != "" {
			cond += " AND " + a + "id < ?"
			*args = append(*args, q.Before)
		}
		return cond
	}
	bound := func(args *[]any, since int64) string { return boundOf("", args, since) }
	var froms []string
	var args, dests []any
	windows := func(alias, keyCond string, keyArgs []any, extra string, w *store.RiskWindows, extraDests ...any) {
		sel := `SELECT CAST(COALESCE(SUM(CASE WHEN created_at >= ? THEN 1 ELSE 0 END), 0) AS BIGINT) c1,
			CAST(COALESCE(SUM(CASE WHEN created_at >= ? THEN 1 ELSE 0 END), 0) AS BIGINT) c2,
			CAST(COUNT(*) AS BIGINT) c3,
			CAST(COALESCE(SUM(CASE WHEN created_at >= ? AND currency = ? AND decision <> 'block' THEN amount ELSE 0 END), 0) AS BIGINT) c4,
			CAST(COALESCE(SUM(CASE WHEN created_at >= ? AND currency = ? AND decision <> 'block' THEN amount ELSE 0 END), 0) AS BIGINT) c5,
			CAST(COALESCE(SUM(CASE WHEN currency = ? AND decision <> 'block' THEN amount ELSE 0 END), 0) AS BIGINT) c6` + extra +
			` FROM risk_attempts WHERE ` + keyCond
		args = append(args, t10, t1h, t10, q.Currency, t1h, q.Currency, q.Currency)
		args = append(args, keyArgs...)
		sel += bound(&args, t24)
		froms = append(froms, "("+sel+") "+alias)
		dests = append(dests, &w.Count10m, &w.Count1h, &w.Count24h, &w.Amount10m, &w.Amount1h, &w.Amount24h)
		dests = append(dests, extraDests...)
	}
	if q.Need&store.RiskCountPayer != 0 && q.PayerID != "" {
		windows("p", "merchant_id = ? AND payer_id = ?", []any{q.MerchantID, q.PayerID},
			", CAST(COUNT(DISTINCT ip) AS BIGINT) c7, CAST(COUNT(DISTINCT country) AS BIGINT) c8", &out.Payer,
			&out.PayerDistinctIPs24h, &out.PayerDistinctCountries)
	}
	if q.Need&store.RiskCountIP != 0 && q.IP != "" {
		windows("i", "ip = ?", []any{q.IP}, "", &out.IP)
	}
	if q.Need&store.RiskCountDevice != 0 && q.DeviceID != "" {
		windows("d", "device_id = ?", []any{q.DeviceID}, "", &out.Device)
	}
	if q.Need&store.RiskCountCard != 0 && q.CardFP != "" {
		windows("k", "card_fp = ?", []any{q.CardFP}, "", &out.Card)
	}
	if q.Need&store.RiskCountMerchantToday != 0 {
		if q.Before == "" {
			froms = append(froms, `(SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) m1, CAST(COALESCE(SUM(count), 0) AS BIGINT) m2
				FROM risk_merchant_days WHERE merchant_id = ? AND livemode = ? AND day = ? AND currency = ?) m`)
			args = append(args, q.MerchantID, q.Livemode, q.Day, q.Currency)
		} else {
			// Replaying history: the day's attempts before this one.
			sel := `SELECT CAST(COALESCE(SUM(CASE WHEN currency = ? AND decision <> 'block' THEN amount ELSE 0 END), 0) AS BIGINT) m1,
				CAST(COALESCE(SUM(CASE WHEN currency = ? AND decision <> 'block' THEN 1 ELSE 0 END), 0) AS BIGINT) m2
				FROM risk_attempts WHERE merchant_id = ?`
			args = append(args, q.Currency, q.Currency, q.MerchantID)
			sel += bound(&args, q.DayStart.UnixMicro())
			froms = append(froms, "("+sel+") m")
		}
		dests = append(dests, &out.MerchantAmountToday, &out.MerchantCountToday)
	}
	if len(froms) > 0 {
		if err := c.queryRow(ctx, `SELECT * FROM `+strings.Join(froms, " CROSS JOIN "), args...).Scan(dests...); err != nil {
			return out, fmt.Errorf("risk counters: %w", c.d.interpret(err))
		}
	}
	if q.Need&store.RiskCountPayerFailures != 0 && q.PayerID != "" {
		fargs := []any{q.MerchantID, q.PayerID}
		cond := boundOf("a.", &fargs, t24)
		fargs = append(fargs, failuresLookBack)
		rows, err := c.query(ctx, `SELECT a.decision, COALESCE(o.status, '') FROM risk_attempts a LEFT JOIN orders o ON o.id = a.order_id
			WHERE a.merchant_id = ? AND a.payer_id = ?`+cond+` ORDER BY a.created_at DESC, a.id DESC LIMIT ?`, fargs...)
		if err != nil {
			return out, fmt.Errorf("risk counters: failures in a row: %w", err)
		}
		for rows.Next() {
			var decision, status string
			if err := rows.Scan(&decision, &status); err != nil {
				rows.Close()
				return out, err
			}
			if decision == store.RiskBlock || status == string(store.OrderFailed) {
				out.PayerFailuresInRow++
			} else if status == string(store.OrderSucceeded) {
				break
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return out, err
		}
	}
	if q.Need&store.RiskCountPayerUsualCountry != 0 && q.PayerID != "" {
		uargs := []any{q.MerchantID, q.PayerID}
		cond := bound(&uargs, now-usualCountryWindow.Microseconds())
		err := c.queryRow(ctx, `SELECT country FROM risk_attempts WHERE merchant_id = ? AND payer_id = ? AND country IS NOT NULL`+cond+`
			GROUP BY country ORDER BY COUNT(*) DESC, country LIMIT 1`, uargs...).Scan(&out.PayerUsualCountry)
		if err := c.d.interpret(err); err != nil && err != store.ErrNotFound {
			return out, fmt.Errorf("risk counters: usual country: %w", err)
		}
	}
	return out, nil
}

// lockKeys takes the dialect's lock on each key, in order (so two
// transactions locking overlapping keys cannot deadlock).
func lockKeys(ctx context.Context, c conn, keys []string) error {
	if c.d.LockKey == "" || len(keys) == 0 {
		return nil
	}
	keys = slices.Clone(keys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	exprs := make([]string, len(keys))
	args := make([]any, len(keys))
	for i, k := range keys {
		exprs[i], args[i] = c.d.LockKey, k
	}
	// The select list is evaluated left to right: the locks are taken in order.
	rows, err := c.query(ctx, `SELECT `+strings.Join(exprs, ", "), args...)
	if err != nil {
		return fmt.Errorf("risk lock: %w", err)
	}
	rows.Close()
	return rows.Err()
}

// InTxEarly is InTx returning as soon as fn has run: with group commit
// (SQLite), before the batch holding it commits, so that the caller can go
// on (ask a channel) while it does; later writes see fn's. durable waits
// for the commit and must be called. Without group commit it is InTx, and
// durable returns nil.
func (s *Store) InTxEarly(ctx context.Context, fn func(store.Tx) error) (durable func() error, err error) {
	if s.committer == nil {
		if err := s.InTx(ctx, fn); err != nil {
			return nil, err
		}
		return func() error { return nil }, nil
	}
	return s.committer.doEarly(ctx, func(t *tx) error { return fn(txQueries{c: t.conn}) })
}

// riskAttemptExists reports whether the attempt id is recorded.
func riskAttemptExists(ctx context.Context, c conn, id string) (bool, error) {
	var n int
	if err := c.queryRow(ctx, `SELECT COUNT(*) FROM risk_attempts WHERE id = ?`, id).Scan(&n); err != nil {
		return false, fmt.Errorf("risk attempt %s: %w", id, err)
	}
	return n > 0, nil
}
