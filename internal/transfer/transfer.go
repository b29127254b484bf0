package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/channelaccount"
	"github.com/paygate/paygate/internal/clock"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/fx"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/jobs"
	"github.com/paygate/paygate/internal/ledger"
	"github.com/paygate/paygate/internal/money"
	"github.com/paygate/paygate/internal/notify"
	"github.com/paygate/paygate/internal/store"
)

// Errors of the transfer API.
var (
	ErrNotFound        = errs.NotFound("transfer_not_found", "No such transfer.")
	ErrDuplicate       = errs.Conflict("duplicate_out_transfer_no", "A transfer with this out_transfer_no exists with other parameters.")
	ErrNotSupported    = errs.Invalid("transfers_not_supported", "No channel account can pay transfers to this destination method in this mode.")
	ErrCurrencyNotHeld = errs.Invalid("currency_not_held", "The merchant holds no balance in this currency.")
)

// ErrInsufficient is the error of a transfer its available balance does
// not cover.
func ErrInsufficient(available int64, currency string) *errs.Error {
	return errs.Conflict("insufficient_balance", fmt.Sprintf("The available balance is %s %s, less than the transfer.",
		money.Format(available, currency), currency))
}

// Destination methods.
const (
	MethodSandbox   = "sandbox"
	MethodWeChatPay = "wechatpay"
	MethodAlipay    = "alipay"
)

// Service makes and resolves transfers. It is safe for concurrent use.
type Service struct {
	Store    store.Store
	Clock    clock.Clock
	Channels *channelaccount.Service
	Log      *slog.Logger
	// ChannelTimeout bounds one call to a channel; default 10 s.
	ChannelTimeout time.Duration
	// Notify, when set, is called after a change that wrote events has
	// committed, to wake the notification dispatcher. It must not block.
	Notify func()
}

