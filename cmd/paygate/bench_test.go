package main

import (
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBenchExitCodes (issue 12, point 4): a refused key and an unreachable
// URL are errors (exit 1) that say so, not a rate of failures; a cycle run
// without the webhook secret is refused before it starts (exit 2); a
// working run exits 0 and counts successes.
func TestBenchExitCodes(t *testing.T) {
	t.Parallel()
	s := startServe(t, "--addr", "127.0.0.1:0", "--database", "sqlite:"+filepath.Join(t.TempDir(), "bench.db"))
	key := regexp.MustCompile(`secret key +(sk_test_\S+)`).FindStringSubmatch(s.banner)[1]

	code, out, errOut := paygate(t, nil, "bench", "--url", s.url, "--key", "sk_test_wrong", "--duration", "1s")
	if code != exitFailed || !strings.Contains(errOut, "401") || strings.Contains(out, "/s") {
		t.Errorf("wrong key: exit %d, stdout %q, stderr %q; want 1 naming the 401", code, out, errOut)
	}

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()
	code, out, errOut = paygate(t, nil, "bench", "--url", dead, "--key", key, "--duration", "1s")
	if code != exitFailed || !strings.Contains(errOut, "cannot reach the gateway") {
		t.Errorf("unreachable URL: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	code, _, errOut = paygate(t, nil, "bench", "--url", s.url, "--key", key, "--scenario", "cycle", "--duration", "1s")
	if code != exitUsage || !strings.Contains(errOut, "--webhook-secret") {
		t.Errorf("cycle without a webhook secret: exit %d, stderr %q", code, errOut)
	}

	code, out, errOut = paygate(t, nil, "bench", "--url", s.url, "--key", key, "--duration", "300ms", "--concurrency", "2")
	if code != 0 || !regexp.MustCompile(`create: [1-9]\d* ok, 0 failed`).MatchString(out) {
		t.Errorf("working run: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	s.stop(t)
}
