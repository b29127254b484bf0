package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/internal/ratelimit"
)

func TestParseRates(t *testing.T) {
	r, err := ParseRates("create=10/s, refund=unlimited,oauth_ip=5/m")
	if err != nil {
		t.Fatal(err)
	}
	if r[classCreate] != (ratelimit.Rate{Count: 10, Period: time.Second}) || !r[classRefund].Unlimited() ||
		r[classOAuth] != (ratelimit.Rate{Count: 5, Period: time.Minute}) || r[classRead] != (ratelimit.Rate{Count: 1000, Period: time.Second}) {
		t.Fatalf("ParseRates: %v", r)
	}
	for _, bad := range []string{"create", "foo=1/s", "create_ip=1/s", "callback=1/s", "read=1/fortnight"} {
		if _, err := ParseRates(bad); err == nil {
			t.Errorf("ParseRates(%q) accepted", bad)
		}
	}
}

// TestRouteClasses: every route has a class, and the classes are those the
// API reference documents.
func TestRouteClasses(t *testing.T) {
	s := &Server{}
	s.init()
	want := map[string]class{
		"POST /v1/orders": classCreate, "GET /v1/orders/{id}": classRead, "POST /v1/refunds": classRefund,
		"GET /v1/refunds": classRead, "POST /admin/v1/merchants": classAdmin, "GET /healthz": classNone,
		"POST /channels/{provider}/notify/{account}": classCallback,
	}
	for _, rt := range s.routes {
		c := classOf(rt)
		if w, ok := want[rt.Method+" "+rt.Pattern]; ok && c != w {
			t.Errorf("%s %s: class %s, want %s", rt.Method, rt.Pattern, c, w)
		}
		switch c {
		case classNone, classCreate, classRead, classRefund, classAdmin, classCallback, classOAuth:
		default:
			t.Errorf("%s %s: class %q", rt.Method, rt.Pattern, c)
		}
	}
}

