package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/paygate/paygate/internal/store"
)

// Channel accounts and routes. Their lists and maps are JSON documents in
// TEXT columns; nil ones are stored empty and come back empty, not nil.

const channelAccountColumns = `id, provider, name, livemode, base_url, config, sealed_secrets, secret_names, methods,
	currencies, fee_bps, min_amount, max_amount, disabled, created_at, updated_at`

// channelAccountDocs are a channel account's JSON columns, encoded.
type channelAccountDocs struct {
	config, secretNames, methods, currencies string
}

func encodeChannelAccount(a *store.ChannelAccount) (channelAccountDocs, error) {
	var d channelAccountDocs
	var err error
	if d.config, err = metadataJSON(a.Config); err != nil {
		return d, fmt.Errorf("config: %w", err)
	}
	if d.secretNames, err = stringsJSON(a.SecretNames); err != nil {
		return d, fmt.Errorf("secret names: %w", err)
	}
	if d.methods, err = stringsJSON(a.Methods); err != nil {
		return d, fmt.Errorf("methods: %w", err)
	}
	if d.currencies, err = stringsJSON(a.Currencies); err != nil {
		return d, fmt.Errorf("currencies: %w", err)
	}
	return d, nil
}

// sealedBytes stores nil as an empty value: the column is NOT NULL.
func sealedBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// ChannelAccountCreate inserts a; ErrConflict when its id exists.
func (s *Store) ChannelAccountCreate(ctx context.Context, a *store.ChannelAccount) error {
	d, err := encodeChannelAccount(a)
	if err != nil {
		return fmt.Errorf("create channel account %s: %w", a.ID, err)
	}
	return s.inTx(ctx, func(tx *tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO channel_accounts (`+channelAccountColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.Provider, a.Name, a.Livemode, a.BaseURL, d.config, sealedBytes(a.SealedSecrets), d.secretNames, d.methods,
			d.currencies, a.FeeBps, a.MinAmount, a.MaxAmount, a.Disabled, micros(a.CreatedAt), micros(a.UpdatedAt)); err != nil {
			return fmt.Errorf("create channel account %s: %w", a.ID, err)
		}
		return nil
	})
}

// ChannelAccountGet returns the channel account with id.
func (s *Store) ChannelAccountGet(ctx context.Context, id string) (*store.ChannelAccount, error) {
	a, err := queryOne(ctx, s.reader(), scanChannelAccount, `SELECT `+channelAccountColumns+` FROM channel_accounts WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("channel account %s: %w", id, err)
	}
	return a, nil
}

// ChannelAccountList pages through the channel accounts of a provider, or
// of every provider when provider is "", newest first like every list.
func (s *Store) ChannelAccountList(ctx context.Context, provider string, p store.ListParams) ([]*store.ChannelAccount, bool, error) {
	var f filter
	if provider != "" {
		f.and("provider = ?", provider)
	}
	as, more, err := listPage(ctx, s.reader(), `SELECT `+channelAccountColumns+` FROM channel_accounts`, f, p, scanChannelAccount)
	if err != nil {
		return nil, false, fmt.Errorf("list channel accounts: %w", err)
	}
	return as, more, nil
}

// ChannelAccountUpdate stores the mutable fields of a: Name, BaseURL,
// Config, SealedSecrets, SecretNames, Methods, Currencies, FeeBps,
// MinAmount, MaxAmount, Disabled and UpdatedAt. Provider, Livemode and
// CreatedAt stay as created. ErrNotFound when there is no such account.
func (s *Store) ChannelAccountUpdate(ctx context.Context, a *store.ChannelAccount) error {
	d, err := encodeChannelAccount(a)
	if err != nil {
		return fmt.Errorf("update channel account %s: %w", a.ID, err)
	}
	return s.inTx(ctx, func(tx *tx) error {
		res, err := tx.exec(ctx, `UPDATE channel_accounts SET name = ?, base_url = ?, config = ?, sealed_secrets = ?,
			secret_names = ?, methods = ?, currencies = ?, fee_bps = ?, min_amount = ?, max_amount = ?, disabled = ?,
			updated_at = ? WHERE id = ?`,
			a.Name, a.BaseURL, d.config, sealedBytes(a.SealedSecrets), d.secretNames, d.methods, d.currencies, a.FeeBps,
			a.MinAmount, a.MaxAmount, a.Disabled, micros(a.UpdatedAt), a.ID)
		if err != nil {
			return fmt.Errorf("update channel account %s: %w", a.ID, err)
		}
		if n, err := affected(res); err != nil {
			return fmt.Errorf("update channel account %s: %w", a.ID, err)
		} else if n == 0 {
			return fmt.Errorf("update channel account %s: %w", a.ID, store.ErrNotFound)
		}
		return nil
	})
}

func scanChannelAccount(r rowScanner) (*store.ChannelAccount, error) {
	var a store.ChannelAccount
	var config, secretNames, methods, currencies string
	var created, updated int64
	if err := r.Scan(&a.ID, &a.Provider, &a.Name, &a.Livemode, &a.BaseURL, &config, &a.SealedSecrets, &secretNames,
		&methods, &currencies, &a.FeeBps, &a.MinAmount, &a.MaxAmount, &a.Disabled, &created, &updated); err != nil {
		return nil, err
	}
	if len(a.SealedSecrets) == 0 {
		a.SealedSecrets = nil
	}
	var err error
	if a.Config, err = fromMetadataJSON(config); err != nil {
		return nil, fmt.Errorf("channel account %s: config: %w", a.ID, err)
	}
	for _, f := range []struct {
		name string
		src  string
		dst  *[]string
	}{{"secret names", secretNames, &a.SecretNames}, {"methods", methods, &a.Methods}, {"currencies", currencies, &a.Currencies}} {
		if *f.dst, err = fromStringsJSON(f.src); err != nil {
			return nil, fmt.Errorf("channel account %s: %s: %w", a.ID, f.name, err)
		}
	}
	a.CreatedAt = fromMicros(created)
	a.UpdatedAt = fromMicros(updated)
	return &a, nil
}

const routeColumns = `merchant_id, method, livemode, strategy, candidates, created_at, updated_at`

// RoutePut creates or replaces the merchant's route for (r.Method,
// r.Livemode). A replaced route keeps its CreatedAt, which is written back
// into r.
func (s *Store) RoutePut(ctx context.Context, r *store.Route) error {
	cands := r.Candidates
	if cands == nil {
		cands = []store.RouteCandidate{}
	}
	b, err := json.Marshal(cands)
	if err != nil {
		return fmt.Errorf("put route %s %s: encode candidates: %w", r.MerchantID, r.Method, err)
	}
	var created int64
	if err := s.inTx(ctx, func(tx *tx) error {
		if err := tx.queryRow(ctx, `INSERT INTO routes (`+routeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (merchant_id, method, livemode) DO UPDATE
			SET strategy = excluded.strategy, candidates = excluded.candidates, updated_at = excluded.updated_at
			RETURNING created_at`,
			r.MerchantID, r.Method, r.Livemode, r.Strategy, string(b), micros(r.CreatedAt), micros(r.UpdatedAt)).Scan(&created); err != nil {
			return fmt.Errorf("put route %s %s: %w", r.MerchantID, r.Method, tx.d.interpret(err))
		}
		return nil
	}); err != nil {
		return err
	}
	r.CreatedAt = fromMicros(created)
	return nil
}

// RouteGet returns the merchant's route for method in the mode.
func (s *Store) RouteGet(ctx context.Context, merchantID, method string, livemode bool) (*store.Route, error) {
	r, err := queryOne(ctx, s.reader(), scanRoute, `SELECT `+routeColumns+` FROM routes
		WHERE merchant_id = ? AND method = ? AND livemode = ?`, merchantID, method, livemode)
	if err != nil {
		return nil, fmt.Errorf("route %s %s (livemode %v): %w", merchantID, method, livemode, err)
	}
	return r, nil
}

// RouteList returns every route of the merchant, by method then mode (test first).
func (s *Store) RouteList(ctx context.Context, merchantID string) ([]*store.Route, error) {
	rs, err := queryAll(ctx, s.reader(), scanRoute, `SELECT `+routeColumns+` FROM routes
		WHERE merchant_id = ? ORDER BY method, livemode`, merchantID)
	if err != nil {
		return nil, fmt.Errorf("list routes of %s: %w", merchantID, err)
	}
	return rs, nil
}

// RouteDelete deletes a route; ErrNotFound when there is none.
func (s *Store) RouteDelete(ctx context.Context, merchantID, method string, livemode bool) error {
	return s.inTx(ctx, func(tx *tx) error {
		res, err := tx.exec(ctx, `DELETE FROM routes WHERE merchant_id = ? AND method = ? AND livemode = ?`, merchantID, method, livemode)
		if err != nil {
			return fmt.Errorf("delete route %s %s: %w", merchantID, method, err)
		}
		if n, err := affected(res); err != nil {
			return fmt.Errorf("delete route %s %s: %w", merchantID, method, err)
		} else if n == 0 {
			return fmt.Errorf("delete route %s %s (livemode %v): %w", merchantID, method, livemode, store.ErrNotFound)
		}
		return nil
	})
}

func scanRoute(r rowScanner) (*store.Route, error) {
	var rt store.Route
	var cands string
	var created, updated int64
	if err := r.Scan(&rt.MerchantID, &rt.Method, &rt.Livemode, &rt.Strategy, &cands, &created, &updated); err != nil {
		return nil, err
	}
	rt.Candidates = []store.RouteCandidate{}
	if err := json.Unmarshal([]byte(cands), &rt.Candidates); err != nil {
		return nil, fmt.Errorf("route %s %s: decode candidates: %w", rt.MerchantID, rt.Method, err)
	}
	rt.CreatedAt = fromMicros(created)
	rt.UpdatedAt = fromMicros(updated)
	return &rt, nil
}
