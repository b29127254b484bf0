package api

// Rate limits and load shedding (the mechanics are internal/ratelimit's).
//
// Every route has a class, declared in its route table or derived by
// classOf from its access and method: merchant reads are "read", merchant
// writes "create" (creating, and changing, an object), refunds "refund",
// operator requests "admin"; channel callbacks are "callback", the OAuth
// token endpoints "oauth" and the hosted cashier (web, through Guard)
// "cashier". The first four are limited per app (per operator for admin),
// the last three per source IP, since nobody is authenticated there. Health,
// the OpenAPI description and the platform's keys are not limited.
//
// Admission happens in serve once the body is read (a client sending its
// body slowly must not hold a slot): the shedder first, then the source
// IP's limit on public routes; the app's limit comes once authentication
// says which app it is. Rates are Limits.Rates unless the operator set the app's own
// (PUT /admin/v1/apps/{id}/rate-limits), read through a short cache.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/ratelimit"
	"github.com/paygate/paygate/internal/store"
)

// class is a route's rate-limit class.
type class string

const (
	classNone     class = "none"
	classCreate   class = "create"
	classRead     class = "read"
	classRefund   class = "refund"
	classAdmin    class = "admin"
	classCallback class = "callback"
	classOAuth    class = "oauth"
	classCashier  class = "cashier"
)

// appClasses are the classes limited per app, whose rates the operator can
// set for one app.
var appClasses = []class{classCreate, classRead, classRefund}

// ipClasses are the classes limited per source IP; their rates are keyed
// CLASS_ip in the rate_limits setting.
var ipClasses = []class{classCallback, classOAuth, classCashier}

// DefaultRates are the rates when the operator sets none: generous for one
// app's normal traffic, tight where a flood is an attack (OAuth token).
const DefaultRates = "create=500/s,read=1000/s,refund=100/s,admin=200/s,callback_ip=1000/s,oauth_ip=20/s,cashier_ip=60/s"

// ParseRates reads "CLASS=RATE,…" (classes create, read, refund, admin,
// callback_ip, oauth_ip, cashier_ip; rates as ratelimit.ParseRate) over
// DefaultRates: classes it does not name keep their default.
func ParseRates(s string) (map[class]ratelimit.Rate, error) {
	out := map[class]ratelimit.Rate{}
	for _, src := range []string{DefaultRates, s} {
		for item := range strings.SplitSeq(src, ",") {
			if item = strings.TrimSpace(item); item == "" {
				continue
			}
			name, v, ok := strings.Cut(item, "=")
			c, known := rateClass(strings.TrimSpace(name))
			if !ok || !known {
				return nil, fmt.Errorf("rate limit %q: want CLASS=RATE, CLASS one of create, read, refund, admin, callback_ip, oauth_ip, cashier_ip", item)
			}
			r, err := ratelimit.ParseRate(v)
			if err != nil {
				return nil, err
			}
			out[c] = r
		}
	}
	return out, nil
}

func rateClass(name string) (class, bool) {
	if c, ok := strings.CutSuffix(name, "_ip"); ok {
		return class(c), slices.Contains(ipClasses, class(c))
	}
	return class(name), name == string(classAdmin) || slices.Contains(appClasses, class(name))
}

// Limits rate-limits requests and sheds load; a nil *Limits does neither.
type Limits struct {
	Limiter ratelimit.Limiter
	// Rates are the rates by class (ParseRates).
	Rates map[class]ratelimit.Rate
	// Shedder, when set, bounds the requests in flight.
	Shedder *ratelimit.Shedder
	// AppRatesTTL is how long an app's own rates are cached (10 s when
	// zero): a change reaches every node within it.
	AppRatesTTL time.Duration

	mu       sync.Mutex
	appRates map[string]cachedRates
}

type cachedRates struct {
	rates map[class]ratelimit.Rate
	until time.Time
}

// classOf is rt's class: its own, or the one its access and method give.
func classOf(rt route) class {
	switch {
	case rt.Class != "":
		return rt.Class
	case rt.Access == operator:
		return classAdmin
	case rt.Access == merchant && rt.Method == http.MethodGet:
		return classRead
	case rt.Access == merchant:
		return classCreate
	case strings.HasPrefix(rt.Pattern, "/channels/"):
		return classCallback
	}
	return classNone
}

