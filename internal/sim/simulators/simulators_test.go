package simulators

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/paygate/paygate/internal/sim"
)

// TestFaultControl: every simulator refuses an unknown fault with a 400
// listing the known ones, and takes every known one.
func TestFaultControl(t *testing.T) {
	t.Parallel()
	for _, provider := range Providers {
		s, err := New(provider, sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(s)
		post := func(body string) (int, string) {
			res, err := http.Post(srv.URL+"/_sim/fault", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var e struct{ Error string }
			json.NewDecoder(res.Body).Decode(&e)
			return res.StatusCode, e.Error
		}
		for _, body := range []string{`{"fault":"5xxx"}`, `{"fault":"timeout","count":-1}`, `{"falt":"5xx"}`} {
			st, msg := post(body)
			if st != http.StatusBadRequest || msg == "" {
				t.Errorf("%s: %s: %d %q, want 400 with a reason", provider, body, st, msg)
			}
		}
		if st, msg := post(`{"fault":"5xxx"}`); !strings.Contains(msg, `unknown fault "5xxx"`) || !strings.Contains(msg, "drop_notify") {
			t.Errorf("%s: unknown fault: %d %q; want the known faults listed", provider, st, msg)
		}
		for _, f := range sim.KnownFaults {
			if st, msg := post(`{"fault":"` + string(f) + `","count":1}`); st != http.StatusNoContent {
				t.Errorf("%s: fault %s: %d %q", provider, f, st, msg)
			}
		}
		srv.Close()
		s.Close()
	}
}
