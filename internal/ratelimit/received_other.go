//go:build !linux

package ratelimit

import (
	"net"
	"time"
)

// lastReceived is unknown outside Linux.
func lastReceived(*net.TCPConn) (time.Duration, bool) { return 0, false }
