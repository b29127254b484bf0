package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/api"
	"github.com/paygate/paygate/internal/store"
	"github.com/paygate/paygate/internal/store/sqlite"
)

func TestAuditVerifyExitCodes(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "audit.db")
	if code, _, errOut := paygate(t, nil, "migrate", "--database", "sqlite:"+db); code != 0 {
		t.Fatalf("migrate exited %d: %s", code, errOut)
	}
	st, err := sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 3 {
		if err := st.AuditAppend(ctx, &store.AuditEvent{ID: "aud_" + string(rune('a'+i)), CreatedAt: time.Unix(1_800_000_000, 0),
			ActorType: "operator", ActorID: "optok_x", Action: "POST /admin/v1/merchants", ObjectID: "mch_1"}, api.AuditHash); err != nil {
			t.Fatal(err)
		}
	}
	if code, out, _ := paygate(t, nil, "audit", "verify", "--database", "sqlite:"+db); code != 0 || !strings.Contains(out, "records: 3, head: 3 ") || !strings.Contains(out, "audit verify: ok") {
		t.Fatalf("a sound chain: exit %d, output %q", code, out)
	}
	if _, err := st.ExecRaw(ctx, `UPDATE audit_events SET actor_id = 'someone_else' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if code, out, _ := paygate(t, nil, "audit", "verify", "--database", "sqlite:"+db); code != 1 || !strings.Contains(out, "record 2 (aud_b) was changed") || !strings.Contains(out, "FAILED") {
		t.Fatalf("a changed record: exit %d, output %q", code, out)
	}
}
