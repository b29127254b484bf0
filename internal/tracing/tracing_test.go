package tracing_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/paygate/paygate/internal/tracing"
)

// TestSetupOffWithoutEndpoint: without OTEL_EXPORTER_OTLP_ENDPOINT nothing
// is installed.
func TestSetupOffWithoutEndpoint(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	stop, err := tracing.Setup(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background())
	if tracing.Enabled() {
		t.Fatal("tracing is on without an endpoint")
	}
}

// TestSetupExportsOverOTLP: with the endpoint set, spans reach an OTLP/HTTP
// receiver (here a loopback server that keeps what it is sent).
func TestSetupExportsOverOTLP(t *testing.T) {
	var mu sync.Mutex
	var paths, types []string
	var bodies []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		paths, types, bodies = append(paths, r.URL.Path), append(types, r.Header.Get("Content-Type")), append(bodies, b...)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	stop, err := tracing.Setup(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer tracing.Uninstall()
	if !tracing.Enabled() {
		t.Fatal("tracing is off with an endpoint")
	}
	_, span := tracing.Tracer().Start(context.Background(), "probe span")
	span.End()
	if err := stop(context.Background()); err != nil { // flushes
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) == 0 || paths[0] != "/v1/traces" || types[0] != "application/x-protobuf" {
		t.Fatalf("receiver got %v %v, want a POST to /v1/traces", paths, types)
	}
	if !strings.Contains(string(bodies), "probe span") || !strings.Contains(string(bodies), "paygate") {
		t.Fatal("the export holds neither the span's name nor the service name")
	}
}
