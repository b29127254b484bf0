package console

// SetExportChunk lets tests stream an export over many chunks with few rows.
func SetExportChunk(n int) (restore func()) {
	old := exportChunk
	exportChunk = n
	return func() { exportChunk = old }
}

// ForgetStats empties the charts' cache, to measure a cold overview.
func (h *Handler) ForgetStats() {
	h.stats.forget()
	h.hours.mu.Lock()
	h.hours.entries = nil
	h.hours.mu.Unlock()
}

// SetPageSize lets tests page through lists of few rows.
func SetPageSize(n int) (restore func()) {
	old := pageSize
	pageSize = n
	return func() { pageSize = old }
}
