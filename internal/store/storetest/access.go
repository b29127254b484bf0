package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/store"
)

var accessTests = []test{
	{"Access/RateLimits", testRateLimits},
	{"Access/AuditChain", testAuditChain},
	{"Access/OAuth", testOAuth},
}

func testRateLimits(t *testing.T, b *bundle) {
	got, err := b.s.RateLimitPut(b.ctx, "app_1", map[string]string{"create": "10/s", "read": "100/s"}, t0)
	b.must(err, "put rate limits")
	if len(got) != 2 || got[0].Class != "create" || got[0].Rate != "10/s" || got[1].Rate != "100/s" || !got[0].UpdatedAt.Equal(t0) {
		t.Fatalf("after put: %+v", got)
	}
	got, err = b.s.RateLimitPut(b.ctx, "app_1", map[string]string{"create": "", "read": "5/m"}, t0.Add(time.Second))
	b.must(err, "put again")
	if len(got) != 1 || got[0].Class != "read" || got[0].Rate != "5/m" {
		t.Fatalf("after removing create and changing read: %+v", got)
	}
	other, err := b.s.RateLimitList(b.ctx, "app_2")
	b.must(err, "list another app")
	if len(other) != 0 {
		t.Fatalf("another app has %+v", other)
	}
}

// chainHash is a stand-in for the real hash (internal/api), good enough to
// see that the store chains.
func chainHash(e *store.AuditEvent) string {
	return fmt.Sprintf("h(%d,%s,%s)", e.Seq, e.PrevHash, e.ID)
}

func testAuditChain(t *testing.T, b *bundle) {
	errs := race(8, func(i int) error {
		return b.s.AuditAppend(b.ctx, &store.AuditEvent{ID: fmt.Sprintf("aud_%02d", i), CreatedAt: t0.Add(time.Duration(i) * time.Second),
			ActorType: "operator", ActorID: "operator", Action: "merchant.create", ObjectType: "merchant",
			ObjectID: fmt.Sprintf("mch_%d", i%2), After: json.RawMessage(`{"a":1}`), SourceIP: "127.0.0.1", RequestID: "req_1"}, chainHash)
	})
	for _, err := range errs {
		b.must(err, "append concurrently")
	}
	var prev string
	var n int64
	b.must(b.s.AuditScan(b.ctx, func(e *store.AuditEvent) error {
		n++
		if e.Seq != n || e.PrevHash != prev || e.Hash != chainHash(e) {
			t.Errorf("event %d: seq %d prev %q hash %q: the chain forks or skips", n, e.Seq, e.PrevHash, e.Hash)
		}
		prev = e.Hash
		return nil
	}), "scan")
	if n != 8 {
		t.Fatalf("scanned %d events, want 8", n)
	}
	page, more, err := b.s.AuditList(b.ctx, store.AuditFilter{ObjectID: "mch_1", Limit: 3})
	b.must(err, "list by object")
	if len(page) != 3 || !more || page[0].Seq < page[1].Seq {
		t.Fatalf("first page by object: %d events, more %v", len(page), more)
	}
	rest, more, err := b.s.AuditList(b.ctx, store.AuditFilter{ObjectID: "mch_1", BeforeSeq: page[2].Seq})
	b.must(err, "next page")
	if len(rest) != 1 || more {
		t.Fatalf("second page: %d events, more %v", len(rest), more)
	}
	if string(rest[0].After) != `{"a":1}` || rest[0].Before != nil {
		t.Fatalf("before/after: %s %s", rest[0].Before, rest[0].After)
	}
	since, _, err := b.s.AuditList(b.ctx, store.AuditFilter{Since: t0.Add(6 * time.Second)})
	b.must(err, "list since")
	if len(since) != 2 {
		t.Fatalf("since t0+6s: %d events, want 2", len(since))
	}
}

func testOAuth(t *testing.T, b *bundle) {
	c := &store.OAuthClient{ID: "occ_1", Name: "ISV", SecretHash: "h", Merchants: []string{b.merchant.ID},
		Apps: []string{}, Scopes: []string{"orders:read"}, CreatedAt: t0}
	b.must(b.s.OAuthClientCreate(b.ctx, c), "create client")
	got, err := b.s.OAuthClientGet(b.ctx, "occ_1")
	b.must(err, "get client")
	equal(t, got, c, "client")
	tok := &store.OAuthToken{ID: "oat_1", TokenHash: "th", ClientID: "occ_1", Scopes: []string{"orders:read"}, CreatedAt: t0, ExpiresAt: t0.Add(15 * time.Minute)}
	b.must(b.s.OAuthTokenCreate(b.ctx, tok), "create token")
	gt, err := b.s.OAuthTokenGetByHash(b.ctx, "th")
	b.must(err, "get token")
	equal(t, gt, tok, "token")
	wantErr(t, b.s.OAuthTokenRevoke(b.ctx, "occ_other", "th", t0), store.ErrNotFound, "revoke another client's token")
	b.must(b.s.OAuthTokenRevoke(b.ctx, "occ_1", "th", t0.Add(time.Minute)), "revoke")
	b.must(b.s.OAuthTokenRevoke(b.ctx, "occ_1", "th", t0.Add(2*time.Minute)), "revoke again")
	gt, _ = b.s.OAuthTokenGetByHash(b.ctx, "th")
	if gt.RevokedAt == nil || !gt.RevokedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("revoked at %v, want the first revocation's time", gt.RevokedAt)
	}
	tok2 := &store.OAuthToken{ID: "oat_2", TokenHash: "th2", ClientID: "occ_1", Scopes: []string{}, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	b.must(b.s.OAuthTokenCreate(b.ctx, tok2), "create token 2")
	rc, err := b.s.OAuthClientRevoke(b.ctx, "occ_1", t0.Add(time.Hour))
	b.must(err, "revoke client")
	if rc.RevokedAt == nil {
		t.Fatal("client not revoked")
	}
	gt, _ = b.s.OAuthTokenGetByHash(b.ctx, "th2")
	if gt.RevokedAt == nil {
		t.Fatal("revoking the client left its token valid")
	}
	n, err := b.s.OAuthTokenPurge(b.ctx, t0.Add(30*time.Minute))
	b.must(err, "purge")
	if n != 1 {
		t.Fatalf("purged %d, want 1", n)
	}
	list, err := b.s.OAuthClientList(b.ctx)
	b.must(err, "list clients")
	if len(list) != 1 {
		t.Fatalf("%d clients", len(list))
	}
}
