-- Events keep the W3C traceparent of the request that wrote them (empty
-- when tracing is off), so that their webhook deliveries continue that
-- trace: the merchant's handler joins the trace of the API call that
-- caused the event. Keep in step with the other driver's migration.
ALTER TABLE events ADD COLUMN traceparent TEXT NOT NULL DEFAULT '';
