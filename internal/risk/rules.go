package risk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

// Errors of rules.
var (
	ErrRuleNotFound     = errs.NotFound("risk_rule_not_found", "No such risk rule.")
	ErrMerchantNotFound = errs.NotFound("merchant_not_found", "No such merchant.")
)

// ruleName: a rule's name is the code of the risk_error it causes.
var ruleName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Author is who writes a rule: the platform's operator, or a merchant
// through its key (whose rules apply to its own payments in its key's mode).
type Author struct {
	Merchant bool
	Scope    store.Scope // the merchant's key, when Merchant
}

// Platform is the operator.
var Platform = Author{}

// RuleParams create or change a rule; nil fields are left as they are (or
// take their default on create).
type RuleParams struct {
	Name        *string
	Description *string
	Expression  *string
	Template    *string
	Params      json.RawMessage
	Action      *string
	Mode        *string
	Priority    *int
	MerchantID  *string
	AppID       *string
	Livemode    *bool
	// LivemodeSet is true when the scope's livemode was given (possibly null).
	LivemodeSet bool
	AppliesTo   []string
	Disabled    *bool
}

// CreateRule checks and saves a rule.
func (s *Service) CreateRule(ctx context.Context, by Author, p RuleParams) (*store.RiskRule, error) {
	now := s.now()
	r := &store.RiskRule{ID: id.New(id.RiskRule, now), Owner: store.RiskOwnerPlatform, Action: store.RiskBlock, Mode: ModeEnforce,
		Priority: 100, AppliesTo: []string{store.RiskKindPayment}, CreatedAt: now, UpdatedAt: now}
	if p.Name == nil {
		return nil, errs.Missing("name")
	}
	if p.Expression == nil && p.Template == nil {
		return nil, errs.Missing("expression")
	}
	if by.Merchant {
		n, err := s.Store.RiskRuleCount(ctx, by.Scope.MerchantID)
		if err != nil {
			return nil, err
		}
		if n >= s.merchantMaxRules() {
			return nil, errs.Invalid("risk_rule_limit", fmt.Sprintf("A merchant may have at most %d risk rules.", s.merchantMaxRules()))
		}
	}
	if err := s.apply(ctx, by, r, p); err != nil {
		return nil, err
	}
	if err := s.Store.RiskRuleCreate(ctx, r); err != nil {
		return nil, err
	}
	s.Invalidate()
	return r, nil
}

// UpdateRule changes the fields p gives.
func (s *Service) UpdateRule(ctx context.Context, by Author, ruleID string, p RuleParams) (*store.RiskRule, error) {
	r, err := s.GetRule(ctx, by, ruleID)
	if err != nil {
		return nil, err
	}
	if err := s.apply(ctx, by, r, p); err != nil {
		return nil, err
	}
	r.UpdatedAt = s.now()
	if err := s.Store.RiskRuleUpdate(ctx, r); errors.Is(err, store.ErrNotFound) {
		return nil, ErrRuleNotFound
	} else if err != nil {
		return nil, err
	}
	s.Invalidate()
	return r, nil
}

// GetRule returns a rule the author may see: any for the platform, its
// own for a merchant.
func (s *Service) GetRule(ctx context.Context, by Author, ruleID string) (*store.RiskRule, error) {
	if !id.Valid(id.RiskRule, ruleID) {
		return nil, ErrRuleNotFound
	}
	r, err := s.Store.RiskRuleGet(ctx, ruleID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && by.Merchant && !owns(by, r)) {
		return nil, ErrRuleNotFound
	}
	return r, err
}

func owns(by Author, r *store.RiskRule) bool {
	return r.Owner == store.RiskOwnerMerchant && r.MerchantID == by.Scope.MerchantID &&
		r.Livemode != nil && *r.Livemode == by.Scope.Livemode
}

// DeleteRule deletes a rule.
func (s *Service) DeleteRule(ctx context.Context, by Author, ruleID string) error {
	if _, err := s.GetRule(ctx, by, ruleID); err != nil {
		return err
	}
	if err := s.Store.RiskRuleDelete(ctx, ruleID); errors.Is(err, store.ErrNotFound) {
		return ErrRuleNotFound
	} else if err != nil {
		return err
	}
	s.Invalidate()
	return nil
}

// ListRules pages through the rules the author may see.
func (s *Service) ListRules(ctx context.Context, by Author, f store.RiskRuleFilter) ([]*store.RiskRule, bool, error) {
	if by.Merchant {
		live := by.Scope.Livemode
		f.Owner, f.MerchantID, f.Livemode = store.RiskOwnerMerchant, by.Scope.MerchantID, &live
	}
	return s.Store.RiskRuleList(ctx, f)
}

