// Package id makes Paygate's object ids: a prefix ("ord_", "rfd_", ...) and a
// ULID in lower-case Crockford base32. Ids from one process sort by creation
// time (in order within a millisecond), ids from several nodes by
// millisecond. Every id carries 64 random bits of its own (see New).
package id

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// Prefixes of every object type, as in the API reference (docs/api.md).
const (
	Merchant   = "mch_"
	App        = "app_"
	Key        = "key_"
	Order      = "ord_"
	Refund     = "rfd_"
	Event      = "evt_"
	Request    = "req_"
	Entry      = "jnl_"
	Endpoint   = "whe_"
	Settlement = "stl_"
	Platform   = "pk_"
	Delivery   = "dlv_"
	Attempt    = "att_"

	ChannelAccount = "cha_"

	// Recurring payments (internal/billing).
	Customer      = "cus_"
	PaymentMethod = "pm_"
	Agreement     = "agr_"
	Product       = "prod_"
	Price         = "price_"
	Subscription  = "sub_"
	Invoice       = "inv_"
	TestClock     = "clk_"

	RiskRule    = "rule_"
	RiskList    = "lst_"
	RiskAttempt = "rsk_"

	// Reconciliation (internal/recon).
	ReconRun    = "rcn_"
	Discrepancy = "dsc_"

	// Money movement (internal/transfer).
	Transfer = "trf_"
	FXRate   = "fxr_"
	FXQuote  = "fxq_"

	// Profit sharing (internal/profitsharing).
	ProfitSharingReceiver = "rcv_"
	ProfitSharing         = "psh_"
	ProfitSharingReturn   = "psr_"
)

// seqBits is the width of the sub-millisecond sequence at the head of an
// id's 80 random bits; the other 64 bits are fresh from crypto/rand for
// every id.
const seqBits = 16

// generator makes the ids of one process.
type generator struct {
	mu     sync.Mutex
	lastMs uint64
	seq    uint16
	// pool holds random bytes read ahead from crypto/rand (one read serves
	// many ids); each byte is used once.
	pool [640]byte
	next int
}

var ids generator

// New returns prefix followed by a new ULID made at t: 48 bits of
// milliseconds, then a 16-bit sequence that orders the ids one process makes
// within a millisecond, then 64 bits from crypto/rand drawn for this id
// alone. (ULID's "monotonic" mode would instead add a small random number to
// the previous id, so an id would give away its neighbours; ids are the
// bearer part of links such as /pay/{id}.) The sequence starts each
// millisecond at a random value below 2¹⁵, so the first id of a millisecond
// tells nothing of how many came before, and ids made faster than 32768 per
// millisecond move on to the next millisecond.
//
// Ids made by one process never go backwards: a t older than the last id's
// millisecond (another clock, or the wall clock stepping back) takes that
// millisecond.
func New(prefix string, t time.Time) string { return ids.new(prefix, t) }

func (g *generator) new(prefix string, t time.Time) string {
	var e [10]byte
	g.mu.Lock()
	if g.next == 0 || g.next+len(e) > len(g.pool) {
		if _, err := rand.Read(g.pool[:]); err != nil {
			panic("id: crypto/rand failed: " + err.Error()) // it does not fail on supported systems
		}
		g.next = 0
	}
	g.next += copy(e[:], g.pool[g.next:])
	ms := ulid.Timestamp(t)
	switch {
	case ms > g.lastMs:
		g.seq = binary.BigEndian.Uint16(e[:2]) >> 1
	case g.seq == 1<<seqBits-1:
		ms = g.lastMs + 1
		g.seq = binary.BigEndian.Uint16(e[:2]) >> 1
	default:
		ms = g.lastMs
		g.seq++
	}
	g.lastMs = ms
	binary.BigEndian.PutUint16(e[:2], g.seq)
	g.mu.Unlock()
	var u ulid.ULID
	if err := u.SetTime(ms); err != nil {
		panic("id: time out of ULID range: " + err.Error())
	}
	copy(u[6:], e[:])
	return prefix + strings.ToLower(u.String())
}

// Valid reports whether s is prefix followed by a well-formed ULID.
func Valid(prefix, s string) bool {
	if !strings.HasPrefix(s, prefix) || len(s) != len(prefix)+ulid.EncodedSize {
		return false
	}
	_, err := ulid.ParseStrict(strings.ToUpper(s[len(prefix):]))
	return err == nil
}
