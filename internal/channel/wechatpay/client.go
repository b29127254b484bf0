package wechatpay

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"syscall"

	"github.com/paygate/paygate/internal/channel"
)

// maxResponse bounds the bytes read from an API answer (bills are read by
// download, with their own bound).
const maxResponse = 1 << 20

// apiError is an error answer of WeChat Pay: an API v3 {code, message} with
// its HTTP status, or an API v2 err_code (or return_msg) with 200.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("wechatpay answered %d %s: %s", e.Status, e.Code, e.Message)
}

// declineCodes maps WeChat's final refusals to the gateway's stable codes.
var declineCodes = map[string]string{
	"AUTHCODEEXPIRE":         "auth_code_expired",
	"AUTH_CODE_INVALID":      "auth_code_invalid",
	"AUTH_CODE_ERROR":        "auth_code_invalid",
	"NOTENOUGH":              "insufficient_funds",
	"NOTSUPORTCARD":          "card_not_supported",
	"BUYER_MISMATCH":         "buyer_mismatch",
	"PAYER_ACCOUNT_ABNORMAL": "payer_account_abnormal",
	"USER_ACCOUNT_ABNORMAL":  "payer_account_abnormal",
	"NOT_ENOUGH":             "merchant_balance_insufficient", // refund: the merchant's balance
	"TRADE_OVERDUE":          "refund_period_expired",
}

// sortError is the one place where what went wrong talking to WeChat Pay
// becomes a channel sentinel. moves says whether the call may move money
// (micropay, refund, reverse): then anything short of a clear answer is an
// unknown outcome, never a guess.
func sortError(op string, moves bool, err error) error {
	unknown := func() error { return channel.Unknown(fmt.Errorf("wechatpay %s: %w", op, err)) }
	wrap := func(sentinel error) error { return fmt.Errorf("wechatpay %s: %w: %w", op, sentinel, err) }
	var ae *apiError
	var ne net.Error
	switch {
	case errors.Is(err, channel.ErrBadSignature):
		if moves {
			return unknown()
		}
		return fmt.Errorf("wechatpay %s: %w", op, err)
	case errors.As(err, &ae):
		return sortAPIError(op, moves, ae)
	case notSent(err):
		return wrap(channel.ErrUnavailable)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled), errors.As(err, &ne) && ne.Timeout():
		return unknown()
	case moves:
		return unknown()
	default:
		return wrap(channel.ErrUnavailable)
	}
}

// sortAPIError sorts WeChat's error codes (v3 and v2 spellings).
func sortAPIError(op string, moves bool, ae *apiError) error {
	wrap := func(sentinel error) error { return fmt.Errorf("wechatpay %s: %w: %w", op, sentinel, ae) }
	switch ae.Code {
	case "SYSTEM_ERROR", "SYSTEMERROR", "BANK_ERROR", "BANKERROR":
		if moves {
			return channel.Unknown(fmt.Errorf("wechatpay %s: %w", op, ae))
		}
		return wrap(channel.ErrUnavailable)
	case "USERPAYING", "USER_PAYING":
		return channel.Unknown(fmt.Errorf("wechatpay %s: %w", op, ae))
	case "FREQUENCY_LIMITED", "RATELIMIT_EXCEEDED", "FREQ_LIMIT":
		return wrap(channel.ErrUnavailable)
	case "ORDER_NOT_EXIST", "ORDERNOTEXIST", "RESOURCE_NOT_EXISTS":
		return wrap(channel.ErrTradeNotFound)
	case "ORDERPAID", "ORDER_PAID":
		return wrap(channel.ErrAlreadyPaid)
	}
	if code, ok := declineCodes[ae.Code]; ok {
		return fmt.Errorf("wechatpay %s: %w", op, &channel.DeclineError{Code: code, Message: ae.Message})
	}
	switch {
	case ae.Status >= 500:
		if moves {
			return channel.Unknown(fmt.Errorf("wechatpay %s: %w", op, ae))
		}
		return wrap(channel.ErrUnavailable)
	case ae.Status == http.StatusTooManyRequests:
		return wrap(channel.ErrUnavailable)
	case ae.Status == http.StatusNotFound:
		return wrap(channel.ErrTradeNotFound)
	}
	return wrap(channel.ErrInvalidRequest)
}

// notSent reports whether err happened before the request left: the
// connection was never made.
func notSent(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial" || errors.Is(err, syscall.ECONNREFUSED)
}

// v3 makes a signed API v3 call: it signs method, uri (path and query) and
// the JSON of in; verifies the answer's signature (always for 2xx, and for
// errors that carry one); decodes a 2xx body into out. Errors are sorted.
func (c *Connector) v3(ctx context.Context, op, method, uri string, in any, moves bool, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("wechatpay %s: encode request: %w: %w", op, channel.ErrInvalidRequest, err)
		}
	}
	resp, data, err := c.send(ctx, method, c.baseURL+uri, uri, body)
	if err != nil {
		return sortError(op, moves, err)
	}
	ok := resp.StatusCode/100 == 2
	if ok || resp.Header.Get(headerSignature) != "" {
		if err := c.verifySigned(resp.Header, data); err != nil {
			return sortError(op, moves, err)
		}
	}
	if resp.StatusCode == http.StatusAccepted { // accepted, not done: 202 USER_PAYING to a close
		ae := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(data, ae) == nil && ae.Code != "" {
			return sortError(op, moves, ae)
		}
	}
	if !ok {
		ae := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(data, ae) != nil || ae.Code == "" {
			ae.Code, ae.Message = "HTTP_"+strconv.Itoa(resp.StatusCode), string(bytes.TrimSpace(data))
		}
		return sortError(op, moves, ae)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return sortError(op, moves, fmt.Errorf("decode answer: %w", err))
		}
	}
	return nil
}

