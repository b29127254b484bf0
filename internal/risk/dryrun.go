package risk

import (
	"context"
	"errors"
	"time"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

// MaxDryRunAttempts bounds how many past attempts a dry run replays (the newest).
const MaxDryRunAttempts = 10000

// DryRun is what a draft rule would have done to past payments.
type DryRun struct {
	Days      int `json:"days"`
	Evaluated int `json:"evaluated"` // attempts the rule applies to
	Matched   int `json:"matched"`
	// WouldBlock and WouldReview count the matches of an enforced block or
	// review rule that were not already blocked (or in review); the
	// rule's own decision otherwise.
	WouldBlock  int `json:"would_block"`
	WouldReview int `json:"would_review"`
	Errors      int `json:"errors"` // evaluations that failed
	// Truncated is set when there were more attempts than MaxDryRunAttempts.
	Truncated bool `json:"truncated"`
	// Samples are up to 20 of the attempts it matched, newest first.
	Samples []DryRunSample `json:"samples"`
}

// DryRunSample is one attempt a draft rule matched.
type DryRunSample struct {
	Attempt    string    `json:"attempt"`
	Order      string    `json:"order"`
	MerchantID string    `json:"merchant_id"`
	Amount     int64     `json:"amount"`
	Currency   string    `json:"currency"`
	Decision   string    `json:"decision"` // what was decided then
	CreatedAt  time.Time `json:"created_at"`
}

// TestRule evaluates a draft rule (checked as CreateRule would) against the
// payment attempts of the last days days, with their stored context and
// counters recounted as they were before each attempt, and records nothing.
func (s *Service) TestRule(ctx context.Context, p RuleParams, days int) (*DryRun, error) {
	if days < 1 || days > 90 {
		return nil, errs.InvalidParam("days", "days must be 1 to 90.")
	}
	if p.Expression == nil && p.Template == nil {
		return nil, errs.Missing("rule.expression")
	}
	if p.Name == nil {
		name := "draft"
		p.Name = &name
	}
	draft := &store.RiskRule{Owner: store.RiskOwnerPlatform, Action: store.RiskBlock, Mode: ModeEnforce,
		AppliesTo: []string{store.RiskKindPayment}}
	if err := s.apply(ctx, Platform, draft, p); err != nil {
		return nil, err
	}
	snap, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	env, err := newEnv(func(name, value string) bool { return snap.lists[name].contains(value, s.Clock.Now()) })
	if err != nil {
		return nil, err
	}
	c, err := compileRule(env, draft, s.maxCost())
	if err != nil {
		return nil, err
	}
	since := s.now().Add(-time.Duration(days) * 24 * time.Hour)
	attempts, err := s.Store.RiskAttemptsSince(ctx, since, MaxDryRunAttempts+1)
	if err != nil {
		return nil, err
	}
	out := &DryRun{Days: days, Samples: []DryRunSample{}}
	if len(attempts) > MaxDryRunAttempts {
		attempts, out.Truncated = attempts[:MaxDryRunAttempts], true
	}
	for _, a := range attempts {
		act, err := inputFromContext(a.Context)
		if err != nil {
			out.Errors++
			continue
		}
		in := act.in
		in.MerchantID, in.AppID, in.Livemode = a.MerchantID, a.AppID, a.Livemode
		if !applies(draft, store.RiskKindPayment, a.MerchantID, a.AppID, a.Livemode) {
			continue
		}
		out.Evaluated++
		if c.need != 0 {
			local := in.local()
			y, m, d := local.Date()
			counts, err := s.Store.RiskCount(ctx, store.RiskCounterQuery{Need: c.need, MerchantID: a.MerchantID, Livemode: a.Livemode,
				Currency: a.Currency, PayerID: a.PayerID, IP: a.IP, DeviceID: a.DeviceID, CardFP: a.CardFP,
				Day: local.Format(time.DateOnly), DayStart: time.Date(y, m, d, 0, 0, 0, 0, local.Location()),
				Now: a.CreatedAt, Before: a.ID})
			if err != nil {
				return nil, err
			}
			act.counts = counts
		}
		matched, err := eval(c.prg, act)
		if err != nil {
			out.Errors++
			continue
		}
		if !matched {
			continue
		}
		out.Matched++
		if draft.Mode == ModeEnforce {
			switch {
			case draft.Action == store.RiskBlock && a.Decision != store.RiskBlock:
				out.WouldBlock++
			case draft.Action == store.RiskReview && a.Decision == store.RiskAllow:
				out.WouldReview++
			}
		}
		if len(out.Samples) < 20 {
			out.Samples = append(out.Samples, DryRunSample{Attempt: a.ID, Order: a.OrderID, MerchantID: a.MerchantID,
				Amount: a.Amount, Currency: a.Currency, Decision: a.Decision, CreatedAt: a.CreatedAt})
		}
	}
	return out, nil
}

// Attempt returns an attempt, with the context that was evaluated.
func (s *Service) Attempt(ctx context.Context, attemptID string) (*store.RiskAttempt, error) {
	notFound := errs.NotFound("risk_attempt_not_found", "No such risk attempt.")
	if !id.Valid(id.RiskAttempt, attemptID) {
		return nil, notFound
	}
	a, err := s.Store.RiskAttemptGet(ctx, attemptID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound
	}
	return a, err
}

// Attempts pages through attempts.
func (s *Service) Attempts(ctx context.Context, f store.RiskAttemptFilter) ([]*store.RiskAttempt, bool, error) {
	if f.Decision != "" && f.Decision != store.RiskAllow && f.Decision != store.RiskReview && f.Decision != store.RiskBlock {
		return nil, false, errs.InvalidParam("decision", "decision must be allow, review or block.")
	}
	return s.Store.RiskAttemptList(ctx, f)
}

// Reviews pages through the orders waiting for review.
func (s *Service) Reviews(ctx context.Context, p store.ListParams) ([]*store.Order, bool, error) {
	return s.Store.RiskReviewList(ctx, p)
}
