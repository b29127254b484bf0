package gateway_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/api"
	"github.com/paygate/paygate/internal/store/sqlstore"
)

type auditEvent struct {
	ID, ActorType, ActorID, Action, ObjectType, ObjectID, MerchantID, SourceIP, RequestID string
	Seq                                                                                   int64
	Before, After                                                                         json.RawMessage
}

type auditList struct {
	Data    []auditEvent
	HasMore bool `json:"has_more"`
}

func (a *auditEvent) UnmarshalJSON(b []byte) error {
	var raw struct {
		ID         string          `json:"id"`
		Seq        int64           `json:"seq"`
		ActorType  string          `json:"actor_type"`
		ActorID    string          `json:"actor_id"`
		Action     string          `json:"action"`
		ObjectType string          `json:"object_type"`
		ObjectID   string          `json:"object_id"`
		MerchantID string          `json:"merchant_id"`
		Before     json.RawMessage `json:"before"`
		After      json.RawMessage `json:"after"`
		SourceIP   string          `json:"source_ip"`
		RequestID  string          `json:"request_id"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*a = auditEvent{raw.ID, raw.ActorType, raw.ActorID, raw.Action, raw.ObjectType, raw.ObjectID, raw.MerchantID,
		raw.SourceIP, raw.RequestID, raw.Seq, raw.Before, raw.After}
	return nil
}

// TestAuditLog: operator actions and merchants' endpoint changes are
// recorded with who, what, before and after, and no secret; the chain
// verifies, and a changed or deleted record is found.
func TestAuditLog(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		m := e.newMerchant("test", false) // POST merchants, POST apps
		var key client.Key
		if st, b := e.admin("POST", "/admin/v1/apps/"+m.app.App.ID+"/keys", map[string]any{"alg": "HMAC-SHA256"}, &key); st != 201 {
			t.Fatalf("create key: %d %s", st, b)
		}
		if st, b := e.admin("DELETE", "/admin/v1/keys/"+key.ID, nil, nil); st != 200 {
			t.Fatalf("revoke key: %d %s", st, b)
		}
		ep, err := m.c.CreateWebhookEndpoint(ctx, client.CreateWebhookEndpointParams{URL: "http://127.0.0.1:9/hook", EnabledEvents: []string{"*"}})
		if err != nil {
			t.Fatal(err)
		}
		desc := "new"
		if _, err := m.c.UpdateWebhookEndpoint(ctx, ep.ID, client.UpdateWebhookEndpointParams{Description: &desc}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.c.RotateWebhookEndpointSecret(ctx, ep.ID, client.RotateWebhookSecretParams{}); err != nil {
			t.Fatal(err)
		}
		// Reads are not recorded.
		if _, err := m.c.GetWebhookEndpoint(ctx, ep.ID); err != nil {
			t.Fatal(err)
		}

		var all auditList
		if st, b := e.admin("GET", "/admin/v1/audit-events?limit=100", nil, &all); st != 200 {
			t.Fatalf("list audit events: %d %s", st, b)
		}
		raw, _ := json.Marshal(all)
		for _, secret := range []string{m.app.SecretKey, key.Secret, ep.Secret, "whsec_"} {
			if secret != "" && strings.Contains(string(raw), secret) {
				t.Fatalf("a secret (%.12s…) is in the audit log", secret)
			}
		}
		actions := map[string]auditEvent{}
		for _, ev := range all.Data {
			actions[ev.Action] = ev
		}
		for _, a := range []string{"POST /admin/v1/merchants", "POST /admin/v1/merchants/{id}/apps", "POST /admin/v1/apps/{id}/keys",
			"DELETE /admin/v1/keys/{id}", "POST /v1/webhook-endpoints", "POST /v1/webhook-endpoints/{id}",
			"POST /v1/webhook-endpoints/{id}/rotate-secret"} {
			ev, ok := actions[a]
			if !ok {
				t.Fatalf("no record of %s in %s", a, raw)
			}
			if ev.SourceIP != "127.0.0.1" || !strings.HasPrefix(ev.RequestID, "req_") || ev.ObjectID == "" {
				t.Errorf("%s: source %q request %q object %q", a, ev.SourceIP, ev.RequestID, ev.ObjectID)
			}
		}
		if len(all.Data) != 7 {
			t.Errorf("%d records, want 7 (reads are not recorded)", len(all.Data))
		}
		if ev := actions["POST /admin/v1/merchants"]; ev.ActorType != "operator" || !strings.HasPrefix(ev.ActorID, "optok_") || ev.ObjectID != m.id || string(ev.Before) != "null" {
			t.Errorf("merchant create: %+v", ev)
		}
		upd := actions["POST /v1/webhook-endpoints/{id}"]
		if upd.ActorType != "app" || !strings.HasPrefix(upd.ActorID, m.app.App.ID+"/") || upd.MerchantID != m.id || upd.ObjectID != ep.ID {
			t.Errorf("endpoint update: who %s %s merchant %s object %s", upd.ActorType, upd.ActorID, upd.MerchantID, upd.ObjectID)
		}
		var before, after struct{ Description string }
		json.Unmarshal(upd.Before, &before)
		json.Unmarshal(upd.After, &after)
		if before.Description != "" || after.Description != "new" {
			t.Errorf("endpoint update: before %s after %s", upd.Before, upd.After)
		}
		if rev := actions["DELETE /admin/v1/keys/{id}"]; !strings.Contains(string(rev.After), `"revoked`) {
			t.Errorf("key revocation after: %s", rev.After)
		}
		// Filters.
		var byObject auditList
		e.admin("GET", "/admin/v1/audit-events?object_id="+ep.ID, nil, &byObject)
		if len(byObject.Data) != 3 {
			t.Errorf("by object: %d records, want 3", len(byObject.Data))
		}
		var page auditList
		e.admin("GET", "/admin/v1/audit-events?limit=2&action=POST+%2Fadmin%2Fv1%2Fmerchants", nil, &page)
		if len(page.Data) != 1 || page.Data[0].ObjectID != m.id {
			t.Errorf("by action: %+v", page.Data)
		}
		if st, _ := e.admin("GET", "/admin/v1/audit-events?bogus=1", nil, nil); st != 400 {
			t.Errorf("an unknown filter: %d", st)
		}
		// The list itself was an operator GET: not recorded, so the chain is 7 long.
		rep, err := api.VerifyAudit(ctx, e.g.Store)
		if err != nil || len(rep.Broken) != 0 || rep.Events != 7 {
			t.Fatalf("verify: %+v %v", rep, err)
		}
		raw2 := e.g.Store.(*sqlstore.Store)
		if _, err := raw2.ExecRaw(ctx, `UPDATE audit_events SET source_ip = '10.0.0.1' WHERE seq = 3`); err != nil {
			t.Fatal(err)
		}
		rep, _ = api.VerifyAudit(ctx, e.g.Store)
		if len(rep.Broken) != 1 || !strings.Contains(rep.Broken[0], "record 3") {
			t.Fatalf("a changed record: %v", rep.Broken)
		}
		if _, err := raw2.ExecRaw(ctx, `DELETE FROM audit_events WHERE seq = 5`); err != nil {
			t.Fatal(err)
		}
		rep, _ = api.VerifyAudit(ctx, e.g.Store)
		if len(rep.Broken) != 2 || !strings.Contains(rep.Broken[1], "missing") {
			t.Fatalf("a deleted record: %v", rep.Broken)
		}
	})
}
