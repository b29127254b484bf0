package risk

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/metrics"
	"github.com/paygate/paygate/internal/store"
)

// compiled is a rule ready to run.
type compiled struct {
	rule  *store.RiskRule
	prg   cel.Program
	need  store.RiskCounterSet
	level int // 0 platform, 1 merchant
}

// snapshot is what evaluations read: the enabled rules, compiled, in the
// order they run, the lists and the country tables, as of one version.
type snapshot struct {
	version int64
	checked time.Time // when the version was last compared
	rules   []*compiled
	// need is every counter group some rule uses: the keys every attempt
	// locks, so an attempt of a merchant without counter rules still waits
	// for a count that another merchant's rule makes of its IP.
	need      store.RiskCounterSet
	lists     map[string]*list
	ipRanges  ranges
	binRanges ranges
}

// current returns the snapshot, reloading it when its version changed
// (checked at most every Refresh) or after Invalidate.
func (s *Service) current(ctx context.Context) (*snapshot, error) {
	snap := s.snap.Load()
	now := s.Clock.Now()
	if snap != nil && now.Sub(snap.checked) < s.refresh() {
		return snap, nil
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if cur := s.snap.Load(); cur != snap && cur != nil {
		return cur, nil // another caller reloaded meanwhile
	}
	v, err := s.Store.RiskVersion(ctx)
	if err != nil {
		if snap != nil {
			s.log().Warn("risk: cannot read the rules' version; keeping the rules loaded", "err", err)
			return snap, nil
		}
		return nil, fmt.Errorf("risk: rules version: %w", err)
	}
	if snap != nil && snap.version == v {
		next := *snap
		next.checked = now
		s.snap.Store(&next)
		return &next, nil
	}
	next, err := s.load(ctx, v)
	if err != nil {
		if snap != nil {
			s.log().Error("risk: cannot reload the rules; keeping the rules loaded", "err", err)
			return snap, nil
		}
		return nil, err
	}
	next.checked = now
	s.snap.Store(next)
	return next, nil
}

// Invalidate makes the next evaluation reload rules, lists and tables.
func (s *Service) Invalidate() {
	s.reloadMu.Lock()
	s.snap.Store(nil)
	s.reloadMu.Unlock()
}

func (s *Service) refresh() time.Duration {
	if s.Refresh > 0 {
		return s.Refresh
	}
	return time.Second
}

// load reads and compiles everything at version v.
func (s *Service) load(ctx context.Context, v int64) (*snapshot, error) {
	snap := &snapshot{version: v}
	var err error
	if snap.lists, err = s.loadLists(ctx); err != nil {
		return nil, err
	}
	if snap.ipRanges, err = s.loadRanges(ctx, store.RiskRangesIP); err != nil {
		return nil, err
	}
	if snap.binRanges, err = s.loadRanges(ctx, store.RiskRangesBIN); err != nil {
		return nil, err
	}
	rules, err := s.Store.RiskRulesAll(ctx)
	if err != nil {
		return nil, err
	}
	lists := snap.lists
	clock := s.Clock
	env, err := newEnv(func(name, value string) bool { return lists[name].contains(value, clock.Now()) })
	if err != nil {
		return nil, err
	}
	for _, r := range rules {
		c, err := compileRule(env, r, s.maxCost())
		if err != nil {
			// A rule saved by an older version that no longer compiles is
			// skipped, loudly: the others still run.
			s.log().Error("risk: rule does not compile; skipped", "rule", r.ID, "name", r.Name, "err", err)
			continue
		}
		snap.rules = append(snap.rules, c)
		snap.need |= c.need
	}
	sortRules(snap.rules)
	return snap, nil
}

func compileRule(env *cel.Env, r *store.RiskRule, maxCost uint64) (*compiled, error) {
	ck, err := check(r.Expression, maxCost)
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(r.Expression)
	if iss.Err() != nil {
		return nil, iss.Err()
	}
	prg, err := program(env, &checked{ast: ast}, maxCost)
	if err != nil {
		return nil, err
	}
	level := 0
	if r.Owner == store.RiskOwnerMerchant {
		level = 1
	}
	return &compiled{rule: r, prg: prg, need: ck.need, level: level}, nil
}

// sortRules puts rules in the order they run: the platform's, then the
// merchants'; within each, by priority, then by id (creation).
func sortRules(rs []*compiled) {
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if a.level != b.level {
			return a.level < b.level
		}
		if a.rule.Priority != b.rule.Priority {
			return a.rule.Priority < b.rule.Priority
		}
		return a.rule.ID < b.rule.ID
	})
}

