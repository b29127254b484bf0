package sqlstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

// pending is the status of deliveries still owed, as a quoted SQL literal.
// Queries spell it out rather than bind it, so that the planner (and a
// PostgreSQL generic plan) can tell the partial indexes on pending
// deliveries apply.
const pending = `'` + store.DeliveryPending + `'`

const deliveryColumns = `id, event_id, merchant_id, app_id, livemode, endpoint_id, url, status, attempts, next_attempt_at,
	lease_token, lease_until, last_error, created_at, updated_at`

const deliveryColumnCount = 15

const attemptColumns = `id, delivery_id, event_id, endpoint_id, url, attempted_at, status_code, latency_us, error, response_body`

// fanOut adds to w the insert of the deliveries ev is owed, pending and due at its
// CreatedAt: one to its NotifyURL when it has one, then one to each enabled
// endpoint of its app subscribed to its type. An event of a merchant with
// no app (AppID "": a settlement's, which is the merchant's in one mode,
// not one app's) goes to the subscribed endpoints of every app of the
// merchant in its mode, each delivery carrying its endpoint's app.
// endpoints caches each app's (or merchant's) enabled endpoints for the
// transaction, so that the hot path reads them once however many events
// the transaction writes.
func fanOut(ctx context.Context, c conn, w *writes, ev *store.Event, endpoints map[string][]*store.WebhookEndpoint) error {
	key := ev.AppID
	if key == "" {
		key = fmt.Sprintf("merchant %s %t", ev.MerchantID, ev.Livemode)
	}
	eps, ok := endpoints[key]
	if !ok {
		var err error
		if ev.AppID == "" {
			eps, err = enabledMerchantEndpoints(ctx, c, ev.MerchantID, ev.Livemode)
		} else {
			eps, err = enabledEndpoints(ctx, c, ev.AppID)
		}
		if err != nil {
			return fmt.Errorf("deliveries of event %s: %w", ev.ID, err)
		}
		endpoints[key] = eps
	}
	var ds []*store.Delivery
	add := func(appID, endpointID, url string) {
		ds = append(ds, &store.Delivery{
			ID: id.New(id.Delivery, ev.CreatedAt), EventID: ev.ID, MerchantID: ev.MerchantID, AppID: appID,
			Livemode: ev.Livemode, EndpointID: endpointID, URL: url, Status: store.DeliveryPending,
			NextAttemptAt: ev.CreatedAt, CreatedAt: ev.CreatedAt, UpdatedAt: ev.CreatedAt,
		})
	}
	if ev.NotifyURL != "" && ev.AppID != "" {
		add(ev.AppID, "", ev.NotifyURL)
	}
	for _, e := range eps {
		if e.Subscribed(ev.Type) {
			add(e.AppID, e.ID, e.URL)
		}
	}
	addDeliveries(w, ds)
	return nil
}

// enabledEndpoints returns an app's endpoints that are not disabled, oldest first.
func enabledEndpoints(ctx context.Context, c conn, appID string) ([]*store.WebhookEndpoint, error) {
	es, err := queryAll(ctx, c, scanEndpoint, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE app_id = ? AND NOT disabled ORDER BY id`, appID)
	if err != nil {
		return nil, fmt.Errorf("webhook endpoints of %s: %w", appID, err)
	}
	return es, nil
}

// enabledMerchantEndpoints returns the endpoints of every app of a merchant
// in one mode that are not disabled, oldest first.
func enabledMerchantEndpoints(ctx context.Context, c conn, merchantID string, livemode bool) ([]*store.WebhookEndpoint, error) {
	es, err := queryAll(ctx, c, scanEndpoint, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE app_id IN (SELECT id FROM apps WHERE merchant_id = ? AND livemode = ?) AND NOT disabled ORDER BY id`, merchantID, livemode)
	if err != nil {
		return nil, fmt.Errorf("webhook endpoints of merchant %s: %w", merchantID, err)
	}
	return es, nil
}

// addDeliveries adds the insert of ds, one statement, to w.
func addDeliveries(w *writes, ds []*store.Delivery) {
	if len(ds) == 0 {
		return
	}
	rows := make([]string, len(ds))
	args := make([]any, 0, len(ds)*deliveryColumnCount)
	for i, d := range ds {
		rows[i] = "(" + placeholders(deliveryColumnCount) + ")"
		args = append(args, d.ID, d.EventID, d.MerchantID, d.AppID, d.Livemode, nullString(d.EndpointID), d.URL, d.Status,
			d.Attempts, micros(d.NextAttemptAt), nullString(d.LeaseToken), nullMicros(d.LeaseUntil), cleanText(d.LastError),
			micros(d.CreatedAt), micros(d.UpdatedAt))
	}
	w.add(fmt.Sprintf("insert %d deliveries of event %s", len(ds), ds[0].EventID),
		`INSERT INTO deliveries (`+deliveryColumns+`) VALUES `+strings.Join(rows, ", "), args...)
}