// apply checks p and sets it on r.
func (s *Service) apply(ctx context.Context, by Author, r *store.RiskRule, p RuleParams) error {
	if p.Name != nil {
		if !ruleName.MatchString(*p.Name) {
			return errs.InvalidParam("name", "name must be 1 to 64 characters of a-z, 0-9 and _, starting with a letter: it is the code of the risk_error a block answers.")
		}
		r.Name = *p.Name
	}
	if p.Description != nil {
		if len(*p.Description) > 1000 {
			return errs.InvalidParam("description", "description must be at most 1000 characters.")
		}
		r.Description = *p.Description
	}
	if p.Action != nil {
		if !slices.Contains([]string{store.RiskBlock, store.RiskReview, store.RiskAllow}, *p.Action) {
			return errs.InvalidParam("action", "action must be block, review or allow.")
		}
		r.Action = *p.Action
	}
	if p.Mode != nil {
		if *p.Mode != ModeEnforce && *p.Mode != ModeObserve {
			return errs.InvalidParam("mode", "mode must be enforce or observe.")
		}
		r.Mode = *p.Mode
	}
	if p.Priority != nil {
		if *p.Priority < 0 || *p.Priority > 10000 {
			return errs.InvalidParam("priority", "priority must be 0 to 10000 (lower runs first).")
		}
		r.Priority = *p.Priority
	}
	if p.Disabled != nil {
		r.Disabled = *p.Disabled
	}
	if p.AppliesTo != nil {
		if len(p.AppliesTo) == 0 {
			return errs.InvalidParam("applies_to", `applies_to must list "payment", "refund" or both.`)
		}
		var out []string
		for _, k := range p.AppliesTo {
			if k != store.RiskKindPayment && k != store.RiskKindRefund {
				return errs.InvalidParam("applies_to", `applies_to must list "payment", "refund" or both.`)
			}
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
		r.AppliesTo = out
	}
	if r.Action == store.RiskReview && slices.Contains(r.AppliesTo, store.RiskKindRefund) {
		return errs.InvalidParam("action", "A refund cannot wait for a review: a rule that applies to refunds may block or allow.")
	}
	if err := s.scope(ctx, by, r, p); err != nil {
		return err
	}
	switch {
	case p.Expression != nil && p.Template != nil:
		return errs.InvalidParam("template", "Give expression or template (with params), not both.")
	case p.Template != nil:
		t, ok := lookupTemplate(*p.Template)
		if !ok {
			names := make([]string, len(templates))
			for i, t := range templates {
				names[i] = t.Name
			}
			return errs.InvalidParam("template", fmt.Sprintf("template must be one of %v.", names))
		}
		var tp templateParams
		if len(p.Params) > 0 && string(p.Params) != "null" {
			if err := json.Unmarshal(p.Params, &tp); err != nil {
				return errs.InvalidParam("params", "params must be an object.")
			}
		}
		expr, err := t.expand(ctx, s, tp)
		if err != nil {
			return err
		}
		norm, _ := json.Marshal(tp)
		if tp == nil {
			norm = []byte("{}")
		}
		r.Template, r.Params, r.Expression = t.Name, norm, expr
	case p.Expression != nil:
		if len(p.Params) > 0 && string(p.Params) != "null" {
			return errs.InvalidParam("params", "params go with a template.")
		}
		r.Template, r.Params, r.Expression = "", nil, *p.Expression
	}
	maxCost := s.maxCost()
	if r.Owner == store.RiskOwnerMerchant {
		maxCost = s.merchantMaxCost()
	}
	if _, err := check(r.Expression, maxCost); err != nil {
		return err
	}
	return nil
}

// scope sets who the rule is for: a merchant's rule is its own, in its
// key's mode; the operator's may name a merchant, an app, a mode.
func (s *Service) scope(ctx context.Context, by Author, r *store.RiskRule, p RuleParams) error {
	if by.Merchant {
		if p.MerchantID != nil && *p.MerchantID != by.Scope.MerchantID {
			return errs.InvalidParam("scope", "A merchant's rule applies to its own payments.").WithParam("scope.merchant_id")
		}
		if p.LivemodeSet {
			return errs.InvalidParam("scope", "A merchant's rule applies in the mode of the key that writes it.").WithParam("scope.livemode")
		}
		live := by.Scope.Livemode
		r.Owner, r.MerchantID, r.Livemode = store.RiskOwnerMerchant, by.Scope.MerchantID, &live
	} else {
		if p.MerchantID != nil {
			r.MerchantID = *p.MerchantID
		}
		if p.LivemodeSet {
			r.Livemode = p.Livemode
		}
	}
	if p.AppID != nil {
		r.AppID = *p.AppID
	}
	if r.MerchantID != "" && (p.MerchantID != nil || by.Merchant) {
		if _, err := s.Store.MerchantGet(ctx, r.MerchantID); errors.Is(err, store.ErrNotFound) {
			return errs.InvalidParam("scope", "No such merchant.").WithParam("scope.merchant_id")
		} else if err != nil {
			return err
		}
	}
	if r.AppID != "" && p.AppID != nil {
		a, err := s.Store.AppGet(ctx, r.AppID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (r.MerchantID == "" || a.MerchantID != r.MerchantID)) {
			return errs.InvalidParam("scope", "scope.app_id must be an app of scope.merchant_id.").WithParam("scope.app_id")
		} else if err != nil {
			return err
		}
	}
	return nil
}
