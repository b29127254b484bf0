// Package tracing sets up OpenTelemetry tracing for Paygate.
//
// Tracing is off unless the standard OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) variable is set: Setup then installs
// an SDK tracer provider that batches spans to that OTLP/HTTP endpoint (the
// exporter reads the other OTEL_EXPORTER_OTLP_* variables itself: headers,
// timeout, TLS) and the W3C Trace Context propagator. Off, nothing is
// installed, Enabled is false, and the instrumented places (the HTTP
// server, store transactions, channel calls, webhook deliveries) skip the
// span work altogether: one atomic load per place.
//
// Spans carry names and bounded attributes only: route patterns, channel
// account ids, outcomes, status codes; never request bodies, headers,
// query strings or secrets.
package tracing

import (
	"context"
	"net/http"
	"os"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// Name is the instrumentation scope of Paygate's spans.
const Name = "github.com/paygate/paygate"

var enabled atomic.Bool

// Enabled reports whether a tracer provider is installed.
func Enabled() bool { return enabled.Load() }

// Tracer is Paygate's tracer from the installed provider.
func Tracer() trace.Tracer { return otel.Tracer(Name) }

// Propagator is the W3C Trace Context propagator (traceparent, tracestate).
var Propagator = propagation.TraceContext{}

// Configured reports whether the environment asks for an OTLP exporter.
func Configured() bool {
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Setup installs an OTLP/HTTP exporter when Configured, and returns what
// flushes and stops it (a no-op when tracing stays off).
func Setup(ctx context.Context, version string) (shutdown func(context.Context) error, err error) {
	if !Configured() {
		return func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, err
	}
	res := resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName("paygate"), semconv.ServiceVersion(version))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	Install(tp)
	return tp.Shutdown, nil
}

// Install makes tp the tracer provider and turns tracing on (tests install
// one with an in-memory exporter).
func Install(tp trace.TracerProvider) {
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(Propagator)
	enabled.Store(true)
}

// Uninstall turns tracing off again (tests).
func Uninstall() {
	enabled.Store(false)
}

// Extract returns ctx with the caller's trace context from h's
// traceparent, when tracing is on.
func Extract(ctx context.Context, h http.Header) context.Context {
	return Propagator.Extract(ctx, propagation.HeaderCarrier(h))
}

// Inject writes ctx's trace context into h (traceparent).
func Inject(ctx context.Context, h http.Header) {
	Propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

// TraceID is the trace id of ctx's span, "" when there is none.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}

// TraceParent renders ctx's span context as a traceparent header value, ""
// when ctx has none.
func TraceParent(ctx context.Context) string {
	c := propagation.MapCarrier{}
	Propagator.Inject(ctx, c)
	return c["traceparent"]
}

// WithTraceParent returns ctx carrying the remote span context of
// traceparent (as Extract does from a header); ctx itself when it is "".
func WithTraceParent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return Propagator.Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
}