// DeliveriesClaim leases up to limit pending deliveries due at now whose
// lease is free or over, oldest due first, to one new random token until
// now+lease, and returns them with their events. A limit of 0 or less
// means 100.
//
// The rows are picked and leased in one statement. On PostgreSQL the pick
// locks them and skips rows a concurrent claim has locked (the dialect's
// SkipLocked), so claims from many nodes run side by side and never lease
// the same delivery twice: a row a concurrent claim has just leased and
// committed is seen with its new lease_until and passed over. The pick is a
// CTE, so it runs once whatever plan the UPDATE gets. SQLite runs one write
// transaction at a time, so there is nothing to skip.
func (s *Store) DeliveriesClaim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*store.Delivery, error) {
	if lease <= 0 {
		return nil, fmt.Errorf("claim deliveries: lease %v is not positive", lease)
	}
	token := rand.Text()
	var ds []*store.Delivery
	if err := s.inTx(ctx, func(tx *tx) error {
		claimed, err := queryAll(ctx, tx.conn, scanDelivery, `WITH picked AS (
				SELECT id FROM deliveries
				WHERE status = `+pending+` AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
				ORDER BY next_attempt_at, id LIMIT ? `+s.dialect.SkipLocked+`
			)
			UPDATE deliveries SET lease_token = ?, lease_until = ?
			WHERE id IN (SELECT id FROM picked) RETURNING `+deliveryColumns,
			micros(now), micros(now), batchLimit(limit), token, micros(now.Add(lease)))
		if err != nil {
			return fmt.Errorf("claim deliveries: %w", err)
		}
		if err := attachEvents(ctx, tx.conn, claimed); err != nil {
			return fmt.Errorf("claim deliveries: %w", err)
		}
		ds = claimed
		return nil
	}); err != nil {
		return nil, err
	}
	slices.SortFunc(ds, func(a, b *store.Delivery) int {
		return cmp.Or(a.NextAttemptAt.Compare(b.NextAttemptAt), cmp.Compare(a.ID, b.ID))
	})
	return ds, nil
}

// eventBatch is how many events attachEvents reads per query, well under
// both databases' limits on bound parameters.
const eventBatch = 500

