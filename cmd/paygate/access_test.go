package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/api"
	"github.com/paygate/paygate/internal/gateway"
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

// TestKeysRotateMaster runs `paygate keys rotate-master` on a database a
// gateway made with the key file beside it: with the former key given it
// reseals everything, records the rotation in the audit log and writes the
// new key into the file; a later
// rotation to a third key without the second one given cannot open what
// the second sealed (the derivation root first), and exits 1 saying so.
func TestKeysRotateMaster(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "rotate.db")
	st, err := sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.OpenWith(context.Background(), gateway.Config{Addr: "127.0.0.1:0", Database: "sqlite:" + db,
		AdminToken: "op_test", Logger: quietLogger(), WorkerInterval: time.Hour}, st, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	oldKey, err := os.ReadFile(db + ".masterkey")
	if err != nil {
		t.Fatal(err)
	}
	newKey := strings.Repeat("ab", 32)
	code, out, errOut := paygate(t, map[string]string{"PAYGATE_OLD_MASTER_KEYS": strings.TrimSpace(string(oldKey))},
		"keys", "rotate-master", "--database", "sqlite:"+db, "--master-key", newKey, "--batch", "1")
	if code != 0 || !strings.Contains(out, "rotate-master: ok") || !strings.Contains(out, "platform_keys.private_sealed") {
		t.Fatalf("rotate-master exited %d:\n%s%s", code, out, errOut)
	}
	// The key file beside the database now holds the new key: a command
	// given no key opens the platform's private key with it, and its run is
	// audited too.
	if b, err := os.ReadFile(db + ".masterkey"); err != nil || strings.TrimSpace(string(b)) != newKey {
		t.Fatalf("key file after the rotation: %q %v, want the new key", b, err)
	}
	if fi, err := os.Stat(db + ".masterkey"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi.Mode(), err)
	}
	if code, out, errOut := paygate(t, nil, "keys", "rotate-platform", "--database", "sqlite:"+db); code != 0 || !strings.Contains(out, "published as next") {
		t.Fatalf("rotate-platform with the rewritten key file: exit %d, output %q %q", code, out, errOut)
	}
	if code, out, _ := paygate(t, nil, "audit", "verify", "--database", "sqlite:"+db); code != 0 || !strings.Contains(out, "records: 2,") {
		t.Fatalf("audit verify after the rotations: exit %d, output %q", code, out)
	}
	// A value under a key nobody gives cannot be resealed: the run says so.
	st, err = sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ExecRaw(context.Background(), `UPDATE apps SET webhook_secret_sealed = 'v1.deadbeef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, _ = paygate(t, nil, "keys", "rotate-master", "--database", "sqlite:"+db, "--master-key", newKey)
	if code != 1 || !strings.Contains(out, "INCOMPLETE") || !strings.Contains(out, "apps.webhook_secret_sealed: 1") || !strings.Contains(out, "unknown master key deadbeef") {
		t.Fatalf("rotate-master with a value under an unknown key: exit %d, output %q", code, out)
	}
	code, out, errOut = paygate(t, nil, "keys", "rotate-master", "--database", "sqlite:"+db, "--master-key", strings.Repeat("cd", 32))
	if code != 1 || !strings.Contains(errOut, "unknown master key") {
		t.Fatalf("rotate-master without the key the values are under: exit %d, output %q %q", code, out, errOut)
	}
}
