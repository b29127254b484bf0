package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paygate/paygate/internal/store/sqlite"
)

func TestLedgerVerifyExitCodes(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ledger.db")
	var out, errOut bytes.Buffer
	if code := run([]string{"migrate", "--database", "sqlite:" + db}, &out, &errOut); code != 0 {
		t.Fatalf("migrate exited %d: %s", code, errOut.String())
	}
	out.Reset()
	if code := run([]string{"ledger", "verify", "--database", "sqlite:" + db}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "ledger verify: ok") {
		t.Fatalf("empty ledger: exit %d, output %q", code, out.String())
	}
	// Write an entry whose lines do not balance, behind the store's back.
	st, err := sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO ledger_entries (id, kind, ref_id, created_at) VALUES ('jnl_bad', 'adjustment', 'x', 0)`,
		`INSERT INTO ledger_lines (entry_id, line_no, account, currency, amount) VALUES ('jnl_bad', 0, 'a', 'CNY', 5)`,
		`INSERT INTO ledger_lines (entry_id, line_no, account, currency, amount) VALUES ('jnl_bad', 1, 'b', 'CNY', -4)`,
	} {
		if _, err := st.ExecRaw(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	st.Close()
	out.Reset()
	code := run([]string{"ledger", "verify", "--database", "sqlite:" + db}, &out, &errOut)
	if code == 0 || !strings.Contains(out.String(), "jnl_bad") || !strings.Contains(out.String(), "FAILED") {
		t.Fatalf("unbalanced ledger: exit %d, output %q; want non-zero naming jnl_bad", code, out.String())
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"frobnicate"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
}
