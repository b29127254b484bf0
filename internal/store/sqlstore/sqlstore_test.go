package sqlstore

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestRebind(t *testing.T) {
	pg := &Dialect{NumberedPlaceholders: true}
	for _, tc := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"a = ? AND b IN (?, ?)", "a = $1 AND b IN ($2, $3)"},
		{"x = '?' AND y = ?", "x = '?' AND y = $1"},
		{"x = 'it''s ?' AND y = ?", "x = 'it''s ?' AND y = $1"},
	} {
		if got := pg.rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q) for PostgreSQL: want %q, got %q", tc.in, tc.want, got)
		}
	}
	sqlite := &Dialect{}
	if got := sqlite.rebind("a = ?"); got != "a = ?" {
		t.Errorf("rebind for SQLite: want the query unchanged, got %q", got)
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		bounded  bool
	}{
		{"mch_1:test:", "mch_1:test;", true},
		{"a", "b", true},
		{"w_é", "w_ê", true},
		{"x\U0010FFFF", "y", true},
		{"\U0010FFFF", "", false},
		{"a\uD7FF", "a\uE000", true}, // skips the surrogates
	} {
		got, bounded, err := prefixEnd(tc.in)
		if err != nil || got != tc.want || bounded != tc.bounded {
			t.Errorf("prefixEnd(%q): want %q, %v, nil; got %q, %v, %v", tc.in, tc.want, tc.bounded, got, bounded, err)
		}
		if bounded && !(tc.in < got) {
			t.Errorf("prefixEnd(%q) = %q: want it above the prefix", tc.in, got)
		}
	}
	if _, _, err := prefixEnd("\xff"); err == nil {
		t.Errorf("prefixEnd of invalid UTF-8: want an error, got nil")
	}
}

func TestPageLimit(t *testing.T) {
	for in, want := range map[int]int{-1: 20, 0: 20, 1: 1, 100: 100, 101: 100, 1000: 100} {
		if got := pageLimit(in); got != want {
			t.Errorf("pageLimit(%d): want %d, got %d", in, want, got)
		}
	}
}

func TestMicros(t *testing.T) {
	if got := fromMicros(micros(time.Time{})); !got.IsZero() {
		t.Errorf("zero time round trip: want the zero time, got %v", got)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6007000, time.UTC)
	if got := fromMicros(micros(at.In(time.FixedZone("CST", 8*3600)))); got != at {
		t.Errorf("time round trip: want %v in UTC, got %v", at, got)
	}
}

func TestLoadMigrations(t *testing.T) {
	ms, err := loadMigrations(fstest.MapFS{
		"0002_more.sql": {Data: []byte("B")},
		"0001_init.sql": {Data: []byte("A")},
		"README.md":     {Data: []byte("not a migration")},
	})
	if err != nil {
		t.Fatalf("load migrations: %v", err)
	}
	if len(ms) != 2 || ms[0].version != 1 || ms[0].name != "init" || ms[1].version != 2 || ms[1].sql != "B" {
		t.Fatalf("migrations: want 0001_init then 0002_more, got %+v", ms)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"badly named": {"init.sql": {}},
		"duplicate":   {"0001_a.sql": {}, "0001_b.sql": {}},
		"empty":       {},
	} {
		if _, err := loadMigrations(fsys); err == nil || !strings.HasPrefix(err.Error(), "migrate:") {
			t.Errorf("load %s migrations: want a migrate: error, got %v", name, err)
		}
	}
}

func TestCleanText(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"connection reset": "connection reset",
		"日本語 ok":           "日本語 ok",
		"a\x00b":           "a\uFFFDb",
		"bad \xff\xfe end": "bad \uFFFD end",
	} {
		if got := cleanText(in); got != want {
			t.Errorf("cleanText(%q): want %q, got %q", in, want, got)
		}
	}
}