// TestShedding: past the bound on requests in flight, a request gets 503
// api_error with Retry-After at once; a priority one (operator, callback)
// still gets through on the reserve.
func TestShedding(t *testing.T) {
	s := &Server{Log: slog.New(slog.DiscardHandler), Limits: &Limits{Limiter: &ratelimit.Memory{},
		Rates: map[class]ratelimit.Rate{}, Shedder: ratelimit.NewShedder(1, 1, time.Millisecond)}}
	entered, unblock := make(chan struct{}, 4), make(chan struct{})
	slow := func(w http.ResponseWriter, r *http.Request) error {
		entered <- struct{}{}
		<-unblock
		return writeJSON(w, 200, map[string]string{"ok": "yes"})
	}
	mux := http.NewServeMux()
	mux.Handle("GET /slow", s.serve(route{Method: "GET", Pattern: "/slow", Access: public, Class: classRead, Handler: slow}))
	mux.Handle("GET /cb", s.serve(route{Method: "GET", Pattern: "/cb", Access: public, Class: classCallback, Handler: slow}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	done := make(chan int, 4)
	get := func(path string) {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Error(err)
			done <- 0
			return
		}
		res.Body.Close()
		done <- res.StatusCode
	}
	go get("/slow")
	<-entered // the one slot is taken
	res, err := http.Get(srv.URL + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var eb errorBody
	json.Unmarshal(b, &eb)
	if res.StatusCode != 503 || eb.Error.Type != "api_error" || eb.Error.Code != "overloaded" || res.Header.Get("Retry-After") != "1" {
		t.Fatalf("over the bound: %d %s Retry-After %q", res.StatusCode, b, res.Header.Get("Retry-After"))
	}
	go get("/cb")
	<-entered // the callback got the reserve slot
	res, err = http.Get(srv.URL + "/cb")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 503 {
		t.Fatalf("a callback past the reserve: %d, want 503", res.StatusCode)
	}
	close(unblock)
	if a, b := <-done, <-done; a != 200 || b != 200 {
		t.Fatalf("admitted requests answered %d, %d", a, b)
	}
	if s.Limits.Shedder.InFlight() != 0 || s.Limits.Shedder.Shed() != 2 {
		t.Fatalf("in flight %d, shed %d", s.Limits.Shedder.InFlight(), s.Limits.Shedder.Shed())
	}
}

// TestSheddingStaleRequests: while the node is under pressure, a request
// that waited out max_queue_time before the process read it (here: held for
// 60 ms before its handler, while its bytes sat received in the kernel) is
// refused with 503 overloaded; a fresh one is served, and so is a stale
// callback (shed last). A node under no pressure serves a late request.
func TestSheddingStaleRequests(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the time a request waited in the kernel is read from Linux's TCP_INFO")
	}
	s := &Server{Log: slog.New(slog.DiscardHandler), Limits: &Limits{Limiter: &ratelimit.Memory{},
		Rates: map[class]ratelimit.Rate{}, Shedder: ratelimit.NewShedder(1, 1, 20*time.Millisecond)}}
	ok := func(w http.ResponseWriter, r *http.Request) error {
		return writeJSON(w, 200, map[string]string{"ok": "yes"})
	}
	entered, unblock := make(chan struct{}), make(chan struct{})
	slow := func(w http.ResponseWriter, r *http.Request) error {
		entered <- struct{}{}
		<-unblock
		return writeJSON(w, 200, map[string]string{"ok": "yes"})
	}
	mux := http.NewServeMux()
	mux.Handle("POST /read", s.serve(route{Method: "POST", Pattern: "/read", Access: public, Class: classRead, Handler: ok}))
	mux.Handle("POST /slow", s.serve(route{Method: "POST", Pattern: "/slow", Access: public, Class: classRead, Handler: slow}))
	mux.Handle("POST /cb", s.serve(route{Method: "POST", Pattern: "/cb", Access: public, Class: classCallback, Handler: ok}))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Test-Late") != "" {
			time.Sleep(60 * time.Millisecond) // the body is in the kernel's buffer meanwhile
		}
		mux.ServeHTTP(w, r)
	}))
	srv.Config.ConnContext = ratelimit.WithConn
	srv.Start()
	defer srv.Close()
	post := func(path string, late bool) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(`{"a":1}`))
		req.Header.Set("Content-Type", "application/json")
		if late {
			req.Header.Set("X-Test-Late", "1")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		defer res.Body.Close()
		var eb errorBody
		json.NewDecoder(res.Body).Decode(&eb)
		return res.StatusCode, eb.Error.Code
	}
	if code, _ := post("/read", true); code != 200 {
		t.Fatalf("a late request to a node under no pressure: %d, want 200", code)
	}
	// Pressure: the one slot is held, and a request finds it taken.
	done := make(chan int)
	go func() { code, _ := post("/slow", false); done <- code }()
	<-entered
	if code, ec := post("/read", false); code != 503 || ec != "overloaded" {
		t.Fatalf("the slot taken: %d %q, want 503 overloaded", code, ec)
	}
	close(unblock)
	if code := <-done; code != 200 {
		t.Fatalf("the held request: %d", code)
	}
	if code, _ := post("/read", false); code != 200 {
		t.Fatalf("a fresh request: %d, want 200", code)
	}
	if code, ec := post("/read", true); code != 503 || ec != "overloaded" {
		t.Fatalf("under pressure, a request that waited 60 ms against a queue time of 20 ms: %d %q, want 503 overloaded", code, ec)
	}
	if code, _ := post("/cb", true); code != 200 {
		t.Fatalf("a late callback: %d, want 200 (shed last)", code)
	}
	if sh := s.Limits.Shedder; sh.Stale() != 1 || sh.Shed() != 2 || sh.InFlight() != 0 {
		t.Fatalf("stale %d, shed %d, in flight %d; want 1, 2, 0", sh.Stale(), sh.Shed(), sh.InFlight())
	}
}
