package profitsharing

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

// Receiver types. TypeMerchant is another merchant of the platform: its
// share goes to its available balance, with no channel involved. The
// others are account holders at a channel, paid by the order's channel
// out of the trade.
const (
	TypeMerchant = "merchant"
	// WeChat Pay's PERSONAL_OPENID and MERCHANT_ID.
	TypeWeChatOpenID   = "wechatpay_openid"
	TypeWeChatMerchant = "wechatpay_merchant"
	// Alipay's userId (2088…) and loginName.
	TypeAlipayUserID = "alipay_user_id"
	TypeAlipayLogin  = "alipay_login"
	// TypeSandbox is an account holder at the sandbox (test mode).
	TypeSandbox = "sandbox"
)

// provider is the channel a receiver type holds its account at.
func provider(typ string) string {
	switch typ {
	case TypeWeChatOpenID, TypeWeChatMerchant:
		return "wechatpay"
	case TypeAlipayUserID, TypeAlipayLogin:
		return "alipay"
	case TypeSandbox:
		return "sandbox"
	}
	return ""
}

// Bounds of a receiver's text, in characters.
const (
	MaxAccount = 64
	MaxName    = 64
)

// ReceiverParams are a receiver's parameters.
type ReceiverParams struct {
	Type        string
	Account     string
	Name        string
	Description string
}

func (p *ReceiverParams) validate(sc store.Scope) error {
	switch {
	case p.Type == "":
		return errs.Missing("type")
	case p.Type != TypeMerchant && provider(p.Type) == "":
		return errs.InvalidParam("type", "type must be merchant, wechatpay_openid, wechatpay_merchant, alipay_user_id, alipay_login or (test mode) sandbox.")
	case p.Type == TypeSandbox && sc.Livemode:
		return errs.InvalidParam("type", "The sandbox takes test-mode receivers only.")
	case strings.TrimSpace(p.Account) == "":
		return errs.Missing("account")
	case !printable(p.Account, MaxAccount) || strings.TrimSpace(p.Account) != p.Account:
		return errs.InvalidParam("account", fmt.Sprintf("account must be 1 to %d printable characters without surrounding spaces.", MaxAccount))
	case p.Type == TypeMerchant && (!id.Valid(id.Merchant, p.Account) || p.Account == sc.MerchantID):
		return errs.InvalidParam("account", "A merchant receiver's account is another merchant's id (mch_…).")
	case !printable(p.Name, MaxName):
		return errs.InvalidParam("name", fmt.Sprintf("name must be at most %d printable characters.", MaxName))
	case p.Type == TypeWeChatMerchant && strings.TrimSpace(p.Name) == "":
		// WeChat Pay's receivers/add requires a MERCHANT_ID receiver's full
		// name (sent encrypted), and checks it.
		return errs.Missingf("name", "A wechatpay_merchant receiver needs name, the merchant's full name, which WeChat Pay checks.")
	case !printable(p.Description, MaxDescription):
		return errs.InvalidParam("description", fmt.Sprintf("description must be at most %d printable characters.", MaxDescription))
	}
	return nil
}

// CreateReceiver registers a receiver for the scope's merchant in its
// mode. created is false when the merchant had it (it is returned as it
// is). A merchant receiver must exist.
func (s *Service) CreateReceiver(ctx context.Context, sc store.Scope, p ReceiverParams) (*store.ProfitSharingReceiver, bool, error) {
	if err := p.validate(sc); err != nil {
		return nil, false, err
	}
	if r, err := s.Store.ProfitSharingReceiverFind(ctx, sc.MerchantID, sc.Livemode, p.Type, p.Account); err == nil {
		return r, false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, false, err
	}
	if p.Type == TypeMerchant {
		if _, err := s.Store.MerchantGet(ctx, p.Account); errors.Is(err, store.ErrNotFound) {
			return nil, false, errs.InvalidParam("account", "No merchant has this id.")
		} else if err != nil {
			return nil, false, err
		}
	}
	now := s.now()
	r := &store.ProfitSharingReceiver{ID: id.New(id.ProfitSharingReceiver, now), MerchantID: sc.MerchantID, Livemode: sc.Livemode,
		Type: p.Type, Account: p.Account, Name: p.Name, Description: p.Description, CreatedAt: now}
	err := s.Store.ProfitSharingReceiverCreate(ctx, r)
	if errors.Is(err, store.ErrConflict) { // a concurrent create won
		r, err = s.Store.ProfitSharingReceiverFind(ctx, sc.MerchantID, sc.Livemode, p.Type, p.Account)
		return r, false, err
	}
	return r, err == nil, err
}

// ListReceivers lists the scope's merchant's receivers, newest first.
func (s *Service) ListReceivers(ctx context.Context, sc store.Scope, p store.ListParams) ([]*store.ProfitSharingReceiver, bool, error) {
	return s.Store.ProfitSharingReceiverList(ctx, sc.MerchantID, sc.Livemode, p)
}

// receiver returns the scope's receiver, or ErrReceiverNotFound.
func (s *Service) receiver(ctx context.Context, sc store.Scope, receiverID string) (*store.ProfitSharingReceiver, error) {
	if !id.Valid(id.ProfitSharingReceiver, receiverID) {
		return nil, ErrReceiverNotFound
	}
	r, err := s.Store.ProfitSharingReceiverGet(ctx, sc.MerchantID, sc.Livemode, receiverID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrReceiverNotFound
	}
	return r, err
}
