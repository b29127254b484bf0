package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/paygate/paygate/internal/store"
)

const eventColumns = `id, type, merchant_id, app_id, livemode, object_type, object_id, data, notify_url, created_at`

// insertEvent inserts ev; events are written only in the transaction of
// the change they report (see writeEffects).
func insertEvent(ctx context.Context, c conn, ev *store.Event) error {
	if _, err := c.exec(ctx, `INSERT INTO events (`+eventColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ev.ID, ev.Type, ev.MerchantID, ev.AppID, ev.Livemode, ev.ObjectType, ev.ObjectID, rawJSON(ev.Data),
		ev.NotifyURL, micros(ev.CreatedAt)); err != nil {
		return fmt.Errorf("insert event %s (%s): %w", ev.ID, ev.Type, err)
	}
	return nil
}

// EventGet returns the event with id.
func (s *Store) EventGet(ctx context.Context, id string) (*store.Event, error) {
	ev, err := queryOne(ctx, s.reader(), scanEvent, `SELECT `+eventColumns+` FROM events WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", id, err)
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
	evs, more, err := listPage(ctx, s.reader(), `SELECT `+eventColumns+` FROM events`, w, f.ListParams, scanEvent)
	if err != nil {
		return nil, false, fmt.Errorf("list events of %s: %w", f.MerchantID, err)
	}
	return evs, more, nil
}

func scanEvent(r rowScanner) (*store.Event, error) {
	var ev store.Event
	var data sql.NullString
	var created int64
	if err := r.Scan(&ev.ID, &ev.Type, &ev.MerchantID, &ev.AppID, &ev.Livemode, &ev.ObjectType, &ev.ObjectID, &data,
		&ev.NotifyURL, &created); err != nil {
		return nil, err
	}
	ev.Data = fromRawJSON(data)
	ev.CreatedAt = fromMicros(created)
	return &ev, nil
}
