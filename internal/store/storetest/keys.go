package storetest

import (
	"testing"
	"time"

	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

var keyTests = []test{
	{"Key/CreateGetList", testKeyCreateGetList},
	{"Key/Revoke", testKeyRevoke},
	{"Key/Cache", testKeyCache},
	{"Nonce", testNonce},
	{"Idempotency/BeginFinish", testIdempotencyBeginFinish},
	{"Idempotency/StaleTakeover", testIdempotencyStaleTakeover},
	{"Idempotency/ReleasePurge", testIdempotencyReleasePurge},
}

func testKeyCreateGetList(t *testing.T, b *bundle) {
	secret := &store.Key{
		ID: id.New(id.Key, t0), AppID: b.app.ID, MerchantID: b.merchant.ID, Kind: store.KeySecret,
		SecretHash: "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8", ExpiresAt: ptr(t0.Add(24 * time.Hour)), CreatedAt: t0,
	}
	hmac := &store.Key{ID: id.New(id.Key, t0), AppID: b.app.ID, MerchantID: b.merchant.ID, Kind: store.KeySigning, Alg: store.AlgHMAC, SecretSealed: "sealed", CreatedAt: t0}
	ed := &store.Key{ID: id.New(id.Key, t0), AppID: b.app.ID, MerchantID: b.merchant.ID, Kind: store.KeySigning, Alg: store.AlgEd25519, PublicKey: "-----BEGIN PUBLIC KEY-----", CreatedAt: t0}
	for _, k := range []*store.Key{secret, hmac, ed} {
		b.must(b.s.KeyCreate(b.ctx, k), "create key "+k.Alg)
	}

	got, err := b.s.KeyGet(b.ctx, secret.ID)
	b.must(err, "get key")
	equal(t, got, secret, "secret key read back")
	got, err = b.s.KeyGetBySecretHash(b.ctx, secret.SecretHash)
	b.must(err, "get key by secret hash")
	equal(t, got, secret, "secret key found by its hash")
	_, err = b.s.KeyGetBySecretHash(b.ctx, "0000")
	wantErr(t, err, store.ErrNotFound, "get a key by a hash nobody has")
	_, err = b.s.KeyGetBySecretHash(b.ctx, "")
	wantErr(t, err, store.ErrNotFound, "get a key by the empty hash (signing keys have none)")
	_, err = b.s.KeyGet(b.ctx, id.New(id.Key, t0))
	wantErr(t, err, store.ErrNotFound, "get a key that does not exist")

	again := *secret
	again.ID = id.New(id.Key, t0)
	wantErr(t, b.s.KeyCreate(b.ctx, &again), store.ErrConflict, "create a key with a secret hash that exists")

	keys, err := b.s.KeyList(b.ctx, b.app.ID)
	b.must(err, "list keys")
	equal(t, keys, []*store.Key{secret, hmac, ed}, "the app's keys, oldest first")
	keys, err = b.s.KeyList(b.ctx, id.New(id.App, t0))
	b.must(err, "list keys of an app without keys")
	equal(t, len(keys), 0, "number of keys of an app without keys")
}

func testKeyRevoke(t *testing.T, b *bundle) {
	k := &store.Key{ID: id.New(id.Key, t0), AppID: b.app.ID, MerchantID: b.merchant.ID, Kind: store.KeySecret, SecretHash: "h", CreatedAt: t0}
	b.must(b.s.KeyCreate(b.ctx, k), "create key")

	first := t0.Add(time.Hour)
	got, err := b.s.KeyRevoke(b.ctx, k.ID, first)
	b.must(err, "revoke key")
	equal(t, got.RevokedAt, &first, "RevokedAt after revoking")

	got, err = b.s.KeyRevoke(b.ctx, k.ID, first.Add(time.Hour))
	b.must(err, "revoke a revoked key (not an error)")
	equal(t, got.RevokedAt, &first, "RevokedAt after revoking twice (the first time stays)")
	got, err = b.s.KeyGet(b.ctx, k.ID)
	b.must(err, "get revoked key")
	equal(t, got.RevokedAt, &first, "RevokedAt read back")

	_, err = b.s.KeyRevoke(b.ctx, id.New(id.Key, t0), first)
	wantErr(t, err, store.ErrNotFound, "revoke a key that does not exist")
}

// testKeyCache: with the key cache on (stores that have one), a key read
// once is served from memory for the cache's lifetime, even when another
// process revokes it meanwhile (here: the row changed behind the store's
// back); a revocation through the store itself is seen at once.
func testKeyCache(t *testing.T, b *bundle) {
	cs, ok := b.s.(interface{ EnableKeyCache(time.Duration) })
	if !ok {
		t.Skip("this store has no key cache")
	}
	const ttl = 300 * time.Millisecond
	cs.EnableKeyCache(ttl)
	k := &store.Key{ID: id.New(id.Key, t0), AppID: b.app.ID, MerchantID: b.merchant.ID, Kind: store.KeySecret, SecretHash: "cached", CreatedAt: t0}
	b.must(b.s.KeyCreate(b.ctx, k), "create key")
	lookup := func(what string) (byHash, byID *store.Key) {
		t.Helper()
		byHash, err := b.s.KeyGetBySecretHash(b.ctx, k.SecretHash)
		b.must(err, what+": by hash")
		byID, err = b.s.KeyGet(b.ctx, k.ID)
		b.must(err, what+": by id")
		return byHash, byID
	}
	h, i := lookup("first lookup")
	equal(t, h, k, "the key by hash")
	equal(t, i, k, "the key by id")
	h.RevokedAt = ptr(t0) // a caller's change to its copy stays its own

	elsewhere := t0.Add(time.Hour)
	b.must(b.exec(b.ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ?`, elsewhere.UnixMicro(), k.ID), "revoke the key behind the store's back")
	h, i = lookup("within the lifetime")
	if h.RevokedAt != nil || i.RevokedAt != nil {
		t.Fatalf("within the cache's lifetime the key was read again (revoked at %v, %v): the cache is not used", h.RevokedAt, i.RevokedAt)
	}
	time.Sleep(ttl + 50*time.Millisecond)
	h, i = lookup("after the lifetime")
	equal(t, h.RevokedAt, &elsewhere, "RevokedAt by hash once the lifetime passed")
	equal(t, i.RevokedAt, &elsewhere, "RevokedAt by id once the lifetime passed")

	b.must(b.exec(b.ctx, `UPDATE api_keys SET revoked_at = NULL WHERE id = ?`, k.ID), "restore the key behind the store's back")
	time.Sleep(ttl + 50*time.Millisecond)
	h, _ = lookup("restored")
	equal(t, h.RevokedAt, (*time.Time)(nil), "RevokedAt once restored")
	here := t0.Add(2 * time.Hour)
	_, err := b.s.KeyRevoke(b.ctx, k.ID, here)
	b.must(err, "revoke through the store")
	h, i = lookup("right after the store's revocation")
	equal(t, h.RevokedAt, &here, "RevokedAt by hash right after the store revoked it")
	equal(t, i.RevokedAt, &here, "RevokedAt by id right after the store revoked it")
}

func testNonce(t *testing.T, b *bundle) {
	exp := t0.Add(5 * time.Minute)
	b.must(b.s.NonceUse(b.ctx, b.app.ID, "n1", t0, exp), "use a new nonce")
	wantErr(t, b.s.NonceUse(b.ctx, b.app.ID, "n1", t0.Add(time.Minute), t0.Add(6*time.Minute)), store.ErrConflict, "reuse a nonce before it expires")
	b.must(b.s.NonceUse(b.ctx, id.New(id.App, t0), "n1", t0, exp), "use the same nonce for another app")

	// At its expiry the nonce may be used again, and is then held until the new expiry.
	b.must(b.s.NonceUse(b.ctx, b.app.ID, "n1", exp, exp.Add(5*time.Minute)), "reuse a nonce once it has expired")
	wantErr(t, b.s.NonceUse(b.ctx, b.app.ID, "n1", exp.Add(time.Minute), exp.Add(6*time.Minute)), store.ErrConflict, "reuse a taken-over nonce before its new expiry")

	errs := race(8, func(int) error { return b.s.NonceUse(b.ctx, b.app.ID, "raced", t0, exp) })
	ok, conflicts := countErrs(t, errs, store.ErrConflict, "racing NonceUse")
	if ok != 1 || conflicts != 7 {
		t.Fatalf("8 racing uses of one nonce: want 1 success and 7 ErrConflict, got %d and %d", ok, conflicts)
	}

	b.must(b.s.NonceUse(b.ctx, b.app.ID, "n2", t0, t0.Add(time.Minute)), "use nonce n2")
	n, err := b.s.NoncePurge(b.ctx, t0.Add(2*time.Minute))
	b.must(err, "purge nonces")
	equal(t, n, int64(1), "nonces purged (only n2 expired before the cut-off)")
	b.must(b.s.NonceUse(b.ctx, b.app.ID, "n2", t0, t0.Add(time.Minute)), "use a purged nonce again")
}

func testIdempotencyBeginFinish(t *testing.T, b *bundle) {
	rec := &store.IdempotencyRecord{AppID: b.app.ID, Key: "k1", RequestHash: "POST /v1/orders h1", CreatedAt: t0, LockedAt: t0}
	got, err := b.s.IdempotencyBegin(b.ctx, rec, t0.Add(-time.Minute))
	b.must(err, "begin a new idempotency key")
	equal(t, got, rec, "record of a new key")

	got, err = b.s.IdempotencyBegin(b.ctx, &store.IdempotencyRecord{AppID: b.app.ID, Key: "k1", RequestHash: "other", CreatedAt: t0, LockedAt: t0}, t0.Add(-time.Minute))
	wantErr(t, err, store.ErrConflict, "begin a key whose first request is in flight")
	equal(t, got, rec, "existing record returned with the conflict (in flight: status 0)")

	body := []byte(`{"id":"ord_1","status":"pending"}`)
	b.must(b.s.IdempotencyFinish(b.ctx, b.app.ID, "k1", 201, body), "finish key")
	got, err = b.s.IdempotencyBegin(b.ctx, &store.IdempotencyRecord{AppID: b.app.ID, Key: "k1", RequestHash: "POST /v1/orders h1", CreatedAt: t0.Add(time.Hour), LockedAt: t0.Add(time.Hour)}, t0.Add(time.Hour))
	wantErr(t, err, store.ErrConflict, "begin a finished key, even long after")
	equal(t, got, &store.IdempotencyRecord{AppID: b.app.ID, Key: "k1", RequestHash: "POST /v1/orders h1", Status: 201, Body: body, CreatedAt: t0, LockedAt: t0},
		"finished record returned with the conflict (never taken over)")

	wantErr(t, b.s.IdempotencyFinish(b.ctx, b.app.ID, "k1", 500, []byte("{}")), store.ErrStale, "finish a finished key again")
	wantErr(t, b.s.IdempotencyFinish(b.ctx, b.app.ID, "nope", 200, nil), store.ErrNotFound, "finish a key never begun")

	// Keys are per app.
	got, err = b.s.IdempotencyBegin(b.ctx, &store.IdempotencyRecord{AppID: id.New(id.App, t0), Key: "k1", RequestHash: "x", CreatedAt: t0, LockedAt: t0}, t0)
	b.must(err, "begin the same key for another app")
	equal(t, got.Status, 0, "status of another app's new record")
}

func testIdempotencyStaleTakeover(t *testing.T, b *bundle) {
	rec := &store.IdempotencyRecord{AppID: b.app.ID, Key: "k", RequestHash: "h1", CreatedAt: t0, LockedAt: t0}
	_, err := b.s.IdempotencyBegin(b.ctx, rec, t0.Add(-time.Minute))
	b.must(err, "begin key")

	later := t0.Add(2 * time.Minute)
	// Locked at t0, and t0 is not before the stale cut-off t0: not stale.
	_, err = b.s.IdempotencyBegin(b.ctx, &store.IdempotencyRecord{AppID: b.app.ID, Key: "k", RequestHash: "h2", CreatedAt: later, LockedAt: later}, t0)
	wantErr(t, err, store.ErrConflict, "begin a key locked exactly at the stale cut-off")

	// Racing takeovers of a stale key: exactly one wins.
	errs := race(6, func(i int) error {
		_, err := b.s.IdempotencyBegin(b.ctx, &store.IdempotencyRecord{AppID: b.app.ID, Key: "k", RequestHash: "h2", CreatedAt: later, LockedAt: later}, t0.Add(time.Minute))
		return err
	})
	ok, conflicts := countErrs(t, errs, store.ErrConflict, "racing takeovers")
	if ok != 1 || conflicts != 5 {
		t.Fatalf("6 racing takeovers of a stale key: want 1 success and 5 ErrConflict, got %d and %d", ok, conflicts)
	}
	got, err := b.s.IdempotencyBegin(b.ctx, &store.IdempotencyRecord{AppID: b.app.ID, Key: "k", RequestHash: "h3", CreatedAt: later, LockedAt: later}, t0.Add(time.Minute))
	wantErr(t, err, store.ErrConflict, "begin a key just taken over")
	equal(t, got, &store.IdempotencyRecord{AppID: b.app.ID, Key: "k", RequestHash: "h2", CreatedAt: t0, LockedAt: later},
		"record after the takeover (LockedAt and RequestHash updated, CreatedAt kept)")
}

func testIdempotencyReleasePurge(t *testing.T, b *bundle) {
	begin := func(key string, at time.Time) {
		t.Helper()
		_, err := b.s.IdempotencyBegin(b.ctx, &store.IdempotencyRecord{AppID: b.app.ID, Key: key, RequestHash: "h", CreatedAt: at, LockedAt: at}, at.Add(-time.Hour))
		b.must(err, "begin key "+key)
	}
	begin("released", t0)
	b.must(b.s.IdempotencyRelease(b.ctx, b.app.ID, "released"), "release an in-flight key")
	got, err := b.s.IdempotencyBegin(b.ctx, &store.IdempotencyRecord{AppID: b.app.ID, Key: "released", RequestHash: "h2", CreatedAt: t0, LockedAt: t0}, t0.Add(-time.Hour))
	b.must(err, "begin a released key (starts afresh)")
	equal(t, got.RequestHash, "h2", "request hash of the fresh record")

	begin("done", t0)
	b.must(b.s.IdempotencyFinish(b.ctx, b.app.ID, "done", 200, []byte("ok")), "finish key")
	b.must(b.s.IdempotencyRelease(b.ctx, b.app.ID, "done"), "release a finished key (does nothing)")
	got, err = b.s.IdempotencyBegin(b.ctx, &store.IdempotencyRecord{AppID: b.app.ID, Key: "done", CreatedAt: t0, LockedAt: t0}, t0)
	wantErr(t, err, store.ErrConflict, "begin a finished key after a release attempt")
	equal(t, got.Status, 200, "status of the finished key, kept by the release")
	b.must(b.s.IdempotencyRelease(b.ctx, b.app.ID, "never"), "release a key that does not exist (does nothing)")

	begin("new", t0.Add(48*time.Hour))
	n, err := b.s.IdempotencyPurge(b.ctx, t0.Add(24*time.Hour))
	b.must(err, "purge idempotency keys")
	equal(t, n, int64(2), "records purged (the two created at t0, not the one created two days later)")
	_, err = b.s.IdempotencyBegin(b.ctx, &store.IdempotencyRecord{AppID: b.app.ID, Key: "done", CreatedAt: t0, LockedAt: t0}, t0)
	b.must(err, "begin a purged key again")
	_, err = b.s.IdempotencyBegin(b.ctx, &store.IdempotencyRecord{AppID: b.app.ID, Key: "new", CreatedAt: t0, LockedAt: t0}, t0)
	wantErr(t, err, store.ErrConflict, "begin a key the purge kept")
}
