package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/console"
	"github.com/paygate/paygate/internal/store"
)

// TestConsoleOperatorManagesMerchants: an operator creates a merchant, an
// app (its secrets shown once), a key and revokes it, sets a method's fee,
// and invites a merchant's user, who picks a password from the link and
// signs in; the user turns on TOTP and then needs the code.
func TestConsoleOperatorManagesMerchants(t *testing.T) {
	stores(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		g := startGateway(t, open(t))
		ctx := context.Background()
		addUser(t, g, store.ConsoleOperator, "", "ops@example.com", store.RoleAdmin)
		op := newUser(t, g.URL())
		op.login("ops@example.com")
		op.get("/console/merchants")
		r := op.post("/console/merchants", url.Values{"name": {"Tea House"}, "fee_rate_bps": {"55"}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("create merchant: %d %s", r.status, errorText(r.body))
		}
		merchantPath := strings.SplitN(r.header.Get("Location"), "?", 2)[0]
		merchantID := strings.TrimPrefix(merchantPath, "/console/merchants/")
		m, err := g.Store.MerchantGet(ctx, merchantID)
		if err != nil || m.Name != "Tea House" || m.FeeRateBps != 55 {
			t.Fatalf("merchant %+v %v", m, err)
		}
		r = op.post(merchantPath+"/apps", url.Values{"name": {"pos"}, "mode": {"test"}})
		if r.status != http.StatusOK || !strings.Contains(r.body, `id="secrets"`) || !strings.Contains(r.body, "sk_test_") {
			t.Fatalf("create app: %d %s", r.status, errorText(r.body))
		}
		apps, _, _ := g.Store.AppList(ctx, merchantID, store.ListParams{Limit: 10})
		if len(apps) != 1 {
			t.Fatalf("apps %v", apps)
		}
		before, _ := g.Store.KeyList(ctx, apps[0].ID)
		if r := op.post("/console/apps/"+apps[0].ID+"/keys", url.Values{"alg": {"secret"}}); r.status != http.StatusOK || !strings.Contains(r.body, "sk_test_") {
			t.Fatalf("add key: %d %s", r.status, errorText(r.body))
		}
		after, _ := g.Store.KeyList(ctx, apps[0].ID)
		if len(after) != len(before)+1 {
			t.Fatalf("keys %d → %d", len(before), len(after))
		}
		var newKey *store.Key
		for _, k := range after {
			if !strings.Contains(keyIDs(before), k.ID) {
				newKey = k
			}
		}
		if r := op.post("/console/keys/"+newKey.ID+"/revoke", nil); r.status != http.StatusSeeOther {
			t.Fatalf("revoke: %d %s", r.status, errorText(r.body))
		}
		if k, _ := g.Store.KeyGet(ctx, newKey.ID); k.RevokedAt == nil {
			t.Error("the key is not revoked")
		}
		if r := op.post(merchantPath+"/fees", url.Values{"method": {"alipay.qr"}, "fee_rate_bps": {"38"}}); r.status != http.StatusSeeOther {
			t.Fatalf("fees: %d %s", r.status, errorText(r.body))
		}
		if _, set, err := g.Settlements.Settings(ctx, merchantID); err != nil || len(set.MethodFees) != 1 || set.MethodFees[0].FeeRateBps != 38 {
			t.Errorf("method fees %+v %v", set, err)
		}

		// Invite a merchant's user; the link is shown once.
		r = op.post("/console/users", url.Values{"merchant": {merchantID}, "email": {"Owner@Tea.example"}, "role": {"admin"}})
		link := regexp.MustCompile(`id="invite-link">[^<]*(/console/invite/[A-Za-z0-9_-]+)<`).FindStringSubmatch(r.body)
		if r.status != http.StatusOK || link == nil {
			t.Fatalf("invite: %d %s", r.status, errorText(r.body))
		}
		owner := newUser(t, g.URL())
		if r := owner.get(link[1]); r.status != http.StatusOK {
			t.Fatalf("invite page: %d %s", r.status, errorText(r.body))
		}
		if r := owner.post(link[1], url.Values{"password": {"short"}}); r.status != http.StatusBadRequest {
			t.Errorf("short password: %d", r.status)
		}
		owner.get(link[1])
		if r := owner.post(link[1], url.Values{"password": {testPassword}}); r.status != http.StatusSeeOther {
			t.Fatalf("accept: %d %s", r.status, errorText(r.body))
		}
		if r := owner.get(link[1]); r.status != http.StatusNotFound {
			t.Errorf("a used invitation: %d", r.status)
		}
		if r := owner.get("/console/orders"); r.status != http.StatusOK {
			t.Fatalf("the new user's session: %d", r.status)
		}
		// The merchant's admin invites a viewer of the same merchant, whatever it posts.
		owner.get("/console/users")
		if r := owner.post("/console/users", url.Values{"email": {"clerk@tea.example"}, "role": {"viewer"}, "merchant": {g.Demo.App.MerchantID}}); r.status != http.StatusOK {
			t.Fatalf("merchant invites: %d %s", r.status, errorText(r.body))
		}
		if u, err := g.Store.ConsoleUserByEmail(ctx, "clerk@tea.example"); err != nil || u.MerchantID != merchantID || u.Kind != store.ConsoleMerchant {
			t.Errorf("invited clerk %+v %v", u, err)
		}

		// TOTP: turn it on with a code, then sign-ins need one.
		acct := owner.get("/console/account")
		secret := regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`).FindStringSubmatch(acct.body)
		if secret == nil {
			t.Fatalf("no TOTP secret on the account page")
		}
		code, _ := console.TOTPCode(secret[1], time.Now())
		if r := owner.post("/console/account/totp", url.Values{"secret": {secret[1]}, "code": {code}}); r.status != http.StatusSeeOther {
			t.Fatalf("enable TOTP: %d %s", r.status, errorText(r.body))
		}
		fresh := newUser(t, g.URL())
		if r := fresh.tryLogin("owner@tea.example", testPassword); r.status != http.StatusUnauthorized {
			t.Errorf("sign-in without the code: %d", r.status)
		}
		fresh.get("/console/login")
		code, _ = console.TOTPCode(secret[1], time.Now())
		if r := fresh.post("/console/login", url.Values{"email": {"owner@tea.example"}, "password": {testPassword}, "code": {code}}); r.status != http.StatusSeeOther {
			t.Errorf("sign-in with the code: %d %s", r.status, errorText(r.body))
		}
	})
}

func keyIDs(ks []*store.Key) string {
	var b strings.Builder
	for _, k := range ks {
		b.WriteString(k.ID + " ")
	}
	return b.String()
}
