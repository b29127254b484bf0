package api

import (
	"errors"
	"net/http"

	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/store"
)

var errEventNotFound = errs.NotFound("event_not_found", "No such event.")

func eventObject(e *store.Event) client.Event {
	return client.Event{ID: e.ID, Object: "event", Type: e.Type, Livemode: e.Livemode, CreatedAt: e.CreatedAt.UTC(), Data: e.Data}
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	lp, err := listParams(q, "type", "object_id")
	if err != nil {
		return err
	}
	sc := scopeOf(r)
	events, more, err := s.Store.EventList(r.Context(), store.EventFilter{
		MerchantID: sc.MerchantID, Livemode: sc.Livemode, Type: q.Get("type"), ObjectID: q.Get("object_id"), ListParams: lp,
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

func (s *Server) getEvent(w http.ResponseWriter, r *http.Request) error {
	sc := scopeOf(r)
	e, err := s.Store.EventGet(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && (e.MerchantID != sc.MerchantID || e.Livemode != sc.Livemode)) {
		return errEventNotFound
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, eventObject(e))
}
