package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/paygate/paygate/internal/gateway"
	"github.com/paygate/paygate/internal/store/sqlite"
)

// paygate runs the command line in-process with env as its environment
// and returns the exit code and what it printed.
func paygate(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, cli{stdout: &out, stderr: &errOut, env: mapEnv(env)})
	return code, out.String(), errOut.String()
}

func mapEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLedgerVerifyExitCodes(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "ledger.db")
	if code, _, errOut := paygate(t, nil, "migrate", "--database", "sqlite:"+db); code != 0 {
		t.Fatalf("migrate exited %d: %s", code, errOut)
	}
	if code, out, _ := paygate(t, nil, "ledger", "verify", "--database", "sqlite:"+db); code != 0 || !strings.Contains(out, "ledger verify: ok") {
		t.Fatalf("empty ledger: exit %d, output %q", code, out)
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
	// The database comes from the environment this time.
	code, out, _ := paygate(t, map[string]string{"PAYGATE_DATABASE": "sqlite:" + db}, "ledger", "verify")
	if code != 1 || !strings.Contains(out, "jnl_bad") || !strings.Contains(out, "FAILED") {
		t.Fatalf("unbalanced ledger: exit %d, output %q; want 1 naming jnl_bad", code, out)
	}
}

func TestUnknownCommandsAndFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"frobnicate"}, {"serv"}, {"ledger", "verfiy"}, {"demo", "key"}, {"serve", "--adr", ":1"}, {"sim", "paypal"}, {"migrate", "extra"}} {
		code, _, errOut := paygate(t, nil, args...)
		if code != exitUsage || !strings.Contains(errOut, "paygate: ") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, errOut)
		}
	}
	if _, _, errOut := paygate(t, nil, "serv"); !strings.Contains(errOut, `did you mean serve`) {
		t.Errorf("no suggestion for serv: %q", errOut)
	}
}

// TestHelpForEveryCommand: --help exits 0 with usage on stdout for every
// command and subcommand of the tree (cobra's own help and completion
// commands included), and -h does the same.
func TestHelpForEveryCommand(t *testing.T) {
	t.Parallel()
	root := cli{stdout: io.Discard, stderr: io.Discard, env: mapEnv(nil)}.root()
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string(nil), path...), sub.Name()))
		}
	}
	walk(root, nil)
	if len(paths) < 10 {
		t.Fatalf("walked only %d commands: %v", len(paths), paths)
	}
	for _, path := range paths {
		for _, flag := range []string{"--help", "-h"} {
			code, out, errOut := paygate(t, nil, append(path, flag)...)
			if code != 0 || !strings.Contains(out, "Usage:") || errOut != "" {
				t.Errorf("paygate %s %s: exit %d, stdout %.80q, stderr %q", strings.Join(path, " "), flag, code, out, errOut)
			}
		}
	}
	// A group without its subcommand shows its help.
	if code, out, _ := paygate(t, nil, "ledger"); code != 0 || !strings.Contains(out, "verify") {
		t.Errorf("paygate ledger: exit %d, %q", code, out)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, out, _ := paygate(t, nil, args...)
		if code != 0 || !strings.HasPrefix(out, "paygate ") || !strings.Contains(out, "commit") || !strings.Contains(out, "sqlite  SQLite") {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
}

// TestServeRefusesBadSettings: a bad value in a flag, the environment or
// the config file stops serve at once (exit 2), naming the setting and the
// value, before it binds or creates anything.
func TestServeRefusesBadSettings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "paygate.yaml")
	os.WriteFile(conf, []byte("no_demo: yes\n"), 0o600)
	db := filepath.Join(dir, "paygate.db")
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--addr", "8080x"}, nil, `"8080x"`},
		{[]string{"--log-level", "verbose"}, nil, `"verbose"`},
		{nil, map[string]string{"PAYGATE_NO_DEMO": "yes"}, `PAYGATE_NO_DEMO = "yes"`},
		{nil, map[string]string{"PAYGATE_NOTIFY_CONCURRENCY": "3O"}, `PAYGATE_NOTIFY_CONCURRENCY = "3O"`},
		{nil, map[string]string{"PAYGATE_WORKER_INTERVAL": "often"}, `PAYGATE_WORKER_INTERVAL = "often"`},
		{nil, map[string]string{"PAYGATE_ADDR": ":http"}, `PAYGATE_ADDR = ":http"`},
		{[]string{"--config", conf}, nil, `no_demo in ` + conf + ` = "yes"`},
	} {
		args := append([]string{"serve", "--database", "sqlite:" + db}, tc.args...)
		code, out, errOut := paygate(t, tc.env, args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v %v: exit %d, stderr %q; want 2 saying %s", tc.args, tc.env, code, errOut, tc.want)
		}
		if out != "" {
			t.Errorf("%v %v: printed %q", tc.args, tc.env, out)
		}
	}
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused start created the database: %v", err)
	}
}