// applies reports whether r is for attempts of kind in the scope.
func applies(r *store.RiskRule, kind, merchantID, appID string, live bool) bool {
	return (r.MerchantID == "" || r.MerchantID == merchantID) &&
		(r.AppID == "" || r.AppID == appID) &&
		(r.Livemode == nil || *r.Livemode == live) &&
		slices.Contains(r.AppliesTo, kind)
}

// Fired is a rule that was true for an attempt.
type Fired struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Action string `json:"action"`
	Mode   string `json:"mode"`
	// owner is the rule's owner, for metrics (a merchant's rule names are
	// not label values).
	owner string
}

// Decision is what risk control decided about an attempt.
type Decision struct {
	Decision string  `json:"decision"` // allow, review, block
	Score    int     `json:"score"`
	Rules    []Fired `json:"rules"`
	// Attempt is the recorded attempt (rsk_…), for the operator.
	Attempt string `json:"attempt,omitempty"`
	// By is the enforced rule that decided a block or a review.
	By *Fired `json:"-"`
	// ReviewRefused is set when a review was turned into a block because
	// the payment charges at once (see Check.Prepare).
	ReviewRefused bool `json:"review_refused,omitempty"`
}

// JSON is the decision as an order keeps it.
func (d *Decision) JSON() json.RawMessage {
	b, _ := json.Marshal(d)
	return b
}

// Err is the error of a block: 402 risk_error whose code is the rule's name.
func (d *Decision) Err() error {
	if d.Decision != store.RiskBlock || d.By == nil {
		return nil
	}
	msg := "The payment was refused by a risk rule."
	if d.ReviewRefused {
		msg = "The payment needs a review, which this method cannot wait for: it was refused by a risk rule."
	}
	return errs.New(errs.KindRisk, d.By.Name, msg)
}

// Check is one payment being evaluated: the rules that apply, those that
// need no counters already evaluated (outside any transaction), and what
// Record must count.
type Check struct {
	s    *Service
	snap *snapshot
	act  activation
	// rules apply to the attempt, in order; pre[i] is rule i's result when
	// it needs no counters.
	rules  []*compiled
	pre    []result
	need   store.RiskCounterSet // counters the applicable rules use
	query  store.RiskCounterQuery
	locks  []string
	day    string
	static json.RawMessage // the context without counters
	// ChargesAtOnce: a review cannot wait (the card or the payment code is
	// not kept), so a review blocks.
	chargesAtOnce bool
}

type result struct {
	done    bool
	matched bool
	err     error
}

// PaymentInput is a payment to evaluate.
type PaymentInput struct {
	Input
	// ChargesAtOnce is set for methods whose money moves in the create call
	// (card, micropay): the credentials are not kept, so such a payment
	// cannot wait for a review, and a review blocks it.
	ChargesAtOnce bool
}

// CardFacts returns what risk control keeps of a card number: its BIN,
// its last four digits and a fingerprint keyed by CardKey.
func (s *Service) CardFacts(number string) Card {
	if len(number) < 10 {
		return Card{}
	}
	m := hmac.New(sha256.New, s.CardKey)
	m.Write([]byte(number))
	return Card{BIN: number[:6], Last4: number[len(number)-4:], Fingerprint: hex.EncodeToString(m.Sum(nil))[:32]}
}

// CardKeyLabel names the key, derived from the master key, that
// fingerprints cards (CardKey).
const CardKeyLabel = "paygate/risk-card-fingerprint/v1"

// Prepare starts the evaluation of a payment: it loads what applies and
// evaluates the rules that need no counters.
func (s *Service) Prepare(ctx context.Context, pin PaymentInput) (*Check, error) {
	snap, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	in := pin.Input
	in.Kind = store.RiskKindPayment
	if err := s.complete(ctx, snap, &in); err != nil {
		return nil, err
	}
	c := s.check(snap, &in, pin.ChargesAtOnce)
	// The payer's failures in a row and usual country are read here, on
	// the read pool, not in Record's transaction: the first depends on
	// orders failing, which the channel tells later anyway, and the second
	// on a month of history; neither is worth the single writer's time.
	if slow := c.query.Need & slowCounters; slow != 0 {
		q := c.query
		q.Need = slow
		counts, err := s.Store.RiskCount(ctx, q)
		if err != nil {
			return nil, err
		}
		c.act.counts.PayerFailuresInRow, c.act.counts.PayerUsualCountry = counts.PayerFailuresInRow, counts.PayerUsualCountry
		c.query.Need &^= slow
	}
	return c, nil
}

