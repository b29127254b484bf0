package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Streamed responses (statements) are sent as they are read from the
// database, so the gateway cannot sign their body up front. It sends
// Paygate-Timestamp, Paygate-Nonce and Paygate-Key-Id as headers and, after
// the body, the trailers Paygate-Content-Sha256 (the hex SHA-256 of the
// body, before any gzip) and Paygate-Signature: the platform key's
// signature over ResponseMessage(timestamp, nonce, StreamedBody(digest)).
const HeaderContentSHA256 = "Paygate-Content-Sha256"

// StreamedBody is what a streamed response's signature stands for in place
// of its body: "paygate-stream-sha256=" and the hex SHA-256 of the body.
func StreamedBody(digest []byte) []byte {
	return []byte("paygate-stream-sha256=" + hex.EncodeToString(digest))
}

// Statement types of DownloadStatement.
const (
	StatementTrades      = "trades"
	StatementRefunds     = "refunds"
	StatementSettlements = "settlements"
)

// DownloadStatement writes the merchant's statement of day (YYYY-MM-DD, in
// the merchant's time zone) of type typ (StatementTrades, StatementRefunds
// or StatementSettlements) to w as CSV, as it arrives (the transport asks
// for gzip and inflates it). It checks the body against the
// Paygate-Content-Sha256 trailer, so a cut stream is an error; with
// response verification on it also checks the trailer's signature, and
// returns an error wrapping ErrResponseSignature when it does not verify:
// what w received must then not be trusted.
func (c *Client) DownloadStatement(ctx context.Context, day, typ string, w io.Writer) error {
	seg, err := segment("day", day)
	if err != nil {
		return err
	}
	path := "/v1/statements/" + seg + "?type=" + url.QueryEscape(typ)
	req, err := c.newRequest(ctx, http.MethodGet, path, nil, requestConfig{})
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/csv")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("paygate: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
		res := &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: data, RequestID: resp.Header.Get("Request-Id")}
		if err := c.checkResponse(ctx, res); err != nil {
			return err
		}
		return decodeError(res)
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(w, h), resp.Body); err != nil {
		return fmt.Errorf("paygate: GET %s: read the statement: %w", path, err)
	}
	digest := h.Sum(nil)
	if got := resp.Trailer.Get(HeaderContentSHA256); got != hex.EncodeToString(digest) {
		return fmt.Errorf("paygate: GET %s: the statement's SHA-256 is %s, the gateway sent %q: it was cut or changed on the way", path, hex.EncodeToString(digest), got)
	}
	signed := resp.Header.Clone()
	signed.Set(HeaderSignature, resp.Trailer.Get(HeaderSignature))
	return c.checkResponse(ctx, &Response{StatusCode: resp.StatusCode, Header: signed, Body: StreamedBody(digest), RequestID: resp.Header.Get("Request-Id")})
}