func (s *Service) now() time.Time { return s.Clock.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

func (s *Service) notify() {
	if s.Notify != nil {
		s.Notify()
	}
}

// CreateParams are a transfer's parameters.
type CreateParams struct {
	OutTransferNo string
	Amount        int64
	Currency      string
	Destination   client.TransferDestination
	Description   string
	// FXQuote pays the transfer from the balance in the quote's from
	// currency: Amount and Currency are the quote's to_amount and to
	// (and may be left zero).
	FXQuote string
}

var merchantNo = regexp.MustCompile(`^[A-Za-z0-9_\-|*.]{1,64}$`)

// Bounds of the text parameters, in characters.
const (
	MaxAccount     = 128
	MaxName        = 64
	MaxDescription = 128
)

func printable(s string, max int) bool {
	return utf8.ValidString(s) && utf8.RuneCountInString(s) <= max && strings.IndexFunc(s, unicode.IsControl) < 0
}

func (p *CreateParams) validate(live bool) error {
	switch {
	case p.OutTransferNo == "":
		return errs.Missing("out_transfer_no")
	case !merchantNo.MatchString(p.OutTransferNo):
		return errs.InvalidParam("out_transfer_no", "out_transfer_no must be 1 to 64 characters of A-Z, a-z, 0-9 and _-|*.")
	case !money.ValidAmount(p.Amount):
		return errs.InvalidParam("amount", fmt.Sprintf("amount must be an integer of minor units from %d to %d.", money.MinAmount, money.MaxAmount))
	case p.Currency == "":
		return errs.Missing("currency")
	case !money.ValidCurrency(p.Currency):
		return errs.InvalidParam("currency", "currency must be an upper-case ISO 4217 code.")
	case p.Destination.Method == "":
		return errs.Missing("destination.method")
	case p.Destination.Method != MethodWeChatPay && p.Destination.Method != MethodAlipay && p.Destination.Method != MethodSandbox:
		return errs.InvalidParam("destination.method", "destination.method must be wechatpay, alipay or (test mode) sandbox.")
	case p.Destination.Method == MethodSandbox && live:
		return errs.InvalidParam("destination.method", "The sandbox takes test-mode transfers only.")
	case strings.TrimSpace(p.Destination.Account) == "":
		return errs.Missing("destination.account")
	case !printable(p.Destination.Account, MaxAccount) || strings.TrimSpace(p.Destination.Account) != p.Destination.Account:
		return errs.InvalidParam("destination.account", fmt.Sprintf("destination.account must be 1 to %d printable characters without surrounding spaces.", MaxAccount))
	case !printable(p.Destination.Name, MaxName):
		return errs.InvalidParam("destination.name", fmt.Sprintf("destination.name must be at most %d printable characters.", MaxName))
	case !printable(p.Description, MaxDescription):
		return errs.InvalidParam("description", fmt.Sprintf("description must be at most %d printable characters.", MaxDescription))
	}
	return nil
}

// hash fingerprints the parameters, to tell a repeat from a conflict.
func (p *CreateParams) hash() string {
	b, _ := json.Marshal(p)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Create makes a transfer and asks the channel to pay it. created is false
// when the out_transfer_no existed with the same parameters (the transfer
// is returned as it is).
func (s *Service) Create(ctx context.Context, sc store.Scope, p CreateParams) (t *store.Transfer, created bool, err error) {
	if p.FXQuote != "" {
		if err := s.fillFromQuote(ctx, sc, &p); err != nil {
			return nil, false, err
		}
	}
	if err := p.validate(sc.Livemode); err != nil {
		return nil, false, err
	}
	hash := p.hash()
	if existing, err := s.Store.TransferGetByOutTransferNo(ctx, sc.AppID, p.OutTransferNo); err == nil {
		return s.repeat(ctx, existing, hash)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, false, err
	}
	acct, err := s.account(ctx, sc.Livemode, p.Destination.Method)
	if err != nil {
		return nil, false, err
	}
	now := s.now()
	t = &store.Transfer{
		ID: id.New(id.Transfer, now), MerchantID: sc.MerchantID, AppID: sc.AppID, Livemode: sc.Livemode,
		OutTransferNo: p.OutTransferNo, Amount: p.Amount, Currency: p.Currency, Status: store.TransferProcessing,
		DestinationMethod: p.Destination.Method, DestinationAccount: p.Destination.Account, DestinationName: p.Destination.Name,
		Description: p.Description, Channel: acct.Provider, ChannelAccountID: acct.ID, RequestHash: hash,
		// The request itself asks the channel; the worker only steps in
		// if it has not finished the transfer a minute later.
		NextQueryAt: now.Add(jobs.QueryBackoff(0)), CreatedAt: now, UpdatedAt: now,
	}
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		t.SourceAmount, t.SourceCurrency, t.FXQuoteID = p.Amount, p.Currency, ""
		var q *store.FXQuote
		if p.FXQuote != "" {
			var err error
			if q, err = fx.Use(ctx, tx, sc, p.FXQuote, t.ID, now); err != nil {
				return err
			}
			t.SourceAmount, t.SourceCurrency, t.FXQuoteID = q.Amount, q.From, q.ID
		}
		available, held, err := tx.BalanceForDebit(ctx, ledger.MerchantAvailable(sc.MerchantID, sc.Livemode), t.SourceCurrency)
		switch {
		case err != nil:
			return err
		case !held:
			return ErrCurrencyNotHeld
		case available < t.SourceAmount:
			return ErrInsufficient(available, t.SourceCurrency)
		}
		if err := tx.TransferCreate(ctx, t); err != nil {
			return err
		}
		if err := tx.LedgerPost(ctx, now, startEntry(t, q, now)); err != nil {
			return err
		}
		ev, err := event(notify.TransferCreated, t, now)
		if err != nil {
			return err
		}
		return tx.EventAdd(ctx, now, ev)
	})
	if errors.Is(err, store.ErrConflict) { // a concurrent create with this out_transfer_no won
		existing, gerr := s.Store.TransferGetByOutTransferNo(ctx, sc.AppID, p.OutTransferNo)
		if gerr != nil {
			return nil, false, gerr
		}
		return s.repeat(ctx, existing, hash)
	} else if err != nil {
		return nil, false, err
	}
	s.notify()
	t, err = s.send(ctx, t)
	return t, true, err
}

