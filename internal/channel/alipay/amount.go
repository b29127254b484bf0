package alipay

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// cst is China Standard Time, the zone of every Alipay timestamp.
var cst = time.FixedZone("CST", 8*3600)

// timeLayout is Alipay's "yyyy-MM-dd HH:mm:ss".
const timeLayout = "2006-01-02 15:04:05"

// maxFen is Alipay's largest single amount, 100,000,000.00 yuan.
const maxFen = 100_000_000_00

// yuan renders fen as Alipay's two-decimal yuan string ("12.34"), using
// integer arithmetic only.
func yuan(fen int64) (string, error) {
	if fen <= 0 || fen > maxFen {
		return "", fmt.Errorf("amount %d fen is outside 0.01–100000000.00 yuan", fen)
	}
	return fmt.Sprintf("%d.%02d", fen/100, fen%100), nil
}

// parseYuan reads an Alipay yuan amount ("12.34", "12.3", "12", "-0.05") into
// fen exactly. More than two decimals, exponents and anything else are errors.
func parseYuan(s string) (int64, error) {
	orig := s
	s = strings.TrimSpace(s)
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	} else if strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 12 || len(frac) > 2 || (hasDot && frac == "") {
		return 0, fmt.Errorf("amount %q is not a yuan amount", orig)
	}
	for _, part := range []string{whole, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("amount %q is not a yuan amount", orig)
			}
		}
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %w", orig, err)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	fen := w*100 + f
	if neg {
		fen = -fen
	}
	return fen, nil
}

// parseTime reads an Alipay "yyyy-MM-dd HH:mm:ss" in China Standard Time; ""
// is the zero time.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(timeLayout, s, cst)
	if err != nil {
		return time.Time{}, errors.New("time " + strconv.Quote(s) + " is not yyyy-MM-dd HH:mm:ss")
	}
	return t, nil
}
