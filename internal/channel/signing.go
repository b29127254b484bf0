package channel

import (
	"slices"
	"strings"
)

// SortedPairs joins the fields include accepts as raw (not URL-encoded)
// "name=value" pairs, sorted by name (byte order), with "&": the string
// Alipay's and UnionPay's signatures cover.
func SortedPairs(fields map[string]string, include func(name, value string) bool) string {
	names := make([]string, 0, len(fields))
	for k, v := range fields {
		if include(k, v) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	var b strings.Builder
	for i, k := range names {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(fields[k])
	}
	return b.String()
}