// TestServeOnBusyPort (issue 12, point 1): a start on a taken port fails
// with a hint, prints no secret and creates nothing, so the next start
// prints the demo keys; `demo keys` then issues a secret key that works.
func TestServeOnBusyPort(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	db := filepath.Join(t.TempDir(), "paygate.db")
	code, out, errOut := paygate(t, nil, "serve", "--addr", busy.Addr().String(), "--database", "sqlite:"+db)
	if code != exitFailed || !strings.Contains(errOut, "address already in use") || !strings.Contains(errOut, "--addr") {
		t.Fatalf("busy port: exit %d, stderr %q; want 1 with a hint", code, errOut)
	}
	if strings.Contains(out+errOut, "sk_test_") || strings.Contains(out+errOut, "op_") {
		t.Fatalf("busy port printed secrets: %q %q", out, errOut)
	}
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the failed start created the database: %v", err)
	}

	// The next start, on a free port, prints the keys.
	s := startServe(t, "--addr", "127.0.0.1:0", "--database", "sqlite:"+db)
	first := regexp.MustCompile(`secret key +(sk_test_\S+)`).FindStringSubmatch(s.banner)
	if first == nil || !strings.Contains(s.banner, "Operator token") {
		t.Fatalf("second start printed no keys:\n%s", s.banner)
	}
	if st := s.get(t, "/v1/balance", first[1]); st != 200 {
		t.Fatalf("printed key: GET /v1/balance = %d", st)
	}

	// demo keys, while the gateway runs: a new secret key, which works.
	code, out, errOut = paygate(t, nil, "demo", "keys", "--database", "sqlite:"+db, "--revoke-others")
	again := regexp.MustCompile(`secret key +(sk_test_\S+)`).FindStringSubmatch(out)
	if code != 0 || again == nil || again[1] == first[1] || !strings.Contains(out, "whsec_") || !strings.Contains(out, "HMAC-SHA256 secret") {
		t.Fatalf("demo keys: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if st := s.get(t, "/v1/balance", again[1]); st != 200 {
		t.Fatalf("reissued key: GET /v1/balance = %d", st)
	}
	// Revoked by another process: the running gateway, which keeps a key
	// it looked up for gateway.KeyCacheTTL, refuses it once that passed.
	deadline := time.Now().Add(gateway.KeyCacheTTL + 2*time.Second)
	for st := s.get(t, "/v1/balance", first[1]); st != 401; st = s.get(t, "/v1/balance", first[1]) {
		if time.Now().After(deadline) {
			t.Fatalf("revoked key: GET /v1/balance = %d %v after the revocation, want 401", st, gateway.KeyCacheTTL+2*time.Second)
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.stop(t)
}

func TestDemoKeysWithoutDatabase(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "none.db")
	code, _, errOut := paygate(t, nil, "demo", "keys", "--database", "sqlite:"+db)
	if code != exitFailed || !strings.Contains(errOut, "paygate serve") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("demo keys created a database")
	}
}

// served is a paygate serve running in-process.
type served struct {
	url    string
	banner string // stdout up to the listening line
	cancel context.CancelCauseFunc
	done   chan int
	rest   chan string // the rest of stdout, once serve has returned
}

// startServe runs paygate serve with args until its listening banner.
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancelCause(context.Background())
	pr, pw := io.Pipe()
	s := &served{cancel: cancel, done: make(chan int, 1), rest: make(chan string, 1)}
	go func() {
		s.done <- run(ctx, append([]string{"serve"}, args...), cli{stdout: pw, stderr: io.Discard, env: mapEnv(nil)})
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var banner strings.Builder
	for sc.Scan() {
		banner.WriteString(sc.Text() + "\n")
		if m := regexp.MustCompile(`^paygate listening on (\S+)`).FindStringSubmatch(sc.Text()); m != nil {
			s.url = "http://" + m[1]
			break
		}
	}
	s.banner = banner.String()
	if s.url == "" {
		cancel(nil)
		t.Fatalf("serve exited %d before listening:\n%s", <-s.done, s.banner)
	}
	go func() {
		var rest strings.Builder
		for sc.Scan() {
			rest.WriteString(sc.Text() + "\n")
		}
		s.rest <- rest.String()
	}()
	t.Cleanup(func() { cancel(nil) })
	return s
}

func (s *served) get(t *testing.T, path, key string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", s.url+path, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	res.Body.Close()
	return res.StatusCode
}

// stop sends what SIGINT sends and checks that serve says goodbye and exits 0.
func (s *served) stop(t *testing.T) {
	t.Helper()
	s.cancel(errors.New("SIGINT received"))
	select {
	case code := <-s.done:
		rest := <-s.rest
		if code != 0 || !strings.Contains(rest, "SIGINT received: draining") || !strings.Contains(rest, "Goodbye") {
			t.Fatalf("stop: exit %d, output %q", code, rest)
		}
	case <-time.After(time.Minute):
		t.Fatal("serve did not stop within a minute")
	}
}

// TestHealthcheck: the container's health check exits 0 against a serving
// gateway at the port of addr, and 1 when nothing answers there.
func TestHealthcheck(t *testing.T) {
	t.Parallel()
	s := startServe(t, "--addr", "127.0.0.1:0", "--database", "sqlite:"+filepath.Join(t.TempDir(), "h.db"), "--no-demo")
	addr := strings.TrimPrefix(s.url, "http://")
	if code, out, errOut := paygate(t, map[string]string{"PAYGATE_ADDR": addr}, "healthcheck"); code != 0 || out != "ok\n" {
		t.Fatalf("healthy gateway: exit %d, %q %q", code, out, errOut)
	}
	s.stop(t)
	if code, _, errOut := paygate(t, nil, "healthcheck", "--addr", addr); code != exitFailed || !strings.Contains(errOut, "healthcheck") {
		t.Fatalf("stopped gateway: exit %d, %q", code, errOut)
	}
}
