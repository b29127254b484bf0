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

	// A cycle run splits its time into the cycle's steps.
	whsec := regexp.MustCompile(`webhook secret +(whsec_\S+)`).FindStringSubmatch(s.banner)[1]
	code, out, errOut = paygate(t, nil, "bench", "--url", s.url, "--key", key, "--webhook-secret", whsec, "--scenario", "cycle", "--duration", "500ms", "--concurrency", "2")
	if code != 0 || !regexp.MustCompile(`cycle: [1-9]\d* ok, 0 failed.*p50/p99 by step: create [\d.]+/[\d.]+ms pay [\d.]+/[\d.]+ms webhook [\d.]+/[\d.]+ms`).MatchString(out) {
		t.Errorf("cycle run: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	s.stop(t)
}

// bench seed fills a database the gateway then serves with its history;
// bench scale prints a row per measure and a column per size; bench soak
// prints a line per window with webhooks arriving and a summary.
func TestBenchSeedScaleSoak(t *testing.T) {
	t.Parallel()
	db := "sqlite:" + filepath.Join(t.TempDir(), "seeded.db")
	code, out, errOut := paygate(t, nil, "bench", "seed", "--database", db, "--orders", "3000", "--merchants", "5", "--days", "3")
	if code != 0 || !strings.Contains(out, "seeded 3000 orders (300 the demo merchant's)") || !strings.Contains(errOut, "3000/3000") {
		t.Fatalf("seed: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = paygate(t, nil, "ledger", "verify", "--database", db)
	if code != 0 {
		t.Errorf("ledger verify of the seeded database: exit %d, %s %s", code, out, errOut)
	}
	if code, _, errOut := paygate(t, nil, "bench", "seed", "--database", db, "--orders", "10"); code == 0 {
		t.Errorf("seeding the same database twice succeeded: %s", errOut)
	}

	code, out, errOut = paygate(t, nil, "bench", "scale", "--orders", "0,2000", "--merchants", "3", "--duration", "300ms")
	if code != 0 || !regexp.MustCompile(`(?m)^ +orders +0 +2000$`).MatchString(out) || !strings.Contains(out, "list, status filter") {
		t.Errorf("scale: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	code, out, errOut = paygate(t, nil, "bench", "soak", "--duration", "3s", "--every", "1s", "--rate", "60", "--fail-share", "0.5")
	lines := regexp.MustCompile(`(?m)^ +\d+\.\d +\d+ +\d+ .* (\d+)$`).FindAllStringSubmatch(out, -1)
	if code != 0 || len(lines) < 2 || !strings.Contains(out, "soak     mixed:") {
		t.Errorf("soak: exit %d, %d lines, stdout %q, stderr %q", code, len(lines), out, errOut)
	} else if lines[len(lines)-1][1] == "0" {
		t.Errorf("soak: no webhook arrived: %q", out)
	}
}
