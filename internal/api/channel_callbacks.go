package api

import (
	"net/http"

	"github.com/paygate/paygate/internal/channel"
)

// channelCallback takes a channel's asynchronous notification for one of
// its channel accounts (POST /channels/{provider}/notify/{account}). The
// body is the channel's own format (WeChat's JSON, Alipay's and UnionPay's
// forms), so it is passed through untouched; the answer is the one the
// channel expects (WeChat: 204 or a JSON error; Alipay: "success"/"fail";
// UnionPay: "ok"), which decides whether it sends the callback again.
func (s *Server) channelCallback(w http.ResponseWriter, r *http.Request) error {
	reply := s.Payments.ChannelCallback(r.Context(), r.PathValue("provider"), r.PathValue("account"), channel.NotifyRequest{
		Header: r.Header.Clone(), Body: bodyOf(r),
	})
	if reply.ContentType != "" {
		w.Header().Set("Content-Type", reply.ContentType)
	}
	w.WriteHeader(reply.Status)
	_, err := w.Write(reply.Body)
	return err
}
