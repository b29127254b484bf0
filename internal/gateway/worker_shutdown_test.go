package gateway_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/paygate/paygate/internal/gateway"
)

// lockedBuffer is a log destination for handlers on several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestWorkerShutdownIsNoFailure: a worker pass cut short by shutdown (its
// context ended) stops without logging the cancellation as errors, which
// used to fill the log of every stop with "list processing orders: context
// canceled" and the like.
func TestWorkerShutdownIsNoFailure(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			var logs lockedBuffer
			e := startWith(t, kind, func(c *gateway.Config) {
				c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			e.g.Worker.RunOnce(ctx)
			if strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("a worker pass after shutdown logged errors:\n%s", logs.String())
			}
		})
	}
}
