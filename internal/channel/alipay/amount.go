package alipay

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/money"
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
	return money.FormatMinor(fen, 2), nil
}

// parseYuan reads an Alipay yuan amount ("12.34", "12.3", "12", "-0.05",
// "+1", surrounded by white space) into fen exactly. More than two decimals,
// more than 12 integer digits, exponents and anything else are errors.
func parseYuan(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(t, "+"); ok && !strings.HasPrefix(rest, "-") {
		t = rest
	}
	if whole, _, _ := strings.Cut(strings.TrimPrefix(t, "-"), "."); len(whole) > 12 {
		return 0, fmt.Errorf("amount %q is not a yuan amount", s)
	}
	fen, err := money.ParseMinor(t, 2)
	if err != nil {
		return 0, fmt.Errorf("amount %q is not a yuan amount: %w", s, err)
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
