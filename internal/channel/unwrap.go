package channel

// Unwrap returns the connector a wrapper (metrics.Connector: counting,
// timing and tracing calls) wraps, or c itself. A type assertion on a
// connector's own optional methods (a sandbox's payer) goes through it.
func Unwrap(c Connector) Connector {
	for {
		w, ok := c.(interface{ Unwrap() Connector })
		if !ok {
			return c
		}
		c = w.Unwrap()
	}
}
