package api

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate/client"
)

// Streamed responses. A route with Stream set (statements) writes its
// answer as it reads it from the database instead of into serve's buffer:
// the first byte the handler writes sends the header, and the body goes out
// as it is written, gzip-compressed when the client accepts it. Such a body
// cannot be signed before it is sent, so the response carries
// Paygate-Timestamp, Paygate-Nonce and Paygate-Key-Id as headers and, after
// the body, the trailers Paygate-Content-Sha256 (of the body before gzip)
// and Paygate-Signature over it (auth.ResponseSigner.StartStream; the Go
// client's DownloadStatement checks both). An error before the first byte
// is answered as any other, in the error shape; an error after it aborts
// the connection, so that a cut body can never pass for a whole one.

// streamWriteWindow is how long one write of a streamed body may take: the
// connection's write deadline moves forward while data flows, so a large
// statement is not cut by the server's WriteTimeout.
const streamWriteWindow = time.Minute

// write is bufferedWriter's Write: into its buffer, or out through the
// stream of a streamed route.
func (b *bufferedWriter) write(p []byte) (int, error) {
	if b.stream != nil {
		return b.stream.write(b.status, p)
	}
	return b.body.Write(p)
}

// streamWriter sends a streamed response.
type streamWriter struct {
	w       http.ResponseWriter
	gzip    bool
	start   func(h http.Header) func(http.Header, []byte) // the signer's StartStream, or nil
	finish  func(http.Header, []byte)
	started bool
	hash    hash.Hash
	out     io.Writer
	gz      *gzip.Writer
	moved   time.Time // when the write deadline was last moved
}

// newStream prepares the streamed answer of a route with Stream set;
// responses of the merchant API are signed.
func (s *Server) newStream(w http.ResponseWriter, r *http.Request, rt route) *streamWriter {
	sw := &streamWriter{w: w, gzip: acceptsGzip(r.Header.Get("Accept-Encoding"))}
	if sg := s.signer(); rt.Access != operator && sg != nil {
		sw.start = sg.StartStream
	}
	return sw
}

// write sends p, sending the header with status first.
func (sw *streamWriter) write(status int, p []byte) (int, error) {
	if !sw.started {
		sw.started = true
		h := sw.w.Header()
		h.Del("Content-Length")
		h.Add("Vary", "Accept-Encoding")
		sw.out, sw.hash = sw.w, sha256.New()
		if sw.gzip {
			h.Set("Content-Encoding", "gzip")
			sw.gz = gzip.NewWriter(sw.w)
			sw.out = sw.gz
		}
		if sw.start != nil {
			sw.finish = sw.start(h)
		} else {
			h.Set("Trailer", client.HeaderContentSHA256)
		}
		sw.w.WriteHeader(status)
	}
	if now := time.Now(); now.Sub(sw.moved) > time.Second {
		sw.moved = now
		_ = http.NewResponseController(sw.w).SetWriteDeadline(now.Add(streamWriteWindow)) // unsupported: the server's timeout stands
	}
	sw.hash.Write(p)
	return sw.out.Write(p)
}

// sent ends a streamed response and reports whether there was one: false
// when the handler wrote nothing (serve then answers from its buffer, an
// error included). A handler error after the first byte aborts the
// connection.
func (sw *streamWriter) sent(err error, log *slog.Logger, reqID string) bool {
	if sw == nil || !sw.started {
		return false
	}
	if err != nil {
		log.Error("streamed response failed; connection aborted", "request_id", reqID, "err", err)
		panic(http.ErrAbortHandler)
	}
	if sw.gz != nil {
		if err := sw.gz.Close(); err != nil {
			panic(http.ErrAbortHandler)
		}
	}
	digest := sw.hash.Sum(nil)
	if sw.finish != nil {
		sw.finish(sw.w.Header(), digest)
	} else {
		sw.w.Header().Set(client.HeaderContentSHA256, hex.EncodeToString(digest))
	}
	return true
}

// acceptsGzip reports whether an Accept-Encoding header accepts gzip (by
// name, or as *) with a quality above zero.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(part, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "*" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		return q > 0
	}
	return false
}
