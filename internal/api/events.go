package api

import (
	"context"
	"errors"
	"math"
	"net/http"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/store"
)

var errEventNotFound = errs.NotFound("event_not_found", "No such event.")

var deliveryStatuses = map[string]bool{store.DeliveryPending: true, store.DeliverySucceeded: true, store.DeliveryFailed: true}

// eventRoutes are the merchant API's events and their deliveries.
func (s *Server) eventRoutes() []route {
	return []route{
		{Method: "GET", Pattern: "/v1/events", Access: merchant, Handler: s.listEvents, Query: true},
		{Method: "GET", Pattern: "/v1/events/{id}", Access: merchant, Handler: s.getEvent},
		{Method: "POST", Pattern: "/v1/events/{id}/redeliver", Access: merchant, Handler: s.redeliverEvent},
	}
}

func eventObject(e *store.Event) client.Event {
	return client.Event{ID: e.ID, Object: "event", Type: e.Type, Livemode: e.Livemode, CreatedAt: e.CreatedAt.UTC(), Data: e.Data}
}

func deliveryObject(d *store.Delivery) client.Delivery {
	out := client.Delivery{
		ID: d.ID, Object: "delivery", EventID: d.EventID, Target: "notify_url", URL: d.URL, Status: d.Status,
		Attempts: d.Attempts, LastError: d.LastError, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
	}
	if d.EndpointID != "" {
		out.Target, out.EndpointID = "webhook_endpoint", &d.EndpointID
	}
	if d.Status == store.DeliveryPending {
		next := d.NextAttemptAt.UTC()
		out.NextAttemptAt = &next
	}
	return out
}

func attemptObject(a *store.DeliveryAttempt) client.DeliveryAttempt {
	out := client.DeliveryAttempt{
		ID: a.ID, Object: "delivery_attempt", DeliveryID: a.DeliveryID, URL: a.URL, AttemptedAt: a.AttemptedAt.UTC(),
		Succeeded: a.Error == "" && a.StatusCode >= 200 && a.StatusCode <= 299,
		LatencyMS: math.Round(float64(a.Latency.Microseconds())) / 1000, Error: a.Error, ResponseBody: a.ResponseBody,
	}
	if a.EndpointID != "" {
		out.EndpointID = &a.EndpointID
	}
	if a.StatusCode != 0 {
		code := a.StatusCode
		out.StatusCode = &code
	}
	return out
}

// deliveryStatus sums up an event's deliveries as the delivery_status filter does.
func deliveryStatus(ds []*store.Delivery) string {
	status := ""
	for _, d := range ds {
		switch {
		case d.Status == store.DeliveryPending:
			return store.DeliveryPending
		case d.Status == store.DeliveryFailed:
			status = store.DeliveryFailed
		case status == "":
			status = store.DeliverySucceeded
		}
	}
	return status
}

// eventDetail renders e with its deliveries and their attempts.
func (s *Server) eventDetail(ctx context.Context, e *store.Event) (client.Event, error) {
	out := eventObject(e)
	ds, err := s.Store.DeliveryList(ctx, e.ID)
	if err != nil {
		return out, err
	}
	atts, err := s.Store.DeliveryAttempts(ctx, e.ID)
	if err != nil {
		return out, err
	}
	out.DeliveryStatus = deliveryStatus(ds)
	out.Deliveries = make([]client.Delivery, len(ds))
	for i, d := range ds {
		out.Deliveries[i] = deliveryObject(d)
	}
	out.Attempts = make([]client.DeliveryAttempt, len(atts))
	for i, a := range atts {
		out.Attempts[i] = attemptObject(a)
	}
	return out, nil
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lp, err := listParams(q, "type", "object_id", "delivery_status")
	if err != nil {
		return err
	}
	ds := q.Get("delivery_status")
	if ds != "" && !deliveryStatuses[ds] {
		return errs.InvalidParam("delivery_status", "delivery_status must be one of pending, succeeded, failed.")
	}
	sc := scopeOf(r)
	events, more, err := s.Store.EventList(r.Context(), store.EventFilter{
		MerchantID: sc.MerchantID, Livemode: sc.Livemode, Type: q.Get("type"), ObjectID: q.Get("object_id"),
		DeliveryStatus: ds, ListParams: lp,
	})
	if err != nil {
		return err
	}
	data := make([]client.Event, len(events))
	for i, e := range events {
		data[i] = eventObject(e)
	}
	return writeJSON(w, http.StatusOK, newList(data, more))
}

// eventOf returns the event named in the path if the caller's merchant and mode own it.
func (s *Server) eventOf(r *http.Request) (*store.Event, error) {
	e, err := s.Store.EventGetInScope(r.Context(), scopeOf(r), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errEventNotFound
	}
	return e, err
}

func (s *Server) getEvent(w http.ResponseWriter, r *http.Request) error {
	e, err := s.eventOf(r)
	if err != nil {
		return err
	}
	out, err := s.eventDetail(r.Context(), e)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// redeliverEvent makes every delivery of the event due now with a fresh
// retry schedule (the attempt history stays), and wakes the dispatcher.
func (s *Server) redeliverEvent(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	e, err := s.eventOf(r)
	if err != nil {
		return err
	}
	if _, err := s.Store.EventRedeliver(r.Context(), scopeOf(r), e.ID, s.now()); errors.Is(err, store.ErrNotFound) {
		return errEventNotFound
	} else if err != nil {
		return err
	}
	if s.Payments != nil && s.Payments.Notify != nil {
		s.Payments.Notify()
	}
	out, err := s.eventDetail(r.Context(), e)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}
