package risk

import (
	"context"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"sort"
	"strings"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/store"
)

// Country tables: an IP address or a card BIN to an ISO 3166 country, from
// CSV files the operator imports (none is shipped). Each is a sorted table
// of ranges kept in memory and searched by bisection.

// ranges is a table sorted by start, ranges not overlapping.
type ranges []store.RiskRange

// lookup returns the country of key, "" when no range holds it.
func (rs ranges) lookup(key string) string {
	if key == "" || len(rs) == 0 {
		return ""
	}
	i := sort.Search(len(rs), func(i int) bool { return rs[i].Start > key }) - 1
	if i >= 0 && key <= rs[i].End && len(key) == len(rs[i].Start) {
		return rs[i].Country
	}
	return ""
}

// ipKey is an address as a table key: its 16 bytes (IPv4 mapped) in hex.
func ipKey(s string) string {
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return ""
	}
	b := ip.As16()
	return hex.EncodeToString(b[:])
}

func (s *Service) loadRanges(ctx context.Context, kind string) (ranges, error) {
	rs, err := s.Store.RiskRanges(ctx, kind)
	return ranges(rs), err
}

var countryCode = regexp.MustCompile(`^[A-Z]{2}$`)

// ParseIPCountries reads an IP-to-country table as CSV, one range a line:
// "CIDR,CC" or "FIRST_IP,LAST_IP,CC" (IPv4 or IPv6); lines starting with #
// and a header line whose first field is not an address are skipped.
// Overlapping ranges are refused.
func ParseIPCountries(r io.Reader) ([]store.RiskRange, error) {
	return parseRanges(r, func(rec []string) (string, string, bool) {
		switch len(rec) {
		case 2:
			p, err := netip.ParsePrefix(rec[0])
			if err != nil {
				return "", "", false
			}
			p = p.Masked()
			first := p.Addr()
			last := lastOf(p)
			return ipKey(first.String()), ipKey(last.String()), true
		case 3:
			a, err1 := netip.ParseAddr(rec[0])
			b, err2 := netip.ParseAddr(rec[1])
			if err1 != nil || err2 != nil || a.Unmap().Is4() != b.Unmap().Is4() {
				return "", "", false
			}
			return ipKey(a.String()), ipKey(b.String()), true
		}
		return "", "", false
	})
}

// lastOf is the last address of p.
func lastOf(p netip.Prefix) netip.Addr {
	a := p.Addr()
	b := a.AsSlice()
	bits := p.Bits()
	for i := range b {
		for j := 0; j < 8; j++ {
			if i*8+j >= bits {
				b[i] |= 0x80 >> j
			}
		}
	}
	out, _ := netip.AddrFromSlice(b)
	return out
}

var binDigits = regexp.MustCompile(`^[0-9]{6}$`)

// ParseBINCountries reads a card-BIN-to-country table as CSV: "BIN,CC" or
// "FIRST_BIN,LAST_BIN,CC" with six-digit BINs; lines starting with # and a
// header line are skipped.
func ParseBINCountries(r io.Reader) ([]store.RiskRange, error) {
	return parseRanges(r, func(rec []string) (string, string, bool) {
		switch len(rec) {
		case 2:
			return rec[0], rec[0], binDigits.MatchString(rec[0])
		case 3:
			return rec[0], rec[1], binDigits.MatchString(rec[0]) && binDigits.MatchString(rec[1])
		}
		return "", "", false
	})
}

func parseRanges(r io.Reader, parse func(rec []string) (start, end string, ok bool)) ([]store.RiskRange, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	var out []store.RiskRange
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errs.Invalid("csv_invalid", fmt.Sprintf("Line %d is not valid CSV.", line))
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		cc := strings.ToUpper(rec[len(rec)-1])
		start, end, ok := parse(rec)
		if !ok || !countryCode.MatchString(cc) {
			if line == 1 {
				continue // a header
			}
			return nil, errs.Invalid("csv_invalid", fmt.Sprintf("Line %d is not a range and an ISO 3166 country code.", line))
		}
		if end < start {
			return nil, errs.Invalid("csv_invalid", fmt.Sprintf("Line %d: the range ends before it starts.", line))
		}
		out = append(out, store.RiskRange{Start: start, End: end, Country: cc})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	for i := 1; i < len(out); i++ {
		if out[i].Start <= out[i-1].End {
			return nil, errs.Invalid("csv_invalid", "Two ranges overlap (one of them starts at "+out[i].Start+").")
		}
	}
	return out, nil
}

// ImportRanges replaces the IP (kind "ip") or BIN ("bin") country table.
func (s *Service) ImportRanges(ctx context.Context, kind string, rs []store.RiskRange) error {
	if kind != store.RiskRangesIP && kind != store.RiskRangesBIN {
		return fmt.Errorf("risk: unknown table %q", kind)
	}
	if err := s.Store.RiskRangesReplace(ctx, kind, rs); err != nil {
		return err
	}
	s.Invalidate()
	return nil
}