// priority requests (channel callbacks, operator requests) are shed last:
// losing a callback delays a payer's result, and the operator must be able
// to act on an overloaded gateway.
func priority(c class) bool { return c == classCallback || c == classAdmin }

// errOverloaded is the shedder's refusal.
func errOverloaded() *errs.Error {
	return errs.Unavailable("overloaded", "The gateway is overloaded; retry after the Retry-After delay.")
}

func errRateLimited(what string) *errs.Error {
	return errs.New(errs.KindRateLimited, "rate_limited", "Too many requests "+what+"; retry after the Retry-After delay.")
}

// admit sheds load and applies the source IP's limit for a request of class
// c. It returns what releases the request's slot (call it once done).
func (s *Server) admit(w http.ResponseWriter, r *http.Request, c class) (release func(), err error) {
	l := s.Limits
	release = func() {}
	if l == nil || c == classNone {
		return release, nil
	}
	if l.Shedder != nil {
		var waited time.Duration
		if l.Shedder.UnderPressure() { // asking the kernel is a system call: only when it may refuse
			waited, _ = ratelimit.Waited(r.Context())
		}
		rel, err := l.Shedder.AcquireWaited(r.Context(), priority(c), waited)
		if errors.Is(err, ratelimit.ErrShed) {
			w.Header().Set("Retry-After", "1")
			return release, errOverloaded()
		}
		if err != nil {
			return release, errs.Unavailable("canceled", "The request was canceled while it waited.").Wrap(err)
		}
		release = rel
	}
	if slices.Contains(ipClasses, c) {
		if err := l.check(r.Context(), w, "ip:"+string(c)+":"+sourceIP(r), l.Rates[c], "from this address"); err != nil {
			release()
			return func() {}, err
		}
	}
	return release, nil
}

// limitApp applies the limit of class c to the app (or the operator,
// appID "operator").
func (s *Server) limitApp(w http.ResponseWriter, r *http.Request, c class, appID string) error {
	l := s.Limits
	if l == nil || c == classNone || slices.Contains(ipClasses, c) {
		return nil
	}
	rate := l.Rates[c]
	if c != classAdmin {
		own, err := l.ratesOf(r.Context(), s.Store, appID)
		if err != nil {
			return err
		}
		if rt, ok := own[c]; ok {
			rate = rt
		}
	}
	return l.check(r.Context(), w, "app:"+appID+":"+string(c), rate, "for this app ("+string(c)+")")
}

// check asks the limiter about key, sets the RateLimit headers, and
// refuses with 429 when the limit is reached.
func (l *Limits) check(ctx context.Context, w http.ResponseWriter, key string, rate ratelimit.Rate, what string) error {
	if rate.Unlimited() {
		return nil
	}
	// The rate is part of the key: when the operator changes a rate, the
	// new one starts afresh rather than on a state of another scale.
	res, err := l.Limiter.Allow(ctx, key+":"+rate.String(), rate)
	if err != nil {
		return errs.Unavailable("canceled", "The request was canceled.").Wrap(err)
	}
	ratelimit.SetHeaders(w.Header(), rate, res)
	if !res.Allowed {
		return errRateLimited(what)
	}
	return nil
}

// ratesOf returns the rates the operator set for appID, cached.
func (l *Limits) ratesOf(ctx context.Context, st store.Store, appID string) (map[class]ratelimit.Rate, error) {
	now := time.Now()
	l.mu.Lock()
	c, ok := l.appRates[appID]
	l.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.rates, nil
	}
	list, err := st.RateLimitList(ctx, appID)
	if err != nil {
		return nil, err
	}
	rates := appRatesOf(list)
	ttl := l.AppRatesTTL
	if ttl <= 0 {
		ttl = 10 * time.Second
	}
	l.mu.Lock()
	if l.appRates == nil || len(l.appRates) > 100_000 {
		l.appRates = map[string]cachedRates{}
	}
	l.appRates[appID] = cachedRates{rates: rates, until: now.Add(ttl)}
	l.mu.Unlock()
	return rates, nil
}

