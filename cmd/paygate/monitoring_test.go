package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// logSink collects serve's log lines from its goroutines.
type logSink struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeMonitoring: serve opens the operator listener, logs its
// listeners and its configuration with the secrets masked, in the format
// asked for, and the metrics are there and not on the public port.
func TestServeMonitoring(t *testing.T) {
	t.Parallel()
	const token, masterKey = "op_canary_operator_token_1234567890", "fe0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1eef"
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			pr, pw := io.Pipe()
			logs := &logSink{}
			done := make(chan int, 1)
			env := map[string]string{"PAYGATE_ADMIN_TOKEN": token, "PAYGATE_MASTER_KEY": masterKey}
			go func() {
				done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--log-format", format,
					"--database", "sqlite:" + filepath.Join(t.TempDir(), "m.db")}, cli{stdout: pw, stderr: logs, env: mapEnv(env)})
				pw.Close()
			}()
			var public, admin string
			sc := bufio.NewScanner(pr)
			for sc.Scan() && (public == "" || admin == "") {
				if m := regexp.MustCompile(`^paygate listening on (\S+)`).FindStringSubmatch(sc.Text()); m != nil {
					public = "http://" + m[1]
				}
				if m := regexp.MustCompile(`^operator listener on ([^:]+:\d+)`).FindStringSubmatch(sc.Text()); m != nil {
					admin = "http://" + m[1]
				}
			}
			go io.Copy(io.Discard, pr)
			if public == "" || admin == "" {
				t.Fatalf("serve printed no public (%q) or operator (%q) address; logs:\n%s", public, admin, logs)
			}
			get := func(url string) (int, string) {
				res, err := http.Get(url)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				return res.StatusCode, string(b)
			}
			if st, _ := get(public + "/healthz"); st != 200 {
				t.Fatalf("healthz: %d", st)
			}
			if st, _ := get(public + "/metrics"); st != 404 {
				t.Errorf("public /metrics: %d, want 404", st)
			}
			st, body := get(admin + "/metrics")
			if st != 200 || !strings.Contains(body, `paygate_http_requests_total{code="2xx",method="GET",route="/healthz"} 1`) {
				t.Errorf("admin /metrics: %d, without the healthz request:\n%.2000s", st, body)
			}
			cancel(context.Canceled)
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatal("serve did not stop")
			}
			out := logs.String()
			for _, secret := range []string{token, masterKey} {
				if strings.Contains(out, secret) {
					t.Errorf("the logs show a secret %q:\n%s", secret, out)
				}
			}
			adminAddr := strings.TrimPrefix(admin, "http://")
			var want []string
			if format == "json" {
				want = []string{`"msg":"configuration"`, `"admin_token":{"value":"(set, masked)","from":"env"}`,
					`"msg":"listening"`, `"admin_addr":"` + adminAddr + `"`, `"msg":"request"`, `"route":"/healthz"`}
			} else {
				want = []string{"msg=configuration", `admin_token.value="(set, masked)"`, "msg=listening", "admin_addr=" + adminAddr,
					"msg=request", "route=/healthz"}
			}
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("the %s logs lack %s:\n%s", format, w, out)
				}
			}
		})
	}
}