// slowCounters are read before Record's transaction (see Prepare).
const slowCounters = store.RiskCountPayerFailures | store.RiskCountPayerUsualCountry

// check starts the evaluation of a completed payment input on snap.
func (s *Service) check(snap *snapshot, in *Input, chargesAtOnce bool) *Check {
	c := &Check{s: s, snap: snap, act: activation{in: in}, chargesAtOnce: chargesAtOnce, rules: make([]*compiled, 0, len(snap.rules))}
	for _, r := range snap.rules {
		if applies(r.rule, in.Kind, in.MerchantID, in.AppID, in.Livemode) {
			c.rules = append(c.rules, r)
			c.need |= r.need
		}
	}
	c.pre = make([]result, len(c.rules))
	for i, r := range c.rules {
		if r.need == 0 {
			m, err := eval(r.prg, &c.act)
			c.pre[i] = result{done: true, matched: m, err: err}
		}
	}
	local := in.local()
	c.day = local.Format(time.DateOnly)
	c.query = store.RiskCounterQuery{Need: c.need, MerchantID: in.MerchantID, Livemode: in.Livemode, Currency: in.Currency,
		PayerID: in.Payer.ID, IP: in.Payer.IP, DeviceID: in.Payer.DeviceID, CardFP: in.Card.Fingerprint, Day: c.day, Now: in.Now}
	c.locks = lockKeys(snap.need, in, c.day)
	c.static = c.act.contextJSON(0)
	return c
}

// NeedsCounters reports whether the decision waits for counters, which
// Record counts in its transaction.
func (c *Check) NeedsCounters() bool { return c.query.Need != 0 }

// Known returns the decision when it needs no counters (nil otherwise).
func (c *Check) Known() *Decision {
	if c.NeedsCounters() {
		return nil
	}
	return c.decide()
}

// lockKeys are the keys an attempt's counters are grouped by, for the
// counter groups need.
func lockKeys(need store.RiskCounterSet, in *Input, day string) []string {
	var ks []string
	if need&(store.RiskCountPayer|store.RiskCountPayerFailures|store.RiskCountPayerUsualCountry) != 0 && in.Payer.ID != "" {
		ks = append(ks, "payer:"+in.MerchantID+":"+in.Payer.ID)
	}
	if need&store.RiskCountIP != 0 && in.Payer.IP != "" {
		ks = append(ks, "ip:"+in.Payer.IP)
	}
	if need&store.RiskCountDevice != 0 && in.Payer.DeviceID != "" {
		ks = append(ks, "device:"+in.Payer.DeviceID)
	}
	if need&store.RiskCountCard != 0 && in.Card.Fingerprint != "" {
		ks = append(ks, "card:"+in.Card.Fingerprint)
	}
	if need&store.RiskCountMerchantToday != 0 {
		ks = append(ks, "merchant:"+in.MerchantID+":"+day)
	}
	return ks
}

// complete fills what the engine adds to an input: the time, the
// merchant's zone, the countries of the IP and the card.
func (s *Service) complete(ctx context.Context, snap *snapshot, in *Input) error {
	if in.Now.IsZero() {
		in.Now = s.Clock.Now().UTC().Truncate(time.Microsecond)
	}
	loc, name, err := s.zone(ctx, in.MerchantID)
	if err != nil {
		return err
	}
	in.loc, in.Timezone = loc, name
	in.IPCountry = snap.ipRanges.lookup(ipKey(in.Payer.IP))
	in.CardCountry = snap.binRanges.lookup(in.Card.BIN)
	return nil
}

// zone returns the merchant's time zone, cached: merchants' zones do not change.
func (s *Service) zone(ctx context.Context, merchantID string) (*time.Location, string, error) {
	if z, ok := s.zones.Load(merchantID); ok {
		zz := z.(zoneOf)
		return zz.loc, zz.name, nil
	}
	m, err := s.Store.MerchantGet(ctx, merchantID)
	if err != nil {
		return nil, "", fmt.Errorf("risk: merchant %s: %w", merchantID, err)
	}
	loc, err := time.LoadLocation(m.Timezone)
	if err != nil {
		loc = time.UTC
	}
	s.zones.Store(merchantID, zoneOf{loc, m.Timezone})
	return loc, m.Timezone, nil
}

type zoneOf struct {
	loc  *time.Location
	name string
}

