package routing

// DetectMicropay returns the micropay method an auth code (the payer's
// barcode) belongs to, from its length and prefix:
//
//   - WeChat Pay: 18 digits starting 10 to 15 → "wechat.micropay"
//   - Alipay: 16 to 24 digits starting 25 to 30 → "alipay.micropay"
//   - UnionPay: 19 digits starting 62 → "unionpay.micropay"
//
// ok is false for anything else, including codes with non-digits.
func DetectMicropay(authCode string) (method string, ok bool) {
	n := len(authCode)
	if n < 2 {
		return "", false
	}
	for i := 0; i < n; i++ {
		if authCode[i] < '0' || authCode[i] > '9' {
			return "", false
		}
	}
	prefix := int(authCode[0]-'0')*10 + int(authCode[1]-'0')
	switch {
	case n == 18 && prefix >= 10 && prefix <= 15:
		return "wechat.micropay", true
	case n >= 16 && n <= 24 && prefix >= 25 && prefix <= 30:
		return "alipay.micropay", true
	case n == 19 && prefix == 62:
		return "unionpay.micropay", true
	}
	return "", false
}