// attachEvents sets the Event of each delivery in ds.
func attachEvents(ctx context.Context, c conn, ds []*store.Delivery) error {
	byID := map[string]*store.Event{}
	var ids []string
	for _, d := range ds {
		if _, ok := byID[d.EventID]; !ok {
			byID[d.EventID] = nil
			ids = append(ids, d.EventID)
		}
	}
	for chunk := range slices.Chunk(ids, eventBatch) {
		args := make([]any, len(chunk))
		for i, v := range chunk {
			args[i] = v
		}
		evs, err := queryAll(ctx, c, scanEvent, `SELECT `+eventColumns+` FROM events WHERE id IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return fmt.Errorf("read events of deliveries: %w", err)
		}
		for _, ev := range evs {
			byID[ev.ID] = ev
		}
	}
	for _, d := range ds {
		if d.Event = byID[d.EventID]; d.Event == nil {
			return fmt.Errorf("event %s of delivery %s: %w", d.EventID, d.ID, store.ErrNotFound)
		}
	}
	return nil
}

// DeliveryRecord stores an attempt and its outcome in one transaction and
// frees the lease. The delivery is updated first, only while r.LeaseToken
// still holds it: when it does not (the lease ran out and another claim
// took the delivery, or it was redelivered or its endpoint deleted) nothing
// is written and the error is ErrStale; ErrNotFound when there is no such
// delivery.
//
// The attempt's empty fields are filled in: DeliveryID from r, EventID,
// EndpointID and URL from the delivery, AttemptedAt from r.At, and ID with
// a new att_ id. Its Error is stored as valid UTF-8 without NUL bytes
// (PostgreSQL text takes neither); its ResponseBody is kept byte for byte.
func (s *Store) DeliveryRecord(ctx context.Context, r store.DeliveryResult) error {
	a := r.Attempt
	if a.DeliveryID == "" {
		a.DeliveryID = r.DeliveryID
	} else if a.DeliveryID != r.DeliveryID {
		return fmt.Errorf("record delivery %s: the attempt is of delivery %s", r.DeliveryID, a.DeliveryID)
	}
	if a.AttemptedAt.IsZero() {
		a.AttemptedAt = r.At
	}
	if a.ID == "" {
		a.ID = id.New(id.Attempt, a.AttemptedAt)
	}
	set := []string{"attempts = attempts + 1", "status = ?", "last_error = ?", "lease_token = NULL", "lease_until = NULL", "updated_at = ?"}
	args := []any{store.DeliveryFailed, cleanText(a.Error), micros(r.At)}
	switch {
	case r.Succeeded:
		args[0], args[1] = store.DeliverySucceeded, ""
	case r.NextAttemptAt != nil:
		args[0] = store.DeliveryPending
		set = append(set, "next_attempt_at = ?")
		args = append(args, micros(*r.NextAttemptAt))
	}
	args = append(args, r.DeliveryID, r.LeaseToken)
	update := `UPDATE deliveries SET ` + strings.Join(set, ", ") + `
		WHERE id = ? AND lease_token = ?`
	// The attempt's columns that do not depend on the delivery row.
	attemptError, body := cleanText(a.Error), append([]byte{}, a.ResponseBody...)

	if s.committer == nil && s.dialect.WritableCTE {
		// One statement, atomic in autocommit: the update and the attempt
		// it records, whose missing event, endpoint and URL come from the
		// updated row. One round trip instead of four (BEGIN, UPDATE,
		// INSERT, COMMIT).
		res, err := conn{q: s.write, d: s.dialect}.exec(ctx, `WITH d AS (`+update+` RETURNING event_id, endpoint_id, url)
			INSERT INTO delivery_attempts (`+attemptColumns+`)
			SELECT ?, ?, COALESCE(NULLIF(?, ''), d.event_id), COALESCE(NULLIF(?, ''), d.endpoint_id), COALESCE(NULLIF(?, ''), d.url), ?, ?, ?, ?, ? FROM d`,
			append(args, a.ID, a.DeliveryID, a.EventID, a.EndpointID, a.URL, micros(a.AttemptedAt), a.StatusCode,
				a.Latency.Microseconds(), attemptError, body)...)
		if err != nil {
			return fmt.Errorf("record delivery %s: %w", r.DeliveryID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		if _, err := deliveryGet(ctx, conn{q: s.write, d: s.dialect}, r.DeliveryID); err != nil {
			return fmt.Errorf("record delivery: %w", err)
		}
		return fmt.Errorf("record delivery %s: the lease is no longer held: %w", r.DeliveryID, store.ErrStale)
	}
	update += ` RETURNING ` + deliveryColumns
	return s.inTx(ctx, func(tx *tx) error {
		d, err := queryOne(ctx, tx.conn, scanDelivery, update, args...)
		if errors.Is(err, store.ErrNotFound) {
			// No row changed: tell a missing delivery from a lease that is gone.
			if _, err := deliveryGet(ctx, tx.conn, r.DeliveryID); err != nil {
				return fmt.Errorf("record delivery: %w", err)
			}
			return fmt.Errorf("record delivery %s: the lease is no longer held: %w", r.DeliveryID, store.ErrStale)
		}
		if err != nil {
			return fmt.Errorf("record delivery %s: %w", r.DeliveryID, err)
		}
		if a.EventID == "" {
			a.EventID = d.EventID
		}
		if a.EndpointID == "" {
			a.EndpointID = d.EndpointID
		}
		if a.URL == "" {
			a.URL = d.URL
		}
		if _, err := tx.exec(ctx, `INSERT INTO delivery_attempts (`+attemptColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.DeliveryID, a.EventID, nullString(a.EndpointID), a.URL, micros(a.AttemptedAt), a.StatusCode,
			a.Latency.Microseconds(), attemptError, body); err != nil {
			return fmt.Errorf("record attempt %s of delivery %s: %w", a.ID, r.DeliveryID, err)
		}
		return nil
	})
}

func deliveryGet(ctx context.Context, c conn, id string) (*store.Delivery, error) {
	d, err := queryOne(ctx, c, scanDelivery, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("delivery %s: %w", id, err)
	}
	return d, nil
}

// DeliveryList returns an event's deliveries, in the order they were made
// (the notify_url's first); none for an unknown event. Event is not filled.
func (s *Store) DeliveryList(ctx context.Context, eventID string) ([]*store.Delivery, error) {
	ds, err := queryAll(ctx, s.reader(), scanDelivery, `SELECT `+deliveryColumns+` FROM deliveries WHERE event_id = ? ORDER BY id`, eventID)
	if err != nil {
		return nil, fmt.Errorf("deliveries of event %s: %w", eventID, err)
	}
	return ds, nil
}

// DeliveryAttempts returns an event's attempts over all its deliveries,
// oldest first; none for an unknown event.
func (s *Store) DeliveryAttempts(ctx context.Context, eventID string) ([]*store.DeliveryAttempt, error) {
	as, err := queryAll(ctx, s.reader(), scanAttempt, `SELECT `+attemptColumns+` FROM delivery_attempts
		WHERE event_id = ? ORDER BY attempted_at, id`, eventID)
	if err != nil {
		return nil, fmt.Errorf("delivery attempts of event %s: %w", eventID, err)
	}
	return as, nil
}

// EventRedeliver makes the event's deliveries pending again, due at now,
// with Attempts 0, no lease and no LastError; their attempts stay. A
// delivery whose endpoint has been deleted stays as it is: there is no
// secret left to sign it with. It returns how many deliveries it reset;
// ErrNotFound when there is no such event.
func (s *Store) EventRedeliver(ctx context.Context, sc store.Scope, eventID string, now time.Time) (int, error) {
	var reset int
	err := s.inTx(ctx, func(tx *tx) error {
		var found string
		if err := tx.queryRow(ctx, `SELECT id FROM events WHERE id = ? AND merchant_id = ? AND livemode = ?`,
			eventID, sc.MerchantID, sc.Livemode).Scan(&found); err != nil {
			return fmt.Errorf("redeliver event %s: %w", eventID, tx.d.interpret(err))
		}
		res, err := tx.exec(ctx, `UPDATE deliveries SET status = `+pending+`, attempts = 0, next_attempt_at = ?,
			lease_token = NULL, lease_until = NULL, last_error = '', updated_at = ?
			WHERE event_id = ? AND (endpoint_id IS NULL OR EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.id = deliveries.endpoint_id))`,
			micros(now), micros(now), eventID)
		if err != nil {
			return fmt.Errorf("redeliver event %s: %w", eventID, err)
		}
		n, err := affected(res)
		if err != nil {
			return fmt.Errorf("redeliver event %s: %w", eventID, err)
		}
		reset = int(n)
		return nil
	})
	return reset, err
}

// DeliveriesPending counts pending deliveries, due or not.
func (s *Store) DeliveriesPending(ctx context.Context) (int, error) {
	var n int
	if err := s.reader().queryRow(ctx, `SELECT COUNT(*) FROM deliveries WHERE status = `+pending).Scan(&n); err != nil {
		return 0, fmt.Errorf("count pending deliveries: %w", err)
	}
	return n, nil
}

func scanDelivery(r rowScanner) (*store.Delivery, error) {
	var d store.Delivery
	var endpointID, leaseToken sql.NullString
	var leaseUntil sql.NullInt64
	var next, created, updated int64
	if err := r.Scan(&d.ID, &d.EventID, &d.MerchantID, &d.AppID, &d.Livemode, &endpointID, &d.URL, &d.Status, &d.Attempts,
		&next, &leaseToken, &leaseUntil, &d.LastError, &created, &updated); err != nil {
		return nil, err
	}
	d.EndpointID = endpointID.String
	d.LeaseToken = leaseToken.String
	d.LeaseUntil = fromNullMicros(leaseUntil)
	d.NextAttemptAt = fromMicros(next)
	d.CreatedAt = fromMicros(created)
	d.UpdatedAt = fromMicros(updated)
	return &d, nil
}

func scanAttempt(r rowScanner) (*store.DeliveryAttempt, error) {
	var a store.DeliveryAttempt
	var endpointID sql.NullString
	var attempted, latency int64
	var body []byte
	if err := r.Scan(&a.ID, &a.DeliveryID, &a.EventID, &endpointID, &a.URL, &attempted, &a.StatusCode, &latency,
		&a.Error, &body); err != nil {
		return nil, err
	}
	a.EndpointID = endpointID.String
	a.AttemptedAt = fromMicros(attempted)
	a.Latency = time.Duration(latency) * time.Microsecond
	a.ResponseBody = string(body)
	return &a, nil
}
