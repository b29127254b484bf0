package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/paygate/paygate/internal/store"

	"github.com/paygate/paygate/internal/tracing"
)

const eventColumns = `id, type, merchant_id, app_id, livemode, object_type, object_id, data, notify_url, created_at, traceparent`

// insertEvent inserts ev; events are written only in the transaction of
// the change they report (see writeEffects).
func addEvent(ctx context.Context, w *writes, ev *store.Event) {
	if ev.TraceParent == "" && tracing.Enabled() {
		ev.TraceParent = tracing.TraceParent(ctx)
	}
	w.add(fmt.Sprintf("insert event %s (%s)", ev.ID, ev.Type), `INSERT INTO events (`+eventColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ev.ID, ev.Type, ev.MerchantID, ev.AppID, ev.Livemode, ev.ObjectType, ev.ObjectID, rawJSON(ev.Data),
		ev.NotifyURL, micros(ev.CreatedAt), ev.TraceParent)
}

// EventGet returns the event with id.
func (s *Store) EventGet(ctx context.Context, id string) (*store.Event, error) {
	ev, err := queryOne(ctx, s.reader(), scanEvent, `SELECT `+eventColumns+` FROM events WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", id, err)
	}
	return ev, nil
}

// EventGetInScope returns the event with id if it is the scope's.
func (s *Store) EventGetInScope(ctx context.Context, sc store.Scope, id string) (*store.Event, error) {
	ev, err := queryOne(ctx, s.reader(), scanEvent, `SELECT `+eventColumns+` FROM events
		WHERE id = ? AND merchant_id = ? AND livemode = ?`, id, sc.MerchantID, sc.Livemode)
	if err != nil {
		return nil, fmt.Errorf("event %s of %s: %w", id, sc.MerchantID, err)
	}
	return ev, nil
}

// EventList pages through a merchant's events in one mode, newest first.
func (s *Store) EventList(ctx context.Context, f store.EventFilter) ([]*store.Event, bool, error) {
	var w filter
	w.and("merchant_id = ?", f.MerchantID)
	w.and("livemode = ?", f.Livemode)
	if f.Type != "" {
		w.and("type = ?", f.Type)
	}
	if f.ObjectID != "" {
		w.and("object_id = ?", f.ObjectID)
	}
	if f.DeliveryStatus != "" {
		cond, err := deliveryStatusCondition(f.DeliveryStatus)
		if err != nil {
			return nil, false, fmt.Errorf("list events of %s: %w", f.MerchantID, err)
		}
		w.and(cond)
	}
	evs, more, err := listPage(ctx, s.reader(), `SELECT `+eventColumns+` FROM events`, w, f.ListParams, scanEvent)
	if err != nil {
		return nil, false, fmt.Errorf("list events of %s: %w", f.MerchantID, err)
	}
	return evs, more, nil
}

// deliveryStatusCondition is the condition on events of EventFilter's
// DeliveryStatus: pending when some delivery is pending; failed when some
// delivery failed and none is pending; succeeded when the event has
// deliveries and all succeeded. An event without deliveries matches none.
// Each subquery reads deliveries_event (event_id, status) alone.
func deliveryStatusCondition(status string) (string, error) {
	some := func(cond string) string {
		return `EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id AND ` + cond + `)`
	}
	const (
		isPending   = `d.status = '` + store.DeliveryPending + `'`
		isFailed    = `d.status = '` + store.DeliveryFailed + `'`
		isSucceeded = `d.status = '` + store.DeliverySucceeded + `'`
	)
	switch status {
	case store.DeliveryPending:
		return some(isPending), nil
	case store.DeliveryFailed:
		return some(isFailed) + ` AND NOT ` + some(isPending), nil
	case store.DeliverySucceeded:
		return some(isSucceeded) + ` AND NOT ` + some(`d.status <> '`+store.DeliverySucceeded+`'`), nil
	}
	return "", fmt.Errorf("unknown delivery status %q", status)
}

func scanEvent(r rowScanner) (*store.Event, error) {
	var ev store.Event
	var data sql.NullString
	var created int64
	if err := r.Scan(&ev.ID, &ev.Type, &ev.MerchantID, &ev.AppID, &ev.Livemode, &ev.ObjectType, &ev.ObjectID, &data,
		&ev.NotifyURL, &created, &ev.TraceParent); err != nil {
		return nil, err
	}
	ev.Data = fromRawJSON(data)
	ev.CreatedAt = fromMicros(created)
	return &ev, nil
}
