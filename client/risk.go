package client

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// RiskRule is a risk rule: a CEL expression (written, or expanded from a
// template and its parameters) evaluated on every payment before any
// channel is called, and what it does when true.
type RiskRule struct {
	ID          string          `json:"id"`
	Object      string          `json:"object"` // "risk_rule"
	Name        string          `json:"name"`   // the code of the risk_error a block answers
	Description string          `json:"description"`
	Owner       string          `json:"owner"` // platform or merchant
	Expression  string          `json:"expression"`
	Template    string          `json:"template,omitempty"`
	Params      json.RawMessage `json:"params,omitempty"`
	Action      string          `json:"action"` // block, review, allow
	Mode        string          `json:"mode"`   // enforce, observe
	Priority    int             `json:"priority"`
	Scope       RiskScope       `json:"scope"`
	AppliesTo   []string        `json:"applies_to"` // payment, refund
	Disabled    bool            `json:"disabled"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// RiskScope is who a rule applies to: empty fields are "every".
type RiskScope struct {
	MerchantID string `json:"merchant_id,omitempty"`
	AppID      string `json:"app_id,omitempty"`
	Livemode   *bool  `json:"livemode"` // null: both modes
}

// RiskRuleParams create or change a rule (POST /v1/risk/rules, and
// /admin/v1/risk/rules for the operator). Give Expression, or Template with
// Params. On a change, fields left nil stay as they are.
type RiskRuleParams struct {
	Name        *string         `json:"name,omitempty"`
	Description *string         `json:"description,omitempty"`
	Expression  *string         `json:"expression,omitempty"`
	Template    *string         `json:"template,omitempty"`
	Params      json.RawMessage `json:"params,omitempty"`
	Action      *string         `json:"action,omitempty"`
	Mode        *string         `json:"mode,omitempty"`
	Priority    *int            `json:"priority,omitempty"`
	Scope       *RiskScope      `json:"scope,omitempty"`
	AppliesTo   []string        `json:"applies_to,omitempty"`
	Disabled    *bool           `json:"disabled,omitempty"`
}

// RiskList is a named list rules test with in_list('name', value).
type RiskList struct {
	ID          string    `json:"id"`
	Object      string    `json:"object"` // "risk_list"
	Name        string    `json:"name"`
	Kind        string    `json:"kind"` // payer_id, ip, cidr, device_id, card_bin, card_fingerprint
	Description string    `json:"description"`
	Entries     int       `json:"entries"`
	CreatedAt   time.Time `json:"created_at"`
}

// RiskListEntry is one value of a list.
type RiskListEntry struct {
	Object    string     `json:"object"` // "risk_list_entry"
	Value     string     `json:"value"`
	Reason    string     `json:"reason"`
	ExpiresAt *time.Time `json:"expires_at"`
	CreatedAt time.Time  `json:"created_at"`
}

// RiskAttempt is one evaluated payment (allowed, sent to review or
// blocked) or refused refund, with the context that was evaluated.
type RiskAttempt struct {
	ID         string          `json:"id"`
	Object     string          `json:"object"` // "risk_attempt"
	Kind       string          `json:"kind"`   // payment, refund
	MerchantID string          `json:"merchant_id"`
	AppID      string          `json:"app_id"`
	Livemode   bool            `json:"livemode"`
	OrderID    string          `json:"order_id"` // for a block, the id the order would have had
	OutTradeNo string          `json:"out_trade_no"`
	Amount     int64           `json:"amount"`
	Currency   string          `json:"currency"`
	Decision   string          `json:"decision"`
	Score      int             `json:"score"`
	Rules      []RiskRuleFired `json:"rules"`
	Context    json.RawMessage `json:"context"`
	CreatedAt  time.Time       `json:"created_at"`
}

// RiskReview is an order waiting for the operator's review.
type RiskReview struct {
	Object     string       `json:"object"` // "risk_review"
	MerchantID string       `json:"merchant_id"`
	Order      Order        `json:"order"`
	Attempt    *RiskAttempt `json:"attempt"`
}

// RiskDryRun is what a draft rule would have done to past payments
// (POST /admin/v1/risk/rules/test).
type RiskDryRun struct {
	Object      string `json:"object"` // "risk_dry_run"
	Days        int    `json:"days"`
	Evaluated   int    `json:"evaluated"`
	Matched     int    `json:"matched"`
	WouldBlock  int    `json:"would_block"`
	WouldReview int    `json:"would_review"`
	Errors      int    `json:"errors"`
	Truncated   bool   `json:"truncated"`
	Samples     []struct {
		Attempt    string    `json:"attempt"`
		Order      string    `json:"order"`
		MerchantID string    `json:"merchant_id"`
		Amount     int64     `json:"amount"`
		Currency   string    `json:"currency"`
		Decision   string    `json:"decision"`
		CreatedAt  time.Time `json:"created_at"`
	} `json:"samples"`
}

// CreateRiskRule writes one of the merchant's own risk rules; it applies to
// the merchant's payments in the key's mode and can only tighten what the
// platform's rules decide.
func (c *Client) CreateRiskRule(ctx context.Context, p RiskRuleParams, opts ...RequestOption) (*RiskRule, error) {
	return call[RiskRule](ctx, c, http.MethodPost, "/v1/risk/rules", p, opts)
}

// ListRiskRules lists the merchant's own risk rules.
func (c *Client) ListRiskRules(ctx context.Context, p ListParams, opts ...RequestOption) (*List[RiskRule], error) {
	return call[List[RiskRule]](ctx, c, http.MethodGet, "/v1/risk/rules"+p.query(), nil, opts)
}

// GetRiskRule retrieves one of the merchant's risk rules.
func (c *Client) GetRiskRule(ctx context.Context, id string, opts ...RequestOption) (*RiskRule, error) {
	seg, err := segment("rule id", id)
	if err != nil {
		return nil, err
	}
	return call[RiskRule](ctx, c, http.MethodGet, "/v1/risk/rules/"+seg, nil, opts)
}

// UpdateRiskRule changes the fields p gives.
func (c *Client) UpdateRiskRule(ctx context.Context, id string, p RiskRuleParams, opts ...RequestOption) (*RiskRule, error) {
	seg, err := segment("rule id", id)
	if err != nil {
		return nil, err
	}
	return call[RiskRule](ctx, c, http.MethodPost, "/v1/risk/rules/"+seg, p, opts)
}

// DeleteRiskRule deletes one of the merchant's risk rules.
func (c *Client) DeleteRiskRule(ctx context.Context, id string, opts ...RequestOption) (*DeletedObject, error) {
	seg, err := segment("rule id", id)
	if err != nil {
		return nil, err
	}
	return call[DeletedObject](ctx, c, http.MethodDelete, "/v1/risk/rules/"+seg, nil, opts)
}