// Record finishes the evaluation and records the attempt, in one
// transaction: it takes the locks of the attempt's keys, counts, decides,
// records the attempt, then calls write with the decision (to insert the
// order, or nothing) in the same transaction. Counting and recording are
// thus one step: two payments of one payer, on one node or several, never
// both pass a limit only one should pass.
func (s *Service) Record(ctx context.Context, c *Check, write func(tx store.Tx, d *Decision) error) (*Decision, error) {
	d, durable, err := s.RecordEarly(ctx, c, write)
	if err != nil {
		return nil, err
	}
	if err := durable(); err != nil {
		return nil, err
	}
	return d, nil
}

// RecordEarly is Record returning as soon as its transaction has run, before
// the commit is durable where the store batches commits (store.InTxEarly):
// the caller may ask a channel meanwhile, and must call durable, and make
// what it writes next check that the attempt is there (a write after a
// failed batch).
func (s *Service) RecordEarly(ctx context.Context, c *Check, write func(tx store.Tx, d *Decision) error) (*Decision, func() error, error) {
	var out *Decision
	in := c.act.in
	durable, err := s.Store.InTxEarly(ctx, func(tx store.Tx) error {
		act := c.act
		if c.query.Need != 0 {
			if err := tx.RiskLock(ctx, c.locks); err != nil {
				return err
			}
			counts, err := tx.RiskCount(ctx, c.query)
			if err != nil {
				return err
			}
			counts.PayerFailuresInRow, counts.PayerUsualCountry = act.counts.PayerFailuresInRow, act.counts.PayerUsualCountry
			act.counts = counts
		}
		d := c.decideWith(&act)
		d.Attempt = id.New(id.RiskAttempt, in.Now)
		a := &store.RiskAttempt{
			ID: d.Attempt, Kind: in.Kind, MerchantID: in.MerchantID, AppID: in.AppID, Livemode: in.Livemode,
			OrderID: in.OrderID, OutTradeNo: in.OutTradeNo, PayerID: in.Payer.ID, IP: in.Payer.IP, DeviceID: in.Payer.DeviceID,
			CardFP: in.Card.Fingerprint, Country: in.IPCountry, Amount: in.Amount, Currency: in.Currency,
			Decision: d.Decision, Score: d.Score, Rules: mustJSON(d.Rules), Context: c.contextWith(&act), CreatedAt: in.Now,
		}
		if a.Country == "" {
			a.Country = in.Payer.Country
		}
		if err := tx.RiskAttemptAdd(ctx, a, c.day); err != nil {
			return err
		}
		if write != nil {
			if err := write(tx, d); err != nil {
				return err
			}
		}
		out = d
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	s.logDecision(out, in)
	if s.Metrics != nil {
		fired := make([]metrics.RiskRule, len(out.Rules))
		for i, f := range out.Rules {
			fired[i] = metrics.RiskRule{Name: f.Name, Action: f.Action, Mode: f.Mode, Platform: f.owner == store.RiskOwnerPlatform}
		}
		s.Metrics.RiskDecision(out.Decision, fired)
	}
	return out, durable, nil
}

func (s *Service) logDecision(d *Decision, in *Input) {
	if d.Decision == store.RiskAllow && len(d.Rules) == 0 {
		return
	}
	s.log().Info("risk decision", "decision", d.Decision, "score", d.Score, "attempt", d.Attempt, "order", in.OrderID,
		"merchant", in.MerchantID, "rules", len(d.Rules))
}

// contextWith is the stored context: the static part and the counters counted.
func (c *Check) contextWith(a *activation) json.RawMessage {
	if c.need == 0 {
		return c.static
	}
	out := make([]byte, 0, len(c.static)+512)
	out = append(out, c.static[:len(c.static)-1]...)
	counters := a.appendContext(nil, c.need, false)
	if len(counters) > 2 {
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, counters[1:len(counters)-1]...)
	}
	return append(out, '}')
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// decide combines the rules' results with no counters.
func (c *Check) decide() *Decision { return c.decideWith(&c.act) }

// decideWith runs the rules in order and combines what fired:
//   - a rule in observe mode is recorded and changes nothing;
//   - an enforced block decides at once;
//   - an enforced review makes the decision review (unless a block comes);
//   - an enforced allow skips the later rules of its level (the
//     platform's, or the merchant's): a merchant's allow never undoes what
//     a platform rule decided, and a platform allow leaves the merchant's
//     own rules to run.
//
// A rule whose evaluation fails (its cost limit, a missing map key) does
// not fire. A review of a payment that charges at once becomes a block.
func (c *Check) decideWith(a *activation) *Decision {
	d := &Decision{Decision: store.RiskAllow, Rules: []Fired{}}
	skipLevel := -1
	for i, r := range c.rules {
		if r.level == skipLevel {
			continue
		}
		res := c.pre[i]
		if !res.done {
			res.matched, res.err = eval(r.prg, a)
		}
		if res.err != nil {
			c.s.log().Warn("risk rule failed to evaluate; it does not fire", "rule", r.rule.ID, "name", r.rule.Name, "err", res.err)
			continue
		}
		if !res.matched {
			continue
		}
		f := Fired{ID: r.rule.ID, Name: r.rule.Name, Action: r.rule.Action, Mode: r.rule.Mode, owner: r.rule.Owner}
		d.Rules = append(d.Rules, f)
		if r.rule.Mode == ModeObserve {
			continue
		}
		switch r.rule.Action {
		case store.RiskBlock:
			d.Decision, d.By = store.RiskBlock, &f
			d.Score = score(d.Rules)
			return d
		case store.RiskReview:
			if d.Decision == store.RiskAllow {
				d.Decision, d.By = store.RiskReview, &f
			}
		case store.RiskAllow:
			skipLevel = r.level
		}
	}
	d.Score = score(d.Rules)
	if d.Decision == store.RiskReview && c.chargesAtOnce {
		d.Decision, d.ReviewRefused = store.RiskBlock, true
	}
	return d
}

// score summarises what fired, 0 to 100: 100 for an enforced block, 50 for
// each enforced review. Rules in observe mode do not count.
func score(fired []Fired) int {
	n := 0
	for _, f := range fired {
		if f.Mode == ModeObserve {
			continue
		}
		switch f.Action {
		case store.RiskBlock:
			n += 100
		case store.RiskReview:
			n += 50
		}
	}
	return min(n, 100)
}

// RefundInput is a refund to evaluate: the order's input and the refund.
type RefundInput struct {
	Input
}

// CheckRefund evaluates the rules that apply to refunds. Counters are read
// without locks (a refund changes no counter). A refused refund is recorded
// as an attempt; an allowed one is not.
func (s *Service) CheckRefund(ctx context.Context, rin RefundInput) (*Decision, error) {
	snap, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	in := rin.Input
	in.Kind = store.RiskKindRefund
	if err := s.complete(ctx, snap, &in); err != nil {
		return nil, err
	}
	c := &Check{s: s, snap: snap, act: activation{in: &in}}
	for _, r := range snap.rules {
		if applies(r.rule, in.Kind, in.MerchantID, in.AppID, in.Livemode) {
			c.rules = append(c.rules, r)
			c.need |= r.need
		}
	}
	if len(c.rules) == 0 {
		return &Decision{Decision: store.RiskAllow, Rules: []Fired{}}, nil
	}
	c.pre = make([]result, len(c.rules))
	c.day = in.local().Format(time.DateOnly)
	if c.need != 0 {
		counts, err := s.Store.RiskCount(ctx, store.RiskCounterQuery{Need: c.need, MerchantID: in.MerchantID, Livemode: in.Livemode,
			Currency: in.Currency, PayerID: in.Payer.ID, IP: in.Payer.IP, DeviceID: in.Payer.DeviceID, Day: c.day, Now: in.Now})
		if err != nil {
			return nil, err
		}
		c.act.counts = counts
	}
	d := c.decide()
	if d.Decision == store.RiskBlock || len(d.Rules) > 0 {
		c.static = c.act.contextJSON(0)
		d.Attempt = id.New(id.RiskAttempt, in.Now)
		a := &store.RiskAttempt{ID: d.Attempt, Kind: in.Kind, MerchantID: in.MerchantID, AppID: in.AppID, Livemode: in.Livemode,
			OrderID: in.OrderID, OutTradeNo: in.OutTradeNo, PayerID: in.Payer.ID, IP: in.Payer.IP, DeviceID: in.Payer.DeviceID,
			Country: in.IPCountry, Amount: in.RefundAmount, Currency: in.Currency, Decision: d.Decision, Score: d.Score,
			Rules: mustJSON(d.Rules), Context: c.contextWith(&c.act), CreatedAt: in.Now}
		if err := s.Store.InTx(ctx, func(tx store.Tx) error { return tx.RiskAttemptAdd(ctx, a, "") }); err != nil {
			return nil, err
		}
		s.logDecision(d, &in)
	}
	return d, nil
}

// Service state that is not configuration.
type engineState struct {
	snap     atomic.Pointer[snapshot]
	reloadMu sync.Mutex
	zones    sync.Map // merchant id → zoneOf
}
