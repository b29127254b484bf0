package risk

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

// Lists are named sets of values rules test with in_list('name', value):
// payer ids, IPs, CIDR ranges, device ids, card BINs or card fingerprints,
// each entry with a reason and an optional expiry. Every node keeps every
// list in memory (see the package's Limits).

// ListKinds are the kinds of lists.
var ListKinds = []string{"payer_id", "ip", "cidr", "device_id", "card_bin", "card_fingerprint"}

// ErrListNotFound is an unknown list.
var ErrListNotFound = errs.NotFound("risk_list_not_found", "No such risk list.")

// Limits of lists.
const (
	maxListEntriesPerImport = 10000
	maxListValue            = 128
	maxReason               = 256
)

var listName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// list is one list in memory.
type list struct {
	kind   string
	values map[string]*time.Time // value → expiry (nil: none)
	cidrs  []cidrEntry
}

type cidrEntry struct {
	prefix  netip.Prefix
	expires *time.Time
}

// contains reports whether value is in l and not expired at now. For a
// cidr list, value is an IP inside one of its ranges.
func (l *list) contains(value string, now time.Time) bool {
	if l == nil || value == "" {
		return false
	}
	if l.kind == "cidr" {
		ip, err := netip.ParseAddr(value)
		if err != nil {
			return false
		}
		ip = ip.Unmap()
		for _, c := range l.cidrs {
			if c.prefix.Contains(ip) && (c.expires == nil || now.Before(*c.expires)) {
				return true
			}
		}
		return false
	}
	if l.kind == "ip" {
		if ip, err := netip.ParseAddr(value); err == nil {
			value = ip.Unmap().String()
		}
	}
	exp, ok := l.values[value]
	return ok && (exp == nil || now.Before(*exp))
}

func (s *Service) loadLists(ctx context.Context) (map[string]*list, error) {
	byID := map[string]*list{}
	out := map[string]*list{}
	p := store.ListParams{Limit: 100}
	for {
		ls, more, err := s.Store.RiskListList(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, l := range ls {
			m := &list{kind: l.Kind, values: map[string]*time.Time{}}
			byID[l.ID], out[l.Name] = m, m
		}
		if !more || len(ls) == 0 {
			break
		}
		p.StartingAfter = ls[len(ls)-1].ID
	}
	entries, err := s.Store.RiskListEntries(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		l := byID[e.ListID]
		if l == nil {
			continue
		}
		if l.kind == "cidr" {
			if pfx, err := netip.ParsePrefix(e.Value); err == nil {
				l.cidrs = append(l.cidrs, cidrEntry{pfx.Masked(), e.ExpiresAt})
			}
			continue
		}
		l.values[e.Value] = e.ExpiresAt
	}
	return out, nil
}

// CreateListParams create a list.
type CreateListParams struct {
	Name        string
	Kind        string
	Description string
}

// CreateList creates a list.
func (s *Service) CreateList(ctx context.Context, p CreateListParams) (*store.RiskList, error) {
	switch {
	case p.Name == "":
		return nil, errs.Missing("name")
	case !listName.MatchString(p.Name):
		return nil, errs.InvalidParam("name", "name must be 1 to 64 characters of a-z, 0-9 and _, starting with a letter.")
	case p.Kind == "":
		return nil, errs.Missing("kind")
	case !slices.Contains(ListKinds, p.Kind):
		return nil, errs.InvalidParam("kind", "kind must be one of "+strings.Join(ListKinds, ", ")+".")
	case len(p.Description) > 1000:
		return nil, errs.InvalidParam("description", "description must be at most 1000 characters.")
	}
	l := &store.RiskList{ID: id.New(id.RiskList, s.now()), Name: p.Name, Kind: p.Kind, Description: p.Description, CreatedAt: s.now()}
	if err := s.Store.RiskListCreate(ctx, l); errors.Is(err, store.ErrConflict) {
		return nil, errs.Conflict("risk_list_exists", "A list with this name exists.")
	} else if err != nil {
		return nil, err
	}
	s.Invalidate()
	return l, nil
}

// GetList returns a list.
func (s *Service) GetList(ctx context.Context, listID string) (*store.RiskList, error) {
	if !id.Valid(id.RiskList, listID) {
		return nil, ErrListNotFound
	}
	l, err := s.Store.RiskListGet(ctx, listID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrListNotFound
	}
	return l, err
}

// ListLists pages through lists.
func (s *Service) ListLists(ctx context.Context, p store.ListParams) ([]*store.RiskList, bool, error) {
	return s.Store.RiskListList(ctx, p)
}

// DeleteList deletes a list and its entries. Rules that name it stop matching.
func (s *Service) DeleteList(ctx context.Context, listID string) error {
	if _, err := s.GetList(ctx, listID); err != nil {
		return err
	}
	if err := s.Store.RiskListDelete(ctx, listID); err != nil {
		return err
	}
	s.Invalidate()
	return nil
}

// EntryParams add one entry.
type EntryParams struct {
	Value     string
	ExpiresAt *time.Time
	Reason    string
}

// AddEntries adds entries to a list (replacing those with the same value).
// Values are checked for the list's kind and normalised (an IP in its
// canonical form, a CIDR masked); param names the first bad one.
func (s *Service) AddEntries(ctx context.Context, listID string, ps []EntryParams) (*store.RiskList, error) {
	l, err := s.GetList(ctx, listID)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, errs.Missing("value")
	}
	if len(ps) > maxListEntriesPerImport {
		return nil, errs.InvalidParam("entries", fmt.Sprintf("At most %d entries at once.", maxListEntriesPerImport))
	}
	now := s.now()
	entries := make([]*store.RiskListEntry, len(ps))
	for i, p := range ps {
		v, err := normalizeValue(l.Kind, p.Value)
		if err != nil {
			if len(ps) > 1 {
				return nil, errs.InvalidParam("value", fmt.Sprintf("Entry %d: %s", i+1, errs.As(err).Message))
			}
			return nil, err
		}
		if len(p.Reason) > maxReason {
			return nil, errs.InvalidParam("reason", fmt.Sprintf("reason must be at most %d characters.", maxReason))
		}
		if p.ExpiresAt != nil && !p.ExpiresAt.After(now) {
			return nil, errs.InvalidParam("expires_at", "expires_at must be in the future.")
		}
		entries[i] = &store.RiskListEntry{ListID: l.ID, Value: v, Reason: p.Reason, ExpiresAt: p.ExpiresAt, CreatedAt: now}
	}
	if err := s.Store.RiskListEntriesPut(ctx, l.ID, entries); err != nil {
		return nil, err
	}
	s.Invalidate()
	return s.Store.RiskListGet(ctx, l.ID)
}