// fillFromQuote sets a converted transfer's amount and currency from its
// quote, or refuses parameters that disagree with it.
func (s *Service) fillFromQuote(ctx context.Context, sc store.Scope, p *CreateParams) error {
	if !id.Valid(id.FXQuote, p.FXQuote) {
		return fx.ErrQuoteNotFound
	}
	q, err := s.Store.FXQuoteGetInScope(ctx, sc, p.FXQuote)
	if errors.Is(err, store.ErrNotFound) {
		return fx.ErrQuoteNotFound
	} else if err != nil {
		return err
	}
	if (p.Amount != 0 && p.Amount != q.ToAmount) || (p.Currency != "" && p.Currency != q.To) {
		return errs.Invalid("fx_quote_mismatch", fmt.Sprintf("The FX quote pays %s %s; amount and currency must be those, or left out.", money.Format(q.ToAmount, q.To), q.To))
	}
	p.Amount, p.Currency = q.ToAmount, q.To
	return nil
}

// startEntry is the entry that starts t: its amount leaves available for
// payout, through an exchange at q's rate when it has a quote.
func startEntry(t *store.Transfer, q *store.FXQuote, at time.Time) ledger.Entry {
	if q == nil {
		return ledger.TransferStart(id.New(id.Entry, at), t.ID, t.MerchantID, t.Livemode, t.Currency, t.Amount, at)
	}
	return ledger.Entry{ID: id.New(id.Entry, at), Kind: ledger.KindTransfer, RefID: t.ID, CreatedAt: at,
		Lines: ledger.ExchangeLines(t.Livemode, ledger.MerchantAvailable(t.MerchantID, t.Livemode), q.From, q.Amount,
			ledger.MerchantPayout(t.MerchantID, t.Livemode), q.To, q.ToAmount, q.ToAmount+q.MarkupAmount)}
}

// repeat answers a create whose out_transfer_no exists: the transfer, for
// the same parameters (asked about at the channel first when it is still
// processing: a merchant repeating a request whose answer it lost is
// waiting for the outcome), duplicate_out_transfer_no for others.
func (s *Service) repeat(ctx context.Context, existing *store.Transfer, hash string) (*store.Transfer, bool, error) {
	if existing.RequestHash != hash {
		return nil, false, ErrDuplicate
	}
	if existing.Status == store.TransferProcessing {
		t, err := s.Resolve(ctx, existing)
		return t, false, err
	}
	return existing, false, nil
}

// account picks the channel account that pays a destination method in a
// mode: the oldest enabled account of the method's provider in the mode
// whose connector has transfers; in test mode, the sandbox when there is
// none (or for the method sandbox).
func (s *Service) account(ctx context.Context, live bool, method string) (*store.ChannelAccount, error) {
	sandboxAccount := func() (*store.ChannelAccount, error) { return s.Channels.Get(ctx, channelaccount.SandboxAccountID) }
	if method == MethodSandbox {
		return sandboxAccount()
	}
	var found *store.ChannelAccount
	p := store.ListParams{Limit: 100}
	for {
		list, more, err := s.Store.ChannelAccountList(ctx, method, p)
		if err != nil {
			return nil, err
		}
		for _, a := range list {
			if a.Livemode != live || a.Disabled {
				continue
			}
			conn, err := s.Channels.Connector(a)
			if err != nil {
				continue
			}
			if _, err := channel.TransfersOf(conn); err == nil {
				found = a // newest first: the last found is the oldest
			}
		}
		if !more || len(list) == 0 {
			break
		}
		p.StartingAfter = list[len(list)-1].ID
	}
	switch {
	case found != nil:
		return found, nil
	case !live:
		return sandboxAccount()
	}
	return nil, ErrNotSupported
}

func (s *Service) transfers(ctx context.Context, t *store.Transfer) (channel.Transfers, error) {
	conn, _, err := s.Channels.ConnectorByID(ctx, t.ChannelAccountID)
	if err != nil {
		return nil, err
	}
	return channel.TransfersOf(conn)
}

func (s *Service) channelCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	d := s.ChannelTimeout
	if d <= 0 {
		d = 10 * time.Second
	}
	return context.WithTimeout(ctx, d)
}

// send asks the channel to pay t and records what it said.
func (s *Service) send(ctx context.Context, t *store.Transfer) (*store.Transfer, error) {
	tr, err := s.transfers(ctx, t)
	if err != nil {
		return s.record(ctx, t, nil, channel.Unknown(err))
	}
	cctx, cancel := s.channelCtx(ctx)
	defer cancel()
	resp, err := tr.Transfer(cctx, channel.TransferRequest{
		TransferID: t.ID, CreatedAt: t.CreatedAt, Amount: t.Amount, Currency: t.Currency,
		Account: t.DestinationAccount, Name: t.DestinationName, Description: t.Description, Livemode: t.Livemode,
	})
	return s.record(ctx, t, resp, err)
}

