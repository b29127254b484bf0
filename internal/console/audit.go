package console

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/api"
	"github.com/paygate/paygate/internal/id"
	"github.com/paygate/paygate/internal/store"
)

// audit appends a console action to the gateway's audit log (the chain
// internal/api keeps and `paygate audit verify` checks), once it has
// succeeded: who (the console user; actor type console_operator or
// console_merchant), the route pattern as the action, the object of the
// path, the merchant, the address and the request id. Objects' before and
// after are not recorded for console actions (the API's records have them).
// As in the API, a failed append is logged and the action stands.
func (h *Handler) audit(r *http.Request, p *principal) {
	if !audited(r) {
		return
	}
	now := h.now()
	e := &store.AuditEvent{ID: id.New("aud_", now), CreatedAt: now, ActorType: "console_" + p.User.Kind, ActorID: p.User.ID,
		Action: r.Pattern, ObjectID: r.PathValue("id"), MerchantID: p.User.MerchantID, SourceIP: clientIP(r),
		RequestID: r.Header.Get("Request-Id")}
	if e.MerchantID == "" && strings.HasPrefix(r.URL.Path, "/console/merchants/") {
		e.MerchantID = e.ObjectID
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	if err := h.cfg.Store.AuditAppend(ctx, e, api.AuditHash); err != nil {
		h.cfg.Log.Error("console audit: append failed; the action stands", "request_id", e.RequestID, "action", e.Action, "err", err)
	}
}

// audited reports whether a POST changed something: every one but the mode
// switch, the risk rule's dry run and a refund's confirmation step.
func audited(r *http.Request) bool {
	switch {
	case r.Method != http.MethodPost, r.URL.Path == "/console/mode", r.URL.Path == "/console/risk":
		return false
	case strings.HasSuffix(r.URL.Path, "/refund") && r.PostFormValue("confirm") != "yes":
		return false
	}
	return true
}
