package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paygate/paygate/internal/console"
	"github.com/paygate/paygate/internal/store/sqlite"
)

// TestOperatorAdd: `paygate operator add` makes an operator with a password
// read from standard input, or prints an invitation link; a bad email or
// role exits non-zero.
func TestOperatorAdd(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "ops.db")
	run1 := func(stdin string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"operator", "add", "--database", "sqlite:" + db}, args...),
			cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, env: mapEnv(nil)})
		return code, out.String(), errOut.String()
	}
	if code, out, errOut := run1("a very good password\n", "--email", "Ops@Example.com", "--password-stdin"); code != 0 || !strings.Contains(out, "operator ops@example.com") {
		t.Fatalf("add: exit %d, %q %q", code, out, errOut)
	}
	code, out, errOut := run1("", "--email", "viewer@example.com", "--role", "viewer", "--public-url", "https://pay.example.com")
	if code != 0 || !strings.Contains(out, "https://pay.example.com/console/invite/") {
		t.Fatalf("invite: exit %d, %q %q", code, out, errOut)
	}
	for _, args := range [][]string{{"--email", "ops@example.com", "--password-stdin"}, {"--email", "not-an-email"}, {"--email", "x@example.com", "--role", "god"}, {}} {
		if code, _, _ := run1("another good password\n", args...); code == 0 {
			t.Errorf("operator add %v exited 0", args)
		}
	}
	st, err := sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.ConsoleUserByEmail(context.Background(), "ops@example.com")
	if err != nil || u.Kind != "operator" || u.Role != "admin" {
		t.Fatalf("user %+v %v", u, err)
	}
	if ok, err := console.CheckPassword(u.PasswordHash, "a very good password"); !ok || err != nil {
		t.Errorf("the stored password does not check: %v %v", ok, err)
	}
}
