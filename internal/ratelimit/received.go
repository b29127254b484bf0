package ratelimit

import (
	"context"
	"net"
	"time"
)

// A request waits before the shedder can count it: in the listener's accept
// queue, in its connection's socket buffer, and as a runnable goroutine
// while net/http reads and parses it. At twice a node's maximum rate those
// waits, which no bound in the process sees, are most of a request's time.
// The kernel knows when it received a connection's last bytes (TCP_INFO's
// tcpi_last_data_recv, milliseconds), so once a request's body is read,
// Waited tells how long ago the client finished sending it, and the
// shedder counts that against max_queue_time (AcquireWaited): a request
// that already waited its turn out is refused at once instead of being
// served seconds late.

type connKey struct{}

// WithConn is an http.Server's ConnContext hook: it keeps the connection in
// the context of its requests, for Waited.
func WithConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// Waited reports how long ago the kernel received the last bytes of the
// connection that ctx's request came on (WithConn), at millisecond
// granularity; false when that is unknown (no connection in ctx, not TCP,
// or not Linux).
func Waited(ctx context.Context) (time.Duration, bool) {
	c, _ := ctx.Value(connKey{}).(net.Conn)
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return 0, false
	}
	return lastReceived(tc)
}
