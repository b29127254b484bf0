package payment

import (
	"github.com/paygate/paygate/internal/profitsharing"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/store"
)

// Limits from the API reference (docs/api.md).
const (
	MinExpiresIn     = 60 * time.Second
	MaxExpiresIn     = 86400 * time.Second
	DefaultExpiresIn = 900 * time.Second
	RefundWindow     = 365 * 24 * time.Hour
	maxMetadataKeys  = 20
	maxMetadataKey   = 40
	maxMetadataValue = 500
	maxURL           = 2048
)

var merchantNo = regexp.MustCompile(`^[A-Za-z0-9_\-|*.]{1,64}$`)

// CreateOrderParams are a merchant's create-order request, parsed.
type CreateOrderParams struct {
	OutTradeNo  string
	Amount      int64
	Currency    string
	Subject     string
	Description string
	Method      string
	AuthCode    string
	Card        *channel.Card
	Payer       store.Payer
	NotifyURL   string
	ReturnURL   string
	ExpiresIn   time.Duration // 0: DefaultExpiresIn
	Metadata    map[string]string
	// Customer (cus_…) is whom the order is for: the cashier offers their
	// saved cards, and to save the card they pay with.
	Customer string
	// AgreementID (agr_…) charges the order on the payer's signed
	// agreement; PaymentMethod (pm_…) on a saved card. At most one.
	AgreementID   string
	PaymentMethod string
	// SavePaymentMethod keeps the card of a card order for Customer (the
	// merchant collected the payer's consent).
	SavePaymentMethod bool
	// ProfitSharing holds the order's money once paid until it is shared
	// or released (internal/profitsharing). Left out of the parameters'
	// hash when false, so hashes of orders made before it are unchanged.
	ProfitSharing bool `json:",omitempty"`
	// FXQuote (fxq_…) pays the order at the quote's locked rate: Amount
	// and Currency must be the quote's amount and from, and its to the
	// merchant's settlement currency (fxorders.go).
	FXQuote string
	// Installments asks to pay in instalments (installments.go).
	Installments *InstallmentsParams
}

// Validate checks every field and returns the first problem as a 400 with param set.
func (p *CreateOrderParams) Validate(livemode bool, now time.Time) error {
	if p.ProfitSharing && (p.FXQuote != "" || p.Installments != nil) {
		e := errs.Invalid("profit_sharing_unsupported", "profit_sharing cannot be combined with fx_quote or installments.")
		e.Param = "profit_sharing"
		return e
	}
	if !merchantNo.MatchString(p.OutTradeNo) {
		return errs.InvalidParam("out_trade_no", "out_trade_no must be 1 to 64 characters of A-Z, a-z, 0-9 and _-|*.")
	}
	if !money.ValidAmount(p.Amount) {
		return errs.InvalidParam("amount", "amount must be an integer from 1 to 1000000000000 in the currency's minor unit.")
	}
	if !money.ValidCurrency(p.Currency) {
		e := errs.Invalid("currency_unsupported", "currency must be an upper-case ISO 4217 code such as CNY or USD.")
		e.Param = "currency"
		return e
	}
	if err := text("subject", p.Subject, 1, 128); err != nil {
		return err
	}
	if err := text("description", p.Description, 0, 1000); err != nil {
		return err
	}
	if _, ok := channel.LookupMethod(p.Method); p.Method != "" && !ok {
		return errs.InvalidParam("method", "method must be one of "+strings.Join(channel.MethodNames(), ", ")+".")
	}
	if p.Method == "" && p.AuthCode != "" {
		// A scanned payment code says which channel issued it.
		m, ok := channel.DetectMicropay(p.AuthCode)
		if !ok {
			return errs.InvalidParam("auth_code", "auth_code is not a payment code of WeChat Pay (18 digits from 10 to 15), Alipay (16 to 24 digits from 25 to 30) or UnionPay (19 digits from 62); give method as well.")
		}
		p.Method = m
	}
	if err := p.validateSource(); err != nil {
		return err
	}
	method, _ := channel.LookupMethod(p.Method)
	isMicropay := method.Kind == channel.KindMicropay
	switch {
	case isMicropay && p.AuthCode == "":
		return errs.Missing("auth_code")
	case !isMicropay && p.AuthCode != "":
		return errs.InvalidParam("auth_code", "auth_code is only for micropay methods.")
	case isMicropay && !validAuthCode(p.AuthCode):
		return errs.InvalidParam("auth_code", "auth_code must be 10 to 32 digits.")
	}
	if method.Kind == channel.KindCard && p.PaymentMethod == "" {
		if p.Card == nil {
			return errs.Missing("card")
		}
		if err := validateCard(p.Card, now); err != nil {
			return err
		}
	} else if p.Card != nil {
		return errs.InvalidParam("card", "card is only for the card method.")
	}
	if err := validatePayer(p.Payer); err != nil {
		return err
	}
	if err := payerHas(method, p.Payer); err != nil {
		return err
	}
	if err := validateURL("notify_url", p.NotifyURL, livemode); err != nil {
		return err
	}
	if err := validateURL("return_url", p.ReturnURL, false); err != nil {
		return err
	}
	if p.ExpiresIn != 0 && (p.ExpiresIn < MinExpiresIn || p.ExpiresIn > MaxExpiresIn) {
		return errs.InvalidParam("expires_in", "expires_in must be 60 to 86400 seconds.")
	}
	return ValidateMetadata(p.Metadata)
}

