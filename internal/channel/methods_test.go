package channel

import (
	"strings"
	"testing"
)

func TestDetectMicropay(t *testing.T) {
	t.Parallel()
	digits := func(prefix string, n int) string { return prefix + strings.Repeat("7", n-len(prefix)) }
	tests := []struct {
		code string
		want string // "" for not a micropay code
	}{
		// WeChat Pay: 18 digits, 10–15.
		{digits("10", 18), "wechat.micropay"},
		{digits("13", 18), "wechat.micropay"},
		{digits("15", 18), "wechat.micropay"},
		{digits("09", 18), ""},
		{digits("16", 18), ""},
		{digits("13", 17), ""},
		{digits("13", 19), ""},
		// Alipay: 16–24 digits, 25–30.
		{digits("25", 16), "alipay.micropay"},
		{digits("28", 18), "alipay.micropay"},
		{digits("30", 24), "alipay.micropay"},
		{digits("24", 18), ""},
		{digits("31", 18), ""},
		{digits("28", 15), ""},
		{digits("28", 25), ""},
		// UnionPay: 19 digits, 62.
		{digits("62", 19), "unionpay.micropay"},
		{digits("62", 18), ""},
		{digits("62", 20), ""},
		// Not digits, or too short.
		{"13" + strings.Repeat("7", 15) + "x", ""},
		{" " + digits("13", 17), ""},
		{"１３" + strings.Repeat("7", 16), ""}, // full-width digits
		{"", ""},
		{"1", ""},
	}
	for _, tt := range tests {
		got, ok := DetectMicropay(tt.code)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("DetectMicropay(%q) = %q, %v; want %q, %v", tt.code, got, ok, tt.want, tt.want != "")
		}
	}
}
