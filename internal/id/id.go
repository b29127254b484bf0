// Package id makes Paygate's object ids: a prefix ("ord_", "rfd_", ...) and a
// ULID in lower-case Crockford base32. Ids from one process sort by creation
// time (monotonic within a millisecond), ids from several nodes by millisecond.
package id

import (
	"crypto/rand"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// Prefixes of every object type, as in API.md.
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
)

var (
	mu      sync.Mutex
	entropy = ulid.Monotonic(rand.Reader, 0)
	lastMs  uint64
)

// New returns prefix followed by a new ULID made at t. Ids made by one
// process never go backwards: a t older than the last id's millisecond
// (another clock, or the wall clock stepping back) takes that millisecond.
func New(prefix string, t time.Time) string {
	mu.Lock()
	ms := ulid.Timestamp(t)
	if ms < lastMs {
		ms = lastMs
	}
	lastMs = ms
	u, err := ulid.New(ms, entropy)
	if err != nil { // monotonic entropy exhausted within one ms, or clock went back: start afresh
		entropy = ulid.Monotonic(rand.Reader, 0)
		u = ulid.MustNew(ms, entropy)
	}
	mu.Unlock()
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