// Resolve asks the channel about a processing transfer, sending it again
// when the channel never got it (a lost request, or a process that died
// before sending), and records the answer.
func (s *Service) Resolve(ctx context.Context, t *store.Transfer) (*store.Transfer, error) {
	if t.Status != store.TransferProcessing {
		return t, nil
	}
	tr, err := s.transfers(ctx, t)
	if err != nil {
		return s.record(ctx, t, nil, channel.Unknown(err))
	}
	cctx, cancel := s.channelCtx(ctx)
	resp, err := tr.QueryTransfer(cctx, channel.TransferQueryRequest{
		TransferID: t.ID, CreatedAt: t.CreatedAt, ChannelTransferNo: t.ChannelTransferNo, Livemode: t.Livemode})
	cancel()
	if errors.Is(err, channel.ErrTradeNotFound) {
		return s.send(ctx, t)
	}
	return s.record(ctx, t, resp, err)
}

// record stores the channel's answer about t: the end of the transfer, or
// a try that learnt nothing (the worker asks again later).
func (s *Service) record(ctx context.Context, t *store.Transfer, resp *channel.TransferResponse, err error) (*store.Transfer, error) {
	var decline *channel.DeclineError
	switch {
	case errors.As(err, &decline):
		return s.finish(ctx, t, store.TransferFailed, "", decline.Code, decline.Message)
	case errors.Is(err, channel.ErrInvalidRequest) && !errors.Is(err, channel.ErrUnknownOutcome):
		return s.finish(ctx, t, store.TransferFailed, "", "channel_invalid_request", "The channel refused the transfer as invalid.")
	case errors.Is(err, channel.ErrNotSupported) && !errors.Is(err, channel.ErrUnknownOutcome):
		return s.finish(ctx, t, store.TransferFailed, "", "channel_not_supported", "The channel cannot pay this transfer (its currency or destination).")
	case err != nil:
		s.log().Warn("transfer outcome unknown; the worker asks again", "transfer", t.ID, "channel_account", t.ChannelAccountID, "err", err)
		return s.later(ctx, t, "")
	case resp.Status == channel.TransferSuccess:
		return s.finish(ctx, t, store.TransferSucceeded, resp.ChannelTransferNo, "", "")
	case resp.Status == channel.TransferFailed:
		code, msg := resp.FailureCode, resp.FailureMessage
		if code == "" {
			code = "transfer_failed"
		}
		return s.finish(ctx, t, store.TransferFailed, resp.ChannelTransferNo, code, msg)
	}
	return s.later(ctx, t, resp.ChannelTransferNo)
}

// later records a try that learnt nothing.
func (s *Service) later(ctx context.Context, t *store.Transfer, channelNo string) (*store.Transfer, error) {
	now := s.now()
	var out *store.Transfer
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.TransferTransition(ctx, store.TransferTransition{
			TransferID: t.ID, To: store.TransferProcessing, At: now, ChannelTransferNo: channelNo,
			QueryAttempts: t.QueryAttempts + 1, NextQueryAt: now.Add(jobs.QueryBackoff(t.QueryAttempts + 1)),
		})
		return err
	})
	if errors.Is(err, store.ErrStale) { // finished meanwhile
		return s.Store.TransferGet(ctx, t.ID)
	}
	return out, err
}

