package web

import (
	"encoding/json"
	"fmt"
	"net/http"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/paygate/paygate/internal/channel"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/store"
)

// qrModulePixels is the size of one QR module in the PNG; the page scales
// the image down with crisp edges.
const qrModulePixels = 8

var errNoQRCode = errs.NotFound("qr_code_not_found", "This order has no QR code to scan.")

// qr serves GET /pay/{id}/qr.png: the order's next_action.qr_code drawn as
// a PNG by the server (medium error correction, quiet zone included), for
// unpaid orders whose channel asked for a QR code.
func (h *Handler) qr(w http.ResponseWriter, r *http.Request) error {
	o, err := h.order(r.Context(), r)
	if err != nil {
		return err
	}
	if o.Status != store.OrderPending || h.cfg.Payments.OrderExpired(o) || len(o.NextAction) == 0 {
		return errNoQRCode
	}
	var na channel.NextAction
	if err := json.Unmarshal(o.NextAction, &na); err != nil || na.Type != "qr_code" || na.QRCode == "" {
		return errNoQRCode
	}
	code, err := qrcode.New(na.QRCode, qrcode.Medium)
	if err != nil {
		return fmt.Errorf("qr code of order %s: %w", o.ID, err)
	}
	png, err := code.PNG(-qrModulePixels)
	if err != nil {
		return fmt.Errorf("qr code of order %s: %w", o.ID, err)
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, no-store")
	_, err = w.Write(png)
	return err
}