// send signs and sends one API v3 request and reads its answer.
func (c *Connector) send(ctx context.Context, method, url, uri string, body []byte) (*http.Response, []byte, error) {
	return c.sendLimited(ctx, method, url, uri, body, maxResponse)
}

// sendLimited is send reading at most limit bytes of the answer.
func (c *Connector) sendLimited(ctx context.Context, method, url, uri string, body []byte, limit int64) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("build request: %w: %w", channel.ErrInvalidRequest, err)
	}
	nonce, ts := newNonce(), strconv.FormatInt(c.now().Unix(), 10)
	sig, err := SignSHA256RSA(c.privateKey, SigningMessage(method, uri, ts, nonce, string(body)))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", AuthorizationHeader(c.mchID, c.serialNo, nonce, ts, sig))
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "paygate-wechatpay/1")
	req.Header.Set(headerSerial, c.platformSerial)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, nil, fmt.Errorf("read answer: %w", err)
	}
	return resp, data, nil
}

// v2 makes an API v2 (XML) call: it adds appid, mch_id, nonce_str and an
// HMAC-SHA256 sign to params, checks the answer's return_code, sign,
// appid and mch_id, and returns the answer's fields. A business failure
// (result_code FAIL) is returned as an unsorted *apiError with the fields,
// so the caller can sort it with what it knows.
func (c *Connector) v2(ctx context.Context, op, path string, params map[string]string, moves bool) (map[string]string, error) {
	return c.v2With(ctx, op, path, params, moves, SignTypeHMACSHA256, true)
}

// v2With is v2 signed with signType (papay's contract calls take MD5),
// with a nonce_str when nonce is set (they take none).
func (c *Connector) v2With(ctx context.Context, op, path string, params map[string]string, moves bool, signType string, nonce bool) (map[string]string, error) {
	params["appid"], params["mch_id"] = c.appID, c.mchID
	if nonce {
		params["nonce_str"] = newNonce()
	}
	if signType != SignTypeMD5 {
		params["sign_type"] = signType
	}
	sign, err := V2Sign(params, c.apiV2Key, signType)
	if err != nil {
		return nil, err
	}
	params["sign"] = sign
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+path, bytes.NewReader(encodeXML(params)))
	if err != nil {
		return nil, fmt.Errorf("wechatpay %s: %w: %w", op, channel.ErrInvalidRequest, err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, sortError(op, moves, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, sortError(op, moves, fmt.Errorf("read answer: %w", err))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, sortError(op, moves, &apiError{Status: resp.StatusCode, Code: "HTTP_" + strconv.Itoa(resp.StatusCode), Message: string(bytes.TrimSpace(data))})
	}
	fields, err := decodeXML(data)
	if err != nil {
		return nil, sortError(op, moves, fmt.Errorf("decode answer: %w", err))
	}
	if fields["return_code"] != "SUCCESS" {
		// Refused before any business processing (sign, format): nothing happened.
		return nil, sortError(op, false, &apiError{Status: resp.StatusCode, Code: "RETURN_" + fields["return_code"], Message: fields["return_msg"]})
	}
	if err := verifyV2(fields, c.apiV2Key, signType); err != nil {
		return nil, sortError(op, moves, err)
	}
	if fields["appid"] != c.appID || fields["mch_id"] != c.mchID {
		return nil, sortError(op, moves, fmt.Errorf("answer for appid %q mch_id %q: %w", fields["appid"], fields["mch_id"], channel.ErrBadSignature))
	}
	if fields["result_code"] != "SUCCESS" {
		return fields, &apiError{Status: resp.StatusCode, Code: fields["err_code"], Message: fields["err_code_des"]}
	}
	return fields, nil
}

// encodeXML writes API v2 parameters as <xml><k>v</k>…</xml>, in name order.
func encodeXML(params map[string]string) []byte {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	var b bytes.Buffer
	b.WriteString("<xml>")
	for _, k := range names {
		b.WriteString("<" + k + ">")
		xml.EscapeText(&b, []byte(params[k]))
		b.WriteString("</" + k + ">")
	}
	b.WriteString("</xml>")
	return b.Bytes()
}

// decodeXML reads a flat API v2 document: the root's child elements and their text.
func decodeXML(data []byte) (map[string]string, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	fields := map[string]string{}
	depth := 0
	var name string
	var text []byte
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 {
				name, text = t.Name.Local, text[:0]
			}
		case xml.CharData:
			if depth == 2 {
				text = append(text, t...)
			}
		case xml.EndElement:
			if depth == 2 {
				fields[name] = string(text)
			}
			depth--
		}
	}
	if len(fields) == 0 {
		return nil, errors.New("empty xml document")
	}
	return fields, nil
}