// finish ends a processing transfer with its entry and event.
func (s *Service) finish(ctx context.Context, t *store.Transfer, to, channelNo, code, msg string) (*store.Transfer, error) {
	now := s.now()
	var out *store.Transfer
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		out, err = tx.TransferTransition(ctx, store.TransferTransition{
			TransferID: t.ID, To: to, At: now, ChannelTransferNo: channelNo, FailureCode: code, FailureMessage: msg,
			QueryAttempts: t.QueryAttempts, NextQueryAt: t.NextQueryAt,
		})
		if err != nil {
			return err
		}
		entry, typ := ledger.TransferPaid(id.New(id.Entry, now), out.ID, out.MerchantID, out.Livemode, out.Currency, out.Amount, now), notify.TransferSucceeded
		if to == store.TransferFailed {
			// The money goes back as it came: a converted transfer's
			// exchange is undone at its own rate, markup included.
			var q *store.FXQuote
			if out.FXQuoteID != "" {
				if q, err = tx.FXQuoteGet(ctx, out.FXQuoteID); err != nil {
					return err
				}
			}
			entry, typ = startEntry(out, q, now).Reverse(id.New(id.Entry, now), ledger.KindTransferFailed, out.ID, now), notify.TransferFailed
		}
		if err := tx.LedgerPost(ctx, now, entry); err != nil {
			return err
		}
		ev, err := event(typ, out, now)
		if err != nil {
			return err
		}
		return tx.EventAdd(ctx, now, ev)
	})
	if errors.Is(err, store.ErrStale) { // another finisher won
		return s.Store.TransferGet(ctx, t.ID)
	}
	if err != nil {
		return nil, err
	}
	s.notify()
	return out, nil
}

// ResolveDue resolves up to limit processing transfers whose next query
// has come, and returns how many it looked at.
func (s *Service) ResolveDue(ctx context.Context, now time.Time, limit int) (int, error) {
	due, err := s.Store.TransfersDue(ctx, now, limit)
	if err != nil {
		return 0, err
	}
	for _, t := range due {
		if _, err := s.Resolve(ctx, t); err != nil {
			s.log().Error("resolve transfer", "transfer", t.ID, "err", err)
		}
	}
	return len(due), nil
}

// Job is the transfer worker for a jobs.Scheduler: every interval it
// resolves the processing transfers that are due.
func (s *Service) Job(interval time.Duration) jobs.Job {
	return jobs.Job{
		Name: "transfers",
		Next: jobs.Every(interval),
		Run: func(ctx context.Context, now time.Time) error {
			for {
				n, err := s.ResolveDue(ctx, now, 100)
				if err != nil || n < 100 {
					return err
				}
			}
		},
	}
}

// Get returns a transfer the scope's merchant may see.
func (s *Service) Get(ctx context.Context, sc store.Scope, transferID string) (*store.Transfer, error) {
	if !id.Valid(id.Transfer, transferID) {
		return nil, ErrNotFound
	}
	t, err := s.Store.TransferGetInScope(ctx, sc, transferID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	return t, err
}

// List lists the scope's merchant's transfers, newest first.
func (s *Service) List(ctx context.Context, sc store.Scope, status string, p store.ListParams) ([]*store.Transfer, bool, error) {
	switch status {
	case "", store.TransferProcessing, store.TransferSucceeded, store.TransferFailed:
	default:
		return nil, false, errs.InvalidParam("status", "status must be processing, succeeded or failed.")
	}
	return s.Store.TransferList(ctx, store.TransferFilter{MerchantID: sc.MerchantID, Livemode: sc.Livemode, Status: status, ListParams: p})
}

// Object renders a transfer for the API.
func Object(t *store.Transfer) client.Transfer {
	out := client.Transfer{
		ID: t.ID, Object: "transfer", OutTransferNo: t.OutTransferNo, Amount: t.Amount, Currency: t.Currency, Status: t.Status,
		Destination: client.TransferDestination{Method: t.DestinationMethod, Account: t.DestinationAccount, Name: t.DestinationName},
		Description: t.Description, ChannelTransferNo: t.ChannelTransferNo, FailureCode: t.FailureCode, FailureMessage: t.FailureMessage,
		SourceAmount: t.SourceAmount, SourceCurrency: t.SourceCurrency,
		Livemode: t.Livemode, CreatedAt: t.CreatedAt, FinishedAt: t.FinishedAt,
	}
	if t.FXQuoteID != "" {
		out.FXQuote = &t.FXQuoteID
	}
	return out
}

// event is a transfer's event: the merchant's, for the app that made it.
func event(typ string, t *store.Transfer, at time.Time) (*store.Event, error) {
	data, err := json.Marshal(map[string]any{"object": Object(t)})
	if err != nil {
		return nil, err
	}
	return &store.Event{
		ID: id.New(id.Event, at), Type: typ, MerchantID: t.MerchantID, AppID: t.AppID, Livemode: t.Livemode,
		ObjectType: "transfer", ObjectID: t.ID, Data: data, CreatedAt: at,
	}, nil
}
