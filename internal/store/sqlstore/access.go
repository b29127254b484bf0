package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/store"
)

// RateLimitList implements store.AccessStore.
func (s *Store) RateLimitList(ctx context.Context, appID string) ([]*store.RateLimit, error) {
	return rateLimitList(ctx, s.reader(), appID)
}

func rateLimitList(ctx context.Context, c conn, appID string) ([]*store.RateLimit, error) {
	out, err := queryAll(ctx, c, func(r rowScanner) (*store.RateLimit, error) {
		var l store.RateLimit
		var at int64
		if err := r.Scan(&l.AppID, &l.Class, &l.Rate, &at); err != nil {
			return nil, err
		}
		l.UpdatedAt = fromMicros(at)
		return &l, nil
	}, `SELECT app_id, class, rate, updated_at FROM rate_limits WHERE app_id = ? ORDER BY class`, appID)
	if err != nil {
		return nil, fmt.Errorf("list rate limits of %s: %w", appID, err)
	}
	return out, nil
}

// RateLimitPut implements store.AccessStore.
func (s *Store) RateLimitPut(ctx context.Context, appID string, rates map[string]string, at time.Time) ([]*store.RateLimit, error) {
	var out []*store.RateLimit
	classes := make([]string, 0, len(rates))
	for c := range rates {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	err := s.inTx(ctx, func(tx *tx) error {
		for _, class := range classes {
			var err error
			if rates[class] == "" {
				_, err = tx.exec(ctx, `DELETE FROM rate_limits WHERE app_id = ? AND class = ?`, appID, class)
			} else {
				_, err = tx.exec(ctx, `INSERT INTO rate_limits (app_id, class, rate, updated_at) VALUES (?, ?, ?, ?)
					ON CONFLICT (app_id, class) DO UPDATE SET rate = excluded.rate, updated_at = excluded.updated_at`,
					appID, class, rates[class], micros(at))
			}
			if err != nil {
				return fmt.Errorf("put rate limit %s of %s: %w", class, appID, err)
			}
		}
		var err error
		out, err = rateLimitList(ctx, tx.conn, appID)
		return err
	})
	return out, err
}

const auditColumns = `seq, id, created_at, actor_type, actor_id, action, object_type, object_id, merchant_id,
	before_json, after_json, source_ip, request_id, prev_hash, hash`

// AuditAppend implements store.AccessStore.
func (s *Store) AuditAppend(ctx context.Context, e *store.AuditEvent, hash func(*store.AuditEvent) string) error {
	return s.inTx(ctx, func(tx *tx) error {
		// One lock serializes appends (PostgreSQL; SQLite has one writer),
		// so two appends never both take the same last record as parent.
		if err := lockKeys(ctx, tx.conn, []string{"audit_events"}); err != nil {
			return err
		}
		var seq int64
		var prev string
		err := tx.queryRow(ctx, `SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("audit append: last: %w", err)
		}
		e.Seq, e.PrevHash = seq+1, prev
		e.Hash = hash(e)
		if _, err := tx.exec(ctx, `INSERT INTO audit_events (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Seq, e.ID, micros(e.CreatedAt), e.ActorType, e.ActorID, e.Action, e.ObjectType, e.ObjectID, e.MerchantID,
			rawJSON(e.Before), rawJSON(e.After), e.SourceIP, e.RequestID, e.PrevHash, e.Hash); err != nil {
			return fmt.Errorf("audit append: %w", err)
		}
		return nil
	})
}

func scanAudit(r rowScanner) (*store.AuditEvent, error) {
	var e store.AuditEvent
	var at int64
	var before, after sql.NullString
	if err := r.Scan(&e.Seq, &e.ID, &at, &e.ActorType, &e.ActorID, &e.Action, &e.ObjectType, &e.ObjectID, &e.MerchantID,
		&before, &after, &e.SourceIP, &e.RequestID, &e.PrevHash, &e.Hash); err != nil {
		return nil, err
	}
	e.CreatedAt, e.Before, e.After = fromMicros(at), fromRawJSON(before), fromRawJSON(after)
	return &e, nil
}

// AuditList implements store.AccessStore.
func (s *Store) AuditList(ctx context.Context, f store.AuditFilter) ([]*store.AuditEvent, bool, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.ActorID != "" {
		add("actor_id = ?", f.ActorID)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.ObjectID != "" {
		add("object_id = ?", f.ObjectID)
	}
	if f.MerchantID != "" {
		add("merchant_id = ?", f.MerchantID)
	}
	if !f.Since.IsZero() {
		add("created_at >= ?", micros(f.Since))
	}
	if !f.Until.IsZero() {
		add("created_at < ?", micros(f.Until))
	}
	if f.BeforeSeq > 0 {
		add("seq < ?", f.BeforeSeq)
	}
	limit := f.Limit
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	q := `SELECT ` + auditColumns + ` FROM audit_events`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(` ORDER BY seq DESC LIMIT %d`, limit+1)
	out, err := queryAll(ctx, s.reader(), scanAudit, q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("list audit events: %w", err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// AuditScan implements store.AccessStore. It reads in pages, so that a
// long log is not held in one read.
func (s *Store) AuditScan(ctx context.Context, fn func(*store.AuditEvent) error) error {
	var after int64
	for {
		page, err := queryAll(ctx, s.reader(), scanAudit,
			`SELECT `+auditColumns+` FROM audit_events WHERE seq > ? ORDER BY seq LIMIT 1000`, after)
		if err != nil {
			return fmt.Errorf("scan audit events: %w", err)
		}
		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
			after = e.Seq
		}
		if len(page) < 1000 {
			return nil
		}
	}
}

const oauthClientColumns = `id, name, secret_hash, public_key, merchants, apps, scopes, created_at, revoked_at`

// OAuthClientCreate implements store.AccessStore.
func (s *Store) OAuthClientCreate(ctx context.Context, c *store.OAuthClient) error {
	m, err1 := stringsJSON(c.Merchants)
	a, err2 := stringsJSON(c.Apps)
	sc, err3 := stringsJSON(c.Scopes)
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	return s.inStmt(ctx, func(cn conn) error {
		_, err := cn.exec(ctx, `INSERT INTO oauth_clients (`+oauthClientColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, cleanText(c.Name), c.SecretHash, c.PublicKey, m, a, sc, micros(c.CreatedAt), nullMicros(c.RevokedAt))
		if err != nil {
			return fmt.Errorf("create oauth client: %w", err)
		}
		return nil
	})
}

func scanOAuthClient(r rowScanner) (*store.OAuthClient, error) {
	var c store.OAuthClient
	var m, a, sc string
	var at int64
	var revoked sql.NullInt64
	if err := r.Scan(&c.ID, &c.Name, &c.SecretHash, &c.PublicKey, &m, &a, &sc, &at, &revoked); err != nil {
		return nil, err
	}
	var err1, err2, err3 error
	c.Merchants, err1 = fromStringsJSON(m)
	c.Apps, err2 = fromStringsJSON(a)
	c.Scopes, err3 = fromStringsJSON(sc)
	c.CreatedAt, c.RevokedAt = fromMicros(at), fromNullMicros(revoked)
	return &c, errors.Join(err1, err2, err3)
}

// OAuthClientGet implements store.AccessStore.
func (s *Store) OAuthClientGet(ctx context.Context, id string) (*store.OAuthClient, error) {
	return oauthClientGet(ctx, s.reader(), id)
}

func oauthClientGet(ctx context.Context, c conn, id string) (*store.OAuthClient, error) {
	cl, err := queryOne(ctx, c, scanOAuthClient, `SELECT `+oauthClientColumns+` FROM oauth_clients WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("oauth client %s: %w", id, err)
	}
	return cl, nil
}

// OAuthClientList implements store.AccessStore.
func (s *Store) OAuthClientList(ctx context.Context) ([]*store.OAuthClient, error) {
	out, err := queryAll(ctx, s.reader(), scanOAuthClient, `SELECT `+oauthClientColumns+` FROM oauth_clients ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list oauth clients: %w", err)
	}
	return out, nil
}

// OAuthClientRevoke implements store.AccessStore.
func (s *Store) OAuthClientRevoke(ctx context.Context, id string, at time.Time) (*store.OAuthClient, error) {
	var out *store.OAuthClient
	err := s.inTx(ctx, func(tx *tx) error {
		if _, err := tx.exec(ctx, `UPDATE oauth_clients SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, micros(at), id); err != nil {
			return fmt.Errorf("revoke oauth client %s: %w", id, err)
		}
		if _, err := tx.exec(ctx, `UPDATE oauth_tokens SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL`, micros(at), id); err != nil {
			return fmt.Errorf("revoke tokens of oauth client %s: %w", id, err)
		}
		var err error
		out, err = oauthClientGet(ctx, tx.conn, id)
		return err
	})
	return out, err
}

const oauthTokenColumns = `token_hash, id, client_id, scopes, created_at, expires_at, revoked_at`

// OAuthTokenCreate implements store.AccessStore.
func (s *Store) OAuthTokenCreate(ctx context.Context, t *store.OAuthToken) error {
	sc, err := stringsJSON(t.Scopes)
	if err != nil {
		return err
	}
	return s.inStmt(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `INSERT INTO oauth_tokens (`+oauthTokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			t.TokenHash, t.ID, t.ClientID, sc, micros(t.CreatedAt), micros(t.ExpiresAt), nullMicros(t.RevokedAt)); err != nil {
			return fmt.Errorf("create oauth token: %w", err)
		}
		return nil
	})
}

// OAuthTokenGetByHash implements store.AccessStore.
func (s *Store) OAuthTokenGetByHash(ctx context.Context, hash string) (*store.OAuthToken, error) {
	t, err := queryOne(ctx, s.reader(), func(r rowScanner) (*store.OAuthToken, error) {
		var t store.OAuthToken
		var sc string
		var created, expires int64
		var revoked sql.NullInt64
		if err := r.Scan(&t.TokenHash, &t.ID, &t.ClientID, &sc, &created, &expires, &revoked); err != nil {
			return nil, err
		}
		var err error
		t.Scopes, err = fromStringsJSON(sc)
		t.CreatedAt, t.ExpiresAt, t.RevokedAt = fromMicros(created), fromMicros(expires), fromNullMicros(revoked)
		return &t, err
	}, `SELECT `+oauthTokenColumns+` FROM oauth_tokens WHERE token_hash = ?`, hash)
	if err != nil {
		return nil, fmt.Errorf("oauth token: %w", err)
	}
	return t, nil
}

// OAuthTokenRevoke implements store.AccessStore.
func (s *Store) OAuthTokenRevoke(ctx context.Context, clientID, hash string, at time.Time) error {
	return s.inStmt(ctx, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE oauth_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE token_hash = ? AND client_id = ?`,
			micros(at), hash, clientID)
		if err != nil {
			return fmt.Errorf("revoke oauth token: %w", err)
		}
		if n, err := affected(res); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("oauth token: %w", store.ErrNotFound)
		}
		return nil
	})
}

// OAuthTokenPurge implements store.AccessStore.
func (s *Store) OAuthTokenPurge(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.inStmt(ctx, func(c conn) error {
		res, err := c.exec(ctx, `DELETE FROM oauth_tokens WHERE expires_at < ?`, micros(before))
		if err != nil {
			return fmt.Errorf("purge oauth tokens: %w", err)
		}
		n, err = affected(res)
		return err
	})
	return n, err
}

// PlatformKeyPromote implements store.AccessStore.
func (s *Store) PlatformKeyPromote(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx *tx) error {
		var n int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM platform_keys WHERE id = ? AND status = 'next'`, id).Scan(&n); err != nil {
			return fmt.Errorf("promote platform key %s: %w", id, err)
		}
		if n == 0 {
			return fmt.Errorf("platform key %s is not next: %w", id, store.ErrNotFound)
		}
		if _, err := tx.exec(ctx, `UPDATE platform_keys SET status = 'retired' WHERE status = 'current'`); err != nil {
			return fmt.Errorf("retire platform key: %w", err)
		}
		if _, err := tx.exec(ctx, `UPDATE platform_keys SET status = 'current' WHERE id = ?`, id); err != nil {
			return fmt.Errorf("promote platform key %s: %w", id, err)
		}
		return nil
	})
}