func text(param, s string, min, max int) error {
	n := utf8.RuneCountInString(s)
	if !utf8.ValidString(s) || n < min || n > max {
		if n == 0 && min > 0 {
			return errs.Missing(param)
		}
		return errs.InvalidParam(param, param+" must be "+strconv.Itoa(min)+" to "+strconv.Itoa(max)+" characters.")
	}
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' {
			return errs.InvalidParam(param, param+" must not contain control characters.")
		}
	}
	return nil
}

func validAuthCode(s string) bool {
	if len(s) < 10 || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func validateCard(c *channel.Card, now time.Time) error {
	if !luhn(c.Number) {
		return errs.InvalidParam("card", "card.number is not a valid card number.").WithParam("card.number")
	}
	if c.ExpMonth != 0 || c.ExpYear != 0 {
		if c.ExpMonth < 1 || c.ExpMonth > 12 {
			return errs.InvalidParam("card", "card.exp_month must be 1 to 12.").WithParam("card.exp_month")
		}
		if c.ExpYear < now.Year() || (c.ExpYear == now.Year() && c.ExpMonth < int(now.Month())) || c.ExpYear > now.Year()+50 {
			return errs.InvalidParam("card", "The card has expired or its exp_year is not plausible.").WithParam("card.exp_year")
		}
	}
	if c.CVC != "" && (len(c.CVC) < 3 || len(c.CVC) > 4 || !validDigits(c.CVC)) {
		return errs.InvalidParam("card", "card.cvc must be 3 or 4 digits.").WithParam("card.cvc")
	}
	return nil
}

func validDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// luhn reports whether number is 12..19 digits passing the Luhn check.
func luhn(number string) bool {
	if len(number) < 12 || len(number) > 19 || !validDigits(number) {
		return false
	}
	sum := 0
	for i := len(number) - 1; i >= 0; i-- {
		d := int(number[i] - '0')
		if (len(number)-i)%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func validatePayer(p store.Payer) error {
	if len(p.ID) > 128 {
		return errs.InvalidParam("payer", "payer.id must be at most 128 characters.").WithParam("payer.id")
	}
	if p.IP != "" {
		if _, err := netip.ParseAddr(p.IP); err != nil {
			return errs.InvalidParam("payer", "payer.ip must be an IPv4 or IPv6 address.").WithParam("payer.ip")
		}
	}
	if p.Country != "" && !regexp.MustCompile(`^[A-Z]{2}$`).MatchString(p.Country) {
		return errs.InvalidParam("payer", "payer.country must be an ISO 3166-1 alpha-2 code in upper case.").WithParam("payer.country")
	}
	if len(p.DeviceID) > 128 || !printableASCII(p.DeviceID) {
		return errs.InvalidParam("payer", "payer.device_id must be at most 128 printable ASCII characters without spaces.").WithParam("payer.device_id")
	}
	if err := text("payer", p.UserAgent, 0, 512); err != nil {
		return errs.InvalidParam("payer", "payer.user_agent must be at most 512 characters without control characters.").WithParam("payer.user_agent")
	}
	return nil
}

// payerHas checks that the payer fields the method's channel needs are
// given: a merchant's omission is its own error (400 parameter_missing),
// found before any channel is asked.
func payerHas(m channel.Method, p store.Payer) error {
	for _, f := range m.Requires {
		switch {
		case f == channel.PayerIP && p.IP == "":
			return errs.Missingf(f, m.Name+" needs the payer's IP address: give payer.ip.")
		case f == channel.PayerID && p.ID == "":
			return errs.Missingf(f, m.Name+" needs the payer's id at the channel (the WeChat openid): give payer.id.")
		}
	}
	return nil
}

// validateURL checks an absolute http(s) URL; live notify URLs must be https.
// Whether the host resolves to a private address is checked at delivery time
// by the notifications layer.
func validateURL(param, s string, requireHTTPS bool) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || len(s) > maxURL || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil {
		return errs.InvalidParam(param, param+" must be an absolute http or https URL of at most 2048 characters without credentials.")
	}
	if requireHTTPS && u.Scheme != "https" {
		return errs.InvalidParam(param, param+" must use https in live mode.")
	}
	return nil
}

// ValidateMetadata checks the metadata limits of the API reference (docs/api.md).
func ValidateMetadata(m map[string]string) error {
	if len(m) > maxMetadataKeys {
		return errs.InvalidParam("metadata", "metadata may have at most 20 keys.")
	}
	for k, v := range m {
		if k == "" || utf8.RuneCountInString(k) > maxMetadataKey {
			return errs.InvalidParam("metadata", "metadata keys must be 1 to 40 characters.")
		}
		if utf8.RuneCountInString(v) > maxMetadataValue {
			return errs.InvalidParam("metadata", "metadata values must be at most 500 characters.")
		}
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return errs.InvalidParam("metadata", "metadata must be valid UTF-8.")
		}
	}
	return nil
}

// validateSource checks the fields of merchant-initiated charges and saved
// cards; whether the agreement or payment method may be used is the
// billing service's to say (ChargeSources).
func (p *CreateOrderParams) validateSource() error {
	switch {
	case p.Customer != "" && !id.Valid(id.Customer, p.Customer):
		return errs.InvalidParam("customer", "customer must be a customer id (cus_…).")
	case p.AgreementID != "" && !id.Valid(id.Agreement, p.AgreementID):
		return errs.NotFound("agreement_not_found", "No such agreement.").WithParam("agreement_id")
	case p.PaymentMethod != "" && !id.Valid(id.PaymentMethod, p.PaymentMethod):
		return errs.NotFound("payment_method_not_found", "No such payment method.").WithParam("payment_method")
	case p.AgreementID != "" && p.PaymentMethod != "":
		return errs.InvalidParam("payment_method", "Give agreement_id or payment_method, not both.")
	case (p.AgreementID != "" || p.PaymentMethod != "") && (p.Card != nil || p.AuthCode != ""):
		return errs.InvalidParam("card", "An order charged on an agreement or a saved payment method takes no card or auth_code.")
	case p.SavePaymentMethod && p.Customer == "":
		return errs.Missingf("customer", "save_payment_method needs the customer the card is saved for: give customer.")
	case p.SavePaymentMethod && (p.AgreementID != "" || p.PaymentMethod != "" || (p.Method != "" && p.Method != "card")):
		return errs.InvalidParam("save_payment_method", "save_payment_method is for card payments with card data.")
	}
	if m, ok := channel.LookupMethod(p.Method); ok && m.Kind == channel.KindAgreement && p.AgreementID == "" {
		return errs.Missingf("agreement_id", p.Method+" charges a signed agreement: give agreement_id.")
	}
	return nil
}

// CreateRefundParams are a merchant's create-refund request, parsed.
type CreateRefundParams struct {
	OrderID     string
	OutTradeNo  string
	OutRefundNo string
	Amount      int64
	Reason      string
	NotifyURL   string
	Metadata    map[string]string
	// ReverseShares, for an order paid with profit sharing, says whether
	// the refund may take receivers' shares back when the order's held
	// money does not cover it (nil: yes; see sharedrefunds.go). Left out
	// of the parameters' hash when nil, so that the hashes of refunds made
	// before it existed still match.
	ReverseShares *bool `json:",omitempty"`
	// ProfitSharingReturns, when given, are the returns the refund takes
	// instead of the proportional split: each share named and how much of
	// it; together they must cover what the held money lacks (what they
	// bring beyond it stays held on the order). Left out of the hash when
	// empty.
	ProfitSharingReturns []profitsharing.RefundReturn `json:",omitempty"`
}

// Validate checks every field.
func (p *CreateRefundParams) Validate(livemode bool) error {
	switch {
	case p.OrderID == "" && p.OutTradeNo == "":
		return errs.Missing("order_id")
	case p.OrderID != "" && p.OutTradeNo != "":
		return errs.InvalidParam("out_trade_no", "Give order_id or out_trade_no, not both.")
	case p.OutTradeNo != "" && !merchantNo.MatchString(p.OutTradeNo):
		return errs.InvalidParam("out_trade_no", "out_trade_no must be 1 to 64 characters of A-Z, a-z, 0-9 and _-|*.")
	}
	if p.OutRefundNo == "" {
		return errs.Missing("out_refund_no")
	}
	if !merchantNo.MatchString(p.OutRefundNo) {
		return errs.InvalidParam("out_refund_no", "out_refund_no must be 1 to 64 characters of A-Z, a-z, 0-9 and _-|*.")
	}
	if !money.ValidAmount(p.Amount) {
		return errs.InvalidParam("amount", "amount must be an integer from 1 to 1000000000000 in the currency's minor unit.")
	}
	if err := text("reason", p.Reason, 0, 256); err != nil {
		return err
	}
	if err := validateURL("notify_url", p.NotifyURL, livemode); err != nil {
		return err
	}
	if p.ReverseShares != nil && !*p.ReverseShares && len(p.ProfitSharingReturns) > 0 {
		e := errs.Invalid("profit_sharing_returns_invalid", "profit_sharing_returns takes shares back: it cannot go with reverse_shares: false.")
		e.Param = "profit_sharing_returns"
		return e
	}
	if err := profitsharing.ValidateRefundReturns(p.ProfitSharingReturns); err != nil {
		return err
	}
	return ValidateMetadata(p.Metadata)
}

// printableASCII reports whether s is printable ASCII without spaces.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