var (
	digits      = regexp.MustCompile(`^[0-9]{6}$`)
	fingerprint = regexp.MustCompile(`^[0-9a-f]{32}$`)
	printable   = regexp.MustCompile(`^[\x21-\x7e]{1,128}$`)
)

// normalizeValue checks v for a list of kind and returns its canonical form.
func normalizeValue(kind, v string) (string, error) {
	v = strings.TrimSpace(v)
	bad := func(msg string) error { return errs.InvalidParam("value", msg) }
	if v == "" {
		return "", errs.Missing("value")
	}
	switch kind {
	case "ip":
		ip, err := netip.ParseAddr(v)
		if err != nil {
			return "", bad("value must be an IPv4 or IPv6 address.")
		}
		return ip.Unmap().String(), nil
	case "cidr":
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return "", bad("value must be a CIDR range such as 203.0.113.0/24.")
		}
		return p.Masked().String(), nil
	case "card_bin":
		if !digits.MatchString(v) {
			return "", bad("value must be a card BIN: six digits.")
		}
	case "card_fingerprint":
		if !fingerprint.MatchString(v) {
			return "", bad("value must be a card fingerprint: 32 lower-case hex digits.")
		}
	default:
		if len(v) > maxListValue || !printable.MatchString(v) {
			return "", bad(fmt.Sprintf("value must be 1 to %d printable ASCII characters without spaces.", maxListValue))
		}
	}
	return v, nil
}

// DeleteEntry removes a value from a list.
func (s *Service) DeleteEntry(ctx context.Context, listID, value string) error {
	l, err := s.GetList(ctx, listID)
	if err != nil {
		return err
	}
	if v, err := normalizeValue(l.Kind, value); err == nil {
		value = v
	}
	if err := s.Store.RiskListEntryDelete(ctx, l.ID, value); errors.Is(err, store.ErrNotFound) {
		return errs.NotFound("risk_list_entry_not_found", "The list has no such value.")
	} else if err != nil {
		return err
	}
	s.Invalidate()
	return nil
}

// Entries returns a list's entries.
func (s *Service) Entries(ctx context.Context, listID string) ([]*store.RiskListEntry, error) {
	if _, err := s.GetList(ctx, listID); err != nil {
		return nil, err
	}
	return s.Store.RiskListEntries(ctx, listID)
}

// ParseEntriesCSV reads entries as CSV: value,expires_at,reason per line
// (the last two optional; expires_at RFC 3339 or empty), with an optional
// header line "value,expires_at,reason".
func ParseEntriesCSV(r io.Reader) ([]EntryParams, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var out []EntryParams
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errs.Invalid("csv_invalid", fmt.Sprintf("Line %d is not valid CSV.", line))
		}
		if line == 1 && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "value") {
			continue
		}
		if len(rec) == 0 || (len(rec) == 1 && strings.TrimSpace(rec[0]) == "") {
			continue
		}
		if len(rec) > 3 {
			return nil, errs.Invalid("csv_invalid", fmt.Sprintf("Line %d has more than three fields (value,expires_at,reason).", line))
		}
		e := EntryParams{Value: rec[0]}
		if len(rec) > 1 && strings.TrimSpace(rec[1]) != "" {
			t, err := time.Parse(time.RFC3339, strings.TrimSpace(rec[1]))
			if err != nil {
				return nil, errs.Invalid("csv_invalid", fmt.Sprintf("Line %d: expires_at must be an RFC 3339 time.", line))
			}
			e.ExpiresAt = &t
		}
		if len(rec) > 2 {
			e.Reason = rec[2]
		}
		out = append(out, e)
	}
	return out, nil
}

// WriteEntriesCSV writes entries as ParseEntriesCSV reads them, with the header.
func WriteEntriesCSV(w io.Writer, entries []*store.RiskListEntry) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"value", "expires_at", "reason"})
	for _, e := range entries {
		exp := ""
		if e.ExpiresAt != nil {
			exp = e.ExpiresAt.UTC().Format(time.RFC3339)
		}
		cw.Write([]string{e.Value, exp, e.Reason})
	}
	cw.Flush()
	return cw.Error()
}
