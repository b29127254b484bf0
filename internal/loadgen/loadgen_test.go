package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRunCountsOnlySuccesses: a gateway that refuses three creates in four
// gives a rate of the successes only, failures by code with a message, and
// a run that is Failing.
func TestRunCountsOnlySuccesses(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v1/balance" {
			w.Write([]byte(`{"object":"balance"}`))
			return
		}
		if n.Add(1)%4 != 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"error":{"type":"api_error","code":"overloaded","message":"Too busy."}}`))
			return
		}
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"id":"ord_1"}`))
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Config{URL: srv.URL, SecretKey: "sk_test_x", Concurrency: 4, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK == 0 || res.Failed < 2*res.OK || res.Requests != res.OK+res.Failed || res.Errors["503_overloaded"] != int(res.Failed) {
		t.Fatalf("ok %d failed %d requests %d errors %v", res.OK, res.Failed, res.Requests, res.Errors)
	}
	if want := float64(res.OK) / res.Seconds; res.RPS != want {
		t.Fatalf("rate %.1f/s, want the successes' %.1f/s", res.RPS, want)
	}
	if !res.Failing() {
		t.Fatal("a run with 3 failures in 4 is not Failing")
	}
	if e := res.Explain(); !strings.Contains(e, "503_overloaded") || !strings.Contains(e, "Too busy.") {
		t.Fatalf("Explain: %q", e)
	}
	if s := res.String(); !strings.Contains(s, "ok/s") || !strings.Contains(s, "503_overloaded=") {
		t.Fatalf("String: %q", s)
	}
}

// TestRunStopsOnRefusedKeyOrUnreachableURL: the preflight request stops a
// run whose key is refused or whose gateway does not answer, saying why.
func TestRunStopsOnRefusedKeyOrUnreachableURL(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":{"type":"authentication_error","code":"key_invalid","message":"Invalid API key."}}`))
	}))
	defer srv.Close()
	_, err := Run(context.Background(), Config{URL: srv.URL, SecretKey: "sk_test_wrong", Duration: time.Second})
	if err == nil || !strings.Contains(err.Error(), "401_key_invalid") || !strings.Contains(err.Error(), "Invalid API key.") {
		t.Fatalf("refused key: %v", err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	url := closed.URL
	closed.Close()
	_, err = Run(context.Background(), Config{URL: url, SecretKey: "sk_test_x", Duration: time.Second})
	if err == nil || !strings.Contains(err.Error(), "cannot reach the gateway") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("unreachable: %v", err)
	}
	if _, err := Run(context.Background(), Config{URL: url, SecretKey: "sk_test_x", Scenario: "cycle", NoPreflight: true}); err == nil || !strings.Contains(err.Error(), "webhook secret") {
		t.Fatalf("cycle without a webhook secret: %v", err)
	}
}