// forget drops appID's cached rates (after this node changed them).
func (l *Limits) forget(appID string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	delete(l.appRates, appID)
	l.mu.Unlock()
}

func appRatesOf(list []*store.RateLimit) map[class]ratelimit.Rate {
	rates := map[class]ratelimit.Rate{}
	for _, rl := range list {
		if r, err := ratelimit.ParseRate(rl.Rate); err == nil {
			rates[class(rl.Class)] = r
		}
	}
	return rates
}

// sourceIP is the address a request comes from: the client, or the last
// proxy before the gateway.
func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Guard applies shedding and the cashier's per-IP limit to h (the hosted
// cashier, served outside the API), refusing in the API's error shape.
func (s *Server) Guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.init()
		release, err := s.admit(w, r, classCashier)
		if err != nil {
			s.serve(route{Access: public, Class: classNone, Handler: func(http.ResponseWriter, *http.Request) error { return err }}).ServeHTTP(w, r)
			return
		}
		defer release()
		h.ServeHTTP(w, r)
	})
}

// rateLimitsBody is an app's rate limits in the operator API: its own rate
// by class, and the rate that applies (its own or the default).
type rateLimitsBody struct {
	Object    string            `json:"object"`
	App       string            `json:"app"`
	Rates     map[string]string `json:"rates"`
	Effective map[string]string `json:"effective"`
}

func (s *Server) rateLimitsOf(appID string, list []*store.RateLimit) rateLimitsBody {
	b := rateLimitsBody{Object: "rate_limits", App: appID, Rates: map[string]string{}, Effective: map[string]string{}}
	own := appRatesOf(list)
	for _, c := range appClasses {
		eff := ratelimit.Rate{}
		if s.Limits != nil {
			eff = s.Limits.Rates[c]
		}
		if r, ok := own[c]; ok {
			b.Rates[string(c)] = r.String()
			eff = r
		}
		b.Effective[string(c)] = eff.String()
	}
	return b
}

func (s *Server) getRateLimits(w http.ResponseWriter, r *http.Request) error {
	app, err := s.Accounts.GetApp(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	list, err := s.Store.RateLimitList(r.Context(), app.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.rateLimitsOf(app.ID, list))
}

// putRateLimits sets an app's own rates: {"create":"50/s","refund":null}
// (null or "" goes back to the default).
func (s *Server) putRateLimits(w http.ResponseWriter, r *http.Request) error {
	app, err := s.Accounts.GetApp(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	var req map[string]*string
	if err := decodeJSON(r, bodyOf(r), &req); err != nil {
		return err
	}
	if len(req) == 0 {
		return errs.Invalid("parameter_missing", "Name at least one class: create, read or refund.")
	}
	names := make([]string, 0, len(req))
	for k := range req {
		names = append(names, k)
	}
	sort.Strings(names)
	rates := map[string]string{}
	for _, name := range names {
		if !slices.Contains(appClasses, class(name)) {
			return errs.Unknown(name)
		}
		v := req[name]
		if v == nil || *v == "" {
			rates[name] = ""
			continue
		}
		rt, err := ratelimit.ParseRate(*v)
		if err != nil {
			return errs.InvalidParam(name, err.Error()+".")
		}
		rates[name] = rt.String()
	}
	list, err := s.Store.RateLimitPut(r.Context(), app.ID, rates, s.Clock.Now())
	if err != nil {
		return err
	}
	s.Limits.forget(app.ID)
	return writeJSON(w, http.StatusOK, s.rateLimitsOf(app.ID, list))
}

// limitRoutes are the operator's rate limits of an app.
func (s *Server) limitRoutes() []route {
	return []route{
		{Method: "GET", Pattern: "/admin/v1/apps/{id}/rate-limits", Access: operator, Handler: s.getRateLimits},
		{Method: "PUT", Pattern: "/admin/v1/apps/{id}/rate-limits", Access: operator, Handler: s.putRateLimits},
	}
}
