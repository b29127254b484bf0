package id

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
)

func TestNewSortsAndValidates(t *testing.T) {
	now := time.Now()
	prev := ""
	for i := 0; i < 1000; i++ {
		s := New(Order, now)
		if !Valid(Order, s) {
			t.Fatalf("Valid(%q) = false", s)
		}
		if s <= prev {
			t.Fatalf("ids not increasing: %q after %q", s, prev)
		}
		prev = s
	}
	if Valid(Refund, prev) {
		t.Fatalf("order id %q accepted as a refund id", prev)
	}
	for _, bad := range []string{"", "ord_", "ord_xyz", "ord_01hzzzzzzzzzzzzzzzzzzzzzzzzz"} {
		if Valid(Order, bad) {
			t.Errorf("Valid(%q) = true", bad)
		}
	}
}

// parse returns the millisecond and the 80 bits after it (as the 16 high
// bits and the 64 low bits) of an id made by New.
func parse(t *testing.T, prefix, s string) (ms uint64, hi uint16, lo uint64) {
	t.Helper()
	u, err := ulid.ParseStrict(strings.ToUpper(strings.TrimPrefix(s, prefix)))
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	e := u.Entropy()
	return u.Time(), binary.BigEndian.Uint16(e[:2]), binary.BigEndian.Uint64(e[2:])
}

// TestNewNeighboursAreUnguessable makes many ids in one millisecond. Each
// must carry 64 bits of its own randomness: knowing one id must not give
// its neighbour away. (ULID's monotonic mode, used before, made the next id
// of a millisecond by adding less than 2³² to the previous one.)
func TestNewNeighboursAreUnguessable(t *testing.T) {
	at := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	g := &generator{}
	const n = 2000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = g.new(Order, at)
	}
	seen := map[uint64]bool{}
	var prevLo uint64
	for i, s := range ids {
		ms, _, lo := parse(t, Order, s)
		if i > 0 && ids[i-1] >= s {
			t.Fatalf("id %d %q does not sort after %q", i, s, ids[i-1])
		}
		if want := ulid.Timestamp(at); ms < want || ms > want+1 {
			t.Fatalf("id %q carries millisecond %d, want %d", s, ms, want)
		}
		if seen[lo] {
			t.Fatalf("id %q repeats the random part of an earlier id", s)
		}
		seen[lo] = true
		if i > 0 {
			d := lo - prevLo
			if prevLo > lo {
				d = prevLo - lo
			}
			// Independent 64-bit values are this close once in 2³¹ pairs.
			if d < 1<<32 {
				t.Fatalf("ids %q and %q differ by %d in their random part: the second follows from the first", ids[i-1], s, d)
			}
		}
		prevLo = lo
	}
}

// TestNewSortsByTime: ids of later milliseconds sort after earlier ones,
// and an earlier time than the last id's never makes an id go backwards.
func TestNewSortsByTime(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	g := &generator{}
	a := g.new(Event, t0)
	b := g.new(Event, t0.Add(time.Millisecond))
	c := g.new(Event, t0.Add(time.Second))
	d := g.new(Event, t0) // the clock stepped back
	if !(a < b && b < c && c < d) {
		t.Fatalf("ids out of order: %s %s %s %s", a, b, c, d)
	}
	for _, s := range []string{a, b, c, d} {
		if !Valid(Event, s) {
			t.Fatalf("Valid(%q) = false", s)
		}
	}
}

// TestNewManyInOneMillisecond makes more ids in one millisecond than the
// sub-millisecond sequence holds: they must still increase.
func TestNewManyInOneMillisecond(t *testing.T) {
	at := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	g := &generator{}
	prev := ""
	for i := 0; i < 70000; i++ {
		s := g.new(Entry, at)
		if s <= prev {
			t.Fatalf("id %d %q does not sort after %q", i, s, prev)
		}
		prev = s
	}
}

func BenchmarkNew(b *testing.B) {
	at := time.Now()
	for b.Loop() {
		New(Order, at)
	}
}
