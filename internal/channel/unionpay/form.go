package unionpay

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ParseResponse reads an ACP synchronous response body. UnionPay answers
// with raw "k=v&k=v" text: values are not URL-encoded (respMsg is UTF-8
// Chinese, signature and signPubKeyCert carry "+", "/", "=" and CR LF), so
// a key ends at its first "=", and a "&" inside {…} or […] (customerInfo,
// reserved fields) does not end a pair.
func ParseResponse(body string) (map[string]string, error) {
	fields := map[string]string{}
	depth := 0
	start := 0
	for i := 0; i <= len(body); i++ {
		if i < len(body) {
			switch body[i] {
			case '{', '[':
				depth++
				continue
			case '}', ']':
				if depth > 0 {
					depth--
				}
				continue
			case '&':
				if depth > 0 {
					continue
				}
			default:
				continue
			}
		}
		pair := body[start:i]
		start = i + 1
		if pair == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("unionpay: response pair %q has no key", truncate(pair, 40))
		}
		fields[k] = v
	}
	if len(fields) == 0 {
		return nil, errors.New("unionpay: empty response")
	}
	return fields, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

var (
	gatewayIDPattern = regexp.MustCompile(`^([a-z]{2,4})_([0-9A-Za-z]+)$`)
	channelIDPattern = regexp.MustCompile(`^(ord|rfd)([0-9A-Za-z]+)$`)
	orderIDPattern   = regexp.MustCompile(`^[0-9A-Za-z]{8,40}$`)
)

// ChannelOrderID maps a gateway id ("ord_01JB…", "rfd_01JB…") to a UnionPay
// orderId, which is 8–40 letters and digits: the "_" is dropped
// ("ord01JB…"). OrderIDFromChannel undoes it.
func ChannelOrderID(id string) (string, error) {
	out := id
	if m := gatewayIDPattern.FindStringSubmatch(id); m != nil {
		out = m[1] + m[2]
	}
	if !orderIDPattern.MatchString(out) {
		return "", fmt.Errorf("unionpay: id %q cannot be an orderId (8–40 letters and digits)", id)
	}
	return out, nil
}

// OrderIDFromChannel maps a UnionPay orderId back to the gateway's id:
// "ord01JB…" → "ord_01JB…", "rfd01JB…" → "rfd_01JB…". Other ids are
// returned as they are.
func OrderIDFromChannel(orderID string) string {
	if m := channelIDPattern.FindStringSubmatch(orderID); m != nil {
		return m[1] + "_" + m[2]
	}
	return orderID
}
