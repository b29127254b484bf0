package store

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Console user kinds and roles.
const (
	ConsoleOperator = "operator" // the platform's staff: every merchant
	ConsoleMerchant = "merchant" // one merchant's staff: its objects only

	RoleAdmin  = "admin"  // may change things
	RoleViewer = "viewer" // reads only
)

// ConsoleUser is a person who signs in to the web console.
type ConsoleUser struct {
	ID         string // usr_…
	Kind       string // ConsoleOperator or ConsoleMerchant
	MerchantID string // ConsoleMerchant: whose; "" for operators
	Email      string // lower case; unique
	Name       string
	Role       string // RoleAdmin or RoleViewer
	// PasswordHash is the argon2id hash in PHC form; "" until an invited user
	// has chosen a password.
	PasswordHash string
	// TOTPSealed is the TOTP secret sealed with the master key; "" when the
	// user has no second factor.
	TOTPSealed string
	// InviteHash is the SHA-256 of the invitation token ("" once used);
	// InviteExpiresAt when it runs out.
	InviteHash      string
	InviteExpiresAt *time.Time
	Disabled        bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// ConsoleSession is a signed-in browser. The cookie holds a random token;
// only its SHA-256 (ID) is kept, so the table cannot be replayed.
type ConsoleSession struct {
	ID        string // hex SHA-256 of the cookie's token
	UserID    string
	CSRF      string // the token every form of the session carries
	Livemode  bool   // the mode the user is looking at
	CreatedAt time.Time
	SeenAt    time.Time
	ExpiresAt time.Time  // idle expiry, pushed forward as the user works
	RevokedAt *time.Time // logout (or logout everywhere)
}

// ConsoleOrderFilter is the console's order list: every filter optional
// but the mode. MerchantID "" is every merchant (operators).
type ConsoleOrderFilter struct {
	MerchantID       string
	Livemode         bool
	Status           string
	Method           string
	ChannelAccountID string
	AmountMin        int64 // 0: none
	AmountMax        int64 // 0: none
	CreatedGTE       *time.Time
	CreatedLT        *time.Time
	// Sort is the list's order: one of ConsoleSorts; "" is SortNewest.
	Sort string
	// Before is the keyset cursor of the next page (ConsoleCursor of its
	// last row): the rows that follow it in Sort's order.
	Before string
	// After pages backwards: the rows that precede the cursor in Sort's
	// order (the page nearest it).
	After string
	Limit int // 1..5000
}

// Sorts of the console's order and refund lists. Amount sorts break ties
// by id in the same direction (newest first for high to low).
const (
	SortNewest     = "newest"
	SortOldest     = "oldest"
	SortAmountDesc = "amount_desc"
	SortAmountAsc  = "amount_asc"
)

// ConsoleSorts lists the sorts, the default first.
var ConsoleSorts = []string{SortNewest, SortOldest, SortAmountDesc, SortAmountAsc}

// ConsoleSortByAmount reports whether sort orders by amount.
func ConsoleSortByAmount(sort string) bool { return sort == SortAmountDesc || sort == SortAmountAsc }

// ConsoleCursor is the keyset cursor of a row of a list in sort order:
// its id, or for the amount sorts its amount and id ("12800.ord_…").
func ConsoleCursor(sort string, amount int64, id string) string {
	if ConsoleSortByAmount(sort) {
		return strconv.FormatInt(amount, 10) + "." + id
	}
	return id
}

// ParseConsoleCursor reads a ConsoleCursor of sort; ok is false when it is
// not one.
func ParseConsoleCursor(sort, cursor string) (amount int64, id string, ok bool) {
	if !ConsoleSortByAmount(sort) {
		return 0, cursor, cursor != "" && !strings.Contains(cursor, ".")
	}
	a, id, found := strings.Cut(cursor, ".")
	n, err := strconv.ParseInt(a, 10, 64)
	if !found || err != nil || n < 0 || id == "" {
		return 0, "", false
	}
	return n, id, true
}

// ConsoleRefundFilter is the console's refund list.
type ConsoleRefundFilter struct {
	MerchantID string
	Livemode   bool
	Status     string
	OrderID    string
	AmountMin  int64
	AmountMax  int64
	CreatedGTE *time.Time
	CreatedLT  *time.Time
	// Sort, Before and After are as ConsoleOrderFilter's.
	Sort   string
	Before string
	After  string
	Limit  int
}

// ConsoleStat is one bucket of the console's charts: orders created on a
// day with a method and channel account, how many succeeded, and their
// succeeded amount in one currency.
type ConsoleStat struct {
	Day              time.Time // 00:00 UTC
	Method           string
	ChannelAccountID string
	Currency         string
	Orders           int64
	Succeeded        int64
	Amount           int64 // succeeded, minor units
}

// ConsoleDayCount is how many refunds or webhook deliveries made on a day
// are in a status, and (refunds) their amount in one currency.
type ConsoleDayCount struct {
	Day      time.Time
	Status   string
	Currency string // refunds; "" for deliveries
	Count    int64
	Amount   int64
}

// ConsoleStore is what the web console keeps and reads beyond the API's
// queries: its users and sessions, and the filtered lists, searches and
// statistics of its pages.
type ConsoleStore interface {
	// ConsoleUserCreate inserts u; ErrConflict when its email is taken.
	ConsoleUserCreate(ctx context.Context, u *ConsoleUser) error
	ConsoleUserGet(ctx context.Context, id string) (*ConsoleUser, error)
	ConsoleUserByEmail(ctx context.Context, email string) (*ConsoleUser, error)
	ConsoleUserByInvite(ctx context.Context, inviteHash string) (*ConsoleUser, error)
	// ConsoleUserList lists users of a kind, newest first; merchantID ""
	// lists every merchant's when kind is ConsoleMerchant.
	ConsoleUserList(ctx context.Context, kind, merchantID string) ([]*ConsoleUser, error)
	// ConsoleUserUpdate stores u's mutable fields (Name, Role,
	// PasswordHash, TOTPSealed, InviteHash, InviteExpiresAt, Disabled, UpdatedAt).
	ConsoleUserUpdate(ctx context.Context, u *ConsoleUser) error

	ConsoleSessionCreate(ctx context.Context, s *ConsoleSession) error
	ConsoleSessionGet(ctx context.Context, id string) (*ConsoleSession, error)
	// ConsoleSessionTouch moves a live session's SeenAt and ExpiresAt.
	ConsoleSessionTouch(ctx context.Context, id string, seen, expires time.Time) error
	ConsoleSessionSetMode(ctx context.Context, id string, livemode bool) error
	// ConsoleSessionRevoke ends one session; ConsoleSessionRevokeUser every
	// live session of a user (logout everywhere), returning how many.
	ConsoleSessionRevoke(ctx context.Context, id string, at time.Time) error
	ConsoleSessionRevokeUser(ctx context.Context, userID string, at time.Time) (int, error)

	// ConsoleOrders lists orders in the filter's sort (newest first by
	// default) and reports whether more follow in the direction of the page.
	ConsoleOrders(ctx context.Context, f ConsoleOrderFilter) ([]*Order, bool, error)
	ConsoleRefunds(ctx context.Context, f ConsoleRefundFilter) ([]*Refund, bool, error)
	// ConsoleFindOrders finds orders by a reference: field is
	// "out_trade_no", "channel_trade_no" or "payer_id". merchantID ""
	// searches every merchant. At most 50, newest first.
	ConsoleFindOrders(ctx context.Context, merchantID, field, value string) ([]*Order, error)
	// ConsoleFindRefunds: field is "out_refund_no" or "channel_refund_no".
	ConsoleFindRefunds(ctx context.Context, merchantID, field, value string) ([]*Refund, error)
	// ConsoleFailedDeliveries lists failed deliveries last changed at or
	// after since, newest first, at most limit.
	ConsoleFailedDeliveries(ctx context.Context, merchantID string, livemode bool, since time.Time, limit int) ([]*Delivery, error)
	// ConsoleStats sums orders created in [from, to) by UTC day, method,
	// channel account and currency.
	ConsoleStats(ctx context.Context, merchantID string, livemode bool, from, to time.Time) ([]ConsoleStat, error)
	// ConsoleRollupDay writes the sums of the orders created on the UTC day
	// that begins at day into console_daily_stats, replacing any earlier
	// sums of it, and records the day as rolled up, in one transaction.
	ConsoleRollupDay(ctx context.Context, day, at time.Time) error
	// ConsoleRolledDays returns the days in [from, to) that are rolled up.
	ConsoleRolledDays(ctx context.Context, from, to time.Time) ([]time.Time, error)
	// ConsoleRolledStats is ConsoleStats from the rolled-up sums.
	ConsoleRolledStats(ctx context.Context, merchantID string, livemode bool, from, to time.Time) ([]ConsoleStat, error)
	// ConsoleDayCounts counts refunds (what "refunds") or webhook
	// deliveries (what "deliveries") made in [from, to) by UTC day and status.
	ConsoleDayCounts(ctx context.Context, what, merchantID string, livemode bool, from, to time.Time) ([]ConsoleDayCount, error)
	// ConsoleEndpointHealth sums the delivery attempts made to each of the
	// webhook endpoints at or after since, by endpoint id; an endpoint
	// without attempts is absent.
	ConsoleEndpointHealth(ctx context.Context, endpointIDs []string, since time.Time) (map[string]EndpointHealth, error)
	// ConsoleChannelHours sums the orders of the mode created in [from, to)
	// that a channel account served, by UTC hour and channel account.
	ConsoleChannelHours(ctx context.Context, livemode bool, from, to time.Time) ([]ConsoleChannelHour, error)
}

// ConsoleChannelHour is how one channel account's orders created in one
// hour went.
type ConsoleChannelHour struct {
	Hour             time.Time // the hour's start, UTC
	ChannelAccountID string
	Orders           int64
	Succeeded        int64
	// PayMicros sums paid_at − created_at over the succeeded orders: the
	// time from the order to the channel's confirmation (callback or query).
	PayMicros int64
}

// EndpointHealth is how a webhook endpoint's recent delivery attempts went.
type EndpointHealth struct {
	Attempts int64
	OK       int64         // answered 2xx
	Latency  time.Duration // the attempts' mean
	Last     time.Time     // the latest attempt
}
